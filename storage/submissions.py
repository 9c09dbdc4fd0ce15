"""Queries on submissions, their versions, attachment slots and geometries.

The rules deciding *which* of these to call live in :mod:`khoknongna.ingest`; this module only reads and
writes rows, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, select, update
from sqlalchemy.dialects.postgresql import insert

from khoknongna.storage.schema import (
    submission_attachments,
    submission_geometries,
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


def version_by_instance_id(conn: Connection, form_id: int, instance_id: str, *, lock: bool = False) -> Row | None:
    """``(id, submission_id, xml_sha256, current)`` of the version with this instanceID in the form."""
    query = select(
        submission_versions.c.id,
        submission_versions.c.submission_id,
        submission_versions.c.xml_sha256,
        submission_versions.c.current,
    ).where(submission_versions.c.form_id == form_id, submission_versions.c.instance_id == instance_id)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).one_or_none()


def insert_submission(conn: Connection, form_id: int, instance_id: str) -> int | None:
    """Create the submission; ``None`` when another request created it first (same form and instanceID)."""
    return conn.execute(
        insert(submissions)
        .values(form_id=form_id, instance_id=instance_id)
        .on_conflict_do_nothing()
        .returning(submissions.c.id)
    ).scalar_one_or_none()


def insert_version(conn: Connection, **values: Any) -> int:
    """Add a submission version (columns of ``submission_versions``); returns its id."""
    return conn.execute(submission_versions.insert().values(**values).returning(submission_versions.c.id)).scalar_one()


def retire_version(conn: Connection, version_id: int) -> None:
    """Mark a version as no longer current (an edit replaced it)."""
    conn.execute(update(submission_versions).where(submission_versions.c.id == version_id).values(current=False))


def add_attachment_slots(conn: Connection, version_id: int, names: Iterable[str]) -> None:
    """Declare the files a version expects; each stays empty until its bytes arrive."""
    rows = [{"submission_version_id": version_id, "name": n} for n in names]
    if rows:
        conn.execute(insert(submission_attachments).on_conflict_do_nothing(), rows)


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


def insert_geometries(conn: Connection, version_id: int, rows: Sequence[GeometryRow]) -> None:
    """Store the geo answers of a version (valid ones as geometries, the rest as flagged text)."""
    if not rows:
        return
    conn.execute(
        submission_geometries.insert(),
        [
            {
                "submission_version_id": version_id,
                "field_path": r.field_path,
                "repeat_position": list(r.repeat_position),
                "geo_type": r.geo_type,
                "geom": r.ewkt,
                "raw_value": r.raw_value,
                "problem": r.problem,
            }
            for r in rows
        ],
    )
