"""Failed sign-ins per user name, for locking out password guessing, shared by every worker of every server
on the database (table ``signin_failures``, migration 0008).

The rule: ``limit`` failures for one user name within ``window_s`` seconds lock that name for
``lockout_s`` seconds, during which no password is checked at all (a right one is refused too); a
successful sign-in clears the count. ``limit`` 0 turns locking off. Each call uses its own short transaction
on ``engine``, so a failure is counted even when the request that saw it rolls back.

Source: issue 9 (reliability and hostile input); NIST SP 800-63B §5.2.2 (rate limiting of guesses).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy import Connection, Engine, text

#: User names are cut to this many characters before counting, so a flood of huge names stays small.
MAX_NAME = 255

_LOCKED_UNTIL = text("SELECT locked_until FROM signin_failures WHERE username = :name")
_ENSURE = text(
    "INSERT INTO signin_failures (username, failures, first_at, locked_until, last_at)"
    " VALUES (:name, 0, :now, 0, :now) ON CONFLICT (username) DO NOTHING"
)
_COUNT = text("SELECT failures, first_at FROM signin_failures WHERE username = :name FOR UPDATE")
_STORE = text(
    "UPDATE signin_failures SET failures = :failures, first_at = :first_at,"
    " locked_until = greatest(locked_until, :locked_until), last_at = :now WHERE username = :name"
)
_FORGET_QUIET = text("DELETE FROM signin_failures WHERE last_at < :quiet_since AND locked_until < :now")
_FORGET = text("DELETE FROM signin_failures WHERE username = :name AND locked_until <= :now")


class Standing(NamedTuple):
    """Where a user name stands before its password is checked."""

    locked_until: float | None  # when its lockout ends; None when it may try a password now
    counted: bool  # failures are on record, which a right password clears


class SignInFailures:
    """Counts of failed sign-ins per user name (times in seconds since the epoch, from ``clock``)."""

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

    def standing(self, username: str) -> Standing:
        """Whether ``username`` is locked out now (until when), and whether it has failures on record."""
        if self.limit <= 0:
            return Standing(None, False)
        with self._autocommit() as conn:
            until = conn.execute(_LOCKED_UNTIL, {"name": username[:MAX_NAME]}).scalar_one_or_none()
        return Standing(until if until is not None and until > self.clock() else None, until is not None)

    def failed(self, username: str) -> float | None:
        """Count a wrong password for ``username``; when this one reaches the limit, the end of the lockout
        it starts (``None`` otherwise)."""
        if self.limit <= 0:
            return None
        now, name = self.clock(), username[:MAX_NAME]
        with self.engine.begin() as conn:
            conn.execute(_ENSURE, {"name": name, "now": now})
            count = conn.execute(_COUNT, {"name": name}).one()
            stale = count.failures == 0 or count.first_at < now - self.window_s
            failures, first_at = (1, now) if stale else (count.failures + 1, count.first_at)
            locked_until = now + self.lockout_s if failures >= self.limit else 0.0
            if locked_until:
                failures, first_at = 0, now  # after the lockout, the next guesses start a new count
            conn.execute(
                _STORE,
                {"name": name, "failures": failures, "first_at": first_at, "locked_until": locked_until, "now": now},
            )
            conn.execute(_FORGET_QUIET, {"quiet_since": now - max(self.window_s, self.lockout_s), "now": now})
        return locked_until or None

    def succeeded(self, username: str, standing: Standing | None = None) -> None:
        """A right password: forget the failures of ``username`` (unless it is locked). Given the ``standing``
        read before the password was checked, a name with nothing on record costs no statement at all."""
        if self.limit > 0 and (standing is None or standing.counted):
            with self._autocommit() as conn:
                conn.execute(_FORGET, {"name": username[:MAX_NAME], "now": self.clock()})

    def _autocommit(self) -> Connection:
        """A connection without BEGIN/COMMIT round trips: :meth:`standing` runs on every signed-in request (one
        statement), :meth:`succeeded` only after failures."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
