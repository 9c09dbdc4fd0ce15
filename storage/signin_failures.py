"""Failed sign-ins per user name, for locking out password guessing, shared by every worker of one server.

The counts live in a small SQLite file in the data folder (``<data-dir>/signin_failures.sqlite3``, WAL mode,
made at the first wrong password),
not in PostgreSQL: every gunicorn worker process and thread of the server sees the same counts without a
table in the schema. Servers on several machines sharing one database each count on their own, so there an
attacker gets the limit once per machine.

The rule: ``limit`` failures for one user name within ``window_s`` seconds lock that name for
``lockout_s`` seconds, during which no password is checked at all (a right one is refused too); a
successful sign-in clears the count. ``limit`` 0 turns locking off.

Source: issue 9 (reliability and hostile input); NIST SP 800-63B §5.2.2 (rate limiting of guesses).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

#: User names are cut to this many characters before counting, so a flood of huge names stays small.
MAX_NAME = 255

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signin_failures (
    username TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    first_at REAL NOT NULL,
    locked_until REAL NOT NULL,
    last_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_signin_failures_last_at ON signin_failures (last_at);
"""


class SignInFailures:
    """Counts of failed sign-ins per user name in the SQLite file ``path`` (times in seconds since the epoch)."""

    def __init__(
        self,
        path: Path,
        limit: int,
        window_s: float,
        lockout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.limit = limit
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.clock = clock
        self._local = threading.local()

    def _conn(self, create: bool = False) -> sqlite3.Connection | None:
        """This thread's connection (opened in the worker that uses it, never across a fork); ``None`` while
        the file does not exist, unless ``create``: it is made at the first wrong password."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if not create and not self.path.exists():
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._local.conn = conn
        return conn

    def locked_until(self, username: str) -> float | None:
        """When the lockout of ``username`` ends, or ``None`` when it may try a password now."""
        conn = self._conn() if self.limit > 0 else None
        if conn is None:
            return None
        row = conn.execute(
            "SELECT locked_until FROM signin_failures WHERE username = ?", (username[:MAX_NAME],)
        ).fetchone()
        if row is None or row[0] <= self.clock():
            return None
        return row[0]

    def failed(self, username: str) -> float | None:
        """Count a wrong password for ``username``; when this one reaches the limit, the end of the lockout
        it starts (``None`` otherwise)."""
        if self.limit <= 0:
            return None
        now, name = self.clock(), username[:MAX_NAME]
        conn = self._conn(create=True)
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT failures, first_at FROM signin_failures WHERE username = ?", (name,)).fetchone()
            failures, first_at = (1, now) if row is None or row[1] < now - self.window_s else (row[0] + 1, row[1])
            locked_until = now + self.lockout_s if failures >= self.limit else 0.0
            if locked_until:
                failures, first_at = 0, now  # after the lockout, the next guesses start a new count
            conn.execute(
                "INSERT INTO signin_failures (username, failures, first_at, locked_until, last_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET failures = excluded.failures, "
                "first_at = excluded.first_at, locked_until = max(locked_until, excluded.locked_until), "
                "last_at = excluded.last_at",
                (name, failures, first_at, locked_until, now),
            )
            conn.execute(
                "DELETE FROM signin_failures WHERE last_at < ? AND locked_until < ?",
                (now - max(self.window_s, self.lockout_s), now),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return locked_until or None

    def succeeded(self, username: str) -> None:
        """A right password: forget the failures of ``username`` (a cheap read when there are none)."""
        conn, name = self._conn() if self.limit > 0 else None, username[:MAX_NAME]
        if conn is not None and conn.execute("SELECT 1 FROM signin_failures WHERE username = ?", (name,)).fetchone():
            conn.execute("DELETE FROM signin_failures WHERE username = ? AND locked_until <= ?", (name, self.clock()))
