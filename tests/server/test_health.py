"""``GET /healthz``: the database and the blob store, checked without signing in."""

from __future__ import annotations

import socket

from sqlalchemy import Engine

from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from khoknongna.storage.db import make_engine


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_is_200_when_database_and_local_blobs_work(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "blobs": "ok"}


def test_healthz_is_200_with_an_s3_store_whose_bucket_exists(s3_settings: Settings, db: Engine):
    app = create_app(s3_settings, engine=db)
    app.extensions["knn"].blobs.prepare()

    response = app.test_client().get("/healthz")

    assert response.status_code == 200
    assert response.json["blobs"] == "ok"


def test_healthz_is_503_when_the_bucket_is_missing(s3_settings: Settings, db: Engine):
    response = create_app(s3_settings, engine=db).test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "ok", "blobs": "unavailable"}


def test_healthz_is_503_when_the_object_store_is_unreachable(settings: Settings, db: Engine):
    unreachable = settings.model_copy(
        update={"blob_url": f"s3://photos?endpoint=127.0.0.1:{closed_port()}&secure=false&region=us-east-1"}
    )

    response = create_app(unreachable, engine=db).test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json["blobs"] == "unavailable"


def test_healthz_is_503_when_the_database_is_unreachable(settings: Settings):
    engine = make_engine(f"postgresql://knn@127.0.0.1:{closed_port()}/knn")
    try:
        response = create_app(settings, engine=engine).test_client().get("/healthz")
    finally:
        engine.dispose()

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unavailable", "blobs": "ok"}


def test_healthz_names_no_address_or_cause_when_unavailable(settings: Settings, db: Engine):
    port = closed_port()
    unreachable = settings.model_copy(update={"blob_url": f"s3://photos?endpoint=127.0.0.1:{port}&region=us-east-1"})

    response = create_app(unreachable, engine=db).test_client().get("/healthz")

    assert str(port) not in response.get_data(as_text=True)
    assert "photos" not in response.get_data(as_text=True)


def test_healthz_is_not_cached(client):
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"
