"""Queries on forms, form versions and form attachments (media).

The *current* version of a form is its most recently published one; that is what ``formList`` offers.
Older versions stay, and submissions that name them are tied to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, cast, exists, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert

from khoknongna.storage import db
from khoknongna.storage.schema import datasets, form_attachments, form_versions, forms, submissions


def get_or_create_form(conn: Connection, project_id: int, xml_form_id: str) -> int:
    """Id of the form with this formID in the project, created if new."""
    conn.execute(insert(forms).values(project_id=project_id, xml_form_id=xml_form_id).on_conflict_do_nothing())
    return conn.execute(
        select(forms.c.id).where(forms.c.project_id == project_id, forms.c.xml_form_id == xml_form_id)
    ).scalar_one()


def form_id_of(conn: Connection, project_id: int, xml_form_id: str) -> int | None:
    return conn.execute(
        select(forms.c.id).where(forms.c.project_id == project_id, forms.c.xml_form_id == xml_form_id)
    ).scalar_one_or_none()


def version_by_xform_sha(conn: Connection, form_id: int, xform_sha256: str) -> Row | None:
    return conn.execute(
        select(form_versions).where(form_versions.c.form_id == form_id, form_versions.c.xform_sha256 == xform_sha256)
    ).one_or_none()


def version_by_xlsform_sha(conn: Connection, project_id: int, xlsform_sha256: str) -> Row | None:
    """A version of any form of the project that was converted from exactly these XLSForm bytes."""
    return conn.execute(
        select(form_versions, forms.c.xml_form_id)
        .join(forms, forms.c.id == form_versions.c.form_id)
        .where(forms.c.project_id == project_id, form_versions.c.xlsform_sha256 == xlsform_sha256)
        .limit(1)
    ).one_or_none()


def insert_version(conn: Connection, **values: Any) -> int:
    """Add a form version (columns of ``form_versions``); returns its id."""
    return conn.execute(form_versions.insert().values(**values).returning(form_versions.c.id)).scalar_one()


def current_version(conn: Connection, form_id: int) -> Row | None:
    """The most recently published version of the form."""
    return conn.execute(
        select(form_versions).where(form_versions.c.form_id == form_id).order_by(form_versions.c.id.desc()).limit(1)
    ).one_or_none()


def version_named(conn: Connection, form_id: int, version: str) -> Row | None:
    """The most recent version of the form whose version string is ``version``."""
    return conn.execute(
        select(form_versions)
        .where(form_versions.c.form_id == form_id, form_versions.c.version == version)
        .order_by(form_versions.c.id.desc())
        .limit(1)
    ).one_or_none()


def declares_versions(conn: Connection, form_id: int) -> bool:
    """Whether any version of the form has a non-empty version string."""
    return (
        conn.execute(
            select(func.count()).where(form_versions.c.form_id == form_id, form_versions.c.version != "")
        ).scalar_one()
        > 0
    )


def set_attachment(
    conn: Connection,
    form_version_id: int,
    name: str,
    *,
    blob_sha256: str | None,
    md5: str | None,
    size: int | None,
    content_type: str | None,
) -> None:
    """Declare (blob ``None``) or fill the media file ``name`` of a form version."""
    file = {"blob_sha256": blob_sha256, "md5": md5, "size": size, "content_type": content_type}
    stmt = insert(form_attachments).values(form_version_id=form_version_id, name=name, **file)
    if blob_sha256 is None:
        stmt = stmt.on_conflict_do_nothing()
    else:
        stmt = stmt.on_conflict_do_update(index_elements=["form_version_id", "name"], set_=file)
    conn.execute(stmt)


def attachments(conn: Connection, form_version_id: int) -> list[Row]:
    """``(name, blob_sha256, md5, size, content_type)`` of the version's media, by name."""
    columns = ("name", "blob_sha256", "md5", "size", "content_type")
    return db.table_rows(
        conn, form_attachments, columns, form_attachments.c.form_version_id == form_version_id, order_by="name"
    )


def attachment(conn: Connection, form_version_id: int, name: str) -> Row | None:
    return conn.execute(
        select(form_attachments).where(
            form_attachments.c.form_version_id == form_version_id, form_attachments.c.name == name
        )
    ).one_or_none()


def current_versions(conn: Connection, project_id: int, xml_form_id: str | None = None) -> list[Row]:
    """The current version of every form of the project (or of one formID), sorted by title.

    Rows: ``xml_form_id, form_version_id, version, title, xform_md5, xform_sha256, encrypted,
    attachment_count`` (declared media, uploaded or not).
    """
    latest = (
        select(form_versions.c.form_id, func.max(form_versions.c.id).label("id"))
        .group_by(form_versions.c.form_id)
        .subquery()
    )
    attachment_count = (
        select(func.count()).where(form_attachments.c.form_version_id == form_versions.c.id).scalar_subquery()
    )
    query = (
        select(
            forms.c.xml_form_id,
            form_versions.c.id.label("form_version_id"),
            form_versions.c.version,
            form_versions.c.title,
            form_versions.c.xform_md5,
            form_versions.c.xform_sha256,
            form_versions.c.encrypted,
            form_versions.c.published_at,
            attachment_count.label("attachment_count"),
        )
        .join(latest, latest.c.form_id == forms.c.id)
        .join(form_versions, form_versions.c.id == latest.c.id)
        .where(forms.c.project_id == project_id)
        .order_by(form_versions.c.title, forms.c.xml_form_id)
    )
    if xml_form_id is not None:
        query = query.where(forms.c.xml_form_id == xml_form_id)
    return list(conn.execute(query))


def form_summaries(conn: Connection, project_id: int) -> list[dict[str, Any]]:
    """Per form: formID, current version and title, number of versions, submissions, missing media (entity
    lists are never missing: the database makes them)."""
    current = {r.xml_form_id: r for r in current_versions(conn, project_id)}
    counts = conn.execute(
        select(
            forms.c.xml_form_id,
            select(func.count()).where(form_versions.c.form_id == forms.c.id).scalar_subquery().label("versions"),
            select(func.count()).where(submissions.c.form_id == forms.c.id).scalar_subquery().label("submissions"),
        ).where(forms.c.project_id == project_id)
    )
    missing = dict(
        conn.execute(
            select(form_attachments.c.form_version_id, func.string_agg(form_attachments.c.name, ", "))
            .where(
                and_(
                    form_attachments.c.form_version_id.in_([r.form_version_id for r in current.values()]),
                    form_attachments.c.blob_sha256.is_(None),
                    ~exists().where(
                        datasets.c.project_id == project_id, form_attachments.c.name == datasets.c.name + ".csv"
                    ),
                )
            )
            .group_by(form_attachments.c.form_version_id)
        ).all()
    )
    rows = []
    for c in counts:
        cur = current.get(c.xml_form_id)
        if cur is None:
            continue
        rows.append(
            {
                "xml_form_id": c.xml_form_id,
                "version": cur.version,
                "title": cur.title,
                "versions": c.versions,
                "submissions": c.submissions,
                "missing_media": missing.get(cur.form_version_id, ""),
            }
        )
    return sorted(rows, key=lambda r: (r["title"], r["xml_form_id"]))


def find_version_id(conn: Connection, project_id: int, xml_form_id: str, version: str) -> Row | None:
    """``(form_id, form_version_id)`` of the newest version named ``version`` of the form, or ``None``.

    The lean lookup used for every submission.
    """
    return conn.execute(
        select(form_versions.c.form_id, form_versions.c.id.label("form_version_id"))
        .join(forms, forms.c.id == form_versions.c.form_id)
        .where(forms.c.project_id == project_id, forms.c.xml_form_id == xml_form_id, form_versions.c.version == version)
        .order_by(form_versions.c.id.desc())
        .limit(1)
    ).one_or_none()


def current_version_id(conn: Connection, form_id: int) -> int | None:
    return conn.execute(select(func.max(form_versions.c.id)).where(form_versions.c.form_id == form_id)).scalar()


def definition_json(conn: Connection, form_version_id: int) -> dict[str, Any]:
    """The stored definition (field types, repeats, media) of a form version."""
    return conn.execute(select(form_versions.c.definition).where(form_versions.c.id == form_version_id)).scalar_one()


def versions_without_nodes(conn: Connection) -> list[Row]:
    """``(id, xform_sha256)`` of the form versions whose stored definition has no ``nodes`` key (published before
    the definition kept the primary instance's elements), oldest first."""
    return conn.execute(
        select(form_versions.c.id, form_versions.c.xform_sha256)
        .where(~form_versions.c.definition.has_key("nodes"))
        .order_by(form_versions.c.id)
    ).all()


def set_definition_nodes(conn: Connection, form_version_id: int, nodes: Sequence[str]) -> None:
    """Add ``nodes`` (relative paths in document order) to the stored definition of a form version that has none;
    the rest of the definition stays as it was."""
    conn.execute(
        update(form_versions)
        .where(form_versions.c.id == form_version_id, ~form_versions.c.definition.has_key("nodes"))
        .values(definition=form_versions.c.definition.op("||")(cast({"nodes": list(nodes)}, JSONB)))
    )
