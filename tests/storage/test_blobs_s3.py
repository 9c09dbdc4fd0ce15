"""khoknongna.storage.blobs.s3: blobs as objects named by their SHA-256, over HTTP against moto and SeaweedFS."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from khoknongna.settings import Settings
from khoknongna.storage.blobs import BlobCorrupt, BlobStoreError, open_blob_store
from khoknongna.storage.blobs import s3 as s3_module
from khoknongna.storage.blobs.s3 import S3BlobStore, expected_etag, parse_s3_url
from tests.s3servers import S3Server
from tests.storage.blob_contract import PHOTO, PHOTO_SHA, BlobStoreContract

MiB = 1024 * 1024


def s3_store(tmp_path: Path, url: str, key: tuple[str, str] = ("k", "s")) -> S3BlobStore:
    """The store at ``url`` with the access key and secret ``key``."""
    settings = Settings(data_dir=tmp_path / "data", s3_access_key=key[0], s3_secret_key=SecretStr(key[1]))
    store = open_blob_store(settings, url)
    assert isinstance(store, S3BlobStore)
    return store


def app_key(server: S3Server) -> tuple[str, str]:
    return server.access_key, server.secret_key


@pytest.fixture
def store(tmp_path: Path, s3_url: str, s3_server: S3Server) -> S3BlobStore:
    return s3_store(tmp_path, s3_url + f"&part_size={5 * MiB}", app_key(s3_server))


class TestS3BlobStoreContract(BlobStoreContract):
    """The S3 store does what every blob store does."""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def staged_files(store: S3BlobStore) -> list[Path]:
    return list(store.staging.iterdir()) if store.staging.exists() else []


# --- URLs and settings --------------------------------------------------------------------------------------


def test_url_names_bucket_endpoint_and_plain_http():
    location = parse_s3_url("s3://photos?endpoint=minio:9000&secure=false")

    assert (location.bucket, location.endpoint, location.secure, location.prefix) == ("photos", "minio:9000", False, "")


def test_url_without_endpoint_means_aws_over_https():
    location = parse_s3_url("s3://photos")

    assert (location.endpoint, location.secure, location.region) == ("s3.amazonaws.com", True, None)


def test_url_path_is_a_prefix_of_every_object_name():
    assert parse_s3_url("s3://photos/knn/prod?endpoint=m:9000").prefix == "knn/prod/"


def test_url_with_credentials_is_refused():
    with pytest.raises(ValueError, match="credentials"):
        parse_s3_url("s3://key:secret@photos?endpoint=m:9000")


def test_settings_refuse_a_blob_url_with_credentials():
    with pytest.raises(ValueError, match="KNN_S3_ACCESS_KEY"):
        Settings(blob_url="s3://key:secret@photos")


def test_settings_refuse_a_blob_url_that_is_not_s3():
    with pytest.raises(ValueError, match="s3://"):
        Settings(blob_url="ftp://photos")


def test_url_with_an_unknown_parameter_is_refused():
    with pytest.raises(ValueError, match="unknown blob URL parameter"):
        parse_s3_url("s3://photos?endpiont=m:9000")


def test_part_size_below_the_s3_minimum_is_refused():
    with pytest.raises(ValueError, match="5 MiB"):
        parse_s3_url(f"s3://photos?part_size={MiB}")


def test_settings_select_the_s3_store_for_an_s3_url(tmp_path, s3_settings):
    store = open_blob_store(s3_settings)

    assert isinstance(store, S3BlobStore)
    assert store.staging == s3_settings.data_dir / "staging"


def test_description_names_bucket_and_endpoint_but_no_credentials(s3_settings, s3_server):
    store = open_blob_store(s3_settings)

    text = store.describe()

    assert store.bucket in text and s3_server.endpoint in text
    assert s3_server.access_key not in text and s3_server.secret_key not in text


def test_multipart_etag_is_the_md5_of_the_part_md5s_and_the_part_count():
    parts = [hashlib.md5(b"a").digest(), hashlib.md5(b"b").digest()]

    assert expected_etag(parts) == hashlib.md5(parts[0] + parts[1]).hexdigest() + "-2"
    assert expected_etag(parts[:1]) == hashlib.md5(b"a").hexdigest()


# --- put / get ----------------------------------------------------------------------------------------------


def test_the_first_commit_creates_the_bucket(store):
    assert not store.client.bucket_exists(store.bucket)

    store.put_bytes(PHOTO)

    assert store.client.bucket_exists(store.bucket)


def test_blob_is_the_object_named_by_its_sha256(store):
    store.put_bytes(PHOTO)

    response = store.client.get_object(store.bucket, PHOTO_SHA)
    try:
        assert response.read() == PHOTO
    finally:
        response.close()
        response.release_conn()


def test_object_carries_the_sha256_in_its_metadata(store):
    store.put_bytes(PHOTO)

    assert store.client.stat_object(store.bucket, PHOTO_SHA).metadata["x-amz-meta-sha256"] == PHOTO_SHA


def test_prefix_of_the_url_goes_before_the_object_name(tmp_path, s3_url, s3_server):
    store = s3_store(tmp_path, s3_url.replace("?", "/knn/blobs?"), app_key(s3_server))

    store.put_bytes(PHOTO)

    assert store.client.stat_object(store.bucket, f"knn/blobs/{PHOTO_SHA}").size == len(PHOTO)
    assert store.read_bytes(PHOTO_SHA) == PHOTO


def test_stored_blob_reads_back_in_small_pieces(store):
    data = os.urandom(300_000)
    key = store.put_bytes(data)

    pieces = []
    with store.open(key) as f:
        while piece := f.read(7_000):
            pieces.append(piece)

    assert b"".join(pieces) == data


def test_stat_gives_the_size(store):
    store.put_bytes(PHOTO)

    assert store.stat(PHOTO_SHA).size == len(PHOTO)


def test_content_already_stored_is_not_uploaded_again(store, monkeypatch):
    store.put_bytes(PHOTO)
    uploads = []
    original = store.client.put_object
    monkeypatch.setattr(store.client, "put_object", lambda *a, **kw: uploads.append(a) or original(*a, **kw))

    assert store.put_bytes(PHOTO) == PHOTO_SHA
    assert uploads == []


def test_an_old_object_found_again_gets_a_fresh_time(store, monkeypatch):
    store.put_bytes(PHOTO)
    before = store.stat(PHOTO_SHA).modified
    monkeypatch.setattr(s3_module, "TOUCH_AFTER", s3_module.timedelta(0))
    time.sleep(1.1)  # Last-Modified has whole seconds

    store.put_bytes(PHOTO)

    assert store.stat(PHOTO_SHA).modified > before
    assert store.read_bytes(PHOTO_SHA) == PHOTO


def test_commit_removes_the_staged_file(store):
    store.put_bytes(PHOTO)

    assert staged_files(store) == []


def test_staged_blob_closed_without_commit_leaves_nothing_behind(store):
    staged = store.stage()
    staged.write(PHOTO)
    staged.close()

    assert staged_files(store) == []
    assert not store.exists(PHOTO_SHA)


def test_staged_bytes_are_on_local_disk_until_commit(store):
    with store.stage() as staged:
        staged.write(PHOTO)
        staged.flush()
        assert Path(staged.location).read_bytes() == PHOTO
        assert Path(staged.location).parent == store.staging


def test_12_mib_are_uploaded_in_three_parts_and_read_back_whole(store):
    data = os.urandom(12 * MiB)

    key = store.put_bytes(data)

    assert store.client.stat_object(store.bucket, key).etag.endswith("-3")  # 5 + 5 + 2 MiB
    with store.open(key) as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == key == hashlib.sha256(data).hexdigest()


def test_12_mib_streamed_in_64_kib_writes_give_the_right_key_and_size(store):
    block = os.urandom(64 * 1024)
    expected = hashlib.sha256()
    with store.stage() as staged:
        for _ in range(192):
            staged.write(block)
            expected.update(block)
        key = store.commit(staged)

    assert key == expected.hexdigest()
    assert store.stat(key).size == 12 * MiB


def test_exactly_one_part_size_is_one_plain_upload(store):
    key = store.put_bytes(os.urandom(5 * MiB))

    assert "-" not in store.client.stat_object(store.bucket, key).etag


# --- missing and corrupt ------------------------------------------------------------------------------------


def test_key_that_is_not_64_lowercase_hex_is_refused(store):
    with pytest.raises(ValueError, match="not a SHA-256 blob key"):
        store.open("../" + "0" * 61)


def overwrite(store: S3BlobStore, key: str, data: bytes) -> None:
    """Change the bytes of a stored object behind the store's back, keeping its metadata."""
    store.client.put_object(store.bucket, key, io.BytesIO(data), len(data), metadata={"sha256": key})


@pytest.fixture
def photo_changed(store) -> None:
    """PHOTO stored, then its object's bytes changed behind the store's back."""
    store.put_bytes(PHOTO)
    overwrite(store, PHOTO_SHA, PHOTO.upper())


def test_read_bytes_of_an_object_whose_bytes_changed_raises_blob_corrupt(store, photo_changed):
    with pytest.raises(BlobCorrupt):
        store.read_bytes(PHOTO_SHA)


def test_streaming_a_corrupt_object_fails_before_its_last_bytes_are_given_out(store):
    data = os.urandom(200_000)
    key = store.put_bytes(data)
    overwrite(store, key, os.urandom(200_000))

    received = bytearray()
    with pytest.raises(BlobCorrupt), store.open(key) as f:
        while piece := f.read(8192):
            received += piece

    assert len(received) < len(data)


def test_digest_of_a_corrupt_object_raises_blob_corrupt(store, photo_changed):
    with pytest.raises(BlobCorrupt):
        store.digest(PHOTO_SHA)


def test_commit_replaces_an_object_whose_size_differs(store):
    store.put_bytes(PHOTO)
    overwrite(store, PHOTO_SHA, b"truncated")

    store.put_bytes(PHOTO)

    assert store.read_bytes(PHOTO_SHA) == PHOTO


def test_commit_replaces_an_object_without_the_sha256_metadata(store):
    store.put_bytes(PHOTO)
    store.client.put_object(store.bucket, PHOTO_SHA, io.BytesIO(PHOTO.upper()), len(PHOTO))

    store.put_bytes(PHOTO)

    assert store.read_bytes(PHOTO_SHA) == PHOTO


# --- list, remove -------------------------------------------------------------------------------------------


def test_list_blobs_gives_every_blob_with_its_size(store):
    keys = {store.put_bytes(b"one"), store.put_bytes(b"three")}

    assert {(b.sha256, b.size) for b in store.list_blobs()} == {(k, len(store.read_bytes(k))) for k in keys}


def test_list_blobs_skips_objects_that_are_not_blobs(store):
    store.put_bytes(PHOTO)
    store.client.put_object(store.bucket, "README.txt", io.BytesIO(b"hi"), 2)

    assert [b.sha256 for b in store.list_blobs()] == [PHOTO_SHA]


def test_list_blobs_of_a_bucket_not_yet_created_is_empty(store):
    assert list(store.list_blobs()) == []


def test_remove_deletes_the_object(store):
    store.put_bytes(PHOTO)

    store.remove(PHOTO_SHA)

    assert not store.exists(PHOTO_SHA)


# --- an unreachable store -----------------------------------------------------------------------------------


@pytest.fixture
def unreachable(tmp_path: Path) -> S3BlobStore:
    return s3_store(tmp_path, f"s3://photos?endpoint=127.0.0.1:{closed_port()}&secure=false&region=us-east-1")


def test_commit_to_an_unreachable_store_raises_blob_store_error(unreachable):
    with pytest.raises(BlobStoreError, match=PHOTO_SHA[:12]):
        unreachable.put_bytes(PHOTO)


def test_failed_commit_leaves_staging_empty(unreachable):
    with pytest.raises(BlobStoreError):
        unreachable.put_bytes(PHOTO)

    assert staged_files(unreachable) == []


def test_open_on_an_unreachable_store_raises_blob_store_error(unreachable):
    with pytest.raises(BlobStoreError):
        unreachable.open(PHOTO_SHA)


def test_check_passes_when_the_bucket_exists(store):
    store.prepare()

    store.check()


def test_check_fails_when_the_bucket_does_not_exist(store):
    with pytest.raises(BlobStoreError, match="does not exist"):
        store.check()


def test_check_fails_quickly_and_says_unreachable_when_nothing_listens(unreachable):
    start = time.monotonic()
    with pytest.raises(BlobStoreError, match="unreachable"):
        unreachable.check()

    assert time.monotonic() - start < 5
