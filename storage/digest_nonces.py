"""Which Digest nonce counts have been used, shared by every worker of every server on the database (table
``digest_nonce_counts``, migration 0009), so that a captured request cannot be replayed.

RFC 7616 §3.3/§3.4: with ``qop=auth`` a client sends a nonce count ``nc`` that it raises by one for each
request made with the same nonce; a server that sees an ``nc`` again is seeing a replay. The rule kept here
is the one the RFC describes: an ``nc`` is accepted once and only when higher than every ``nc`` accepted
before for that nonce. One statement per Digest request (autocommit): insert the nonce with its count, or
raise the stored count when the new one is higher; the same statement removes a few rows of nonces that
have expired, so the table stays as small as the nonces in use.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, text

#: Expired rows removed by each statement at most (spreads the clean-up over requests, never a long delete).
SWEEP_ROWS = 20

_USE = text(
    "WITH swept AS ("
    " DELETE FROM digest_nonce_counts WHERE nonce IN ("
    "  SELECT nonce FROM digest_nonce_counts WHERE expires_at < :now"
    "  ORDER BY expires_at LIMIT :sweep FOR UPDATE SKIP LOCKED))"
    " INSERT INTO digest_nonce_counts AS d (nonce, nc, expires_at) VALUES (:nonce, :nc, :expires_at)"
    " ON CONFLICT (nonce) DO UPDATE SET nc = excluded.nc WHERE d.nc < excluded.nc"
    " RETURNING d.nc"
)


class NonceCounts:
    """The highest nonce count accepted per nonce, until the nonce expires (times from ``clock``, epoch s)."""

    def __init__(self, engine: Engine, lifetime_s: float, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.lifetime_s = lifetime_s
        self.clock = clock

    def use(self, nonce: str, nc: int) -> bool:
        """Record that ``nc`` was used with ``nonce``; ``False`` (nothing changed) when ``nc`` is not higher
        than a count already used with it: a replay, or a request overtaken by a later one."""
        now = self.clock()
        params = {"nonce": nonce, "nc": nc, "expires_at": now + self.lifetime_s, "now": now, "sweep": SWEEP_ROWS}
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return conn.execute(_USE, params).first() is not None
