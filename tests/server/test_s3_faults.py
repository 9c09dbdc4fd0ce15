"""The server against a real S3 server (SeaweedFS) that refuses the key, lacks the bucket, dies or is slow.

What the phone receives and what the database holds: a refused photo is a 503 with a message from the
problem catalogue and no row; ``/healthz`` says 503 and logs why; a 201 always means the photo is in the
bucket, even when the S3 server is killed in the middle of many uploads and started again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from werkzeug.serving import make_server

from khoknongna.publishing import publish_form
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from khoknongna.storage.blobs import BlobStoreError, open_blob_store
from khoknongna.storage.blobs.s3 import S3BlobStore
from tests.collect import CollectClient
from tests.crash.test_crash import Submission, make_submissions, send
from tests.instances import jpeg
from tests.plots import PLOT_SURVEY, plot_xml
from tests.seaweedfs import READ_ONLY_KEY, SeaweedFS
from tests.server.test_cli_blobs import knn
from tests.server.test_submission import new_id
from tests.sql import scalar

pytestmark = pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)

WRONG_SECRET = "not-the-secret"
UPLOADS, PHONES, KILL_AFTER = 50, 8, 10


def with_key(settings: Settings, access_key: str, secret_key: str, **update: Any) -> Settings:
    return settings.model_copy(update={"s3_access_key": access_key, "s3_secret_key": SecretStr(secret_key), **update})


def phone(settings: Settings, db: Engine, collector: tuple[str, str]) -> CollectClient:
    """Collect signed in to an app made with ``settings``."""
    return CollectClient(create_app(settings, engine=db).test_client(), *collector)


@pytest.fixture
def published(s3_settings: Settings, db: Engine) -> S3BlobStore:
    """The bucket created and the plot survey published to it with the app's read-write key."""
    store = open_blob_store(s3_settings)
    assert isinstance(store, S3BlobStore)
    store.prepare()
    publish_form(db, store, s3_settings, PLOT_SURVEY.name, PLOT_SURVEY.read_bytes())
    return store


# --- a key the store refuses --------------------------------------------------------------------------------


@pytest.fixture
def wrong_secret(s3_settings: Settings) -> Settings:
    return with_key(s3_settings, s3_settings.s3_access_key or "", WRONG_SECRET)


@pytest.fixture
def read_only(s3_settings: Settings) -> Settings:
    return with_key(s3_settings, *READ_ONLY_KEY)


@pytest.mark.parametrize("key", ["wrong_secret", "read_only"])
def test_a_photo_the_store_refuses_is_answered_503_and_no_row_is_written(key, request, published, db, collector):
    refused = request.getfixturevalue(key)

    response = phone(refused, db, collector).submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(1)})[0]

    assert response.status_code == 503
    assert b"could not store the upload" in response.data
    assert b"AccessDenied" in response.data or b"SignatureDoesNotMatch" in response.data
    assert scalar(db, "SELECT count(*) FROM submissions") == 0


def test_the_same_photo_with_the_right_key_is_stored(published, s3_settings, db, collector):
    photo = jpeg(1)

    response = phone(s3_settings, db, collector).submit(plot_xml(new_id()), {"1790000000001.jpg": photo})[0]

    assert response.status_code == 201
    assert published.read_bytes(hashlib.sha256(photo).hexdigest()) == photo


@pytest.mark.parametrize(
    ("key", "why"),
    [("wrong_secret", "the store refused the secret key"), ("read_only", "AccessDenied: the key may not do this")],
)
def test_healthz_is_503_when_the_store_refuses_the_key_and_the_log_says_why(key, why, request, published, db, caplog):
    refused = request.getfixturevalue(key)
    client = create_app(refused, engine=db).test_client()

    with caplog.at_level(logging.WARNING, logger="khoknongna.health"):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json["blobs"] == "unavailable"
    assert why in caplog.text
    assert WRONG_SECRET not in caplog.text


def test_healthz_is_200_with_the_read_write_key(published, s3_settings, db):
    assert create_app(s3_settings, engine=db).test_client().get("/healthz").status_code == 200


# --- the bucket missing at start ----------------------------------------------------------------------------


def test_a_missing_bucket_is_created_at_start_when_the_key_may(s3_settings):
    store = open_blob_store(s3_settings)

    store.prepare()

    store.check()


def test_a_missing_bucket_the_key_may_not_create_stops_the_start_with_a_clear_message(s3_settings, s3_url):
    store = open_blob_store(with_key(s3_settings, *READ_ONLY_KEY))

    with pytest.raises(BlobStoreError, match="AccessDenied: the key may not do this"):
        store.prepare()


def test_a_command_on_a_bucket_the_key_may_not_create_exits_1_and_says_why(s3_settings, s3_url):
    result = knn(with_key(s3_settings, *READ_ONLY_KEY, blob_url=None), "blobs", "migrate", "--to", s3_url)

    assert result.exit_code == 1
    assert "AccessDenied" in result.output and s3_url.split("?")[0].removeprefix("s3://") in result.output


# --- a slow store -------------------------------------------------------------------------------------------


class DelayingProxy:
    """A TCP proxy on loopback to ``upstream`` that holds every piece of the answer back ``delay`` seconds."""

    def __init__(self, upstream: str, delay: float) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.delay = delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                downstream, _ = self.listener.accept()
                upstream = socket.create_connection(self.upstream)
                self.sockets += [downstream, upstream]
                threading.Thread(target=self._pump, args=(downstream, upstream, 0), daemon=True).start()
                threading.Thread(target=self._pump, args=(upstream, downstream, self.delay), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, delay: float) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                time.sleep(delay)
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()


@pytest.fixture
def slow_store(s3_settings: Settings, s3_server, published) -> Iterator[tuple[DelayingProxy, Settings]]:
    """A proxy in front of the S3 server and settings that go through it, with a 1 s time limit."""
    proxy = DelayingProxy(s3_server.endpoint, delay=0)
    url = s3_settings.blob_url.replace(s3_server.endpoint, proxy.endpoint)
    yield proxy, s3_settings.model_copy(update={"blob_url": url, "s3_timeout_s": 1.0})
    proxy.close()


def test_an_upload_to_a_store_slower_than_the_time_limit_is_answered_503_in_seconds(slow_store, db, collector):
    proxy, settings = slow_store
    proxy.delay = 4.0
    started = time.monotonic()

    response = phone(settings, db, collector).submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(2)})[0]

    assert response.status_code == 503
    assert b"could not store the upload" in response.data
    assert time.monotonic() - started < 8
    assert scalar(db, "SELECT count(*) FROM submissions") == 0


def test_an_upload_through_the_proxy_without_delay_is_stored(slow_store, db, collector):
    _, settings = slow_store

    response = phone(settings, db, collector).submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(2)})[0]

    assert response.status_code == 201


# --- the store killed in the middle of many uploads ---------------------------------------------------------


@pytest.fixture
def http_server(s3_settings: Settings, db: Engine, published) -> Iterator[str]:
    """The app on the bucket, served over real HTTP by a threaded server on loopback."""
    server = make_server("127.0.0.1", 0, create_app(s3_settings, engine=db), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def killed_mid_upload(http_server: str, seaweedfs: SeaweedFS, collector) -> Iterator[list[Submission]]:
    """50 plot surveys with three photos each sent by 8 phones at once; after 10 answers of 201 the S3 server
    is killed (SIGKILL), then started again, and what was not acknowledged is sent again."""
    submissions = make_submissions(UPLOADS)
    try:
        with ThreadPoolExecutor(PHONES) as pool:
            futures = [pool.submit(send, http_server, s) for s in submissions]
            while sum(s.acknowledged for s in submissions) < KILL_AFTER:
                if all(f.done() for f in futures):
                    pytest.fail("every upload was answered before the kill")
                time.sleep(0.005)
            seaweedfs.kill()
            for f in futures:
                f.result()
    finally:
        seaweedfs.start()  # the session's server, for the tests that follow
    with ThreadPoolExecutor(PHONES) as pool:
        list(pool.map(lambda s: send(http_server, s), [s for s in submissions if not s.acknowledged]))
    yield submissions


def test_the_kill_cut_uploads_off_with_503_and_each_resent_one_got_201(killed_mid_upload):
    first = [s.statuses[0] for s in killed_mid_upload]

    assert 503 in first
    assert [s.instance_id for s in killed_mid_upload if s.statuses[-1] != 201] == []


def test_after_the_restart_every_acknowledged_photo_is_in_the_bucket_intact(
    killed_mid_upload, published, db, s3_settings
):
    verified = knn(s3_settings, "blobs", "verify", blob_url=s3_settings.blob_url)

    assert verified.exit_code == 0, verified.output
    assert "0 missing, 0 corrupt" in verified.output
    for s in killed_mid_upload:
        stored = scalar(db, "SELECT count(*) FROM submissions WHERE instance_id = :i", i=s.instance_id)
        assert stored == 1, s.instance_id
        for content in s.photos.values():
            key = hashlib.sha256(content).hexdigest()
            assert published.digest(key) == key
