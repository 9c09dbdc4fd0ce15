"""Blob stores: content-addressed files (photos, XForms, XLSForms, form media) keyed by SHA-256.

One interface, :class:`BlobStore`; the local-folder store is the default. An upload is first *staged*
(streamed to a temporary file while its SHA-256 is computed, so no whole file is held in memory), then
*committed*: written completely and durably under its hash. Only then may the database refer to it.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from typing import IO, TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from khoknongna.settings import Settings

_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobStoreError(OSError):
    """A blob could not be written or read (disk full, permissions, backend down)."""


class BlobNotFound(KeyError):
    """No blob with that SHA-256."""


def check_key(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits; raise ``ValueError`` otherwise (no path tricks)."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 blob key: {sha256!r}")
    return sha256


class StagedBlob:
    """A file being received: bytes are written to ``fileobj`` and hashed as they arrive.

    Behaves like the writable, seekable, readable file werkzeug's multipart parser expects.
    """

    def __init__(self, fileobj: BinaryIO, store: BlobStore, location: str) -> None:
        self.fileobj = fileobj
        self.store = store
        self.location = location  # where the store keeps the staged bytes (a temporary path)
        self._hash = hashlib.sha256()
        self.size = 0
        self.committed_key: str | None = None

    def write(self, data: bytes) -> int:
        """Append ``data``; raises :class:`BlobStoreError` when it cannot be written (disk full)."""
        try:
            self.fileobj.write(data)
        except OSError as exc:
            raise BlobStoreError(f"cannot write an upload: {exc.strerror or exc}") from exc
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        return self.fileobj.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fileobj.seek(offset, whence)

    def tell(self) -> int:
        return self.fileobj.tell()

    def flush(self) -> None:
        self.fileobj.flush()

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of everything written so far."""
        return self._hash.hexdigest()

    def close(self) -> None:
        """Forget the staged bytes unless they were committed."""
        self.store.discard(self)

    def __enter__(self) -> StagedBlob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BlobStore(ABC):
    """Where blobs live. Keys are lowercase hex SHA-256 of the content."""

    @abstractmethod
    def stage(self) -> StagedBlob:
        """A new empty staged blob to write into."""

    @abstractmethod
    def commit(self, staged: StagedBlob) -> str:
        """Store the staged bytes durably under their SHA-256 and return it.

        Idempotent: committing content that is already stored keeps the stored copy.
        Raises :class:`BlobStoreError` when the bytes cannot be stored.
        """

    @abstractmethod
    def discard(self, staged: StagedBlob) -> None:
        """Drop a staged blob's temporary bytes (no-op once committed)."""

    @abstractmethod
    def open(self, sha256: str) -> IO[bytes]:
        """Open a stored blob for reading; raises :class:`BlobNotFound`."""

    @abstractmethod
    def exists(self, sha256: str) -> bool:
        """Whether a blob with this key is stored."""

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256."""
        with self.stage() as staged:
            staged.write(data)
            return self.commit(staged)

    def read_bytes(self, sha256: str) -> bytes:
        """The whole content of a stored blob (for small blobs such as XForms)."""
        with self.open(sha256) as f:
            return f.read()


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings select (the local folder ``settings.blobs_path``)."""
    from khoknongna.storage.blobs.local import LocalBlobStore

    return LocalBlobStore(settings.blobs_path)
