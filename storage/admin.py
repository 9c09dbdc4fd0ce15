"""Queries of the admin pages and the ``user`` command: users with their roles and areas, a change of role, forms
with every version.

Creating users and app users, passwords and tokens go through ``storage.users`` (called by
``khoknongna.accounts``); publishing goes through ``storage.forms`` (called by ``khoknongna.publishing``).
"""

from __future__ import annotations

from sqlalchemy import Connection, Row, func, select, update

from khoknongna.storage import db
from khoknongna.storage.schema import form_versions, forms, submissions, users
from khoknongna.storage.users import NEXT_GENERATION


def list_users(conn: Connection) -> list[Row]:
    """``(id, username, role, area_code, created_at, deactivated_at)`` of every user, by name."""
    columns = ("id", "username", "role", "area_code", "created_at", "deactivated_at")
    return db.table_rows(conn, users, columns, order_by="username")


_FOR_UPDATE = select(
    users.c.id, users.c.username, users.c.role, users.c.area_code, users.c.deactivated_at
).with_for_update()


def user_for_update(conn: Connection, user_id: int) -> Row | None:
    """``(id, username, role, area_code, deactivated_at)`` of a user, active or not, locked until the transaction
    ends; ``None`` if unknown."""
    return conn.execute(_FOR_UPDATE.where(users.c.id == user_id)).one_or_none()


def user_named_for_update(conn: Connection, username: str) -> Row | None:
    """As :func:`user_for_update`, by user name (the ``user`` command names accounts)."""
    return conn.execute(_FOR_UPDATE.where(users.c.username == username)).one_or_none()


def set_role(conn: Connection, user_id: int, role: str, area_code: str | None) -> bool:
    """Give a user a new role and area (checked by the caller) and end their web sessions, so no page opened
    under the old role stays usable; ``False`` when there is no such user."""
    result = conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(role=role, area_code=area_code, session_generation=NEXT_GENERATION)
    )
    return result.rowcount == 1


def form_versions_of_project(conn: Connection, project_id: int) -> list[Row]:
    """Every version of every form of the project: ``(xml_form_id, version, title, published_at, published_by,
    xlsform_name, submissions)``; forms by ID, each form's newest version first (the first is the current one).
    ``published_by`` is the user name, ``None`` for the bundled forms published at start-up."""
    counts = select(submissions.c.form_id, func.count().label("n")).group_by(submissions.c.form_id).subquery("counts")
    return list(
        conn.execute(
            select(
                forms.c.xml_form_id,
                form_versions.c.version,
                form_versions.c.title,
                form_versions.c.published_at,
                users.c.username.label("published_by"),
                form_versions.c.xlsform_name,
                func.coalesce(counts.c.n, 0).label("submissions"),
            )
            .select_from(
                forms.join(form_versions, form_versions.c.form_id == forms.c.id)
                .outerjoin(users, users.c.id == form_versions.c.published_by)
                .outerjoin(counts, counts.c.form_id == forms.c.id)
            )
            .where(forms.c.project_id == project_id)
            .order_by(forms.c.xml_form_id, form_versions.c.id.desc())
        )
    )
