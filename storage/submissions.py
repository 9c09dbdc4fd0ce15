"""Queries on submissions, their versions, attachment slots and geometries.

The rules deciding *which* of these to call live in :mod:`khoknongna.ingest`; this module only reads and
writes rows, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Connection, Row, Text, TextClause, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql

from khoknongna.storage.schema import submission_attachments, submission_versions


@dataclass(frozen=True)
class GeometryRow:
    """One geo answer to store: ``ewkt`` set for a valid value, else ``problem`` says why not."""

    field_path: str
    repeat_position: Sequence[int]
    geo_type: str
    raw_value: str
    ewkt: str | None
    problem: str | None


_VERSION_BY_INSTANCE_ID = select(
    submission_versions.c.id,
    submission_versions.c.submission_id,
    submission_versions.c.xml_sha256,
    submission_versions.c.current,
).where(
    submission_versions.c.form_id == bindparam("form_id"),
    submission_versions.c.instance_id == bindparam("instance_id"),
)


def version_by_instance_id(conn: Connection, form_id: int, instance_id: str, *, lock: bool = False) -> Row | None:
    """``(id, submission_id, xml_sha256, current)`` of the version with this instanceID in the form."""
    query = _VERSION_BY_INSTANCE_ID.with_for_update() if lock else _VERSION_BY_INSTANCE_ID
    return conn.execute(query, {"form_id": form_id, "instance_id": instance_id}).one_or_none()


_VERSION_COLUMNS = [c.name for c in submission_versions.c if c.name not in ("id", "submission_id", "received_at")]
_GEOMETRY_ARRAYS = ("field_paths", "repeat_positions", "geo_types", "ewkts", "raw_values", "problems")


def _version_statement(submission: str) -> TextClause:
    """One statement inserting a version, its attachment slots and its geometries (one round trip).

    ``submission`` is SQL giving the row (``id``) of the submission the version belongs to. Every value
    is cast to its column's type; the slots and geometries travel as one array per column.
    """
    pg = postgresql.dialect()
    values = ", ".join(f"CAST(:{n} AS {submission_versions.c[n].type.compile(dialect=pg)})" for n in _VERSION_COLUMNS)
    arrays = ", ".join(f"CAST(:{n} AS text[])" for n in _GEOMETRY_ARRAYS)
    return text(
        f"""
        WITH submission AS ({submission}),
        version AS (
            INSERT INTO submission_versions (submission_id, {", ".join(_VERSION_COLUMNS)})
            SELECT submission.id, {values} FROM submission
            RETURNING id, submission_id
        ),
        slots AS (
            INSERT INTO submission_attachments (submission_version_id, name)
            SELECT version.id, name FROM version, unnest(CAST(:attachment_names AS text[])) AS name
        ),
        geometries AS (
            INSERT INTO submission_geometries
                (submission_version_id, field_path, repeat_position, geo_type, geom, raw_value, problem)
            SELECT version.id, g.field_path, CAST(g.repeat_position AS integer[]), g.geo_type,
                   ST_GeomFromEWKT(g.ewkt), g.raw_value, g.problem
            FROM version, unnest({arrays}) AS g(field_path, repeat_position, geo_type, ewkt, raw_value, problem)
        )
        SELECT id, submission_id FROM version
        """  # noqa: S608 - built once from the schema's column names; every value is bound
    ).bindparams(
        bindparam("data", type_=submission_versions.c.data.type),
        bindparam("attachment_names", type_=ARRAY(Text)),
        *(bindparam(name, type_=ARRAY(Text)) for name in _GEOMETRY_ARRAYS),
    )


_CREATE_SUBMISSION = _version_statement(
    "INSERT INTO submissions (form_id, instance_id) VALUES (:form_id, :instance_id) ON CONFLICT DO NOTHING RETURNING id"
)
_ADD_VERSION = _version_statement("SELECT CAST(:submission_id AS bigint) AS id")


def _content_params(attachment_names: Sequence[str], geometries: Sequence[GeometryRow]) -> dict[str, Any]:
    return {
        "attachment_names": list(attachment_names),
        "field_paths": [g.field_path for g in geometries],
        "repeat_positions": ["{" + ",".join(map(str, g.repeat_position)) + "}" for g in geometries],
        "geo_types": [g.geo_type for g in geometries],
        "ewkts": [g.ewkt for g in geometries],
        "raw_values": [g.raw_value for g in geometries],
        "problems": [g.problem for g in geometries],
    }


def create_submission(
    conn: Connection, version: dict[str, Any], attachment_names: Sequence[str], geometries: Sequence[GeometryRow]
) -> Row | None:
    """Create a submission with its first version (``version``: columns of ``submission_versions``), the
    version's empty attachment slots and its geometries.

    Returns ``(id, submission_id)`` of the version, or ``None`` (and writes nothing) when the form already
    has a submission with this instanceID. Raises ``IntegrityError`` when the instanceID is taken by an
    edited version.
    """
    return conn.execute(_CREATE_SUBMISSION, {**version, **_content_params(attachment_names, geometries)}).one_or_none()


def add_version(
    conn: Connection,
    submission_id: int,
    version: dict[str, Any],
    attachment_names: Sequence[str],
    geometries: Sequence[GeometryRow],
) -> int:
    """Add a version (an edit) to a submission, with its empty attachment slots and geometries; its id."""
    params = {"submission_id": submission_id, **version, **_content_params(attachment_names, geometries)}
    return conn.execute(_ADD_VERSION, params).one().id


def retire_version(conn: Connection, version_id: int) -> None:
    """Mark a version as no longer current (an edit replaced it)."""
    conn.execute(update(submission_versions).where(submission_versions.c.id == version_id).values(current=False))


def attachment_slots(conn: Connection, version_id: int) -> list[Row]:
    """``(name, blob_sha256, size, content_type)`` of the version's expected files, by name."""
    return list(
        conn.execute(
            select(
                submission_attachments.c.name,
                submission_attachments.c.blob_sha256,
                submission_attachments.c.size,
                submission_attachments.c.content_type,
            )
            .where(submission_attachments.c.submission_version_id == version_id)
            .order_by(submission_attachments.c.name)
        )
    )


def fill_attachment(
    conn: Connection, version_id: int, name: str, blob_sha256: str, size: int, content_type: str | None
) -> None:
    """Record that the expected file ``name`` of a version is the stored blob ``blob_sha256``."""
    conn.execute(
        update(submission_attachments)
        .where(
            submission_attachments.c.submission_version_id == version_id,
            submission_attachments.c.name == name,
        )
        .values(blob_sha256=blob_sha256, size=size, content_type=content_type, received_at=func.now())
    )


_PLACE = text(
    """
    UPDATE submissions s SET
      review_state = CASE WHEN :edited THEN 'edited' ELSE s.review_state END,
      area_code = coalesce(
        (SELECT e.area_code FROM submission_versions sv
           JOIN forms f ON f.id = sv.form_id
           JOIN datasets d ON d.project_id = f.project_id AND d.name = 'plots'
           JOIN entities e ON e.dataset_id = d.id
            AND e.uuid = lower(coalesce(sv.data->>'plot', sv.data->>'plot_id'))
          WHERE sv.id = :version_id),
        (SELECT e.area_code FROM entity_versions ev JOIN entities e ON e.id = ev.entity_id
          WHERE ev.submission_version_id = :version_id AND e.area_code IS NOT NULL LIMIT 1),
        (SELECT a.area_code FROM submission_versions sv JOIN app_users a ON a.id = sv.app_user_id
          WHERE sv.id = :version_id))
    WHERE s.id = :submission_id
    """
)


def place_submission(conn: Connection, submission_id: int, version_id: int, *, edited: bool) -> None:
    """Set the submission's ``area_code`` from its current version ``version_id``: the area of the plot it
    names (``plot``) or registers (``plot_id`` or an entity it wrote), else its app user's area, else NULL;
    and its review state to ``edited`` when ``edited`` (ODK Central does the same on an edit)."""
    conn.execute(_PLACE, {"submission_id": submission_id, "version_id": version_id, "edited": edited})
