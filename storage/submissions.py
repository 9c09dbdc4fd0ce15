"""Queries on submissions, their versions, attachment slots and geometries.

The rules deciding *which* of these to call live in :mod:`khoknongna.ingest`; this module only reads and
writes rows, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Connection, Row, Text, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from khoknongna.storage.schema import (
    submission_attachments,
    submission_versions,
    submissions,
)


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
_new_submission = (
    insert(submissions)
    .values(form_id=bindparam("form_id"), instance_id=bindparam("instance_id"))
    .on_conflict_do_nothing()
    .returning(submissions.c.id)
    .cte("new_submission")
)
# One statement (one round trip) creates a submission and its first version; built once.
_CREATE_SUBMISSION = (
    insert(submission_versions)
    .from_select(
        ["submission_id", *_VERSION_COLUMNS],
        select(
            _new_submission.c.id,
            *(bindparam(name, type_=submission_versions.c[name].type) for name in _VERSION_COLUMNS),
        ),
    )
    .returning(submission_versions.c.id, submission_versions.c.submission_id)
)


def create_submission(conn: Connection, **version: Any) -> Row | None:
    """Create a submission with its first version (columns of ``submission_versions``).

    Returns ``(id, submission_id)`` of the version, or ``None`` when the form already has a submission
    with this instanceID. Raises ``IntegrityError`` when the instanceID is taken by an edited version.
    """
    return conn.execute(_CREATE_SUBMISSION, version).one_or_none()


def insert_version(conn: Connection, **values: Any) -> int:
    """Add a version to an existing submission (columns of ``submission_versions``); returns its id."""
    return conn.execute(submission_versions.insert().values(**values).returning(submission_versions.c.id)).scalar_one()


def retire_version(conn: Connection, version_id: int) -> None:
    """Mark a version as no longer current (an edit replaced it)."""
    conn.execute(update(submission_versions).where(submission_versions.c.id == version_id).values(current=False))


_ADD_SLOTS = text(
    """
    INSERT INTO submission_attachments (submission_version_id, name)
    SELECT :version_id, name FROM unnest(:names) AS name
    ON CONFLICT DO NOTHING
    """
).bindparams(bindparam("names", type_=ARRAY(Text)))


def add_attachment_slots(conn: Connection, version_id: int, names: Iterable[str]) -> None:
    """Declare the files a version expects; each stays empty until its bytes arrive."""
    names = list(names)
    if names:
        conn.execute(_ADD_SLOTS, {"version_id": version_id, "names": names})


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


# One statement for all of a version's geometries: each column travels as one array.
_INSERT_GEOMETRIES = text(
    """
    INSERT INTO submission_geometries
        (submission_version_id, field_path, repeat_position, geo_type, geom, raw_value, problem)
    SELECT :version_id, g.field_path, g.repeat_position::integer[], g.geo_type, ST_GeomFromEWKT(g.ewkt),
           g.raw_value, g.problem
    FROM unnest(:field_paths, :repeat_positions, :geo_types, :ewkts, :raw_values, :problems)
        AS g(field_path, repeat_position, geo_type, ewkt, raw_value, problem)
    """
).bindparams(
    *(
        bindparam(name, type_=ARRAY(Text))
        for name in ("field_paths", "repeat_positions", "geo_types", "ewkts", "raw_values", "problems")
    )
)


def insert_geometries(conn: Connection, version_id: int, rows: Sequence[GeometryRow]) -> None:
    """Store the geo answers of a version (valid ones as geometries, the rest as flagged text)."""
    if not rows:
        return
    conn.execute(
        _INSERT_GEOMETRIES,
        {
            "version_id": version_id,
            "field_paths": [r.field_path for r in rows],
            "repeat_positions": ["{" + ",".join(map(str, r.repeat_position)) + "}" for r in rows],
            "geo_types": [r.geo_type for r in rows],
            "ewkts": [r.ewkt for r in rows],
            "raw_values": [r.raw_value for r in rows],
            "problems": [r.problem for r in rows],
        },
    )
