"""``khoknongna blobs verify | cleanup | migrate``, on the test database, the local folder and S3 (moto, SeaweedFS)."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from pydantic import SecretStr

from khoknongna.server.app import create_app
from khoknongna.server.cli import main
from khoknongna.settings import Settings
from khoknongna.storage.blobs import open_blob_store
from khoknongna.storage.blobs.local import LocalBlobStore
from khoknongna.storage.blobs.s3 import S3BlobStore
from tests.collect import CollectClient
from tests.instances import jpeg
from tests.plots import plot_xml
from tests.s3servers import S3Server
from tests.server.test_openrosa_routes import entry
from tests.server.test_submission import new_id

PHOTO = jpeg(7)
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()


def knn(settings: Settings, *args: str, blob_url: str | None = None) -> Result:
    """``khoknongna ARGS`` on the test database and data folder, the blob store given by ``blob_url``, with the
    S3 key of ``settings``."""
    secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else "knn-test-secret"
    return CliRunner().invoke(
        main,
        [*args, "--data-dir", str(settings.data_dir)],
        env={
            "KNN_DATABASE_URL": settings.database_url,
            "KNN_BLOB_URL": blob_url,
            "KNN_S3_ACCESS_KEY": settings.s3_access_key or "knn-test",
            "KNN_S3_SECRET_KEY": secret,
            "KNN_VALIDATE_FORMS": "false",
        },
        catch_exceptions=False,
    )


def s3_store(settings: Settings, url: str) -> S3BlobStore:
    """The S3 store at ``url`` with the credentials of ``settings`` (those the commands get)."""
    store = open_blob_store(settings, url)
    assert isinstance(store, S3BlobStore)
    return store


@pytest.fixture
def submitted(collect: CollectClient, plot_survey: None) -> None:
    """The plot survey published and one plot submitted with its photo, all in the local folder."""
    assert collect.submit(plot_xml(new_id()), {"1790000000001.jpg": PHOTO})[0].status_code == 201


@pytest.fixture
def keyed(settings: Settings, s3_server: S3Server) -> Settings:
    """The test settings (blobs in the local folder) with the S3 server's read-write key."""
    return settings.model_copy(
        update={"s3_access_key": s3_server.access_key, "s3_secret_key": SecretStr(s3_server.secret_key)}
    )


@pytest.fixture
def local(app: Flask) -> LocalBlobStore:
    return app.extensions["knn"].blobs


def age(store: LocalBlobStore, sha256: str, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(store.path(sha256), (then, then))


# --- verify -------------------------------------------------------------------------------------------------


def test_verify_passes_when_every_referenced_blob_is_intact(settings, submitted):
    result = knn(settings, "blobs", "verify")

    assert result.exit_code == 0, result.output
    assert "0 missing, 0 corrupt" in result.output


def test_verify_counts_the_xlsform_the_xform_and_the_photo(settings, submitted):
    assert "3 referenced blobs" in knn(settings, "blobs", "verify").output


def test_verify_reports_a_missing_photo_with_its_submission_and_exits_1(settings, submitted, local):
    local.remove(PHOTO_SHA)

    result = knn(settings, "blobs", "verify")

    assert result.exit_code == 1
    assert f"missing  {PHOTO_SHA}  submission uuid:" in result.output
    assert "file 1790000000001.jpg" in result.output


def test_verify_reports_a_photo_whose_bytes_changed_and_exits_1(settings, submitted, local):
    local.path(PHOTO_SHA).write_bytes(PHOTO[::-1])

    result = knn(settings, "blobs", "verify")

    assert result.exit_code == 1
    assert f"corrupt  {PHOTO_SHA}" in result.output


def test_verify_quick_reports_a_photo_of_the_wrong_size(settings, submitted, local):
    local.path(PHOTO_SHA).write_bytes(PHOTO[:10])

    result = knn(settings, "blobs", "verify", "--quick")

    assert result.exit_code == 1
    assert f"10 bytes stored, {len(PHOTO)} recorded" in result.output


def test_verify_counts_unreferenced_blobs_without_failing(settings, submitted, local):
    local.put_bytes(b"left behind by a refused upload")

    result = knn(settings, "blobs", "verify")

    assert result.exit_code == 0
    assert "1 unreferenced (31 bytes" in result.output


def test_verify_finds_a_changed_object_in_the_s3_store(keyed, s3_url, submitted):
    assert knn(keyed, "blobs", "migrate", "--to", s3_url).exit_code == 0
    s3 = s3_store(keyed, s3_url)
    s3.client.put_object(s3.bucket, PHOTO_SHA, io.BytesIO(PHOTO[::-1]), len(PHOTO), metadata={"sha256": PHOTO_SHA})

    result = knn(keyed, "blobs", "verify", blob_url=s3_url)

    assert result.exit_code == 1
    assert f"corrupt  {PHOTO_SHA}" in result.output


# --- cleanup ------------------------------------------------------------------------------------------------


def test_cleanup_removes_unreferenced_blobs_older_than_the_grace_period(settings, submitted, local):
    old = local.put_bytes(b"old leftover")
    age(local, old, 48)

    result = knn(settings, "blobs", "cleanup")

    assert result.exit_code == 0
    assert not local.exists(old)
    assert f"removed  {old}" in result.output


def test_cleanup_keeps_recent_unreferenced_blobs(settings, submitted, local):
    recent = local.put_bytes(b"an upload whose row may be committing right now")

    knn(settings, "blobs", "cleanup")

    assert local.exists(recent)


def test_cleanup_never_removes_referenced_blobs_however_old(settings, submitted, local):
    age(local, PHOTO_SHA, 24 * 365)

    knn(settings, "blobs", "cleanup")

    assert local.exists(PHOTO_SHA)


def test_cleanup_dry_run_removes_nothing(settings, submitted, local):
    old = local.put_bytes(b"old leftover")
    age(local, old, 48)

    result = knn(settings, "blobs", "cleanup", "--dry-run")

    assert local.exists(old)
    assert f"would remove  {old}" in result.output


# --- migrate ------------------------------------------------------------------------------------------------


def test_migrate_copies_every_blob_of_the_folder_into_the_bucket(keyed, s3_url, submitted, local):
    result = knn(keyed, "blobs", "migrate", "--to", s3_url)

    assert result.exit_code == 0, result.output
    s3 = s3_store(keyed, s3_url)
    assert {b.sha256 for b in s3.list_blobs()} == {b.sha256 for b in local.list_blobs()}
    assert s3.read_bytes(PHOTO_SHA) == PHOTO


def test_migrate_reports_what_it_copied(keyed, s3_url, submitted):
    result = knn(keyed, "blobs", "migrate", "--to", s3_url)

    assert "3 blobs copied" in result.output
    assert "0 already in the target, 0 failed" in result.output


def test_migrate_run_again_copies_only_what_is_missing(keyed, s3_url, submitted):
    knn(keyed, "blobs", "migrate", "--to", s3_url)
    s3_store(keyed, s3_url).remove(PHOTO_SHA)

    result = knn(keyed, "blobs", "migrate", "--to", s3_url)

    assert result.exit_code == 0
    assert "1 blobs copied" in result.output
    assert "2 already in the target" in result.output


def test_migrate_does_not_copy_a_blob_whose_file_was_changed(keyed, s3_url, submitted, local):
    local.path(PHOTO_SHA).write_bytes(PHOTO[::-1])

    result = knn(keyed, "blobs", "migrate", "--to", s3_url)

    assert result.exit_code == 1
    assert f"failed   {PHOTO_SHA}" in result.output
    assert not s3_store(keyed, s3_url).exists(PHOTO_SHA)


def test_migrate_to_a_url_that_is_not_s3_fails_with_a_clear_message(settings):
    result = knn(settings, "blobs", "migrate", "--to", "/srv/blobs")

    assert result.exit_code == 1
    assert "must start with s3://" in result.output


def test_after_migrate_the_server_on_the_bucket_serves_the_form(keyed, s3_settings, s3_url, submitted, collector, db):
    knn(keyed, "blobs", "migrate", "--to", s3_url)
    app = create_app(s3_settings, engine=db)
    phone = CollectClient(app.test_client(), *collector)

    response = phone.get(entry(phone.get("/formList"), "plot_survey")["downloadUrl"])

    assert response.status_code == 200
    assert b"plot_survey" in response.data


def test_verify_on_the_bucket_passes_after_migrate(keyed, s3_url, submitted):
    knn(keyed, "blobs", "migrate", "--to", s3_url)

    result = knn(keyed, "blobs", "verify", blob_url=s3_url)

    assert result.exit_code == 0, result.output
    assert "3 referenced blobs" in result.output


def test_migrate_back_from_the_bucket_to_the_local_folder_restores_a_lost_photo(keyed, s3_url, submitted, local):
    knn(keyed, "blobs", "migrate", "--to", s3_url)
    local.remove(PHOTO_SHA)

    result = knn(keyed, "blobs", "migrate", "--to", "local", blob_url=s3_url)

    assert result.exit_code == 0, result.output
    assert "1 blobs copied" in result.output and "2 already in the target" in result.output
    assert local.read_bytes(PHOTO_SHA) == PHOTO


def test_migrate_from_the_local_folder_to_local_is_refused(settings, submitted):
    result = knn(settings, "blobs", "migrate", "--to", "local")

    assert result.exit_code == 1
    assert "same store" in result.output


def test_migrate_creates_the_bucket(keyed, s3_url, tmp_path: Path):
    result = knn(keyed, "blobs", "migrate", "--to", s3_url)

    assert result.exit_code == 0
    assert "0 blobs copied" in result.output
    s3_store(keyed, s3_url).check()
