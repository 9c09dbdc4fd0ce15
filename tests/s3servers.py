"""The S3 servers the tests speak to (moto, SeaweedFS): where they listen and the app's key."""

from __future__ import annotations

from dataclasses import dataclass

import urllib3
from minio import Minio
from minio.error import MinioException

#: What a client of a test server may raise.
S3_ERRORS = (MinioException, urllib3.exceptions.HTTPError, OSError)


@dataclass(frozen=True)
class S3Server:
    """An S3 server on loopback, with the read-write key the app is given."""

    name: str
    endpoint: str
    access_key: str
    secret_key: str

    def client(self) -> Minio:
        """A client with the read-write key, over plain http."""
        return Minio(self.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=False)
