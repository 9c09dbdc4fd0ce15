"""khoknongna.storage.blobs.local: blobs stored as <root>/ab/cd/<sha256>, committed durably or not at all."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from khoknongna.storage.blobs import BlobCorrupt, BlobStoreError
from khoknongna.storage.blobs.local import TOUCH_AFTER_S, LocalBlobStore
from tests.storage.blob_contract import PHOTO, PHOTO_SHA, BlobStoreContract


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


class TestLocalBlobStoreContract(BlobStoreContract):
    """The local folder store does what every blob store does."""


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_new_store_creates_its_folder_and_staging_folder(tmp_path):
    LocalBlobStore(tmp_path / "a" / "b")

    assert (tmp_path / "a" / "b" / ".staging").is_dir()


def test_blob_is_stored_at_root_first_two_next_two_then_the_full_hash(store):
    store.put_bytes(PHOTO)

    path = store.root / PHOTO_SHA[:2] / PHOTO_SHA[2:4] / PHOTO_SHA
    assert path.read_bytes() == PHOTO
    assert store.path(PHOTO_SHA) == path


def test_committing_the_same_content_twice_keeps_one_file(store):
    first = store.put_bytes(PHOTO)
    second = store.put_bytes(PHOTO)

    assert first == second
    assert files_under(store.root) == [store.path(PHOTO_SHA)]


def test_committing_the_same_content_twice_leaves_staging_empty(store):
    store.put_bytes(PHOTO)
    store.put_bytes(PHOTO)

    assert list(store.staging.iterdir()) == []


def test_staged_blob_closed_without_commit_leaves_nothing_behind(store):
    staged = store.stage()
    staged.write(PHOTO)
    staged.close()

    assert list(store.staging.iterdir()) == []
    assert not store.exists(PHOTO_SHA)
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_staged_blob_abandoned_by_an_exception_leaves_nothing_behind(store):
    with pytest.raises(RuntimeError), store.stage() as staged:
        staged.write(PHOTO)
        raise RuntimeError("upload interrupted")

    assert list(store.staging.iterdir()) == []


def test_staged_blob_can_be_read_back_before_commit(store):
    with store.stage() as staged:
        staged.write(b"hello ")
        staged.write(b"world")
        staged.flush()
        staged.seek(0)

        assert staged.read() == b"hello world"
        assert staged.tell() == 11


def test_streaming_20_mb_in_64_kib_writes_gives_the_right_hash_and_size(store):
    block = bytes(range(256)) * 256  # 64 KiB
    expected = hashlib.sha256()
    with store.stage() as staged:
        for i in range(320):  # 20 MiB
            chunk = block[i % 256 :] + block[: i % 256]
            staged.write(chunk)
            expected.update(chunk)
        key = store.commit(staged)

    assert key == expected.hexdigest()
    assert staged.size == 20 * 1024 * 1024
    assert store.path(key).stat().st_size == 20 * 1024 * 1024
    with store.open(key) as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == key


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "",
        "0" * 63,
        "0" * 65,
        "A" * 64,
        "g" * 64,
        "../" + "0" * 61,
        "0" * 64 + "/x",
        " " + "0" * 64,
    ],
)
def test_key_that_is_not_64_lowercase_hex_is_refused(store, key):
    with pytest.raises(ValueError, match="not a SHA-256 blob key"):
        store.open(key)
    with pytest.raises(ValueError):
        store.exists(key)
    with pytest.raises(ValueError):
        store.path(key)


def test_key_with_a_trailing_newline_is_refused(store):
    with pytest.raises(ValueError, match="not a SHA-256 blob key"):
        store.path("0" * 64 + "\n")


def test_a_file_where_the_shard_folder_should_be_makes_commit_fail_with_blob_store_error(store):
    (store.root / PHOTO_SHA[:2]).write_bytes(b"in the way")

    with pytest.raises(BlobStoreError), store.stage() as staged:
        staged.write(PHOTO)
        store.commit(staged)

    assert not store.exists(PHOTO_SHA)


def test_failed_commit_leaves_staging_empty_once_closed(store):
    (store.root / PHOTO_SHA[:2]).write_bytes(b"in the way")

    with pytest.raises(BlobStoreError):
        store.put_bytes(PHOTO)

    assert list(store.staging.iterdir()) == []


def test_blob_store_error_is_an_os_error_naming_the_blob(store):
    (store.root / PHOTO_SHA[:2]).write_bytes(b"in the way")

    with pytest.raises(OSError, match=PHOTO_SHA[:12]):
        store.put_bytes(PHOTO)


@pytest.fixture
def staging_blocked(store) -> None:
    """A file where the store's staging folder should be."""
    shutil.rmtree(store.staging)
    store.staging.write_bytes(b"in the way")


def test_a_file_where_the_staging_folder_should_be_makes_stage_fail_with_blob_store_error(store, staging_blocked):
    with pytest.raises(BlobStoreError, match="cannot create a file"):
        store.stage()


def test_store_keeps_working_after_a_failed_commit(store):
    blocker = store.root / PHOTO_SHA[:2]
    blocker.write_bytes(b"in the way")
    with pytest.raises(BlobStoreError):
        store.put_bytes(PHOTO)
    blocker.unlink()

    assert store.put_bytes(PHOTO) == PHOTO_SHA
    assert store.read_bytes(PHOTO_SHA) == PHOTO


def test_stat_gives_the_size_and_time_of_a_stored_blob(store):
    store.put_bytes(PHOTO)

    info = store.stat(PHOTO_SHA)

    assert (info.sha256, info.size) == (PHOTO_SHA, len(PHOTO))
    assert info.modified.tzinfo is not None


def test_list_blobs_gives_every_stored_blob_and_nothing_staged(store):
    keys = {store.put_bytes(b"one"), store.put_bytes(b"two")}
    staged = store.stage()
    staged.write(b"not committed")

    assert {b.sha256 for b in store.list_blobs()} == keys
    staged.close()


def test_list_blobs_skips_files_that_are_not_blobs(store):
    store.put_bytes(PHOTO)
    (store.root / "notes.txt").write_text("hello")
    (store.path(PHOTO_SHA).parent / "stray").write_text("x")

    assert [b.sha256 for b in store.list_blobs()] == [PHOTO_SHA]


def test_remove_deletes_the_blob_and_a_second_remove_is_harmless(store):
    store.put_bytes(PHOTO)

    store.remove(PHOTO_SHA)
    store.remove(PHOTO_SHA)

    assert not store.exists(PHOTO_SHA)


def test_read_bytes_of_a_file_whose_bytes_changed_raises_blob_corrupt(store):
    store.put_bytes(PHOTO)
    store.path(PHOTO_SHA).write_bytes(PHOTO.upper())

    with pytest.raises(BlobCorrupt):
        store.read_bytes(PHOTO_SHA)


def test_committing_content_whose_old_file_is_there_refreshes_its_time(store):
    store.put_bytes(PHOTO)
    old = store.stat(PHOTO_SHA).modified.timestamp() - 2 * TOUCH_AFTER_S
    os.utime(store.path(PHOTO_SHA), (old, old))

    store.put_bytes(PHOTO)

    assert store.stat(PHOTO_SHA).modified.timestamp() > old + TOUCH_AFTER_S


def test_check_passes_for_a_writable_folder(store):
    store.check()


def test_check_fails_when_the_staging_folder_is_gone(store, staging_blocked):
    with pytest.raises(BlobStoreError, match="not writable"):
        store.check()


def test_description_names_the_folder(store):
    assert str(store.root) in store.describe()
