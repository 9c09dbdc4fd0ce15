"""Blob stores: content-addressed files (photos, XForms, XLSForms, form media) keyed by SHA-256.

One interface, :class:`BlobStore`, two backends chosen by ``KNN_BLOB_URL``: the local folder (default,
``local.py``) and S3-compatible object storage such as MinIO (``s3://bucket?endpoint=…``, ``s3.py``).
An upload is first *staged* (streamed to a temporary file while its SHA-256 is computed, so no whole file
is held in memory), then *committed*: written completely and durably under its hash, and confirmed by
the backend. Only then may the database refer to it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from khoknongna.settings import Settings

_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobStoreError(OSError):
    """A blob could not be written or read (disk full, permissions, backend down)."""


class BlobNotFound(KeyError):
    """No blob with that SHA-256."""


class BlobCorrupt(BlobStoreError):
    """A stored blob's bytes do not have the SHA-256 it is stored under."""


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its key (SHA-256 hex), size in bytes and when it was last written (aware, UTC)."""

    sha256: str
    size: int
    modified: datetime


def check_key(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits; raise ``ValueError`` otherwise (no path tricks)."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 blob key: {sha256!r}")
    return sha256


def is_key(name: str) -> bool:
    """Whether ``name`` is a blob key (64 lowercase hex digits)."""
    return _SHA256.fullmatch(name) is not None


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

    #: The local folder where uploads are staged while hashed, whatever the backend.
    staging: Path

    def stage(self) -> StagedBlob:
        """A new empty staged blob to write into: a temporary file ``up-…`` in :attr:`staging` (made when
        missing). Raises :class:`BlobStoreError` when the file cannot be created (disk full, permissions)."""
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.staging, prefix="up-")
        except OSError as exc:
            raise BlobStoreError(f"cannot create a file in {self.staging}: {exc.strerror}") from exc
        return StagedBlob(os.fdopen(fd, "w+b"), self, name)

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

    @abstractmethod
    def stat(self, sha256: str) -> BlobInfo:
        """Size and time of a stored blob; raises :class:`BlobNotFound` (no content is read)."""

    @abstractmethod
    def list_blobs(self) -> Iterator[BlobInfo]:
        """Every stored blob, in no particular order (staged bytes are not blobs)."""

    @abstractmethod
    def remove(self, sha256: str) -> None:
        """Delete a stored blob (no-op when it is not there). Only for blobs no row refers to."""

    @abstractmethod
    def check(self) -> None:
        """A cheap check that the store can be used now (folder writable, bucket reachable).

        Raises :class:`BlobStoreError` with a message that names no secret.
        """

    def prepare(self) -> None:
        """Make the store ready before serving (create the bucket); raises :class:`BlobStoreError`."""
        self.check()

    @abstractmethod
    def describe(self) -> str:
        """Where the blobs are, for people (no credentials)."""

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256."""
        with self.stage() as staged:
            staged.write(data)
            return self.commit(staged)

    def read_bytes(self, sha256: str) -> bytes:
        """The whole content of a stored blob (for small blobs such as XForms).

        Raises :class:`BlobNotFound`, or :class:`BlobCorrupt` when the bytes do not hash to ``sha256``.
        """
        with self.open(sha256) as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobCorrupt(f"blob {sha256[:12]}… does not have its SHA-256 ({len(data)} bytes read)")
        return data

    def digest(self, sha256: str) -> str:
        """SHA-256 hex of the stored bytes, read as a stream (what a verify compares to the key).

        Raises :class:`BlobNotFound`; :class:`BlobCorrupt` only if the backend itself detects it.
        """
        with self.open(sha256) as f:
            return hashlib.file_digest(f, "sha256").hexdigest()


def open_blob_store(settings: Settings, blob_url: str | None = None) -> BlobStore:
    """The blob store ``blob_url`` (default ``settings.blob_url``) selects.

    Unset: the local folder ``settings.blobs_path``. ``s3://bucket[/prefix]?endpoint=host:port&secure=false``:
    an S3-compatible object store (MinIO, AWS), with the credentials ``settings.s3_access_key`` and
    ``settings.s3_secret_key``. No network request is made here. Raises ``ValueError`` for a URL that
    names no known backend.
    """
    url = settings.blob_url if blob_url is None else blob_url
    if not url:
        from khoknongna.storage.blobs.local import LocalBlobStore

        return LocalBlobStore(settings.blobs_path)
    if url.startswith("s3://"):
        from khoknongna.storage.blobs.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings, url)
    raise ValueError(f"blob store URL must start with s3:// (or be unset for the local folder): {url.split('?')[0]}")
