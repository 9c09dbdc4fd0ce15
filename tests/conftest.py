"""Fixtures: a private PostGIS cluster for the session, a clean database per test, the app and clients.

The cluster is started with the server's own launcher (``storage.embedded``), so the tests exercise it
too. Tables are emptied before each test; nothing is mocked. The S3 blob store is tested over real HTTP
against two servers, each started once for the session on free local ports: moto's in-memory imitation
(fast; takes any key) and SeaweedFS, a real S3 server that checks signatures and permissions
(``tests/seaweedfs.py``). Tests that use ``s3_server`` (or ``s3_url``, ``s3_settings``) run on both.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr
from sqlalchemy import Engine, text
from werkzeug.serving import make_server

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
from tests.s3servers import S3_ERRORS, S3Server
from tests.seaweedfs import APP_KEY, SeaweedFS

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


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A SeaweedFS server (S3 with signatures and permissions checked), started on first use and always stopped."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(params=["moto", "seaweedfs"])
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """Each S3 server in turn: moto, then SeaweedFS."""
    if request.param == "moto":
        return S3Server("moto", request.getfixturevalue("s3_endpoint"), "knn-test", "knn-test-secret")
    return S3Server("seaweedfs", request.getfixturevalue("seaweedfs").endpoint, *APP_KEY)


@pytest.fixture
def s3_url(s3_server: S3Server) -> Iterator[str]:
    """A blob URL naming a new, not yet created bucket on the S3 server; the bucket is removed afterwards."""
    bucket = f"knn-{uuid.uuid4().hex[:12]}"
    yield f"s3://{bucket}?endpoint={s3_server.endpoint}&secure=false"
    client = s3_server.client()
    with contextlib.suppress(*S3_ERRORS):  # SeaweedFS gives every bucket volumes of its own: free them
        for obj in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, obj.object_name)
        client.remove_bucket(bucket)


@pytest.fixture
def s3_settings(settings: Settings, s3_url: str, s3_server: S3Server) -> Settings:
    """The test settings with the S3 blob store of ``s3_url`` and the server's read-write key."""
    return settings.model_copy(
        update={
            "blob_url": s3_url,
            "s3_access_key": s3_server.access_key,
            "s3_secret_key": SecretStr(s3_server.secret_key),
        }
    )


@pytest.fixture
def app(settings: Settings, db: Engine) -> Flask:
    return create_app(settings, engine=db)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a free local port; its base URL (no trailing slash)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def account(
    db: Engine, settings: Settings, name: str, password: str, role: str, area_code: str | None = None
) -> tuple[str, str]:
    """Create the user ``name`` with ``role`` (and ``area_code``); returns (user name, password)."""
    with db.begin() as conn:
        create_user(conn, name, password, role, settings.realm, area_code)
    return name, password


@pytest.fixture
def collector(db: Engine, settings: Settings) -> tuple[str, str]:
    """A collector account: (user name, password)."""
    return account(db, settings, USER, PASSWORD, "collector")


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
    return account(db, settings, SUPERVISOR, SUPERVISOR_PASSWORD, "department")


@pytest.fixture
def web_user(db: Engine, settings: Settings) -> Callable[..., tuple[str, str]]:
    """Make a web user: ``web_user(name, role, area_code=None)`` -> (name, password)."""

    def make(name: str, role: str, area_code: str | None = None) -> tuple[str, str]:
        return account(db, settings, name, f"{name}-pass-2026", role, area_code)

    return make


@pytest.fixture
def supervise(app: Flask, supervisor: tuple[str, str]) -> CollectClient:
    """A Digest client signed in as the department supervisor: sends forms like Collect and reads the API."""
    return CollectClient(app.test_client(), *supervisor)
