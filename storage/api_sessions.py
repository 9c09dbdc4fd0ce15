"""Bearer tokens of API sessions (ODK Central's ``POST /v1/sessions``): only their SHA-256 is stored.

A token is live while it has not expired, its user is active and the user's session generation is still the
one it was made with (``users.session_generation``: raised on sign-out, a new password, role or area, and
deactivation).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, delete, func, select

from khoknongna.storage.schema import api_sessions, users


def create(conn: Connection, token_sha256: str, user_id: int, generation: int, expires_at: datetime) -> Row:
    """Store a new token; ``(created_at, expires_at)`` of it."""
    return conn.execute(
        api_sessions.insert()
        .values(token_sha256=token_sha256, user_id=user_id, generation=generation, expires_at=expires_at)
        .returning(api_sessions.c.created_at, api_sessions.c.expires_at)
    ).one()


def user_of(conn: Connection, token_sha256: str) -> Row | None:
    """``(id, username, role, area_code, session_generation, created_at)`` of the active user holding a live
    token, or ``None`` (unknown, expired, ended by a new session generation, or the user deactivated)."""
    return conn.execute(
        select(
            users.c.id,
            users.c.username,
            users.c.role,
            users.c.area_code,
            users.c.session_generation,
            users.c.created_at,
        )
        .join(api_sessions, api_sessions.c.user_id == users.c.id)
        .where(
            api_sessions.c.token_sha256 == token_sha256,
            api_sessions.c.expires_at > func.now(),
            api_sessions.c.generation == users.c.session_generation,
            users.c.deactivated_at.is_(None),
        )
    ).one_or_none()


def end(conn: Connection, token_sha256: str) -> bool:
    """Delete a token; ``False`` when there was none."""
    return conn.execute(delete(api_sessions).where(api_sessions.c.token_sha256 == token_sha256)).rowcount == 1


def forget_expired(conn: Connection) -> int:
    """Delete the tokens that have expired; how many."""
    return conn.execute(delete(api_sessions).where(api_sessions.c.expires_at <= func.now())).rowcount
