"""Blob store in a local folder: ``<root>/ab/cd/abcd…`` for the blob whose SHA-256 is ``abcd…``.

Durability: the staged file is fsynced, renamed into place (atomic on one filesystem) and its folder
fsynced, so a committed blob survives a crash or power cut. Staged files live in ``<root>/.staging`` on
the same filesystem; leftovers from a crash are safe to delete.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from khoknongna.storage.blobs import BlobInfo, BlobNotFound, BlobStore, BlobStoreError, StagedBlob, check_key, is_key

#: A blob found again at commit time whose file is older than this is touched, so that a cleanup of
#: unreferenced blobs (which spares recent ones) does not remove it while a new row is about to refer to it.
TOUCH_AFTER_S = 3600
_HEX2 = re.compile(r"[0-9a-f]{2}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore(BlobStore):
    """Blobs as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / ".staging"
        self.staging.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        """Where the blob with this key is (or would be) stored."""
        check_key(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def commit(self, staged: StagedBlob) -> str:
        if staged.committed_key:
            return staged.committed_key
        key = staged.sha256
        final = self.path(key)
        src = Path(staged.location)
        try:
            staged.fileobj.flush()
            os.fsync(staged.fileobj.fileno())
            found = final.stat() if final.exists() else None
            if found is not None and found.st_size == staged.size:
                src.unlink()
                if found.st_mtime < time.time() - TOUCH_AFTER_S:
                    os.utime(final)
            else:
                self._make_dirs(final.parent)
                os.replace(src, final)
                _fsync_dir(final.parent)
        except OSError as exc:
            raise BlobStoreError(f"cannot store blob {key[:12]}…: {exc.strerror or exc}") from exc
        finally:
            with contextlib.suppress(OSError):  # a full disk fails the close's flush again; it was reported
                staged.fileobj.close()
        staged.committed_key = key
        return key

    def _make_dirs(self, folder: Path) -> None:
        if folder.is_dir():
            return
        self._make_dirs(folder.parent)
        folder.mkdir(exist_ok=True)
        _fsync_dir(folder.parent)

    def discard(self, staged: StagedBlob) -> None:
        if staged.committed_key:
            return
        with contextlib.suppress(OSError):  # on a full disk, closing flushes and fails again
            staged.fileobj.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged.location)

    def open(self, sha256: str) -> IO[bytes]:
        try:
            return open(self.path(sha256), "rb")
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def stat(self, sha256: str) -> BlobInfo:
        try:
            st = self.path(sha256).stat()
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        return BlobInfo(sha256, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def list_blobs(self) -> Iterator[BlobInfo]:
        for first in sorted(self.root.iterdir()):
            if not (first.is_dir() and _HEX2.fullmatch(first.name)):
                continue  # .staging and anything else that is not a shard folder
            for second in sorted(first.iterdir()):
                if not (second.is_dir() and _HEX2.fullmatch(second.name)):
                    continue
                for path in sorted(second.iterdir()):
                    name = path.name
                    if name.startswith(first.name + second.name) and is_key(name) and path.is_file():
                        st = path.stat()
                        yield BlobInfo(name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def remove(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(sha256).unlink()

    def check(self) -> None:
        if not (self.staging.is_dir() and os.access(self.staging, os.W_OK | os.X_OK)):
            raise BlobStoreError(f"blob folder {self.root} is not writable")

    def describe(self) -> str:
        return f"local folder {self.root}"
