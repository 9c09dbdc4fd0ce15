"""Blob store in an S3-compatible bucket (MinIO in production), through the ``minio`` SDK.

Object names are the SHA-256 of the content (after an optional prefix): ``<prefix><sha256>``.

Staging and commit
------------------
An upload is staged to a temporary file on local disk (``<data_dir>/staging``) while it is hashed, as
the local store does. ``commit`` then:

1. asks the store whether an object with that name, the same size and the same SHA-256 in its metadata
   is there already (content addressing: a resent photo is not sent again);
2. otherwise uploads the file: one PUT up to ``part_size`` bytes, a multipart upload above it, one part
   in memory at a time (``num_parallel_uploads=1``), so a 100 MB photo costs about two parts of memory.
   The SDK protects each request (``Content-MD5`` over https, a signed payload SHA-256 over http);
3. compares the ETag the store answers with the one computed locally from the same bytes (the MD5 of
   the content, or for a multipart upload the MD5 of the parts' MD5s followed by ``-<parts>``). A
   store whose ETags are not MD5s (AWS SSE-KMS) is trusted on the SDK's per-request checks alone;
4. returns the key only then, so ingest commits the database row after the store has confirmed the
   bytes. Every failure raises :class:`~khoknongna.storage.blobs.BlobStoreError` (ingest answers 503).

Every request has a time limit (``KNN_S3_TIMEOUT_S`` to connect and to answer); a request that fails to
connect or gets a 5xx is tried again a few times, one that timed out while waiting for the answer at most
once, so a slow store costs a worker about twice the limit, not for ever.

Reading streams the object; the stream hashes what it returns and keeps the last bytes back until the
SHA-256 has been checked, so a corrupt object ends in :class:`~khoknongna.storage.blobs.BlobCorrupt`
instead of a complete-looking download.

Source: Amazon S3 API (PutObject, multipart upload, ETag); MinIO Python SDK 7.2.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO
from urllib.parse import parse_qs, urlsplit

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.error import MinioException
from minio.helpers import MIN_PART_SIZE, get_part_info
from pydantic import SecretStr
from urllib3.util import Retry, Timeout

from khoknongna.storage.blobs import (
    BlobCorrupt,
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreError,
    StagedBlob,
    check_key,
    is_key,
)

if TYPE_CHECKING:
    from khoknongna.settings import Settings

logger = logging.getLogger(__name__)

#: Multipart part size: parts are held in memory one at a time while they are sent.
DEFAULT_PART_SIZE = 8 * 1024 * 1024
#: An object found again at commit time and older than this is rewritten in place (server-side copy)
#: so that its time is fresh and a cleanup of unreferenced blobs spares it (see ``blobs cleanup``).
TOUCH_AFTER = timedelta(hours=1)
#: The object ``check`` writes to show that the key may write (not a blob key, so never listed as one).
WRITE_CHECK = ".knn-write-check"
_META = "sha256"  # user metadata x-amz-meta-sha256: the key, as the uploader computed it
_MD5_ETAG = re.compile(r"[0-9a-f]{32}(-[0-9]+)?")
_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound", "NoSuchBucket"}
#: What the SDK and urllib3 raise when the store cannot be reached or answers an error.
_STORE_ERRORS = (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError)


@dataclass(frozen=True)
class S3Location:
    """A parsed ``s3://`` blob URL."""

    bucket: str
    prefix: str
    endpoint: str
    secure: bool
    region: str | None
    part_size: int

    def describe(self) -> str:
        scheme = "https" if self.secure else "http"
        return f"s3://{self.bucket}/{self.prefix} at {scheme}://{self.endpoint}"


def parse_s3_url(url: str) -> S3Location:
    """``s3://bucket[/prefix]?endpoint=host:port&secure=false&region=r&part_size=bytes`` → :class:`S3Location`.

    Defaults: endpoint ``s3.amazonaws.com``, ``secure=true``, region found by the SDK, part size 8 MiB
    (at least 5 MiB, the S3 minimum). Credentials never go in the URL. Raises ``ValueError``.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.hostname:
        raise ValueError(f"not an s3://bucket URL: {url.split('?')[0]}")
    if parts.username or parts.password:
        raise ValueError("credentials do not belong in the blob URL; use KNN_S3_ACCESS_KEY and KNN_S3_SECRET_KEY")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"endpoint", "secure", "region", "part_size"}
    if unknown:
        raise ValueError(f"unknown blob URL parameter(s): {', '.join(sorted(unknown))}")
    secure_text = query.get("secure", "true").lower()
    if secure_text not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"secure must be true or false, not {secure_text!r}")
    part_size = int(query.get("part_size", DEFAULT_PART_SIZE))
    if part_size < MIN_PART_SIZE:
        raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (5 MiB)")
    prefix = parts.path.strip("/")
    return S3Location(
        bucket=parts.hostname,
        prefix=prefix + "/" if prefix else "",
        endpoint=query.get("endpoint", "s3.amazonaws.com"),
        secure=secure_text in ("true", "1", "yes"),
        region=query.get("region") or None,
        part_size=part_size,
    )


def _http(retries: int, connect_s: float, read_s: float) -> urllib3.PoolManager:
    # One retry after a read error: a kept-alive connection the store closed is worth another try, a store
    # too slow to answer is not worth many more waits.
    return urllib3.PoolManager(
        timeout=Timeout(connect=connect_s, read=read_s),
        maxsize=32,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=Retry(total=retries, read=min(retries, 1), backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


def expected_etag(md5s: list[bytes]) -> str:
    """The ETag S3 gives an object uploaded in these parts (MD5 digests, in order).

    One part: the MD5 hex of the content. Several: MD5 of the concatenated part digests, ``-<count>``.
    """
    if len(md5s) == 1:
        return md5s[0].hex()
    return f"{hashlib.md5(b''.join(md5s)).hexdigest()}-{len(md5s)}"


class _PartHasher(io.RawIOBase):
    """Reads a staged file for the SDK while computing the MD5 of each upload part."""

    def __init__(self, fileobj: BinaryIO, part_size: int) -> None:
        self._file = fileobj
        self._part_size = part_size
        self._md5 = hashlib.md5()
        self._in_part = 0
        self.md5s: list[bytes] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        view = memoryview(data)
        while view:
            take = min(len(view), self._part_size - self._in_part)
            self._md5.update(view[:take])
            self._in_part += take
            view = view[take:]
            if self._in_part == self._part_size:
                self._close_part()
        return data

    def _close_part(self) -> None:
        self.md5s.append(self._md5.digest())
        self._md5 = hashlib.md5()
        self._in_part = 0

    def finish(self) -> list[bytes]:
        """The MD5 digests of all parts (the last one may be short; empty content is one empty part)."""
        if self._in_part or not self.md5s:
            self._close_part()
        return self.md5s


class _VerifiedObject(io.RawIOBase):
    """A stored object as a readable stream that checks the SHA-256 before giving out the last bytes."""

    def __init__(self, response: urllib3.BaseHTTPResponse, sha256: str) -> None:
        self._response = response
        self._sha256 = sha256
        self._hash = hashlib.sha256()
        self._ahead = bytearray()
        self._eof = False
        length = response.headers.get("content-length")
        self.size = int(length) if length and length.isdigit() else None

    def readable(self) -> bool:
        return True

    def _fill(self, want: int) -> None:
        # Keep at least one byte back until the end of the object is reached and the hash checked.
        while not self._eof and len(self._ahead) <= want:
            try:
                chunk = self._response.read(max(want, 64 * 1024))
            except _STORE_ERRORS as exc:
                raise BlobStoreError(f"reading blob {self._sha256[:12]}… failed: {exc}") from exc
            if not chunk:
                self._eof = True
                if self._hash.hexdigest() != self._sha256:
                    raise BlobCorrupt(f"blob {self._sha256[:12]}… in the object store does not have its SHA-256")
            else:
                self._hash.update(chunk)
                self._ahead += chunk

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            self._fill(1 << 62)
            size = len(self._ahead)
        else:
            self._fill(size)
        out = bytes(self._ahead[:size])
        del self._ahead[:size]
        return out

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


class S3BlobStore(BlobStore):
    """Blobs as objects ``<prefix><sha256>`` in one bucket of an S3-compatible store."""

    def __init__(
        self,
        client: Minio,
        location: S3Location,
        staging: Path,
        *,
        probe_client: Minio | None = None,
    ) -> None:
        self.client = client
        self.location = location
        self.bucket = location.bucket
        self.prefix = location.prefix
        self.part_size = location.part_size
        self.staging = staging
        self._probe = probe_client or client
        self._bucket_ready = False

    @classmethod
    def from_settings(cls, settings: Settings, url: str) -> S3BlobStore:
        """The store named by ``url`` with the credentials of ``settings`` (no request is made)."""
        location = parse_s3_url(url)
        secret = settings.s3_secret_key
        if isinstance(secret, SecretStr):
            secret = secret.get_secret_value()
        if bool(settings.s3_access_key) != bool(secret):
            raise ValueError("set both KNN_S3_ACCESS_KEY and KNN_S3_SECRET_KEY, or neither")

        def client(http: urllib3.PoolManager) -> Minio:
            return Minio(
                location.endpoint,
                access_key=settings.s3_access_key,
                secret_key=secret,
                secure=location.secure,
                region=location.region,
                http_client=http,
            )

        timeout = settings.s3_timeout_s
        return cls(
            client(_http(retries=3, connect_s=min(timeout, 5), read_s=timeout)),
            location,
            settings.staging_path,
            probe_client=client(_http(retries=0, connect_s=min(timeout, 2), read_s=min(timeout, 5))),
        )

    def object_name(self, sha256: str) -> str:
        """The object that holds the blob with this key."""
        return self.prefix + check_key(sha256)

    def describe(self) -> str:
        return self.location.describe()

    # -- staging and commit

    def commit(self, staged: StagedBlob) -> str:
        if staged.committed_key:
            return staged.committed_key
        key = staged.sha256
        name = self.object_name(key)
        try:
            staged.fileobj.flush()
            self._ensure_bucket()
            if not self._already_stored(name, key, staged.size):
                self._upload(staged, name, key)
        except BlobStoreError:
            raise
        except _STORE_ERRORS as exc:
            raise BlobStoreError(f"cannot store blob {key[:12]}… in the object store: {_reason(exc)}") from exc
        finally:
            staged.fileobj.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged.location)
        staged.committed_key = key
        return key

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket, location=self.location.region)
                logger.info("created bucket %s", self.bucket)
            except MinioException as exc:
                if getattr(exc, "code", None) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        self._bucket_ready = True

    def _already_stored(self, name: str, key: str, size: int) -> bool:
        """Whether the object is there with this size and SHA-256; refreshes its time when it is old."""
        try:
            found = self.client.stat_object(self.bucket, name)
        except MinioException as exc:
            if _is_not_found(exc):
                return False
            raise
        metadata = found.metadata or {}
        if found.size != size or metadata.get(f"x-amz-meta-{_META}") != key:
            logger.warning("object %s differs from the blob being stored; replacing it", name)
            return False
        if found.last_modified is not None and found.last_modified < datetime.now(UTC) - TOUCH_AFTER:
            self.client.copy_object(
                self.bucket,
                name,
                CopySource(self.bucket, name),
                metadata={_META: key},
                metadata_directive=REPLACE,
            )
        return True

    def _upload(self, staged: StagedBlob, name: str, key: str) -> None:
        staged.fileobj.seek(0)
        reader = _PartHasher(staged.fileobj, self.part_size)
        get_part_info(staged.size, self.part_size)  # raises ValueError for more than 10,000 parts
        result = self.client.put_object(
            self.bucket,
            name,
            reader,
            length=staged.size,
            part_size=self.part_size,
            num_parallel_uploads=1,
            metadata={_META: key},
        )
        want = expected_etag(reader.finish())
        got = (result.etag or "").strip('"').lower()
        if _MD5_ETAG.fullmatch(got):
            if got != want:
                self._remove_quietly(name)
                raise BlobStoreError(f"the object store holds other bytes than were sent for blob {key[:12]}…")
        else:
            logger.debug("ETag %r of %s is not an MD5; relying on the SDK's per-request checks", got, name)

    def _remove_quietly(self, name: str) -> None:
        with contextlib.suppress(*_STORE_ERRORS):
            self.client.remove_object(self.bucket, name)

    def discard(self, staged: StagedBlob) -> None:
        if staged.committed_key:
            return
        staged.fileobj.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged.location)

    # -- reading

    def open(self, sha256: str) -> IO[bytes]:
        name = self.object_name(sha256)
        with _blob_errors(sha256, "read"):
            response = self.client.get_object(self.bucket, name)
        return _VerifiedObject(response, sha256)  # type: ignore[return-value]

    def exists(self, sha256: str) -> bool:
        try:
            self.stat(sha256)
        except BlobNotFound:
            return False
        return True

    def stat(self, sha256: str) -> BlobInfo:
        name = self.object_name(sha256)
        with _blob_errors(sha256, "look up"):
            found = self.client.stat_object(self.bucket, name)
        return BlobInfo(sha256, found.size or 0, found.last_modified or datetime.now(UTC))

    def list_blobs(self) -> Iterator[BlobInfo]:
        try:
            for obj in self.client.list_objects(self.bucket, prefix=self.prefix or None, recursive=True):
                key = (obj.object_name or "")[len(self.prefix) :]
                if obj.is_dir or not is_key(key):
                    continue
                yield BlobInfo(key, obj.size or 0, obj.last_modified or datetime.now(UTC))
        except MinioException as exc:
            if getattr(exc, "code", None) == "NoSuchBucket":
                return
            raise BlobStoreError(f"cannot list {self.describe()}: {_reason(exc)}") from exc
        except _STORE_ERRORS as exc:
            raise BlobStoreError(f"cannot list {self.describe()}: {_reason(exc)}") from exc

    def remove(self, sha256: str) -> None:
        try:
            self.client.remove_object(self.bucket, self.object_name(sha256))
        except _STORE_ERRORS as exc:
            raise BlobStoreError(f"cannot remove blob {sha256[:12]}…: {_reason(exc)}") from exc

    # -- health

    def check(self) -> None:
        """The bucket exists and the key may write to it: an empty object ``<prefix>.knn-write-check`` is
        written (a read-only key would pass a read, then fail every upload). Not a blob: lists skip it."""
        try:
            found = self._probe.bucket_exists(self.bucket)
            if found:
                self._probe.put_object(self.bucket, self.prefix + WRITE_CHECK, io.BytesIO(b""), 0)
        except MinioException as exc:
            raise BlobStoreError(f"object store refused the check of {self.describe()}: {_reason(exc)}") from exc
        except _STORE_ERRORS as exc:
            raise BlobStoreError(f"object store unreachable: {_reason(exc)}") from exc
        if not found:
            raise BlobStoreError(f"bucket {self.bucket} does not exist")

    def prepare(self) -> None:
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
            self._ensure_bucket()
        except _STORE_ERRORS as exc:
            raise BlobStoreError(f"cannot use {self.describe()}: {_reason(exc)}") from exc


def _is_not_found(exc: MinioException) -> bool:
    return getattr(exc, "code", None) in _NOT_FOUND


@contextlib.contextmanager
def _blob_errors(sha256: str, doing: str) -> Iterator[None]:
    """Within: a missing object raises :class:`BlobNotFound`; any other failure of the store
    :class:`BlobStoreError` ``cannot <doing> blob <key>…: <reason>``."""
    try:
        yield
    except _STORE_ERRORS as exc:
        if isinstance(exc, MinioException) and _is_not_found(exc):
            raise BlobNotFound(sha256) from None
        raise BlobStoreError(f"cannot {doing} blob {sha256[:12]}…: {_reason(exc)}") from exc


#: What the S3 error codes of a refused key mean, for whoever reads the log or the 503.
_KEY_REFUSED = {
    "SignatureDoesNotMatch": "the store refused the secret key (KNN_S3_SECRET_KEY)",
    "InvalidAccessKeyId": "the store does not know the access key (KNN_S3_ACCESS_KEY)",
    "AccessDenied": "the key may not do this; it needs to list the bucket and read, write and delete objects",
}


def _reason(exc: BaseException) -> str:
    """A short cause for logs and problem details: the S3 error code (explained when it concerns the key) or
    the exception's class; never a URL query or a secret."""
    code = getattr(exc, "code", None)
    if code:
        explained = _KEY_REFUSED.get(str(code))
        return f"{code}: {explained}" if explained else str(code)
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return type(exc.reason).__name__
    return type(exc).__name__
