"""Queries of the monthly district report: the plots of a district from ``forms.plots``, and each plot's latest
activity report of the month from the view of the form ``activity_report`` with its number of photos."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, text

from khoknongna.storage.gis_views import SCHEMA, quote, view_name, view_names

REPORT_FORM = "activity_report"
PHOTOS_REPEAT = "activity_photos"


def district_plots(conn: Connection, project_id: int, area_code: str) -> list[Row]:
    """The live plots whose area code starts with ``area_code``, by tambon and owner."""
    return list(
        conn.execute(
            text(
                "SELECT entity_id, uuid, label, programme, model, size_class, owner_name, owner_phone, house_no,"
                " village_no, village_name, province, amphoe, tambon, area_rai"
                " FROM forms.plots WHERE project_id = :p AND left(area_code, length(:area)) = :area"
                " ORDER BY tambon, owner_name, entity_id"
            ),
            {"p": project_id, "area": area_code},
        )
    )


def month_reports(
    conn: Connection, project_id: int, plot_uuids: list[str], start: datetime, end: datetime
) -> dict[str, dict[str, Any]]:
    """``plot uuid -> the answers of its latest activity report received in [start, end)`` (as in the form's
    view, plus ``photos``: how many photos it names); plots without one are left out."""
    names = set(view_names(conn))
    report = view_name(REPORT_FORM, project_id)
    if report not in names or not plot_uuids:
        return {}
    photos = view_name(REPORT_FORM, project_id, PHOTOS_REPEAT)
    count = (
        f"(SELECT count(*) FROM {SCHEMA}.{quote(photos)} ph WHERE ph.submission_id = r.submission_id"  # noqa: S608 - quoted view name
        " AND ph.activity_photo IS NOT NULL)"
        if photos in names
        else "0"
    )
    rows = conn.execute(
        text(
            f"SELECT DISTINCT ON (lower(r.plot)) lower(r.plot) AS plot, to_jsonb(r) AS answers, {count} AS photos"  # noqa: S608 - quoted names
            f" FROM {SCHEMA}.{quote(report)} r"
            " WHERE r.submitted_at >= :start AND r.submitted_at < :end AND lower(r.plot) = ANY(:uuids)"
            " ORDER BY lower(r.plot), r.submitted_at DESC"
        ),
        {"start": start, "end": end, "uuids": plot_uuids},
    )
    return {row.plot: {**row.answers, "photos": row.photos} for row in rows}
