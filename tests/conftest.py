"""Fixtures: a private PostGIS cluster for the session, a clean database per test, the app and clients.

The cluster is started with the server's own launcher (``storage.embedded``), so the tests exercise it
too. Tables are emptied before each test; nothing is mocked. The S3 blob store is tested against moto's
standalone S3 server, started once for the session on a free local port and spoken to over real HTTP.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from khoknongna.accounts import create_user
from khoknongna.publishing import publish_form
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from khoknongna.storage.db import make_engine
from khoknongna.storage.embedded import running_cluster
from khoknongna.storage.gis_views import drop_all_form_views
from khoknongna.storage.migrations import upgrade
from khoknongna.storage.projects import ensure_default_project
from khoknongna.storage.schema import metadata
from tests.clusters import world_searchable_folder
from tests.collect import CollectClient
from tests.plots import PLOT_SURVEY

USER, PASSWORD = "nopparat", "field-pass-2026"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    base = world_searchable_folder("knn-test-")
    try:
        with running_cluster(base / "pg", database="knn_test") as cluster:
            engine = make_engine(cluster.url)
            upgrade(engine)
            engine.dispose()
            yield cluster.url
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Engine:
    """The test database, emptied (the job queue too), with project 1."""
    queue = ["procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers", "procrastinate_workers"]
    tables = ", ".join([t.name for t in metadata.sorted_tables] + queue)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        drop_all_form_views(conn)
        ensure_default_project(conn, "Khok Nong Na")
    return engine


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=pg_url,
        secret_key="test-secret-key",
        validate_forms=False,
    )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``host:port`` of a moto S3 server (it accepts any credentials and does not check signatures)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    """A blob URL naming a new, not yet created bucket on the moto server."""
    return f"s3://knn-{uuid.uuid4().hex[:12]}?endpoint={s3_endpoint}&secure=false"


@pytest.fixture
def s3_settings(settings: Settings, s3_url: str) -> Settings:
    """The test settings with the S3 blob store of ``s3_url``."""
    return settings.model_copy(
        update={"blob_url": s3_url, "s3_access_key": "knn-test", "s3_secret_key": SecretStr("knn-test-secret")}
    )


@pytest.fixture
def app(settings: Settings, db: Engine) -> Flask:
    return create_app(settings, engine=db)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def collector(db: Engine, settings: Settings) -> tuple[str, str]:
    """A collector account: (user name, password)."""

    with db.begin() as conn:
        create_user(conn, USER, PASSWORD, "collector", settings.realm)
    return USER, PASSWORD


@pytest.fixture
def plot_survey(app: Flask, settings: Settings) -> None:
    """The bundled plot survey, published."""
    services = app.extensions["knn"]
    publish_form(services.engine, services.blobs, settings, PLOT_SURVEY.name, PLOT_SURVEY.read_bytes())


@pytest.fixture
def collect(app: Flask, collector: tuple[str, str]) -> CollectClient:
    """A client that behaves like ODK Collect, signed in as the collector with Digest."""
    return CollectClient(app.test_client(), *collector)


SUPERVISOR, SUPERVISOR_PASSWORD = "supervisor", "review-pass-2026"


@pytest.fixture
def supervisor(db: Engine, settings: Settings) -> tuple[str, str]:
    """A department supervisor account (every area; may read the JSON API): (user name, password)."""

    with db.begin() as conn:
        create_user(conn, SUPERVISOR, SUPERVISOR_PASSWORD, "department", settings.realm)
    return SUPERVISOR, SUPERVISOR_PASSWORD


@pytest.fixture
def web_user(db: Engine, settings: Settings) -> Callable[..., tuple[str, str]]:
    """Make a web user: ``web_user(name, role, area_code=None)`` -> (name, password)."""

    def make(name: str, role: str, area_code: str | None = None) -> tuple[str, str]:
        password = f"{name}-pass-2026"
        with db.begin() as conn:
            create_user(conn, name, password, role, settings.realm, area_code)
        return name, password

    return make


@pytest.fixture
def supervise(app: Flask, supervisor: tuple[str, str]) -> CollectClient:
    """A Digest client signed in as the department supervisor: sends forms like Collect and reads the API."""
    return CollectClient(app.test_client(), *supervisor)
