"""Database engines (the configured PostGIS database, or the private cluster in the data folder), and what the
query modules share: an upsert statement, the rows of one table, and running SQL text for its rows, its one row
or its first column."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, Table, create_engine, event, func, select, text
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.exc import DBAPIError, InterfaceError

from khoknongna.settings import Settings
from khoknongna.storage.embedded import running_cluster

logger = logging.getLogger(__name__)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """A SQLAlchemy engine for ``url`` (psycopg 3), with a connection pool of ``pool_size``."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)


def yield_to_others(engine: Engine, *, niceness: int = 10, name: str = "khoknongna worker") -> None:
    """Make every new connection of ``engine`` work at a lower CPU priority than the server's other sessions.

    PostgreSQL has no per-session priority, and its resource settings (``work_mem``, ``statement_timeout``) cap a
    query rather than making it give way. But each session is one server process: when it runs on this machine
    (a unix socket or loopback connection, and ``/proc/<pid>/comm`` names a PostgreSQL backend), its niceness is
    raised to ``niceness`` with :func:`os.setpriority` (Linux CFS then gives it about a tenth of the CPU share of a
    niceness 0 process when both want it). That needs the server to run as this user, or this process to be root:
    true of the embedded cluster. Otherwise it is logged once and the session runs as before. Each session is also
    named ``name`` in ``pg_stat_activity``."""
    told = False

    @event.listens_for(engine, "connect")
    def _lower(dbapi_connection: Any, _record: Any) -> None:
        nonlocal told
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT set_config('application_name', %s, false)", (name,))
            cursor.execute("SELECT pg_backend_pid(), coalesce(host(inet_server_addr()) IN ('127.0.0.1', '::1'), true)")
            pid, local = cursor.fetchone()
        dbapi_connection.commit()
        try:
            if not local or not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
                raise PermissionError("the server does not run on this machine")
            if os.getpriority(os.PRIO_PROCESS, pid) < niceness:
                os.setpriority(os.PRIO_PROCESS, pid, niceness)
        except OSError as exc:
            if not told:
                logger.info("database sessions keep their CPU priority: %s", exc)
                told = True


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The database URL to use while the block runs.

    ``settings.database_url`` when set; otherwise the private PostGIS cluster in ``settings.pg_path``,
    started if needed and stopped afterwards if no other process uses it.
    Raises :class:`~khoknongna.storage.embedded.EmbeddedPostgresError` when the cluster cannot start.
    """
    if settings.database_url:
        yield settings.database_url
        return
    with running_cluster(settings.pg_path) as cluster:
        yield cluster.url


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached (down, restarting, connection lost), as opposed
    to a statement it refused: an ``InterfaceError`` (the driver's connection is closed), a DBAPI error
    without SQLSTATE (the client could not connect) or that invalidated the connection, class 08
    (connection exception) or 57P (shut down by an administrator, crashed, starting up).

    Source: PostgreSQL's SQLSTATE codes (Appendix A); SQLAlchemy's ``DBAPIError.connection_invalidated``.
    """
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    state = getattr(error.orig, "sqlstate", None)
    return error.connection_invalidated or state is None or state.startswith(("08", "57P"))


def ping(engine: Engine) -> None:
    """``SELECT 1`` on a pooled connection; raises SQLAlchemy's ``OperationalError`` when the database is down."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def upsert(
    table: Table,
    keys: Sequence[str],
    update: Sequence[str],
    *,
    stamp: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> Insert:
    """``INSERT INTO table … ON CONFLICT (keys) DO UPDATE`` of the ``update`` columns (and ``stamp`` = now()),
    built once: execute it with one dict of values, or a list of them (one statement for all rows). ``where``
    names a partial unique index's predicate. Columns outside ``update`` keep their stored values."""
    stmt = insert(table)
    changes: dict[str, object] = {name: stmt.excluded[name] for name in update}
    if stamp is not None:
        changes[stamp] = func.now()
    return stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys], index_where=where, set_=changes)


def table_rows(
    conn: Connection, table: Table, columns: Sequence[str], *where: ColumnElement[bool], order_by: str
) -> list[Row]:
    """The ``columns`` (by name) of the rows of ``table`` that meet every ``where`` condition, in the order of the
    column ``order_by``."""
    return list(conn.execute(select(*table.c[tuple(columns)]).where(*where).order_by(table.c[order_by])))


def rows(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[Row]:
    """The rows the query ``sql`` returns, with ``params`` bound to its ``:name`` placeholders."""
    return list(conn.execute(text(sql), params))


def row(conn: Connection, sql: str, params: Mapping[str, Any]) -> Row | None:
    """The one row the query ``sql`` returns (``params`` bound as in :func:`rows`), ``None`` when it returns none.
    Raises SQLAlchemy's ``MultipleResultsFound`` when it returns more."""
    return conn.execute(text(sql), params).one_or_none()


def scalars(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """The first column of the rows the query ``sql`` returns (``params`` bound as in :func:`rows`)."""
    return list(conn.execute(text(sql), params).scalars())
