"""Failed sign-ins per user name and client address, for locking out password guessing, shared by every worker
of every server on the database (table ``signin_failures``, migrations 0008 and 0010).

The rule: ``limit`` failures for one user name from one client address within ``window_s`` seconds lock that
name at that address for ``lockout_s`` seconds, during which no password from there is checked at all (a right
one is refused too); a successful sign-in clears the count of its address. The owner signing in from another
address is not locked out by someone else's guesses. ``limit`` 0 turns locking off. Each call uses its own
short transaction on ``engine``, so a failure is counted even when the request that saw it rolls back; the
failure that starts a lockout writes one ``signin.lockout`` entry to the audit log in that transaction.

Source: issue 9 (reliability and hostile input), issue 15 (lockout of the owner by anyone who knows the name);
NIST SP 800-63B §5.2.2 (rate limiting of guesses).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Connection, Engine, text

from khoknongna.storage.review import record

#: User names are cut to this many characters before counting, so a flood of huge names stays small.
MAX_NAME = 255
#: Client addresses likewise (an IPv6 address has at most 45).
MAX_ADDRESS = 64

_KEY = "username = :name AND address = :address"
_LOCKED_UNTIL = text(f"SELECT locked_until FROM signin_failures WHERE {_KEY}")  # noqa: S608 - fixed fragments
_ENSURE = text(
    "INSERT INTO signin_failures (username, address, failures, first_at, locked_until, last_at)"
    " VALUES (:name, :address, 0, :now, 0, :now) ON CONFLICT (username, address) DO NOTHING"
)
_COUNT = text(f"SELECT failures, first_at FROM signin_failures WHERE {_KEY} FOR UPDATE")  # noqa: S608
_STORE = text(
    "UPDATE signin_failures SET failures = :failures, first_at = :first_at,"  # noqa: S608 - fixed fragments
    f" locked_until = greatest(locked_until, :locked_until), last_at = :now WHERE {_KEY}"
)
_FORGET_QUIET = text("DELETE FROM signin_failures WHERE last_at < :quiet_since AND locked_until < :now")
_FORGET = text(f"DELETE FROM signin_failures WHERE {_KEY} AND locked_until <= :now")  # noqa: S608
_USER = text("SELECT id, area_code FROM users WHERE username = :name")


class Standing(NamedTuple):
    """Where a user name stands at a client address before its password is checked."""

    locked_until: float | None  # when its lockout ends; None when it may try a password now
    counted: bool  # failures are on record, which a right password clears
    address: str = ""  # the client address it was read for


class SignInFailures:
    """Counts of failed sign-ins per user name and client address (times in seconds since the epoch, from
    ``clock``). An address is whatever string identifies the client (an IPv4 or IPv6 address)."""

    def __init__(
        self,
        engine: Engine,
        limit: int,
        window_s: float,
        lockout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.limit = limit
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.clock = clock

    def standing(self, username: str, address: str) -> Standing:
        """Whether ``username`` is locked out at ``address`` now (until when), and whether it has failures on
        record there."""
        if self.limit <= 0:
            return Standing(None, False, address)
        with self._autocommit() as conn:
            until = conn.execute(_LOCKED_UNTIL, _key(username, address)).scalar_one_or_none()
        return Standing(until if until is not None and until > self.clock() else None, until is not None, address)

    def failed(self, username: str, address: str) -> float | None:
        """Count a wrong password for ``username`` from ``address``; when this one reaches the limit, the end of
        the lockout it starts (``None`` otherwise), and an audit entry ``signin.lockout`` naming the user, the
        address and the end of the lockout (the entry's time is when it began)."""
        if self.limit <= 0:
            return None
        now, key = self.clock(), _key(username, address)
        with self.engine.begin() as conn:
            conn.execute(_ENSURE, {**key, "now": now})
            count = conn.execute(_COUNT, key).one()
            stale = count.failures == 0 or count.first_at < now - self.window_s
            failures, first_at = (1, now) if stale else (count.failures + 1, count.first_at)
            locked_until = now + self.lockout_s if failures >= self.limit else 0.0
            if locked_until:
                failures, first_at = 0, now  # after the lockout, the next guesses start a new count
            conn.execute(
                _STORE, {**key, "failures": failures, "first_at": first_at, "locked_until": locked_until, "now": now}
            )
            conn.execute(_FORGET_QUIET, {"quiet_since": now - max(self.window_s, self.lockout_s), "now": now})
            if locked_until:
                _audit_lockout(conn, key, locked_until)
        return locked_until or None

    def succeeded(self, username: str, standing: Standing) -> None:
        """A right password: forget the failures of ``username`` at the address of ``standing`` (unless it is
        locked there). ``standing`` is the one read before the password was checked: a name with nothing on
        record costs no statement at all."""
        if self.limit > 0 and standing.counted:
            with self._autocommit() as conn:
                conn.execute(_FORGET, {**_key(username, standing.address), "now": self.clock()})

    def _autocommit(self) -> Connection:
        """A connection without BEGIN/COMMIT round trips: :meth:`standing` runs on every signed-in request (one
        statement), :meth:`succeeded` only after failures."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _key(username: str, address: str) -> dict[str, str]:
    return {"name": username[:MAX_NAME], "address": address[:MAX_ADDRESS]}


def _audit_lockout(conn: Connection, key: dict[str, str], locked_until: float) -> None:
    """The audit entry of a lockout: the user (when the name is one), the name tried, the address and the end."""
    user = conn.execute(_USER, key).one_or_none()
    record(
        conn,
        None,
        "signin.lockout",
        "user",
        user.id if user is not None else None,
        area_code=user.area_code if user is not None else None,
        after={
            "username": key["name"],
            "address": key["address"],
            "locked_until": datetime.fromtimestamp(locked_until, UTC).isoformat(),
        },
    )
