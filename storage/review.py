"""Queries of the review of submissions: review states, comments, the audit log, and the paged list of what
is waiting for review. The rules (who may set what, when a reason is needed) are in ``khoknongna.review``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, text

from khoknongna.storage.selection import Selection, submission_where


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
    return conn.execute(
        text("SELECT id, review_state, area_code FROM submissions WHERE id = :id FOR UPDATE"), {"id": submission_id}
    ).one_or_none()


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
    """``(id, body, created_at, username)`` of the submission's comments, oldest first."""
    return list(
        conn.execute(
            text(
                "SELECT c.id, c.body, c.created_at, u.username FROM submission_comments c"
                " JOIN users u ON u.id = c.user_id WHERE c.submission_id = :s ORDER BY c.created_at, c.id"
            ),
            {"s": submission_id},
        )
    )


def history(conn: Connection, subject_type: str, subject_id: int) -> list[Row]:
    """``(at, username, action, before, after)`` of the audit log about one subject, oldest first."""
    return list(
        conn.execute(
            text(
                "SELECT l.at, u.username, l.action, l.before, l.after FROM audit_log l"
                " LEFT JOIN users u ON u.id = l.actor_id"
                " WHERE l.subject_type = :type AND l.subject_id = :id ORDER BY l.at, l.id"
            ),
            {"type": subject_type, "id": subject_id},
        )
    )


def audit_entries(conn: Connection, area: str | None, *, limit: int, offset: int) -> list[Row]:
    """``(id, at, username, action, subject_type, subject_id, area_code, before, after)`` of the audit log,
    newest first; with ``area``, only entries about that area (entries without an area are admin actions)."""
    return list(
        conn.execute(
            text(
                "SELECT l.id, l.at, u.username, l.action, l.subject_type, l.subject_id, l.area_code, l.before,"
                " l.after FROM audit_log l LEFT JOIN users u ON u.id = l.actor_id"
                " WHERE CAST(:area AS text) IS NULL OR l.area_code LIKE :area || '%'"
                " ORDER BY l.at DESC, l.id DESC LIMIT :limit OFFSET :offset"
            ),
            {"area": area, "limit": limit, "offset": offset},
        )
    )


_PAGE = (
    "SELECT s.id, f.xml_form_id, fv.title AS form_title, sv.instance_id, sv.instance_name, s.review_state,"
    " s.area_code, s.created_at,"
    " coalesce(a.display_name, u.username) AS submitter,"
    " p.uuid AS plot_uuid, p.label AS plot_label,"
    " (SELECT count(*) FROM check_results r WHERE r.subject = 'submission' AND r.submission_id = s.id"
    "   AND r.status NOT IN ('ok', 'warning'))"
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
