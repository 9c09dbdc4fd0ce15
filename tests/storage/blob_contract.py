"""What every blob store does, whatever its backend: a class of tests that each backend's test module runs
against its own ``store`` fixture (a :class:`BlobStore` ready for use) by subclassing it as ``Test…``."""

from __future__ import annotations

import hashlib

import pytest

from khoknongna.storage.blobs import BlobNotFound, BlobStore

PHOTO = b"\xff\xd8\xff\xe0 a small JPEG-looking photo of a pond"
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()


class BlobStoreContract:
    """The behaviours of :class:`BlobStore` that do not depend on where the bytes are kept."""

    def test_committing_a_staged_blob_twice_returns_the_same_key(self, store: BlobStore) -> None:
        with store.stage() as staged:
            staged.write(PHOTO)
            assert store.commit(staged) == store.commit(staged) == PHOTO_SHA

    def test_empty_content_is_a_blob_too(self, store: BlobStore) -> None:
        key = store.put_bytes(b"")

        assert key == hashlib.sha256(b"").hexdigest()
        assert store.read_bytes(key) == b""

    def test_exists_is_true_only_after_commit(self, store: BlobStore) -> None:
        with store.stage() as staged:
            staged.write(PHOTO)
            assert not store.exists(PHOTO_SHA)
            store.commit(staged)

        assert store.exists(PHOTO_SHA)

    def test_exists_of_a_missing_key_is_false(self, store: BlobStore) -> None:
        store.prepare()

        assert store.exists("0" * 64) is False

    def test_open_of_a_missing_key_raises_blob_not_found(self, store: BlobStore) -> None:
        store.prepare()

        with pytest.raises(BlobNotFound):
            store.open("0" * 64)

    def test_put_bytes_returns_the_sha256_hex_of_the_content(self, store: BlobStore) -> None:
        assert store.put_bytes(PHOTO) == PHOTO_SHA

    def test_stat_of_a_missing_key_raises_blob_not_found(self, store: BlobStore) -> None:
        store.prepare()

        with pytest.raises(BlobNotFound):
            store.stat("0" * 64)

    def test_stored_blob_reads_back_the_same_bytes(self, store: BlobStore) -> None:
        store.put_bytes(PHOTO)

        with store.open(PHOTO_SHA) as f:
            assert f.read() == PHOTO
        assert store.read_bytes(PHOTO_SHA) == PHOTO
