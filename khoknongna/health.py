"""Is the server able to work? One cheap check per dependency, for ``/healthz`` and load balancers.

The answer names each dependency with ``ok`` or ``unavailable``; causes are logged, never returned, so
the endpoint can stay unauthenticated without telling anyone where the database or the bucket is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from khoknongna.storage.blobs import BlobStore, BlobStoreError
from khoknongna.storage.db import ping

logger = logging.getLogger(__name__)


def _probe(name: str, check: Callable[[], None], errors: tuple[type[BaseException], ...]) -> str:
    try:
        check()
    except errors as exc:
        logger.warning("health check: %s unavailable: %s", name, exc)
        return "unavailable"
    return "ok"


def check_services(engine: Engine, blobs: BlobStore) -> dict[str, str]:
    """``{"database": "ok"|"unavailable", "blobs": …}``: ``SELECT 1`` and the blob store's ``check()``."""
    return {
        "database": _probe("database", lambda: ping(engine), (SQLAlchemyError, OSError)),
        "blobs": _probe("blob store", blobs.check, (BlobStoreError,)),
    }
