"""Queries on projects. A fresh database gets project 1, the one served at the root URL."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from khoknongna.storage.schema import projects

DEFAULT_PROJECT_ID = 1


def ensure_default_project(conn: Connection, name: str) -> None:
    """Create project 1 named ``name`` if it does not exist (an existing name is left alone)."""
    created = conn.execute(
        insert(projects).values(id=DEFAULT_PROJECT_ID, name=name).on_conflict_do_nothing(index_elements=["id"])
    ).rowcount
    if created:
        # The id was given explicitly, so move the identity sequence past it.
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('projects', 'id'), (SELECT MAX(id) FROM projects))")


def project_name(conn: Connection, project_id: int) -> str | None:
    """The project's name, ``None`` when there is no such project."""
    return conn.execute(select(projects.c.name).where(projects.c.id == project_id)).scalar_one_or_none()
