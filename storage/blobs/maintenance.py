"""Checking a blob store against the database, removing unreferenced blobs, and copying a store to another.

These work on any :class:`~khoknongna.storage.blobs.BlobStore`; the CLI (``khoknongna blobs …``) gives
them the references read from the database and a progress bar.

Unreferenced blobs are expected: a blob is written before the transaction that refers to it, so a crash
or a refused submission in between leaves one behind. They are removed only when older than a grace
period, and each one's time is read again just before it is removed; a commit that finds an old blob
again refreshes its time (both stores do), so a blob that a new row is about to use is spared.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from khoknongna.storage.blob_references import BlobReference
from khoknongna.storage.blobs import BlobCorrupt, BlobInfo, BlobNotFound, BlobStore, BlobStoreError

Advance = Callable[[int], None]


def _nothing(_: int) -> None:
    pass


@dataclass
class VerifyReport:
    """What ``verify`` found: referenced blobs checked, missing, corrupt or unreadable, and unreferenced."""

    checked: int = 0
    missing: list[tuple[str, BlobReference]] = field(default_factory=list)
    corrupt: list[tuple[str, BlobReference, str]] = field(default_factory=list)
    orphans: list[BlobInfo] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt


def verify(
    store: BlobStore,
    referenced: Mapping[str, BlobReference],
    *,
    quick: bool = False,
    advance: Advance = _nothing,
) -> VerifyReport:
    """Check that every referenced blob is stored with its SHA-256, and list the unreferenced ones.

    ``quick`` compares sizes (where the database recorded one) instead of reading and hashing every
    blob. ``advance(1)`` is called per referenced blob. A blob that cannot be read at all is reported
    as corrupt with the reason; a store that cannot be listed raises :class:`BlobStoreError`.
    """
    report = VerifyReport()
    for sha256, ref in sorted(referenced.items()):
        report.checked += 1
        try:
            if quick:
                info = store.stat(sha256)
                if ref.size is not None and info.size != ref.size:
                    report.corrupt.append((sha256, ref, f"{info.size} bytes stored, {ref.size} recorded"))
            elif (actual := store.digest(sha256)) != sha256:
                report.corrupt.append((sha256, ref, f"content hashes to {actual[:12]}…"))
        except BlobNotFound:
            report.missing.append((sha256, ref))
        except BlobCorrupt:
            report.corrupt.append((sha256, ref, "content does not have its SHA-256"))
        except BlobStoreError as exc:
            report.corrupt.append((sha256, ref, f"unreadable: {exc}"))
        advance(1)
    report.orphans = unreferenced(store.list_blobs(), referenced)
    return report


def unreferenced(listed: Iterable[BlobInfo], referenced: Container[str]) -> list[BlobInfo]:
    """The blobs of ``listed`` that no row refers to. List the store *before* reading the references, so
    that a blob written meanwhile is either not listed or already referenced."""
    return [info for info in listed if info.sha256 not in referenced]


def cleanup(
    store: BlobStore,
    candidates: Iterable[BlobInfo],
    *,
    older_than: datetime,
    dry_run: bool = False,
) -> list[BlobInfo]:
    """Remove the candidate blobs last written before ``older_than``; returns the ones removed.

    Each blob's time is read again just before it is removed. ``candidates`` come from
    :func:`unreferenced`, with the store listed before the database was read.
    """
    removed = []
    for info in candidates:
        try:
            now = store.stat(info.sha256)
        except BlobNotFound:
            continue
        if now.modified >= older_than:
            continue
        if not dry_run:
            store.remove(info.sha256)
        removed.append(now)
    return removed


@dataclass
class MigrateReport:
    """What ``migrate`` did: blobs copied, already there (skipped), and failures with their reasons."""

    copied: int = 0
    skipped: int = 0
    copied_bytes: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def migrate(
    source: BlobStore,
    target: BlobStore,
    blobs: Iterable[BlobInfo],
    *,
    advance: Advance = _nothing,
) -> MigrateReport:
    """Copy ``blobs`` (listed from ``source``) into ``target``, verifying each one; safe to run again.

    A blob already in the target with the same size is skipped, so an interrupted run resumes where it
    stopped. A copied blob is hashed while it is read (a source file that does not match its name is
    not copied) and confirmed by the target's commit (for S3: the ETag). ``advance(bytes)`` is called
    per blob with its size.
    """
    report = MigrateReport()
    for info in blobs:
        try:
            if _present(target, info):
                report.skipped += 1
            else:
                _copy(source, target, info.sha256)
                report.copied += 1
                report.copied_bytes += info.size
        except (BlobStoreError, BlobNotFound) as exc:
            report.failed.append((info.sha256, str(exc) or type(exc).__name__))
        advance(info.size)
    return report


def _present(target: BlobStore, info: BlobInfo) -> bool:
    try:
        return target.stat(info.sha256).size == info.size
    except BlobNotFound:
        return False


def _copy(source: BlobStore, target: BlobStore, sha256: str) -> None:
    with source.open(sha256) as reader, target.stage() as staged:
        shutil.copyfileobj(reader, staged, 1024 * 1024)
        if staged.sha256 != sha256:
            raise BlobCorrupt(f"source blob {sha256[:12]}… does not have its SHA-256; not copied")
        target.commit(staged)


def grace_cutoff(now: datetime, hours: float) -> datetime:
    """The time before which an unreferenced blob may be removed."""
    return now - timedelta(hours=hours)
