"""What request handlers share: the app's services and one database connection per request."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote as url_quote

from flask import current_app, g, request
from sqlalchemy import Connection, Engine, Row

from khoknongna.file_names import safe_name
from khoknongna.ingest import FormVersions
from khoknongna.settings import Settings
from khoknongna.storage import users as user_queries
from khoknongna.storage.blobs import BlobStore
from khoknongna.storage.digest_nonces import NonceCounts
from khoknongna.storage.signin_failures import SignInFailures

if TYPE_CHECKING:
    from khoknongna.server.auth import DigestNonces


def content_disposition(kind: str, name: str) -> str:
    """A ``Content-Disposition`` value (``kind`` ``inline`` or ``attachment``) naming the file ``name``.

    The name is made safe first (``khoknongna.file_names.safe_name``: a stored name may be anything a phone
    sent), given as UTF-8 in ``filename*`` and as an ASCII approximation in ``filename`` for old clients.
    Source: RFC 6266 §4.3 and RFC 8187 (``filename*``), as werkzeug's ``send_file`` writes it.
    """
    safe = safe_name(name)
    simple = safe_name(unicodedata.normalize("NFKD", safe).encode("ascii", "ignore").decode("ascii"))
    value = f'{kind}; filename="{simple}"'  # a safe name holds no quote or backslash to escape
    if simple != safe:
        value += "; filename*=UTF-8''" + url_quote(safe, safe="!#$&+-.^_`|~")
    return value


class UserCache:
    """User rows by name for ``ttl_s`` seconds, so a phone's HEAD and POST need no query to sign in.

    A changed password or a removed account is seen by every worker within ``ttl_s`` seconds.
    """

    def __init__(self, ttl_s: float = 5.0, size: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._rows: dict[str, tuple[float, Row]] = {}

    def get(self, conn_factory: Callable[[], Connection], username: str) -> Row | None:
        now = time.monotonic()
        hit = self._rows.get(username)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = user_queries.user_by_name(conn_factory(), username)
        if row is not None:  # unknown names are not remembered: the account may be created a moment later
            if len(self._rows) >= self.size:
                self._rows.clear()
            self._rows[username] = (now + self.ttl_s, row)
        return row


@dataclass
class Services:
    """Found at ``current_app.extensions["knn"]``; built once per app by ``create_app``."""

    settings: Settings
    engine: Engine
    blobs: BlobStore
    nonces: DigestNonces
    signin_failures: SignInFailures
    nonce_counts: NonceCounts
    form_versions: FormVersions = field(default_factory=FormVersions)
    known_projects: set[int] = field(default_factory=set)
    users: UserCache = field(default_factory=UserCache)


def services() -> Services:
    return current_app.extensions["knn"]


def client_address() -> str:
    """The address of the client of this request, as lockouts count it: the socket's peer, or behind
    ``KNN_TRUSTED_PROXIES`` reverse proxies the address they forwarded (``X-Forwarded-For``, read by ProxyFix)."""
    return request.remote_addr or ""


def db(*, autocommit: bool = False) -> Connection:
    """The request's database connection, opened on first use and closed when the request ends.

    Reads and the submission's writes share it, so a request costs one pool checkout. Requests that
    only read (GET, HEAD) run in autocommit mode: no BEGIN and ROLLBACK round trips; so does a request whose
    first use asks for ``autocommit`` (a submission POST: ingest opens a transaction when it needs one).
    """
    if "db" not in g:
        conn = services().engine.connect()
        if autocommit or request.method in ("GET", "HEAD"):
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        g.db = conn
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()
