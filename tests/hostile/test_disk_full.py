"""When our side fails: the blob store's disk full (an injected ENOSPC), the database unreachable.

The answer is a 503 in the OpenRosa envelope saying to send again later, no row refers to a blob that is not
stored, no staged file is left, and the same submission sent again once there is room is accepted whole.
A disk that really fills up is not used: that needs a mount (root) and is slow to fill; the error injected is
the one the kernel gives, at the two places it can come (writing the staged upload, flushing it at commit).
"""

from __future__ import annotations

import errno
import hashlib
import uuid
from pathlib import Path

import pytest
from flask import Flask
from pydantic import SecretStr
from sqlalchemy import Engine, text

from khoknongna import entities
from khoknongna.publishing import publish_form
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from khoknongna.storage import submissions
from khoknongna.storage.blobs import StagedBlob
from khoknongna.storage.blobs.local import LocalBlobStore
from khoknongna.storage.db import make_engine
from tests.collect import CollectClient
from tests.hostile.support import PHOTO, assert_nothing_stored, assert_openrosa_error, new_id
from tests.instances import jpeg
from tests.plots import PLOT_SURVEY, plot_xml

pytestmark = pytest.mark.usefixtures("plot_survey")


class FullDisk:
    """What the blob store's disk has room for, in bytes; ``flush_fails`` makes every flush fail as well."""

    def __init__(self, room: int, flush_fails: bool = False) -> None:
        self.room = room
        self.flush_fails = flush_fails

    def error(self) -> OSError:
        return OSError(errno.ENOSPC, "No space left on device")


class FullDiskFile:
    """A staged file on a disk with ``disk.room`` bytes left."""

    def __init__(self, real, disk: FullDisk) -> None:
        self.real, self.disk = real, disk

    def write(self, data: bytes) -> int:
        if len(data) > self.disk.room:
            raise self.disk.error()
        self.disk.room -= len(data)
        return self.real.write(data)

    def flush(self) -> None:
        if self.disk.flush_fails:
            raise self.disk.error()
        self.real.flush()

    def close(self) -> None:
        if self.disk.flush_fails and not self.real.closed:
            self.real.close()
            raise self.disk.error()
        self.real.close()

    def __getattr__(self, name: str):
        return getattr(self.real, name)


class FullDiskBlobStore(LocalBlobStore):
    def __init__(self, root: Path, disk: FullDisk) -> None:
        super().__init__(root)
        self.disk = disk

    def stage(self) -> StagedBlob:
        staged = super().stage()
        staged.fileobj = FullDiskFile(staged.fileobj, self.disk)
        return staged


@pytest.fixture
def disk(app: Flask) -> FullDisk:
    """The app's blob store on a disk with 10 kB left."""
    services = app.extensions["knn"]
    disk = FullDisk(room=10_000)
    services.blobs = FullDiskBlobStore(services.blobs.root, disk)
    return disk


def photo(size: int = 100_000) -> bytes:
    return jpeg(1) + b"\0" * size


def referenced_blobs_missing(app: Flask, db: Engine) -> list[str]:
    blobs = app.extensions["knn"].blobs
    with db.connect() as conn:
        keys = conn.execute(text("SELECT blob_sha256 FROM submission_attachments WHERE blob_sha256 IS NOT NULL"))
        return [key for key in keys.scalars() if not blobs.exists(key)]


def test_a_full_disk_while_a_photo_arrives_is_503_and_nothing_is_stored(
    app: Flask, collect: CollectClient, db: Engine, disk: FullDisk
) -> None:
    response = collect.submit(plot_xml(new_id()), {PHOTO: photo()})[0]

    assert_openrosa_error(response, 503, "send it again later")
    assert "No space left on device" in response.get_data(as_text=True)
    assert_nothing_stored(db)
    assert list(app.extensions["knn"].blobs.staging.iterdir()) == []


def test_a_full_disk_when_the_photo_is_committed_is_503_and_no_row_refers_to_a_missing_blob(
    app: Flask, collect: CollectClient, db: Engine, disk: FullDisk
) -> None:
    disk.room, disk.flush_fails = 10**9, True

    response = collect.submit(plot_xml(new_id()), {PHOTO: photo()})[0]

    assert_openrosa_error(response, 503, "send it again later")
    assert_nothing_stored(db)
    assert referenced_blobs_missing(app, db) == []
    assert not app.extensions["knn"].blobs.exists(hashlib.sha256(photo()).hexdigest())


def test_once_there_is_room_again_the_same_submission_is_accepted_whole(
    app: Flask, collect: CollectClient, db: Engine, disk: FullDisk
) -> None:
    xml, content = plot_xml(new_id()), photo()
    assert collect.submit(xml, {PHOTO: content})[0].status_code == 503

    disk.room = 10**9
    responses = collect.submit(xml, {PHOTO: content})

    assert [r.status_code for r in responses] == [201]
    with db.connect() as conn:
        key = conn.execute(text("SELECT blob_sha256 FROM submission_attachments")).scalar_one()
    assert key == hashlib.sha256(content).hexdigest()
    assert app.extensions["knn"].blobs.read_bytes(key) == content


def test_an_unreachable_database_is_503_with_a_message_to_try_again(
    settings: Settings, db: Engine, tmp_path: Path
) -> None:
    nowhere = make_engine(f"postgresql+psycopg://postgres@/knn?host={tmp_path}/no-such-socket&connect_timeout=2")
    app = create_app(settings, engine=nowhere)
    phone = CollectClient(app.test_client(), "nopparat", "field-pass-2026")

    listing = phone.get("/formList")
    head = phone.request("HEAD", "/submission")

    # the first answer is the challenge (no database needed); signing in needs the database
    assert head.status_code == 503
    assert_openrosa_error(listing, 503, "try again in a few minutes")
    nowhere.dispose()


@pytest.fixture
def backend_dies_during_entity_work(db: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first plot the next request writes finds its PostgreSQL backend terminated (as a database restart or a
    dropped network would): ``pg_terminate_backend`` from another connection, whether the plot is written by the
    one statement of a new submission or by the entity work of the step-by-step path. The pids killed."""
    killed: list[int] = []

    def terminated_first(real):
        def write(conn, *args, **kwargs):
            if not killed:
                pid = conn.connection.dbapi_connection.info.backend_pid
                with db.connect() as other:
                    assert other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
                killed.append(pid)
            return real(conn, *args, **kwargs)

        return write

    monkeypatch.setattr(entities, "_insert", terminated_first(entities._insert))
    monkeypatch.setattr(submissions, "register_submission", terminated_first(submissions.register_submission))
    return killed


def test_a_database_connection_lost_during_entity_work_is_503_not_an_entity_problem(
    collect: CollectClient, db: Engine, backend_dies_during_entity_work: list[int]
) -> None:
    response = collect.submit(plot_xml(new_id()), {PHOTO: photo()})[0]

    assert backend_dies_during_entity_work, "the entity work did not run"
    assert_openrosa_error(response, 503, "try again in a few minutes")
    assert_nothing_stored(db)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM entity_problems")).scalar_one() == 0


def test_after_a_connection_lost_during_entity_work_the_same_submission_is_accepted_once(
    collect: CollectClient, db: Engine, backend_dies_during_entity_work: list[int]
) -> None:
    xml = plot_xml(new_id())
    assert collect.submit(xml, {PHOTO: photo()})[0].status_code == 503

    responses = collect.submit(xml, {PHOTO: photo()})

    assert [r.status_code for r in responses] == [201], responses[-1].data
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submissions")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM entities")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM entity_problems")).scalar_one() == 0


def test_an_object_store_that_stops_answering_is_503_and_the_resend_is_accepted_once(
    settings: Settings, db: Engine, collector: tuple[str, str]
) -> None:
    from moto.server import ThreadedMotoServer

    store = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    store.start()
    host, port = store.get_host_and_port()
    s3 = settings.model_copy(
        update={
            "blob_url": f"s3://knn-outage-{uuid.uuid4().hex[:8]}?endpoint={host}:{port}&secure=false",
            "s3_access_key": "knn-test",
            "s3_secret_key": SecretStr("knn-test-secret"),
        }
    )
    app = create_app(s3, engine=db)
    app.extensions["knn"].blobs.prepare()
    publish_form(db, app.extensions["knn"].blobs, s3, PLOT_SURVEY.name, PLOT_SURVEY.read_bytes())
    phone = CollectClient(app.test_client(), *collector)
    xml = plot_xml(new_id())
    store.stop()
    try:
        response = phone.submit(xml, {PHOTO: photo()})[0]

        assert_openrosa_error(response, 503, "send it again later")
        assert_nothing_stored(db)
        store = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)  # moto keeps its buckets
        store.start()
        responses = phone.submit(xml, {PHOTO: photo()})
    finally:
        store.stop()

    assert [r.status_code for r in responses] == [201], responses[-1].data
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submissions")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM submission_attachments")).scalar_one() == 1
