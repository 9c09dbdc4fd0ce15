"""What every command shares: the --data-dir and --project options, the settings, the database and blob store for the
duration of a command, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import click
from sqlalchemy import Connection, Engine

from khoknongna.settings import Settings
from khoknongna.storage.blobs import BlobStore, BlobStoreError, open_blob_store
from khoknongna.storage.db import database_url, make_engine
from khoknongna.storage.embedded import EmbeddedPostgresError
from khoknongna.storage.migrations import upgrade
from khoknongna.storage.projects import DEFAULT_PROJECT_ID, ensure_default_project

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

P = ParamSpec("P")
T = TypeVar("T")


def data_dir_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` with the ``--data-dir`` option (environment ``KNN_DATA_DIR``, default ``./var``)."""
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="KNN_DATA_DIR",
        default="var",
        show_default=True,
        help="Folder of the private PostGIS cluster, the blobs and the secret key.",
    )(f)


#: The ``--project`` option of the commands about one project's forms, users or data (default: the only one).
project_option = click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)


def load_settings(data_dir: Path) -> Settings:
    """The settings (``KNN_*``) for ``data_dir``; a bad setting ends the command with its message."""
    try:
        return Settings(data_dir=data_dir.resolve())
    except ValueError as exc:
        raise click.ClickException(f"bad KNN_* setting: {exc}") from None


def blob_store(settings: Settings, url: str | None = None) -> BlobStore:
    """The blob store at ``url`` (None: ``KNN_BLOB_URL``; empty: the data folder's); a bad URL ends the command."""
    try:
        return open_blob_store(settings, url)
    except ValueError as exc:
        raise click.ClickException(f"bad blob store URL: {exc}") from None


def ready(store: BlobStore) -> BlobStore:
    """``store`` after ``prepare()`` (bucket created if missing)."""
    try:
        store.prepare()
    except BlobStoreError as exc:
        raise click.ClickException(f"blob store {store.describe()}: {exc}") from None
    return store


@contextmanager
def database(settings: Settings, *, pool_size: int = 2) -> Iterator[tuple[str, Engine, BlobStore]]:
    """The database (migrated, with project 1) and the blob store, for the duration of a command; its engine keeps
    ``pool_size`` connections (and as many more at a peak)."""
    try:
        with database_url(settings) as url:
            engine = make_engine(url, pool_size=pool_size)
            try:
                upgrade(engine)
                with engine.begin() as conn:
                    ensure_default_project(conn, settings.default_project_name)
                yield url, engine, blob_store(settings)
            finally:
                engine.dispose()
    except EmbeddedPostgresError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def transaction(settings: Settings) -> Iterator[Connection]:
    """A connection to the migrated database, in a transaction committed when the block ends."""
    with database(settings) as (_, engine, _blobs), engine.begin() as conn:
        yield conn


def in_transaction(
    data_dir: Path, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``work(conn, *args, **kwargs)`` in a :func:`transaction` of the database of ``data_dir``, for a command that
    runs one query: its result. A bad setting ends the command with its message (:func:`load_settings`)."""
    with transaction(load_settings(data_dir)) as conn:
        return work(conn, *args, **kwargs)


def progress(length: int, label: str) -> ProgressBar[int]:
    """A progress bar on stderr for ``length`` units (items or bytes), in percent; stdout keeps the results."""
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=False, show_percent=True)
