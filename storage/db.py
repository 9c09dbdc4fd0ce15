"""Database engines: the configured PostGIS database, or the private cluster in the data folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text

from khoknongna.settings import Settings
from khoknongna.storage.embedded import running_cluster


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """A SQLAlchemy engine for ``url`` (psycopg 3), with a connection pool of ``pool_size``."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)


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


def ping(engine: Engine) -> None:
    """``SELECT 1`` on a pooled connection; raises SQLAlchemy's ``OperationalError`` when the database is down."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
