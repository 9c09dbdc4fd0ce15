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

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError

from khoknongna.areas import area_name
from khoknongna.storage import users as queries

#: ``admin`` everything; ``department`` reviews every area; ``province``/``district`` review their area only;
#: ``gis`` reads everything and changes nothing; ``collector`` sends forms and has no web pages.
ROLES = ("admin", "department", "province", "district", "gis", "collector")
#: How many digits the area code of a scoped role has (a province, an amphoe).
AREA_DIGITS = {"province": 2, "district": 4}
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


def check_role(role: str, area_code: str | None) -> None:
    """Raise :class:`AccountError` unless ``role`` is one of :data:`ROLES` and ``area_code`` fits it: a
    province supervisor needs a province code (2 digits), a district supervisor an amphoe code (4), the
    other roles none."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not '{role}'")
    digits = AREA_DIGITS.get(role)
    if digits is None and area_code is not None:
        raise AccountError(f"a {role} user sees every area: give no area code")
    if digits is not None and (area_code is None or len(area_code) != digits or area_name(area_code) is None):
        raise AccountError(f"a {role} supervisor needs the {digits}-digit code of their {role} (--area)")


def create_user(
    conn: Connection, username: str, password: str, role: str, realm: str, area_code: str | None = None
) -> Row:
    """Create a user who signs in with ``password``: ``(id, username, role, area_code)`` as stored. ``area_code``
    for a province or district supervisor (:func:`check_role`). Raises :class:`AccountError` when that cannot
    be."""
    username = username.strip()
    if not username or ":" in username:
        raise AccountError("a user name must be non-empty and must not contain ':'")
    check_role(role, area_code)
    if not password:
        raise AccountError("the password must not be empty")
    try:
        with conn.begin_nested():
            return queries.insert_user(
                conn, username, role, hash_password(password), digest_ha1(username, realm, password), area_code
            )
    except IntegrityError:
        raise AccountError(f"a user named '{username}' already exists") from None


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
