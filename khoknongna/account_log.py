"""What a change of a user or an app user writes into the audit log, the same whether an admin made it on the admin
pages or someone made it with the ``khoknongna`` command.

Each entry names the subject and its area, with the subject before and after the change; passwords, hashes and
tokens never go there. An admin's change carries their user id as the actor. A change made at the command line has
no signed-in user: its actor is NULL and its ``after`` says ``"via": "command line"`` (:data:`COMMAND_LINE`), so
the audit trail can tell it from the server's own entries. The caller records in the transaction of the change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row

from khoknongna.storage import review as audit_log

#: ``after["via"]`` of an account change made with the ``khoknongna`` command.
COMMAND_LINE = "command line"


def _record(
    conn: Connection,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int,
    *,
    area_code: str | None,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
) -> None:
    if actor_id is None:
        after = {**after, "via": COMMAND_LINE}
    audit_log.record(conn, actor_id, action, subject_type, subject_id, area_code=area_code, before=before, after=after)


def user_created(conn: Connection, actor_id: int | None, user: Row) -> None:
    """``user.create`` of ``user`` (a row with ``id``, ``username``, ``role``, ``area_code``): its name, role and
    area. ``actor_id`` None: made at the command line."""
    after = {"username": user.username, "role": user.role, "area_code": user.area_code}
    _record(conn, actor_id, "user.create", "user", user.id, area_code=user.area_code, after=after)


def password_set(conn: Connection, actor_id: int | None, user: Row, *, generated: bool) -> None:
    """``user.password`` of ``user`` (a row with ``id``, ``username``, ``area_code``): who and when, whether the
    password was generated or typed, never the password."""
    before = {"username": user.username}
    after = {**before, "new_password": "generated" if generated else "typed by the admin"}
    _record(conn, actor_id, "user.password", "user", user.id, area_code=user.area_code, after=after, before=before)


def role_changed(conn: Connection, actor_id: int | None, user: Row, role: str, area_code: str | None) -> None:
    """``user.role``: ``user``'s role and area (a row with ``id``, ``username``, ``role``, ``area_code``) before,
    ``role`` and ``area_code`` after; the entry's area is the new one, else the old one."""
    before = {"username": user.username, "role": user.role, "area_code": user.area_code}
    after = {"username": user.username, "role": role, "area_code": area_code}
    where = area_code or user.area_code
    _record(conn, actor_id, "user.role", "user", user.id, area_code=where, after=after, before=before)


def activation_set(conn: Connection, actor_id: int | None, user: Row, active: bool) -> None:
    """``user.activate`` or ``user.deactivate`` of ``user`` (a row with ``id``, ``username``, ``area_code``,
    ``deactivated_at`` as it was before the change)."""
    before = {"username": user.username, "active": user.deactivated_at is None}
    after = {"username": user.username, "active": active}
    action = "user.activate" if active else "user.deactivate"
    _record(conn, actor_id, action, "user", user.id, area_code=user.area_code, after=after, before=before)


def app_user_created(
    conn: Connection, actor_id: int | None, app_user_id: int, display_name: str, area_code: str | None, project_id: int
) -> None:
    """``app_user.create``: the app user's name, area and project (never its token)."""
    after = {"display_name": display_name, "area_code": area_code, "project_id": project_id}
    _record(conn, actor_id, "app_user.create", "app_user", app_user_id, area_code=area_code, after=after)


def app_user_new_link(conn: Connection, actor_id: int | None, app_user: Row) -> None:
    """``app_user.qr``: ``app_user`` (a row with ``id``, ``display_name``, ``area_code``) got a new link."""
    after = {"display_name": app_user.display_name, "new_link": True}
    _record(conn, actor_id, "app_user.qr", "app_user", app_user.id, area_code=app_user.area_code, after=after)


def app_user_revoked(conn: Connection, actor_id: int | None, app_user: Row) -> None:
    """``app_user.revoke``: ``app_user`` (a row with ``id``, ``display_name``, ``area_code``) was revoked."""
    before = {"display_name": app_user.display_name, "revoked": False}
    after = {"display_name": app_user.display_name, "revoked": True}
    _record(
        conn,
        actor_id,
        "app_user.revoke",
        "app_user",
        app_user.id,
        area_code=app_user.area_code,
        after=after,
        before=before,
    )
