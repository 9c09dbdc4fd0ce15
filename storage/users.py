"""Queries on web/Collect users and app users (token holders). Hashing is done by the caller."""

from __future__ import annotations

from sqlalchemy import Connection, Row, bindparam, func, select, update

from khoknongna.storage import db
from khoknongna.storage.schema import app_users, users


def insert_user(
    conn: Connection,
    username: str,
    role: str,
    password_hash: str,
    digest_ha1: str | None,
    area_code: str | None = None,
) -> Row:
    """Create a user: ``(id, username, role, area_code)`` as stored; raises ``sqlalchemy.exc.IntegrityError`` when
    the name is taken."""
    return conn.execute(
        users.insert()
        .values(username=username, role=role, password_hash=password_hash, digest_ha1=digest_ha1, area_code=area_code)
        .returning(users.c.id, users.c.username, users.c.role, users.c.area_code)
    ).one()


#: The value that ends every web session of a user (their cookies carry the old one).
NEXT_GENERATION = users.c.session_generation + 1


def update_password(conn: Connection, username: str, password_hash: str, digest_ha1: str | None) -> bool:
    """Replace a user's credentials and end their web sessions; ``False`` when there is no such user."""
    result = conn.execute(
        update(users)
        .where(users.c.username == username)
        .values(password_hash=password_hash, digest_ha1=digest_ha1, session_generation=NEXT_GENERATION)
    )
    return result.rowcount == 1


def end_sessions(conn: Connection, user_id: int) -> None:
    """End every web session of the user (in every browser), e.g. on signing out."""
    conn.execute(update(users).where(users.c.id == user_id).values(session_generation=NEXT_GENERATION))


def set_active(conn: Connection, username: str, active: bool) -> bool:
    """Deactivate a user (no sign-in of any kind, every web session ended) or make them active again;
    ``False`` when there is no such user or it already is so."""
    now_active = users.c.deactivated_at.is_(None)
    result = conn.execute(
        update(users)
        .where(users.c.username == username, now_active if not active else ~now_active)
        .values(deactivated_at=None if active else func.now(), session_generation=NEXT_GENERATION)
    )
    return result.rowcount == 1


_USER = select(
    users.c.id,
    users.c.username,
    users.c.role,
    users.c.area_code,
    users.c.password_hash,
    users.c.digest_ha1,
    users.c.session_generation,
).where(users.c.deactivated_at.is_(None))
_USER_BY_NAME = _USER.where(users.c.username == bindparam("username"))
_USER_BY_ID = _USER.where(users.c.id == bindparam("user_id"))


def user_by_name(conn: Connection, username: str) -> Row | None:
    """``(id, username, role, area_code, password_hash, digest_ha1, session_generation)`` of the active user,
    or ``None`` (a deactivated user is not found)."""
    return conn.execute(_USER_BY_NAME, {"username": username}).one_or_none()


def user_by_id(conn: Connection, user_id: int) -> Row | None:
    """As :func:`user_by_name`, by id."""
    return conn.execute(_USER_BY_ID, {"user_id": user_id}).one_or_none()


def count_users(conn: Connection, role: str | None = None) -> int:
    query = select(func.count()).select_from(users)
    if role is not None:
        query = query.where(users.c.role == role)
    return conn.execute(query).scalar_one()


def insert_app_user(
    conn: Connection, project_id: int, display_name: str, token_sha256: str, area_code: str | None = None
) -> int:
    return conn.execute(
        app_users.insert()
        .values(project_id=project_id, display_name=display_name, token_sha256=token_sha256, area_code=area_code)
        .returning(app_users.c.id)
    ).scalar_one()


_APP_USER_BY_TOKEN = select(
    app_users.c.id, app_users.c.project_id, app_users.c.display_name, app_users.c.area_code
).where(app_users.c.token_sha256 == bindparam("token_sha256"))


def app_user_by_token(conn: Connection, token_sha256: str) -> Row | None:
    """``(id, project_id, display_name, area_code)`` of the live app user holding the token, or ``None``."""
    return conn.execute(_APP_USER_BY_TOKEN, {"token_sha256": token_sha256}).one_or_none()


def replace_app_user_token(conn: Connection, app_user_id: int, token_sha256: str) -> bool:
    """Swap the token of a live app user; ``False`` when there is none with that id."""
    result = conn.execute(
        update(app_users)
        .where(app_users.c.id == app_user_id, app_users.c.token_sha256.is_not(None))
        .values(token_sha256=token_sha256)
    )
    return result.rowcount == 1


def revoke_app_user(conn: Connection, app_user_id: int) -> Row | None:
    """Forget the app user's token so its URL stops working; ``(id, display_name, area_code)`` of the app user
    revoked, ``None`` when there is none to revoke."""
    return conn.execute(
        update(app_users)
        .where(app_users.c.id == app_user_id, app_users.c.token_sha256.is_not(None))
        .values(token_sha256=None, revoked_at=func.now())
        .returning(app_users.c.id, app_users.c.display_name, app_users.c.area_code)
    ).one_or_none()


def list_app_users(conn: Connection, project_id: int) -> list[Row]:
    """``(id, display_name, area_code, created_at, revoked_at)`` of the project's app users, oldest first."""
    columns = ("id", "display_name", "area_code", "created_at", "revoked_at")
    return db.table_rows(conn, app_users, columns, app_users.c.project_id == project_id, order_by="id")
