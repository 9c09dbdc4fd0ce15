"""Queries of the province's view of its districts' month: learning centres, publicity links, potential
assessment grades, and the plots still missing with the field developer to chase, by district (the amphoe:
the first four digits of a plot's ``area_code``).

Every query takes ``area``, a code prefix already narrowed to the user's area (``None`` = the whole project).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, text

from khoknongna.storage.gis_views import SCHEMA, quote, view_columns, view_name, view_names
from khoknongna.storage.periods import period_sql

ACTIVITY_FORM = "activity_report"
ASSESSMENT_FORM = "potential_assessment"
LOG_FORM = "daily_log"
#: The publicity links of item ๖ of the activity report.
LINK_COLUMNS = ("link_website", "link_facebook", "link_video", "link_other")
_IN_AREA = "(CAST(:area AS text) IS NULL OR p.area_code LIKE :area || '%')"
#: Who sent a submission version ``v``: the app user's name, else the user's (as the weekly bundle names them).
_SENDER = (
    "(SELECT coalesce(au.display_name, u.username) FROM submission_versions sender"
    " LEFT JOIN app_users au ON au.id = sender.app_user_id LEFT JOIN users u ON u.id = sender.submitter_id"
    " WHERE sender.id = {version})"
)


def learning_centres(conn: Connection, project_id: int, area: str | None) -> dict[str, list[Row]]:
    """``district -> [(entity_id, uuid, label, owner_name)]`` of the live plots designated a learning centre
    (the plot survey's entity property ``learning_centre`` = ``yes``; seed 003 ข้อ ๑), by owner."""
    rows = conn.execute(
        text(
            "SELECT left(p.area_code, 4) AS district, p.entity_id, p.uuid, p.label,"  # noqa: S608 - fixed clause
            " p.properties->>'owner_name' AS owner_name FROM plots p"
            f" WHERE p.project_id = :p AND p.properties->>'learning_centre' = 'yes' AND {_IN_AREA}"
            " ORDER BY district, owner_name, p.entity_id"
        ),
        {"p": project_id, "area": area},
    )
    found: dict[str, list[Row]] = {}
    for row in rows:
        found.setdefault(row.district, []).append(row)
    return found


def publicity_links(conn: Connection, project_id: int, area: str | None, month: str) -> dict[str, int]:
    """``district -> number of publicity links`` (item ๖: website, facebook, clip, other) given by the activity
    reports that belong to ``month`` (``YYYY-MM``, :mod:`khoknongna.storage.periods`) about the area's plots.
    Districts without any are left out."""
    view = view_name(ACTIVITY_FORM, project_id)
    if view not in set(view_names(conn)):
        return {}
    links = [c for c in LINK_COLUMNS if c in view_columns(conn, view)]
    if not links:
        return {}
    count = " + ".join(f"(CASE WHEN btrim(coalesce(r.{c}, '')) <> '' THEN 1 ELSE 0 END)" for c in links)
    rows = conn.execute(
        text(
            f"SELECT left(p.area_code, 4) AS district, sum({count})::int AS links"  # noqa: S608 - quoted names
            f" FROM {SCHEMA}.{quote(view)} r JOIN submissions s ON s.id = r.submission_id"
            " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
            " JOIN plots p ON p.project_id = :p AND p.uuid = lower(r.plot)"
            f" WHERE {period_sql('sv.data', 's.created_at')} = :month AND {_IN_AREA}"
            " GROUP BY 1"
        ),
        {"p": project_id, "area": area, "month": month},
    )
    return {row.district: row.links for row in rows if row.links}


def assessment_grades(conn: Connection, project_id: int, area: str | None) -> dict[str, dict[str, int]]:
    """``district -> {grade: plots}``: the grade (A, B, C) of each plot's latest potential assessment (by
    ``assessment_date``, then when received; seed 002 ๒.๒), counted by district."""
    view = view_name(ASSESSMENT_FORM, project_id)
    if view not in set(view_names(conn)) or not {"plot", "grade"} <= set(view_columns(conn, view)):
        return {}
    dated = "a.assessment_date DESC NULLS LAST, " if "assessment_date" in view_columns(conn, view) else ""
    rows = conn.execute(
        text(
            "SELECT district, grade, count(*)::int AS plots FROM ("  # noqa: S608 - quoted names
            " SELECT DISTINCT ON (p.entity_id) left(p.area_code, 4) AS district, a.grade"
            f" FROM {SCHEMA}.{quote(view)} a JOIN submissions s ON s.id = a.submission_id"
            " JOIN plots p ON p.project_id = :p AND p.uuid = lower(a.plot)"
            f" WHERE {_IN_AREA}"
            f" ORDER BY p.entity_id, {dated}s.created_at DESC) latest"
            " WHERE grade IN ('A', 'B', 'C') GROUP BY district, grade"
        ),
        {"p": project_id, "area": area},
    )
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        found.setdefault(row.district, {})[row.grade] = row.plots
    return found


def plots_to_chase(conn: Connection, project_id: int, entity_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The plots ``entity_ids`` with what it takes to chase them: ``district, tambon (area_code), uuid, label,
    owner_name, owner_phone, village_name, developer, last_visit_at``, by district, field developer and owner.

    ``developer`` is the field developer of the plot: whoever sent its latest daily log (seed 004: the นพต.
    works on the plot and logs each day there), else whoever sent the survey that wrote its register entry;
    ``None`` when neither is known (a plot registered without a submission)."""
    if not entity_ids:
        return []
    view = view_name(LOG_FORM, project_id)
    logged = (
        f"(SELECT {_SENDER.format(version='lv.id')} FROM {SCHEMA}.{quote(view)} d"  # noqa: S608 - quoted names
        " JOIN submissions ls ON ls.id = d.submission_id"
        " JOIN submission_versions lv ON lv.submission_id = ls.id AND lv.current"
        " WHERE lower(d.plot) = p.uuid ORDER BY ls.created_at DESC LIMIT 1)"
        if view in set(view_names(conn))
        else "NULL"
    )
    registered = _SENDER.format(version="ev.submission_version_id")
    rows = conn.execute(
        text(
            "SELECT left(p.area_code, 4) AS district, p.area_code, p.uuid, p.label,"  # noqa: S608 - fixed expressions
            " p.properties->>'owner_name' AS owner_name, p.properties->>'owner_phone' AS owner_phone,"
            " p.properties->>'village_name' AS village_name,"
            f" coalesce({logged}, {registered}) AS developer,"
            " (SELECT max(s.created_at) FROM submissions s JOIN submission_versions v ON v.submission_id = s.id"
            "  AND v.current WHERE lower(v.data->>'plot') = p.uuid) AS last_visit_at"
            " FROM plots p LEFT JOIN entity_versions ev ON ev.entity_id = p.entity_id AND ev.version = p.version"
            " WHERE p.project_id = :p AND p.entity_id = ANY(:ids)"
        ),
        {"p": project_id, "ids": list(entity_ids)},
    )
    found = [dict(row._mapping) for row in rows]
    found.sort(key=lambda r: (r["district"], r["developer"] or "\uffff", r["owner_name"] or "", r["uuid"]))
    return found
