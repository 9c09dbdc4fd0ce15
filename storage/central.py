"""Queries of the ODK Central-shaped API (``server/central_api.py``, ``server/central_odata.py``): projects,
forms and their versions, submissions with their versions, a comment just made, and the rows of the OData
feed, streamed. A version's files and a submission's comments are read where the other pages read them
(``storage.submissions``, ``storage.forms``, ``storage.review``).

Every submission query takes ``area``: a province, amphoe or tambon code prefix of ``submissions.area_code``,
already narrowed to the user's area (``None`` = every submission), as the map and the lists do
(``storage/selection.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, text

from khoknongna.storage import db

#: Rows fetched from the server-side cursor at a time by :func:`odata_rows`.
BATCH_ROWS = 2000

_AREA = "(CAST(:area AS text) IS NULL OR s.area_code LIKE :area || '%')"


def user(conn: Connection, user_id: int) -> Row:
    """``(id, username, created_at)`` of a user."""
    return conn.execute(text("SELECT id, username, created_at FROM users WHERE id = :u"), {"u": user_id}).one()


def projects(conn: Connection, project_id: int | None = None) -> list[Row]:
    """``(id, name, created_at, forms, app_users, datasets, last_submission)`` of every project (or one)."""
    return db.rows(
        conn,
        "SELECT p.id, p.name, p.created_at,"  # noqa: S608 - a fixed condition, values bound
        " (SELECT count(*) FROM forms f WHERE f.project_id = p.id) AS forms,"
        " (SELECT count(*) FROM app_users a WHERE a.project_id = p.id AND a.revoked_at IS NULL) AS app_users,"
        " (SELECT count(*) FROM datasets d WHERE d.project_id = p.id) AS datasets,"
        " (SELECT max(s.created_at) FROM submissions s JOIN forms f ON f.id = s.form_id"
        f"   WHERE f.project_id = p.id AND {_AREA}) AS last_submission"
        " FROM projects p WHERE (CAST(:id AS integer) IS NULL OR p.id = :id) ORDER BY p.id",
        {"id": project_id, "area": None},
    )


_FORMS = (
    "SELECT f.id AS form_pk, f.xml_form_id, f.created_at, v.id AS form_version_id, v.version, v.title,"  # noqa: S608 - a fixed condition, values bound
    " v.xform_md5, v.xform_sha256, v.published_at, v.definition,"
    f" (SELECT count(*) FROM submissions s WHERE s.form_id = f.id AND {_AREA}) AS submissions,"
    f" (SELECT count(*) FROM submissions s WHERE s.form_id = f.id AND {_AREA} AND s.review_state = 'received')"
    "   AS received,"
    f" (SELECT count(*) FROM submissions s WHERE s.form_id = f.id AND {_AREA} AND s.review_state = 'hasIssues')"
    "   AS has_issues,"
    f" (SELECT count(*) FROM submissions s WHERE s.form_id = f.id AND {_AREA} AND s.review_state = 'edited')"
    "   AS edited,"
    f" (SELECT max(s.created_at) FROM submissions s WHERE s.form_id = f.id AND {_AREA}) AS last_submission"
    " FROM forms f JOIN form_versions v ON v.id = (SELECT max(x.id) FROM form_versions x WHERE x.form_id = f.id)"
    " WHERE f.project_id = :project AND (CAST(:form AS text) IS NULL OR f.xml_form_id = :form)"
    " ORDER BY f.xml_form_id"
)


def forms(conn: Connection, project_id: int, area: str | None, xml_form_id: str | None = None) -> list[Row]:
    """The forms of a project with their current version (``form_pk, xml_form_id, created_at, form_version_id,
    version, title, xform_md5, xform_sha256, published_at, definition``) and counts of the submissions in
    ``area`` (``submissions, received, has_issues, edited, last_submission``), by formID."""
    return db.rows(conn, _FORMS, {"project": project_id, "form": xml_form_id, "area": area})


def form_versions(conn: Connection, form_pk: int) -> list[Row]:
    """The published versions of a form, newest first: ``xml_form_id, created_at, version, title, xform_md5,
    xform_sha256, published_at``."""
    return db.rows(
        conn,
        "SELECT f.xml_form_id, v.published_at AS created_at, v.version, v.title, v.xform_md5,"
        " v.xform_sha256, v.published_at FROM form_versions v JOIN forms f ON f.id = v.form_id"
        " WHERE v.form_id = :form ORDER BY v.id DESC",
        {"form": form_pk},
    )


_SUBMISSIONS = f"""
    SELECT s.id, s.instance_id, s.created_at, s.review_state, s.area_code,
           v.id AS version_id, v.instance_id AS current_instance_id, v.instance_name, v.submitter_id,
           v.app_user_id, v.device_id, v.user_agent, v.received_at AS updated_at, v.encrypted,
           coalesce(u.username, au.display_name) AS submitter_name, fv.version AS form_version,
           (SELECT count(*) - 1 FROM submission_versions e WHERE e.submission_id = s.id) AS edits
    FROM submissions s
    JOIN submission_versions v ON v.submission_id = s.id AND v.current
    JOIN form_versions fv ON fv.id = v.form_version_id
    LEFT JOIN users u ON u.id = v.submitter_id
    LEFT JOIN app_users au ON au.id = v.app_user_id
    WHERE s.form_id = :form AND {_AREA} AND (CAST(:instance AS text) IS NULL OR s.instance_id = :instance)
    ORDER BY s.id DESC
"""  # noqa: S608 - a fixed condition, values bound


def submissions(conn: Connection, form_pk: int, area: str | None, instance_id: str | None = None) -> list[Row]:
    """The submissions of a form in ``area`` (or the one first sent as ``instance_id``), newest first: ``id,
    instance_id, created_at, review_state, area_code, version_id, current_instance_id, instance_name,
    submitter_id, app_user_id, device_id, user_agent, updated_at, encrypted, submitter_name, form_version,
    edits``."""
    return db.rows(conn, _SUBMISSIONS, {"form": form_pk, "area": area, "instance": instance_id})


def submission_of_version(conn: Connection, form_pk: int, area: str | None, version_instance_id: str) -> str | None:
    """The instanceID a submission was first sent as, of the submission one of whose versions is
    ``version_instance_id``, when it is in ``area``; ``None`` otherwise."""
    return conn.execute(
        text(
            "SELECT s.instance_id FROM submissions s JOIN submission_versions v ON v.submission_id = s.id"  # noqa: S608
            f" WHERE s.form_id = :form AND v.instance_id = :version AND {_AREA}"
        ),
        {"form": form_pk, "version": version_instance_id, "area": area},
    ).scalar_one_or_none()


def submission_xml(conn: Connection, version_id: int) -> str:
    """The XML of a submission version, as it was received."""
    return conn.execute(text("SELECT xml FROM submission_versions WHERE id = :v"), {"v": version_id}).scalar_one()


def versions(conn: Connection, submission_id: int) -> list[Row]:
    """Every version of a submission, newest first: ``id, instance_id, instance_name, submitter_id, app_user_id,
    device_id, user_agent, received_at, current``."""
    return db.rows(
        conn,
        "SELECT id, instance_id, instance_name, submitter_id, app_user_id, device_id, user_agent,"
        " received_at, current FROM submission_versions WHERE submission_id = :s ORDER BY id DESC",
        {"s": submission_id},
    )


def comment(conn: Connection, comment_id: int) -> Row:
    """``(id, body, user_id, created_at)`` of one comment."""
    return conn.execute(
        text("SELECT id, body, user_id, created_at FROM submission_comments WHERE id = :c"), {"c": comment_id}
    ).one()


# --- OData ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedQuery:
    """Which submissions of a form a feed reads: ``condition`` is SQL over ``s`` (submissions) with its
    ``params`` (from an OData ``$filter``); ``after`` the last submission id already sent (``$skiptoken``);
    ``offset``/``limit`` as ``$skip``/``$top`` (``None`` = all)."""

    condition: str = "TRUE"
    params: dict[str, Any] | None = None
    after: int | None = None
    offset: int = 0
    limit: int | None = None


def _feed_where(form_pk: int, area: str | None, query: FeedQuery) -> tuple[str, dict[str, Any]]:
    params = {"form": form_pk, "area": area, "after": query.after, **(query.params or {})}
    where = (
        f"s.form_id = :form AND {_AREA} AND (CAST(:after AS bigint) IS NULL OR s.id > :after) AND ({query.condition})"
    )
    return where, params


def odata_count(conn: Connection, form_pk: int, area: str | None, query: FeedQuery) -> int:
    """How many submissions the feed's filter selects (``$count``: before ``$top``/``$skip``/``$skiptoken``)."""
    where, params = _feed_where(form_pk, area, FeedQuery(query.condition, query.params))
    return conn.execute(text(f"SELECT count(*) FROM submissions s WHERE {where}"), params).scalar_one()  # noqa: S608


def odata_rows(conn: Connection, form_pk: int, area: str | None, query: FeedQuery) -> Iterator[Row]:
    """The submissions of the feed in the order of their ids (oldest first), streamed from a server-side cursor
    (``conn`` must be in a transaction): ``id, instance_id, created_at, review_state, data, encrypted,
    updated_at, edits, submitter_id, app_user_id, submitter_name, device_id, form_version,
    attachments_present, attachments_expected``."""
    where, params = _feed_where(form_pk, area, query)
    params.update(offset=query.offset, limit=query.limit)
    sql = f"""
        SELECT s.id, s.instance_id, s.created_at, s.review_state, v.data, v.encrypted,
               v.received_at AS updated_at,
               (SELECT count(*) - 1 FROM submission_versions e WHERE e.submission_id = s.id) AS edits,
               v.submitter_id, v.app_user_id, coalesce(u.username, au.display_name) AS submitter_name,
               v.device_id, fv.version AS form_version,
               (SELECT count(a.blob_sha256) FROM submission_attachments a WHERE a.submission_version_id = v.id)
                 AS attachments_present,
               (SELECT count(*) FROM submission_attachments a WHERE a.submission_version_id = v.id)
                 AS attachments_expected
        FROM submissions s
        JOIN submission_versions v ON v.submission_id = s.id AND v.current
        JOIN form_versions fv ON fv.id = v.form_version_id
        LEFT JOIN users u ON u.id = v.submitter_id
        LEFT JOIN app_users au ON au.id = v.app_user_id
        WHERE {where}
        ORDER BY s.id OFFSET :offset LIMIT :limit
    """  # noqa: S608 - the condition is built from a fixed grammar, every value bound
    yield from conn.execution_options(yield_per=BATCH_ROWS).execute(text(sql), params)


def submission_id_of(conn: Connection, form_pk: int, instance_id: str) -> int | None:
    """The id of the submission first sent as ``instance_id`` (to resume a feed after it)."""
    return conn.execute(
        text("SELECT id FROM submissions WHERE form_id = :f AND instance_id = :i"), {"f": form_pk, "i": instance_id}
    ).scalar_one_or_none()


def first_received(conn: Connection, form_pk: int) -> datetime | None:
    """When the form's first submission arrived (``None`` without any)."""
    return conn.execute(text("SELECT min(created_at) FROM submissions WHERE form_id = :f"), {"f": form_pk}).scalar()


def export_media(conn: Connection, form_pk: int, area: str | None, query: FeedQuery) -> Iterator[Row]:
    """``(instance_id, name, blob_sha256)`` of the stored files of the current versions of the submissions a
    feed selects, by submission then name, streamed (``conn`` in a transaction)."""
    where, params = _feed_where(form_pk, area, query)
    sql = f"""
        SELECT s.instance_id, a.name, a.blob_sha256
        FROM submissions s
        JOIN submission_versions v ON v.submission_id = s.id AND v.current
        JOIN submission_attachments a ON a.submission_version_id = v.id
        WHERE {where} AND a.blob_sha256 IS NOT NULL
        ORDER BY s.id, a.name
    """  # noqa: S608 - the condition is built from a fixed grammar, every value bound
    yield from conn.execution_options(yield_per=BATCH_ROWS).execute(text(sql), params)


# --- entities ---------------------------------------------------------------------------------------------

_ENTITY_AREA = "(CAST(:area AS text) IS NULL OR e.area_code IS NULL OR e.area_code LIKE :area || '%')"


def datasets(conn: Connection, project_id: int, area: str | None, name: str | None = None) -> list[Row]:
    """The entity lists of a project (or the one named), by name: ``id, name, created_at, properties,
    entities`` (live entities in ``area``: those of its tambons and those without an area) ``, last_entity``."""
    return db.rows(
        conn,
        "SELECT d.id, d.name, d.created_at, d.properties,"  # noqa: S608 - a fixed condition, values bound
        f" (SELECT count(*) FROM entities e WHERE e.dataset_id = d.id AND e.deleted_at IS NULL"
        f"   AND {_ENTITY_AREA}) AS entities,"
        f" (SELECT max(e.created_at) FROM entities e WHERE e.dataset_id = d.id AND {_ENTITY_AREA})"
        "   AS last_entity"
        " FROM datasets d WHERE d.project_id = :project AND (CAST(:name AS text) IS NULL OR d.name = :name)"
        " ORDER BY d.name",
        {"project": project_id, "area": area, "name": name},
    )


_ENTITIES = f"""
    SELECT e.id, e.uuid, e.label, e.version, e.properties, e.conflict, e.created_at, e.updated_at,
           e.deleted_at, e.area_code, COALESCE(c.submitter_id, first.user_id) AS creator_user_id,
           c.app_user_id AS creator_app_user_id,
           coalesce(cu.username, ca.display_name) AS creator_name, cur.created_at AS version_created_at,
           cur.base_version, COALESCE(v.submitter_id, cur.user_id) AS version_user_id,
           v.app_user_id AS version_app_user_id, COALESCE(v.user_agent, cur.user_agent) AS user_agent,
           ST_AsGeoJSON(e.geometry, 8) AS geojson
    FROM entities e
    LEFT JOIN entity_versions first ON first.entity_id = e.id AND first.version = 1
    LEFT JOIN submission_versions c ON c.id = first.submission_version_id
    LEFT JOIN users cu ON cu.id = COALESCE(c.submitter_id, first.user_id)
    LEFT JOIN app_users ca ON ca.id = c.app_user_id
    LEFT JOIN entity_versions cur ON cur.entity_id = e.id AND cur.version = e.version
    LEFT JOIN submission_versions v ON v.id = cur.submission_version_id
    WHERE e.dataset_id = :dataset AND e.deleted_at IS NULL AND {_ENTITY_AREA}
      AND (CAST(:uuid AS text) IS NULL OR e.uuid = :uuid)
    ORDER BY e.id OFFSET :offset LIMIT :limit
"""  # noqa: S608 - a fixed condition, values bound


def entities(
    conn: Connection,
    dataset_id: int,
    area: str | None,
    uuid: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Iterator[Row]:
    """The live entities of a list in ``area`` (or the one ``uuid``), oldest first, streamed from a server-side
    cursor (``conn`` in a transaction): ``id, uuid, label, version, properties, conflict, created_at,
    updated_at, deleted_at, area_code, creator_user_id, creator_app_user_id, creator_name, version_created_at,
    base_version, version_user_id, version_app_user_id, user_agent, geojson`` (the geometry as GeoJSON text)."""
    params = {"dataset": dataset_id, "area": area, "uuid": uuid, "offset": offset, "limit": limit}
    yield from conn.execution_options(yield_per=BATCH_ROWS).execute(text(_ENTITIES), params)


def entity_count(conn: Connection, dataset_id: int, area: str | None) -> int:
    """How many live entities of a list are in ``area``."""
    return conn.execute(
        text(
            "SELECT count(*) FROM entities e WHERE e.dataset_id = :dataset AND e.deleted_at IS NULL"  # noqa: S608
            f" AND {_ENTITY_AREA}"
        ),
        {"dataset": dataset_id, "area": area},
    ).scalar_one()
