"""Queries of the weekly daily-log bundle: a field developer's daily logs (form ``daily_log``) of a week."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from khoknongna.storage import db
from khoknongna.storage.gis_views import SCHEMA, quote, view_columns, view_name, view_names

LOG_FORM = "daily_log"
#: The day a log is about: its ``work_date``, else ``today``, else the Asia/Bangkok day it was received.
_DAY = (
    "coalesce(substring(sv.data->>'work_date' from '^(\\d{4}-\\d{2}-\\d{2})'),"
    " substring(sv.data->>'today' from '^(\\d{4}-\\d{2}-\\d{2})'),"
    " to_char(s.created_at AT TIME ZONE 'Asia/Bangkok', 'YYYY-MM-DD'))"
)
#: Who sent a submission: the app user's name, else the user's.
_SENDER = "coalesce(au.display_name, u.username)"


def week_logs(
    conn: Connection, project_id: int, collector: str | None, monday: date, sunday: date, area: str | None
) -> list[dict[str, Any]]:
    """The daily logs sent by ``collector`` (an app user's display name or a user's name; ``None`` = anyone)
    about the days ``monday``..``sunday``, of submissions in ``area`` (a code prefix; ``None`` = all), by day
    then receipt.

    Each: the answers of the form's view plus ``day`` (ISO date), ``sender`` (who sent it), ``received_at`` and
    ``signature_sha256`` (the blob of the owner's signature when it arrived)."""
    view = view_name(LOG_FORM, project_id)
    if view not in set(view_names(conn)):
        return []
    signature = (
        "(SELECT a.blob_sha256 FROM submission_attachments a WHERE a.submission_version_id = sv.id"
        " AND a.name = d.owner_signature)"
        if "owner_signature" in view_columns(conn, view)
        else "NULL"
    )
    rows = conn.execute(
        text(
            f"SELECT to_jsonb(d) AS answers, {_DAY} AS day, {_SENDER} AS sender, s.created_at AS received_at,"  # noqa: S608 - quoted names
            f" {signature} AS signature_sha256"
            f" FROM {SCHEMA}.{quote(view)} d JOIN submissions s ON s.id = d.submission_id"
            " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
            " LEFT JOIN app_users au ON au.id = sv.app_user_id LEFT JOIN users u ON u.id = sv.submitter_id"
            f" WHERE (CAST(:collector AS text) IS NULL OR {_SENDER} = :collector)"
            f" AND {_DAY} BETWEEN :monday AND :sunday"
            " AND (CAST(:area AS text) IS NULL OR s.area_code LIKE :area || '%')"
            f" ORDER BY {_DAY}, s.created_at"
        ),
        {"collector": collector, "monday": monday.isoformat(), "sunday": sunday.isoformat(), "area": area},
    )
    return [
        {
            **row.answers,
            "day": row.day,
            "sender": row.sender,
            "received_at": row.received_at,
            "signature_sha256": row.signature_sha256,
        }
        for row in rows
    ]


def field_developers(conn: Connection, project_id: int, area: str) -> list[str]:
    """The names of the project's app users (field developers' phones) working in ``area`` (their area code
    starts with it), not revoked, in order."""
    return db.scalars(
        conn,
        "SELECT display_name FROM app_users WHERE project_id = :p AND revoked_at IS NULL"
        " AND area_code LIKE :area || '%' ORDER BY display_name",
        {"p": project_id, "area": area},
    )
