"""Queries of the review of submissions: review states, comments, the audit log, and the paged list of what
is waiting for review. The rules (who may set what, when a reason is needed) are in ``khoknongna.review``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, text

from khoknongna.storage import db
from khoknongna.storage.audit import PLOT_OF_VERSION
from khoknongna.storage.selection import CHECK_FAILED, Selection, submission_where


def record(
    conn: Connection,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    *,
    area_code: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append an entry to the audit log (it cannot be changed afterwards: a trigger refuses it)."""
    conn.execute(
        text(
            "INSERT INTO audit_log (actor_id, action, subject_type, subject_id, area_code, before, after)"
            " VALUES (:actor, :action, :type, :id, :area, CAST(:before AS jsonb), CAST(:after AS jsonb))"
        ),
        {
            "actor": actor_id,
            "action": action,
            "type": subject_type,
            "id": subject_id,
            "area": area_code,
            "before": None if before is None else json.dumps(before, ensure_ascii=False, default=str),
            "after": None if after is None else json.dumps(after, ensure_ascii=False, default=str),
        },
    )


def review_of(conn: Connection, submission_id: int) -> Row | None:
    """``(id, review_state, area_code)`` of a submission, locked until the transaction ends."""
    return db.row(
        conn, "SELECT id, review_state, area_code FROM submissions WHERE id = :id FOR UPDATE", {"id": submission_id}
    )


def set_review_state(conn: Connection, submission_id: int, state: str) -> None:
    conn.execute(
        text("UPDATE submissions SET review_state = :state WHERE id = :id"), {"state": state, "id": submission_id}
    )


def add_comment(conn: Connection, submission_id: int, user_id: int, body: str) -> int:
    return conn.execute(
        text("INSERT INTO submission_comments (submission_id, user_id, body) VALUES (:s, :u, :b) RETURNING id"),
        {"s": submission_id, "u": user_id, "b": body},
    ).scalar_one()


def comments_of(conn: Connection, submission_id: int) -> list[Row]:
    """``(id, body, user_id, created_at, username)`` of the submission's comments, oldest first."""
    return db.rows(
        conn,
        "SELECT c.id, c.body, c.user_id, c.created_at, u.username FROM submission_comments c"
        " JOIN users u ON u.id = c.user_id WHERE c.submission_id = :s ORDER BY c.created_at, c.id",
        {"s": submission_id},
    )


def history(conn: Connection, subject_type: str, subject_id: int) -> list[Row]:
    """``(at, username, action, before, after)`` of the audit log about one subject, oldest first."""
    return db.rows(
        conn,
        "SELECT l.at, u.username, l.action, l.before, l.after FROM audit_log l"
        " LEFT JOIN users u ON u.id = l.actor_id"
        " WHERE l.subject_type = :type AND l.subject_id = :id ORDER BY l.at, l.id",
        {"type": subject_type, "id": subject_id},
    )


def audit_entries(conn: Connection, area: str | None, *, limit: int, offset: int) -> list[Row]:
    """``(id, at, username, action, subject_type, subject_id, area_code, before, after)`` of the audit log,
    newest first; with ``area``, only entries about that area (entries without an area are admin actions)."""
    return db.rows(
        conn,
        "SELECT l.id, l.at, u.username, l.action, l.subject_type, l.subject_id, l.area_code, l.before,"
        " l.after FROM audit_log l LEFT JOIN users u ON u.id = l.actor_id"
        " WHERE CAST(:area AS text) IS NULL OR l.area_code LIKE :area || '%'"
        " ORDER BY l.at DESC, l.id DESC LIMIT :limit OFFSET :offset",
        {"area": area, "limit": limit, "offset": offset},
    )


_PAGE = (
    "SELECT s.id, f.xml_form_id, fv.title AS form_title, sv.instance_id, sv.instance_name, s.review_state,"  # noqa: S608
    " s.area_code, s.created_at,"
    " coalesce(a.display_name, u.username) AS submitter,"
    " p.uuid AS plot_uuid, p.label AS plot_label,"
    " (SELECT count(*) FROM check_results r WHERE r.subject = 'submission' AND r.submission_id = s.id"
    f"   AND {CHECK_FAILED})"
    " + (SELECT count(*) FROM audit_signals x WHERE x.submission_id = s.id AND x.status = 'raised'"
    "   AND x.explained_at IS NULL) AS flags"
    " FROM submissions s JOIN forms f ON f.id = s.form_id"
    " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
    " JOIN form_versions fv ON fv.id = sv.form_version_id"
    " LEFT JOIN app_users a ON a.id = sv.app_user_id LEFT JOIN users u ON u.id = sv.submitter_id"
    " LEFT JOIN plots p ON p.project_id = f.project_id"
    "   AND p.uuid = lower(coalesce(sv.data->>'plot', sv.data->>'plot_id'))"
)


def submission_page(
    conn: Connection, selection: Selection, states: tuple[str, ...], *, limit: int, offset: int
) -> tuple[int, list[Row]]:
    """``(total, rows)`` of the selected submissions in ``states``, newest first. Each row:
    ``(id, xml_form_id, form_title, instance_id, instance_name, review_state, area_code, created_at,
    submitter, plot_uuid, plot_label, flags)``; ``flags`` = failed checks and unexplained signals."""
    where, params = submission_where(selection)
    params.update(states=list(states), limit=limit, offset=offset)
    condition = where + " AND s.review_state = ANY(:states)"
    total = conn.execute(text("SELECT count(*) FROM submissions s WHERE " + condition), params).scalar_one()  # noqa: S608 - fixed clauses, values bound
    sql = _PAGE + " WHERE " + condition + " ORDER BY s.created_at DESC, s.id DESC LIMIT :limit OFFSET :offset"
    rows = conn.execute(text(sql), params).all()
    return total, list(rows)


def audit_count(conn: Connection, area: str | None) -> int:
    """How many entries :func:`audit_entries` pages through for ``area``."""
    return conn.execute(
        text("SELECT count(*) FROM audit_log l WHERE CAST(:area AS text) IS NULL OR l.area_code LIKE :area || '%'"),
        {"area": area},
    ).scalar_one()


def submission_for_page(conn: Connection, project_id: int, submission_id: int) -> Row | None:
    """The current version of a submission of the project, for its detail page: ``(id, area_code,
    review_state, created_at, xml_form_id, form_title, form_version, definition, xform_sha256, version_id,
    instance_id, instance_name, encrypted, data, submitter, versions, plot_uuid, plot_label)``."""
    return db.row(
        conn,
        "SELECT s.id, s.area_code, s.review_state, s.created_at, f.xml_form_id, fv.title AS form_title,"  # noqa: S608 - fixed fragments, values bound
        " fv.version AS form_version, fv.definition, fv.xform_sha256, sv.id AS version_id, sv.instance_id,"
        " sv.instance_name, sv.encrypted, sv.data, coalesce(a.display_name, u.username) AS submitter,"
        " (SELECT count(*) FROM submission_versions o WHERE o.submission_id = s.id) AS versions,"
        " p.uuid AS plot_uuid, p.label AS plot_label"
        " FROM submissions s JOIN forms f ON f.id = s.form_id"
        " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
        " JOIN form_versions fv ON fv.id = sv.form_version_id"
        " LEFT JOIN app_users a ON a.id = sv.app_user_id LEFT JOIN users u ON u.id = sv.submitter_id"
        f" LEFT JOIN plots p ON p.project_id = f.project_id AND p.uuid = {PLOT_OF_VERSION}"
        " WHERE s.id = :id AND f.project_id = :project",
        {"id": submission_id, "project": project_id},
    )


def geometries_of(conn: Connection, version_id: int) -> list[Row]:
    """``(field_path, repeat_position, geo_type, geojson, problem)`` of a submission version's geo answers
    (``geojson`` 2D, ``None`` for a value that is not a valid ODK geo string), in answer order."""
    return db.rows(
        conn,
        "SELECT field_path, repeat_position, geo_type, ST_AsGeoJSON(ST_Force2D(geom), 7) AS geojson,"
        " problem FROM submission_geometries WHERE submission_version_id = :id ORDER BY id",
        {"id": version_id},
    )


def plot_for_page(conn: Connection, project_id: int, plot_uuid: str) -> Row | None:
    """A live plot of the register: ``(entity_id, uuid, label, version, area_code, properties, boundary,
    created_at, updated_at)``; ``boundary`` as 2D GeoJSON text or ``None``."""
    return db.row(
        conn,
        "SELECT entity_id, uuid, label, version, area_code, properties,"
        " ST_AsGeoJSON(ST_Force2D(boundary), 7) AS boundary, created_at, updated_at"
        " FROM plots WHERE project_id = :project AND uuid = :uuid",
        {"project": project_id, "uuid": plot_uuid},
    )


def plot_versions(conn: Connection, entity_id: int) -> list[Row]:
    """The versions of a plot, oldest first: ``(version, label, base_version, conflict, created_at,
    submission_id, instance_id)`` (the submission that wrote it, when one did)."""
    return db.rows(
        conn,
        "SELECT ev.version, ev.label, ev.base_version, ev.conflict, ev.created_at,"
        " sv.submission_id, sv.instance_id FROM entity_versions ev"
        " LEFT JOIN submission_versions sv ON sv.id = ev.submission_version_id"
        " WHERE ev.entity_id = :id ORDER BY ev.version",
        {"id": entity_id},
    )


def submissions_about_plot(conn: Connection, entity_id: int, plot_uuid: str, area: str | None) -> list[Row]:
    """Submissions whose current version names the plot (``plot`` answer) or wrote one of its versions, newest
    first, within ``area`` (``None`` = all): ``(id, xml_form_id, form_title, instance_name, review_state,
    created_at)``."""
    return db.rows(
        conn,
        "SELECT s.id, f.xml_form_id, fv.title AS form_title, sv.instance_name, s.review_state, s.created_at"
        " FROM submissions s JOIN forms f ON f.id = s.form_id"
        " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
        " JOIN form_versions fv ON fv.id = sv.form_version_id"
        " WHERE (lower(sv.data->>'plot') = :uuid OR s.id IN (SELECT w.submission_id FROM entity_versions ev"
        "   JOIN submission_versions w ON w.id = ev.submission_version_id WHERE ev.entity_id = :entity))"
        " AND (CAST(:area AS text) IS NULL OR s.area_code LIKE :area || '%')"
        " ORDER BY s.created_at DESC, s.id DESC",
        {"uuid": plot_uuid, "entity": entity_id, "area": area},
    )


def instance_xml(conn: Connection, version_id: int) -> str:
    """The submission XML of a submission version, as it was received."""
    return conn.execute(text("SELECT xml FROM submission_versions WHERE id = :id"), {"id": version_id}).scalar_one()
