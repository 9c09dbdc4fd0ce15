"""Queries on entity lists (datasets), entities and their versions.

An entity list is read by phones as a CSV; what an app user sees is narrowed to their area by the
entity's ``area_code`` (a prefix match, so an amphoe code sees its tambons). Entities without an area are
seen by everyone. Every write to an entity takes a new ``change_seq``, which the list's version token is
made from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, Engine, Row, and_, func, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.elements import ColumnElement

from khoknongna.storage.schema import (
    datasets,
    entities,
    entity_changes,
    entity_problems,
    entity_versions,
    submission_versions,
)


def ensure_dataset(conn: Connection, project_id: int, name: str, properties: Sequence[str]) -> int:
    """Id of the entity list ``name`` of the project, created if new; ``properties`` not yet known are
    appended in the given order."""
    conn.execute(insert(datasets).values(project_id=project_id, name=name).on_conflict_do_nothing())
    return conn.execute(
        text(
            "UPDATE datasets SET properties = properties || ARRAY("
            "  SELECT p FROM unnest(CAST(:new AS text[])) WITH ORDINALITY AS t(p, i)"
            "  WHERE p <> ALL(properties) ORDER BY i)"
            " WHERE project_id = :project_id AND name = :name RETURNING id"
        ),
        {"new": list(dict.fromkeys(properties)), "project_id": project_id, "name": name},
    ).scalar_one()


def dataset_name(conn: Connection, dataset_id: int) -> str:
    """The name of an entity list."""
    return conn.execute(select(datasets.c.name).where(datasets.c.id == dataset_id)).scalar_one()


def datasets_named(conn: Connection, project_id: int, names: Sequence[str]) -> dict[str, Row]:
    """``name -> (id, name, properties)`` for the entity lists of the project among ``names``."""
    rows = conn.execute(
        select(datasets.c.id, datasets.c.name, datasets.c.properties).where(
            datasets.c.project_id == project_id, datasets.c.name.in_(list(names))
        )
    )
    return {r.name: r for r in rows}


def entity_for_update(conn: Connection, dataset_id: int, entity_uuid: str) -> Row | None:
    """The entity, locked until the transaction ends, with ``created_by`` (the submission that made it)."""
    created_by = (
        select(submission_versions.c.submission_id)
        .join(entity_versions, entity_versions.c.submission_version_id == submission_versions.c.id)
        .where(entity_versions.c.entity_id == entities.c.id, entity_versions.c.version == 1)
        .scalar_subquery()
    )
    return conn.execute(
        select(entities, created_by.label("created_by"))
        .where(entities.c.dataset_id == dataset_id, entities.c.uuid == entity_uuid)
        .with_for_update(of=entities)
    ).one_or_none()


def _geometry(ewkt: str | None) -> ColumnElement | None:
    return func.ST_GeomFromEWKT(ewkt) if ewkt else None


_INSERT_NEW_ENTITY = text(
    """
    WITH entity AS (
        INSERT INTO entities (dataset_id, uuid, label, version, properties, area_code, geometry)
        VALUES (:dataset_id, :uuid, :label, 1, CAST(:properties AS jsonb), :area_code, ST_GeomFromEWKT(:ewkt))
        ON CONFLICT (dataset_id, uuid) DO NOTHING
        RETURNING id
    ),
    first_version AS (
        INSERT INTO entity_versions (entity_id, version, label, properties, submission_version_id, user_id, user_agent)
        SELECT id, 1, :label, CAST(:properties AS jsonb), :submission_version_id, :user_id, :user_agent FROM entity
    )
    SELECT id FROM entity
    """
)


def insert_new_entity(
    conn: Connection,
    dataset_id: int,
    entity_uuid: str,
    label: str,
    properties: dict[str, str],
    area_code: str | None,
    geometry_ewkt: str | None,
    submission_version_id: int | None,
    *,
    user_id: int | None = None,
    user_agent: str | None = None,
) -> int | None:
    """Create an entity at version 1 and its first version row, in one statement; returns its id, or ``None``
    (nothing written) when the list already has an entity with this uuid. A submission writes it
    (``submission_version_id``), or a user over the API (``user_id``, ``user_agent``)."""
    return conn.execute(
        _INSERT_NEW_ENTITY,
        {
            "dataset_id": dataset_id,
            "uuid": entity_uuid,
            "label": label,
            "properties": json.dumps(properties),
            "area_code": area_code,
            "ewkt": geometry_ewkt,
            "submission_version_id": submission_version_id,
            "user_id": user_id,
            "user_agent": user_agent,
        },
    ).scalar_one_or_none()


def update_entity(
    conn: Connection,
    entity_id: int,
    *,
    version: int,
    label: str,
    properties: dict[str, str],
    area_code: str | None,
    geometry_ewkt: str | None,
    base_version: int | None,
    conflict: str | None,
    submission_version_id: int | None,
    user_id: int | None = None,
    user_agent: str | None = None,
) -> None:
    """Make ``version`` the entity's current version (and keep it in its history), written by a submission
    (``submission_version_id``) or by a user over the API (``user_id``, ``user_agent``)."""
    # The entity's new state, and the same in its history.
    state = {"version": version, "label": label, "properties": properties, "conflict": conflict}
    conn.execute(
        update(entities)
        .where(entities.c.id == entity_id)
        .values(
            **state,
            area_code=area_code,
            geometry=_geometry(geometry_ewkt),
            change_seq=entity_changes.next_value(),
            updated_at=func.now(),
        )
    )
    conn.execute(
        entity_versions.insert().values(
            **state,
            entity_id=entity_id,
            base_version=base_version,
            submission_version_id=submission_version_id,
            user_id=user_id,
            user_agent=user_agent,
        )
    )


def entity_version(conn: Connection, entity_id: int, version: int) -> Row | None:
    """``(label, properties)`` of one version of an entity."""
    return conn.execute(
        select(entity_versions.c.label, entity_versions.c.properties).where(
            entity_versions.c.entity_id == entity_id, entity_versions.c.version == version
        )
    ).one_or_none()


def record_problem(
    conn: Connection, submission_version_id: int, dataset: str | None, entity_uuid: str | None, problem: str
) -> None:
    conn.execute(
        entity_problems.insert().values(
            submission_version_id=submission_version_id, dataset=dataset, entity_uuid=entity_uuid, problem=problem
        )
    )


def _visible(dataset_id: int, area_code: str | None) -> ColumnElement[bool]:
    condition = entities.c.dataset_id == dataset_id
    if area_code:
        prefix = func.left(entities.c.area_code, len(area_code)) == literal(area_code)
        condition = and_(condition, or_(entities.c.area_code.is_(None), prefix))
    return condition


def list_token(conn: Connection, dataset_id: int, area_code: str | None) -> str:
    """The version token of the list as seen from ``area_code``: an MD5 that changes with every write
    (create, update, delete) to an entity in view, and when an entity moves in or out of view."""
    count, last, total = conn.execute(
        select(
            func.count(),
            func.coalesce(func.max(entities.c.change_seq), 0),
            func.coalesce(func.sum(entities.c.change_seq), 0),
        ).where(_visible(dataset_id, area_code))
    ).one()
    return hashlib.md5(f"{dataset_id}:{area_code or ''}:{count}:{last}:{total}".encode()).hexdigest()


def list_csv(engine: Engine, dataset_id: int, properties: Sequence[str], area_code: str | None) -> Iterator[bytes]:
    """The entity list as CSV for phones, in chunks: ``name,label,__version`` and one column per property,
    one row per live entity in view, oldest first.

    PostgreSQL writes the CSV (``COPY … TO STDOUT``) on a connection of its own, so the list streams
    without being held in memory. Source: the columns Collect reads (PROTOCOL notes §5, entity lists).
    """
    query = (
        select(
            entities.c.uuid.label("name"),
            entities.c.label,
            entities.c.version.label("__version"),
            *(entities.c.properties[p].astext.label(p) for p in properties),
        )
        .where(_visible(dataset_id, area_code), entities.c.deleted_at.is_(None))
        .order_by(entities.c.id)
    )
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            for chunk in copy:
                yield bytes(chunk)


def deleted_states(conn: Connection, dataset_id: int, uuids: Sequence[str]) -> list[Row]:
    """``(uuid, deleted)`` for those of ``uuids`` that are in the list (deleted or not)."""
    return list(
        conn.execute(
            select(entities.c.uuid, entities.c.deleted_at.is_not(None).label("deleted"))
            .where(entities.c.dataset_id == dataset_id, entities.c.uuid.in_(list(uuids)))
            .order_by(entities.c.id)
        )
    )
