"""The server with its blobs in an S3 bucket (moto and SeaweedFS, over HTTP): submissions, form downloads and media.

Downloads are proxied by the app (never redirected to the object store), so the same sign-in rules apply
as with the local folder.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from khoknongna.publishing import publish_form
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from khoknongna.storage.blobs import BlobCorrupt
from khoknongna.storage.blobs.s3 import S3BlobStore
from tests.collect import CollectClient
from tests.instances import jpeg
from tests.plots import PLOT_SURVEY, plot_xml
from tests.server.test_openrosa_routes import entry, media_entries
from tests.server.test_submission import new_id
from tests.small_forms import xform
from tests.sql import scalar

MEDIA = b"\x89PNG a village map"


@pytest.fixture
def s3_app(s3_settings: Settings, db: Engine) -> Flask:
    app = create_app(s3_settings, engine=db)
    app.extensions["knn"].blobs.prepare()
    return app


@pytest.fixture
def s3_blobs(s3_app: Flask) -> S3BlobStore:
    return s3_app.extensions["knn"].blobs


@pytest.fixture
def s3_collect(
    s3_app: Flask, collector: tuple[str, str], s3_settings: Settings, s3_blobs: S3BlobStore
) -> CollectClient:
    """Collect signed in, with the plot survey and a form with one media file published to the bucket."""
    engine = s3_app.extensions["knn"].engine
    publish_form(engine, s3_blobs, s3_settings, PLOT_SURVEY.name, PLOT_SURVEY.read_bytes())
    publish_form(
        engine, s3_blobs, s3_settings, "mapped.xml", xform("mapped", "Mapped", media=("map.png",)), {"map.png": MEDIA}
    )
    return CollectClient(s3_app.test_client(), *collector)


def object_bytes(store: S3BlobStore, name: str) -> bytes:
    response = store.client.get_object(store.bucket, name)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def test_a_submitted_photo_is_in_the_bucket_under_its_sha256(s3_collect, s3_blobs, db):
    photo = jpeg(3)

    response = s3_collect.submit(plot_xml(new_id()), {"1790000000001.jpg": photo})[0]

    assert response.status_code == 201
    key = hashlib.sha256(photo).hexdigest()
    assert object_bytes(s3_blobs, key) == photo
    assert scalar(db, "SELECT blob_sha256 FROM submission_attachments") == key


def test_a_large_photo_arrives_in_the_bucket_whole(s3_collect, s3_blobs):
    photo = jpeg(4) + os.urandom(9 * 1024 * 1024)

    assert s3_collect.submit(plot_xml(new_id()), {"1790000000001.jpg": photo})[0].status_code == 201

    assert s3_blobs.digest(hashlib.sha256(photo).hexdigest()) == hashlib.sha256(photo).hexdigest()


def test_the_form_is_downloaded_from_the_bucket_through_the_server(s3_collect):
    listed = entry(s3_collect.get("/formList"), "mapped")

    response = s3_collect.get(listed["downloadUrl"])

    assert response.status_code == 200
    assert hashlib.md5(response.data).hexdigest() == listed["hash"].removeprefix("md5:")


def test_form_media_is_downloaded_from_the_bucket_through_the_server(s3_collect):
    manifest = s3_collect.get(entry(s3_collect.get("/formList"), "mapped")["manifestUrl"])

    response = s3_collect.get(media_entries(manifest)["map.png"]["downloadUrl"])

    assert response.status_code == 200
    assert response.data == MEDIA
    assert "Location" not in response.headers


def test_a_signed_out_client_cannot_fetch_form_media_from_the_bucket(s3_collect, s3_app):
    manifest = s3_collect.get(entry(s3_collect.get("/formList"), "mapped")["manifestUrl"])
    url = media_entries(manifest)["map.png"]["downloadUrl"]

    response = s3_app.test_client().get(url)

    assert response.status_code == 401
    assert MEDIA not in response.data


def test_when_the_object_store_is_down_a_photo_is_refused_with_503_and_no_row(s3_collect, s3_settings, db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = s3_settings.model_copy(update={"blob_url": f"s3://gone?endpoint=127.0.0.1:{port}&secure=false&region=x"})
    phone = CollectClient(create_app(down, engine=db).test_client(), s3_collect.username, s3_collect.password)

    response = phone.submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(5)})[0]

    assert response.status_code == 503
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submissions")).scalar() == 0


def test_form_media_whose_object_was_changed_is_cut_short_not_served_whole(s3_collect, s3_blobs):
    manifest = s3_collect.get(entry(s3_collect.get("/formList"), "mapped")["manifestUrl"])
    key = hashlib.sha256(MEDIA).hexdigest()
    s3_blobs.client.put_object(s3_blobs.bucket, key, io.BytesIO(MEDIA.upper()), len(MEDIA))

    with pytest.raises(BlobCorrupt):
        s3_collect.get(media_entries(manifest)["map.png"]["downloadUrl"]).get_data()
