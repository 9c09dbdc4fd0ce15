"""Queries of the monthly district report: the plots of a district from ``forms.plots``, and every activity
report of the month from the view of the form ``activity_report`` with its photos and signature."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, text

from khoknongna.storage import db
from khoknongna.storage.gis_views import SCHEMA, quote, view_columns, view_name, view_names
from khoknongna.storage.periods import period_sql

REPORT_FORM = "activity_report"
PHOTOS_REPEAT = "activity_photos"


def district_plots(conn: Connection, project_id: int, area_code: str) -> list[Row]:
    """The live plots whose area code starts with ``area_code``, by tambon and owner."""
    return db.rows(
        conn,
        "SELECT entity_id, uuid, label, programme, model, size_class, owner_name, owner_phone, house_no,"
        " village_no, village_name, province, amphoe, tambon, area_rai"
        " FROM forms.plots WHERE project_id = :p AND left(area_code, length(:area)) = :area"
        " ORDER BY tambon, owner_name, entity_id",
        {"p": project_id, "area": area_code},
    )


def month_activities(conn: Connection, project_id: int, plot_uuids: list[str], month: str) -> list[dict[str, Any]]:
    """Every activity report about the plots ``plot_uuids`` that belongs to ``month`` (``YYYY-MM``,
    :func:`khoknongna.storage.periods.period_sql`), in date order (``report_date``, then when received).

    Each: the answers of the form's view, plus ``plot`` (lower-case uuid), ``received_at`` (first received),
    ``signature_sha256`` (the blob of ``reporter_signature`` when it arrived) and ``photos``: a list of
    ``{"name", "caption", "sha256"}`` in the order taken (``sha256`` ``None`` while the file has not arrived).
    """
    names = set(view_names(conn))
    report = view_name(REPORT_FORM, project_id)
    if report not in names or not plot_uuids:
        return []
    columns = view_columns(conn, report)
    signature = (
        "(SELECT a.blob_sha256 FROM submission_attachments a WHERE a.submission_version_id = sv.id"
        " AND a.name = r.reporter_signature)"
        if "reporter_signature" in columns
        else "NULL"
    )
    date_order = "r.report_date, " if "report_date" in columns else ""
    rows = conn.execute(
        text(
            f"SELECT lower(r.plot) AS plot, to_jsonb(r) AS answers, s.created_at AS received_at,"  # noqa: S608 - quoted names
            f" {signature} AS signature_sha256"
            f" FROM {SCHEMA}.{quote(report)} r JOIN submissions s ON s.id = r.submission_id"
            " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
            f" WHERE lower(r.plot) = ANY(:uuids) AND {period_sql('sv.data', 's.created_at')} = :month"
            f" ORDER BY {date_order}s.created_at, s.id"
        ),
        {"uuids": plot_uuids, "month": month},
    ).all()
    activities = [
        {**row.answers, "plot": row.plot, "received_at": row.received_at, "signature_sha256": row.signature_sha256}
        for row in rows
    ]
    photos = view_name(REPORT_FORM, project_id, PHOTOS_REPEAT)
    by_submission: dict[int, list[dict[str, Any]]] = {}
    if photos in names and activities:
        caption = "ph.activity_photo_caption" if "activity_photo_caption" in view_columns(conn, photos) else "NULL"
        for row in conn.execute(
            text(
                f"SELECT ph.submission_id, ph.activity_photo AS name, {caption} AS caption, a.blob_sha256 AS sha256"  # noqa: S608
                f" FROM {SCHEMA}.{quote(photos)} ph"
                " JOIN submission_versions sv ON sv.submission_id = ph.submission_id AND sv.current"
                " LEFT JOIN submission_attachments a ON a.submission_version_id = sv.id AND a.name = ph.activity_photo"
                " WHERE ph.submission_id = ANY(:ids) AND ph.activity_photo IS NOT NULL"
                " ORDER BY ph.submission_id, ph.repeat_position"
            ),
            {"ids": [a["submission_id"] for a in activities]},
        ):
            by_submission.setdefault(row.submission_id, []).append(
                {"name": row.name, "caption": row.caption, "sha256": row.sha256}
            )
    for activity in activities:
        activity["photos"] = by_submission.get(activity["submission_id"], [])
    return activities
