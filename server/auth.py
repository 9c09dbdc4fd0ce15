"""Who is asking: app-user tokens in the URL, HTTP Digest, Basic over HTTPS, and bearer tokens of API sessions.

ODK Collect answers only a 401 that carries a challenge: Digest always, Basic only over https. So every
unauthenticated OpenRosa request gets a Digest challenge (and a Basic one over https). Wrong passwords are
counted per user name (``storage.signin_failures``); too many lock the name out for a while, during which
no password is checked. Nonces are signed
and timestamped instead of stored, so any worker process can check them; Collect reuses a nonce with a
growing ``nc``, and an expired one is answered with ``stale=true`` so Collect retries without asking the
user again. The ``nc`` of each nonce must grow (``storage.digest_nonces``, shared by all workers): a request
whose ``nc`` was used already, a replay, is refused with a fresh nonce and ``stale=true``. ``stale=true``
because the RFC says so for a right digest on a nonce no longer usable, and because Collect's Digest
authenticator gives up and asks the user for the password on ``stale=false``: two of its requests that
overtake each other on the network would otherwise cost the field developer a password prompt. A replay
gains nothing from it: answering the fresh nonce needs the password.

Source: RFC 7616 (Digest, qop=auth), RFC 7617 (Basic), OpenRosa authentication; PROTOCOL notes §8.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from flask import request
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from werkzeug.datastructures import Authorization, WWWAuthenticate
from werkzeug.http import quote_header_value

from khoknongna import accounts
from khoknongna.problems import (
    AUTH_FAILED,
    AUTH_LOCKED,
    AUTH_REQUIRED,
    BASIC_NEEDS_HTTPS,
    KEY_INVALID,
    TOKEN_INVALID,
    Problem,
)
from khoknongna.server.context import client_address, db, services
from khoknongna.storage import api_sessions
from khoknongna.storage import users as user_queries
from khoknongna.storage.signin_failures import Standing


@dataclass(frozen=True)
class Actor:
    """The authenticated party: a user (``role`` one of ``accounts.ROLES``) or an app user of ``project_id``.

    ``area_code`` is the area the actor may see (a province, amphoe or tambon code; ``None`` = every area):
    it narrows the entity lists a phone receives and every page, tile, count and download of a supervisor.
    """

    kind: str  # "user" | "app_user"
    id: int
    name: str
    role: str
    project_id: int | None = None
    area_code: str | None = None

    def may_use_project(self, project_id: int) -> bool:
        return self.kind == "user" or self.project_id == project_id

    @property
    def reads_data(self) -> bool:
        """Whether the actor may read submissions, plots and reports (the web pages and the JSON API)."""
        return self.kind == "user" and self.role != "collector"

    @property
    def reviews(self) -> bool:
        """Whether the actor may change review states, comment and explain signals (not ``gis``)."""
        return self.reads_data and self.role != "gis"


def user_actor(user: Any) -> Actor:
    """The actor of a ``users`` row (``id, username, role, area_code``)."""
    return Actor("user", user.id, user.username, user.role, area_code=user.area_code)


class AuthChallenge(Problem):
    """A 401 that must carry ``WWW-Authenticate`` challenges (``stale`` when only the nonce expired;
    ``retry_after`` seconds when the user name is locked out)."""

    def __init__(self, kind, *, stale: bool = False, retry_after: int | None = None, **details) -> None:
        super().__init__(kind, **details)
        self.stale = stale
        self.retry_after = retry_after


#: Thailand has one time zone and no daylight saving time.
THAILAND = timezone(timedelta(hours=7))


def _locked(username: str, until: float) -> AuthChallenge:
    seconds = max(1, math.ceil(until - time.time()))
    return AuthChallenge(
        AUTH_LOCKED,
        retry_after=seconds,
        username=username[:64],
        until=datetime.fromtimestamp(until, THAILAND).strftime("%H:%M"),
        minutes=math.ceil(seconds / 60),
    )


def _refuse_if_locked(username: str) -> Standing:
    """401 ``AUTH_LOCKED`` while ``username`` is locked out at the client's address: its password is not even
    looked at. Otherwise its standing, for clearing its failures after a right password."""
    standing = services().signin_failures.standing(username, client_address())
    if standing.locked_until is not None:
        raise _locked(username, standing.locked_until)
    return standing


def _wrong_password(username: str) -> AuthChallenge:
    """Count the failure; the problem to answer with (the lockout itself when this failure starts one)."""
    until = services().signin_failures.failed(username, client_address())
    return _locked(username, until) if until is not None else AuthChallenge(AUTH_FAILED)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class DigestNonces:
    """Signed, timestamped nonces: valid for ``lifetime_s`` seconds in every worker sharing the key."""

    def __init__(self, secret_key: str, lifetime_s: int) -> None:
        self._signer = TimestampSigner(secret_key, salt="knn-digest-nonce")
        self.lifetime_s = lifetime_s
        self.opaque = hashlib.sha256(f"opaque:{secret_key}".encode()).hexdigest()[:32]
        self._checked: dict[str, float] = {}  # nonce -> when it stops being fresh (a phone reuses its nonce)

    def new(self) -> str:
        return self._signer.sign(secrets.token_hex(8)).decode()

    def check(self, nonce: str) -> str:
        """``"ok"``, ``"stale"`` (well signed but too old) or ``"bad"``."""
        now = time.time()
        if self._checked.get(nonce, 0.0) > now:
            return "ok"
        try:
            _, signed_at = self._signer.unsign(nonce, max_age=self.lifetime_s, return_timestamp=True)
        except SignatureExpired:
            return "stale"
        except BadSignature:
            return "bad"
        if len(self._checked) > 10_000:
            self._checked.clear()
        self._checked[nonce] = signed_at.timestamp() + self.lifetime_s
        return "ok"


def challenge_headers(stale: bool = False) -> list[tuple[str, str]]:
    """``WWW-Authenticate`` headers for a 401: Digest first, then Basic when the request came over https."""
    svc = services()
    realm = svc.settings.realm
    params = {
        "realm": realm,
        "qop": "auth",
        "nonce": svc.nonces.new(),
        "opaque": svc.nonces.opaque,
        "algorithm": "MD5",
    }
    if stale:
        params["stale"] = "true"
    headers = [("WWW-Authenticate", WWWAuthenticate("digest", params).to_header())]
    if request.scheme == "https" or svc.settings.allow_basic_over_http:
        headers.append(
            ("WWW-Authenticate", f'Basic realm={quote_header_value(realm, allow_token=False)}, charset="UTF-8"')
        )
    return headers


def _request_uri() -> str:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


#: RFC 7616 §3.4: the nonce count is exactly 8 hexadecimal digits.
_NC = re.compile(r"[0-9a-fA-F]{8}")


def _digest_user(auth: Authorization) -> Actor:
    svc = services()
    p = auth.parameters
    required = ("username", "realm", "nonce", "uri", "response")
    if any(not p.get(k) for k in required) or p["realm"] != svc.settings.realm:
        raise AuthChallenge(AUTH_FAILED)
    nonce_state = svc.nonces.check(p["nonce"])
    if nonce_state != "ok":
        raise AuthChallenge(AUTH_REQUIRED, stale=nonce_state == "stale")
    if unquote(p["uri"]) != unquote(_request_uri()):
        raise AuthChallenge(AUTH_FAILED)
    qop = p.get("qop")
    if qop not in (None, "auth") or (qop and not (_NC.fullmatch(p.get("nc") or "") and p.get("cnonce"))):
        raise AuthChallenge(AUTH_FAILED)
    standing = _refuse_if_locked(p["username"])
    user = svc.users.get(db, p["username"])
    if user is None or not user.digest_ha1:
        raise _wrong_password(p["username"])
    ha1 = user.digest_ha1
    if (p.get("algorithm") or "MD5").upper() == "MD5-SESS":
        ha1 = _md5(f"{ha1}:{p['nonce']}:{p.get('cnonce', '')}")
    ha2 = _md5(f"{request.method}:{p['uri']}")
    if qop == "auth":
        expected = _md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
    else:
        expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
    if not hmac.compare_digest(expected, p["response"].lower()):
        raise _wrong_password(p["username"])
    if qop == "auth" and not svc.nonce_counts.use(p["nonce"], int(p["nc"], 16)):
        raise AuthChallenge(AUTH_REQUIRED, stale=True)  # a replay, or overtaken by a later request
    svc.signin_failures.succeeded(p["username"], standing)
    return user_actor(user)


def password_user(username: str, password: str) -> Any:
    """The active ``users`` row whose password is ``password``, counting wrong passwords like every sign-in.

    Raises :class:`AuthChallenge` ``AUTH_FAILED`` (401) for a wrong name or password and ``AUTH_LOCKED`` while
    the name is locked out at the client's address.
    """
    svc = services()
    standing = _refuse_if_locked(username)
    user = svc.users.get(db, username)
    if user is None or not accounts.verify_password(user.password_hash, password):
        raise _wrong_password(username)
    svc.signin_failures.succeeded(username, standing)
    return user


def _basic_user(auth: Authorization) -> Actor:
    if request.scheme != "https" and not services().settings.allow_basic_over_http:
        raise AuthChallenge(BASIC_NEEDS_HTTPS)
    return user_actor(password_user(auth.username or "", auth.password or ""))


def bearer_actor(token: str) -> Actor:
    """The user of a live API session token (``POST /v1/sessions``); 401 ``TOKEN_INVALID`` otherwise."""
    user = api_sessions.user_of(db(), accounts.token_sha256(token)) if token else None
    if user is None:
        raise AuthChallenge(TOKEN_INVALID)
    return user_actor(user)


def app_user_actor(token: str) -> Actor:
    """The app user holding ``token`` (from a ``/key/<token>/`` URL); 403 ``KEY_INVALID`` otherwise."""
    found = user_queries.app_user_by_token(db(), accounts.token_sha256(token))
    if found is None:
        raise Problem(KEY_INVALID)
    return Actor("app_user", found.id, found.display_name, "collector", found.project_id, found.area_code)


def authenticate(token: str | None) -> Actor:
    """The actor of the current request, by URL token or ``Authorization`` header (Digest, Basic or Bearer).

    Raises :class:`AuthChallenge` (401, with challenges) when credentials are missing or wrong and
    :class:`Problem` ``KEY_INVALID`` (403) for an unknown or revoked app-user token.
    """
    if token is not None:
        return app_user_actor(token)
    auth = request.authorization
    if auth is None:
        raise AuthChallenge(AUTH_REQUIRED)
    if auth.type == "digest":
        return _digest_user(auth)
    if auth.type == "basic":
        return _basic_user(auth)
    if auth.type == "bearer":
        return bearer_actor(auth.token or "")
    raise AuthChallenge(AUTH_REQUIRED)
