"""Users and app users: password hashing, Digest HA1, app-user tokens.

Passwords are kept as argon2id hashes (argon2-cffi). HTTP Digest needs HA1 = MD5(user:realm:password) on
the server, which is password-equivalent for that realm, so it is kept only for accounts that may use
Digest (every ``collector`` and ``admin`` account today; see docs/security.md). App users hold a secret
token in their URL; only its SHA-256 is stored.

Source: RFC 7616 (Digest), ODK Central's app-user tokens (64 characters of ``[A-Za-z0-9!$]``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from khoknongna.areas import area_name
from khoknongna.storage import users as queries

ROLES = ("admin", "collector")
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A user or app user cannot be created as asked (name taken, bad role, empty password)."""


def hash_password(password: str) -> str:
    """argon2id hash of ``password`` (a string of about 100 characters, salt included)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the argon2 hash (slow on purpose: tens of milliseconds)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def digest_ha1(username: str, realm: str, password: str) -> str:
    """HA1 of HTTP Digest: lowercase hex MD5 of ``username:realm:password`` (UTF-8)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def new_password() -> str:
    """A random password for a new account: 16 characters, easy to read out and type on a phone."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def new_app_user_token() -> str:
    """A 64-character secret token (48 random bytes in base64 with ``/``→``!`` and ``+``→``$``)."""
    return base64.b64encode(secrets.token_bytes(48)).decode().replace("/", "!").replace("+", "$")


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewUser:
    id: int
    username: str
    role: str


def create_user(conn: Connection, username: str, password: str, role: str, realm: str) -> NewUser:
    """Create a user who signs in with ``password``; raises :class:`AccountError` when that cannot be."""
    username = username.strip()
    if not username or ":" in username:
        raise AccountError("a user name must be non-empty and must not contain ':'")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not '{role}'")
    if not password:
        raise AccountError("the password must not be empty")
    try:
        with conn.begin_nested():
            user_id = queries.insert_user(
                conn, username, role, hash_password(password), digest_ha1(username, realm, password)
            )
    except IntegrityError:
        raise AccountError(f"a user named '{username}' already exists") from None
    return NewUser(user_id, username, role)


def create_app_user(
    conn: Connection, project_id: int, display_name: str, area_code: str | None = None
) -> tuple[int, str]:
    """Create an app user of the project; returns its id and its token (shown once, never stored).

    ``area_code`` (a province, amphoe or tambon code) limits the entity lists the phone receives to that
    area. Raises :class:`AccountError` for an empty name or an unknown area code.
    """
    if not display_name.strip():
        raise AccountError("an app user needs a name")
    if area_code is not None and area_name(area_code) is None:
        raise AccountError(f"'{area_code}' is not the code of a province (2 digits), amphoe (4) or tambon (6)")
    token = new_app_user_token()
    app_user_id = queries.insert_app_user(conn, project_id, display_name.strip(), token_sha256(token), area_code)
    return app_user_id, token


def reissue_app_user_token(conn: Connection, app_user_id: int) -> str:
    """Give a live app user a new token (its old link stops working at once); returns the new token.

    Raises :class:`AccountError` when there is no such app user or it was revoked.
    """
    token = new_app_user_token()
    if not queries.replace_app_user_token(conn, app_user_id, token_sha256(token)):
        raise AccountError(f"there is no active app user {app_user_id}")
    return token


def set_password(conn: Connection, username: str, password: str, realm: str) -> bool:
    """Give ``username`` a new password (hash and HA1); ``False`` when there is no such user."""
    if not password:
        raise AccountError("the password must not be empty")
    return queries.update_password(conn, username, hash_password(password), digest_ha1(username, realm, password))
