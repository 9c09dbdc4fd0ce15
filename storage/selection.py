"""The submissions and plots a supervisor's page, tile or list shows: the filters of the map and the list,
already narrowed to the user's own area, as SQL ``WHERE`` clauses over the base tables.

Area means the code prefix of ``submissions.area_code`` (the plot's tambon, else the app user's area) or of
the plot's ``area_code``; a submission's month is the one it reports on (:mod:`khoknongna.periods`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from khoknongna.periods import month_text
from khoknongna.storage import db
from khoknongna.storage.gis_views import PASSING_STATUSES
from khoknongna.storage.periods import submission_period_sql

REVIEW_STATES = ("received", "hasIssues", "edited", "approved", "rejected")

#: Check statuses that found no problem: ``ok``, ``warning`` (harmless findings) and, for a submission's
#: ``evidence_location``, ``inside`` and ``near`` (within the GPS error); every other status is a failed check.
CHECK_FAILED = "r.status NOT IN (" + ", ".join(f"'{status}'" for status in PASSING_STATUSES) + ")"
#: A check result that found a problem, or a raised signal not explained.
_SUBMISSION_FLAGGED = (
    "(EXISTS (SELECT 1 FROM check_results r WHERE r.subject = 'submission' AND r.submission_id = s.id"  # noqa: S608
    f" AND {CHECK_FAILED} AND (:sel_flag = 'any' OR r.rule = :sel_flag))"
    " OR EXISTS (SELECT 1 FROM audit_signals a WHERE a.submission_id = s.id AND a.status = 'raised'"
    " AND a.explained_at IS NULL AND (:sel_flag = 'any' OR a.rule = :sel_flag)))"
)
_PLOT_FLAGGED = (
    "EXISTS (SELECT 1 FROM check_results r WHERE r.subject = 'plot' AND r.entity_id = p.entity_id"  # noqa: S608
    f" AND {CHECK_FAILED} AND (:sel_flag = 'any' OR r.rule = :sel_flag))"
)
_FORM_IS = "s.form_id IN (SELECT id FROM forms WHERE project_id = :sel_project AND xml_form_id = :sel_form)"
_SUBMITTED_BY = {
    "app_user": "EXISTS (SELECT 1 FROM submission_versions v WHERE v.submission_id = s.id AND v.current"
    " AND v.app_user_id = :sel_submitter)",
    "user": "EXISTS (SELECT 1 FROM submission_versions v WHERE v.submission_id = s.id AND v.current"
    " AND v.submitter_id = :sel_submitter)",
}


@dataclass(frozen=True)
class Selection:
    """What to show, within one project.

    ``area``: a province/amphoe/tambon code prefix, already narrowed to the user's area
    (:func:`khoknongna.areas.narrow`); ``None`` = every area (and submissions without one).
    ``form``: a formID. ``month``: ``(year, month)``. ``review_state``: one of :data:`REVIEW_STATES`.
    ``flag``: a check rule or audit signal rule that found a problem, or ``"any"``.
    ``submitter``: ``"app_user:<id>"`` or ``"user:<id>"``.
    """

    project_id: int
    area: str | None = None
    form: str | None = None
    month: tuple[int, int] | None = None
    review_state: str | None = None
    flag: str | None = None
    submitter: str | None = None


#: A condition of a ``WHERE`` clause and the parameters it binds.
_Condition = tuple[str, dict[str, Any]]


def _all_of(*conditions: _Condition | None) -> tuple[str, dict[str, Any]]:
    """``(sql, params)``: the ``conditions`` joined by ``AND`` (``None``, a filter that is not set, left out)."""
    chosen = [c for c in conditions if c is not None]
    params: dict[str, Any] = {}
    for _, bound in chosen:
        params.update(bound)
    return " AND ".join(sql for sql, _ in chosen), params


def _when(value: Any, sql: str, name: str) -> _Condition | None:
    """``sql`` with ``value`` bound to ``:name``; ``None`` (no condition) when ``value`` is not set (None, empty)."""
    return (sql, {name: value}) if value else None


def _submitted_by(submitter: str) -> _Condition:
    """The submissions of ``submitter`` (``app_user:<id>`` or ``user:<id>``); ``ValueError`` for another text."""
    kind, _, number = submitter.partition(":")
    if kind not in _SUBMITTED_BY or not number.isdigit():
        raise ValueError(f"submitter must be 'app_user:<id>' or 'user:<id>', not {submitter!r}")
    return _SUBMITTED_BY[kind], {"sel_submitter": int(number)}


def submission_where(selection: Selection) -> tuple[str, dict[str, Any]]:
    """``(sql, params)``: a condition on ``submissions`` aliased ``s``."""
    month = month_text(selection.month) if selection.month else None
    return _all_of(
        ("s.form_id IN (SELECT id FROM forms WHERE project_id = :sel_project)", {"sel_project": selection.project_id}),
        _when(selection.area, "s.area_code LIKE :sel_area || '%'", "sel_area"),
        _when(selection.form, _FORM_IS, "sel_form"),
        _when(month, submission_period_sql("s.id") + " = :sel_month", "sel_month"),
        _when(selection.review_state, "s.review_state = :sel_review_state", "sel_review_state"),
        _when(selection.flag, _SUBMISSION_FLAGGED, "sel_flag"),
        _submitted_by(selection.submitter) if selection.submitter else None,
    )


def plot_where(selection: Selection) -> tuple[str, dict[str, Any]]:
    """``(sql, params)``: a condition on the ``plots`` view aliased ``p``. Of the filters, the area and the
    flag apply to plots (a plot check rule that found a problem); the others select submissions only."""
    return _all_of(
        ("p.project_id = :sel_project", {"sel_project": selection.project_id}),
        _when(selection.area, "p.area_code LIKE :sel_area || '%'", "sel_area"),
        _when(selection.flag, _PLOT_FLAGGED, "sel_flag"),
    )


_COUNT_BY_FORM = "SELECT f.xml_form_id, count(*) FROM submissions s JOIN forms f ON f.id = s.form_id WHERE "


def count_by_form(conn: Connection, selection: Selection) -> dict[str, int]:
    """``formID -> number of submissions`` under ``selection`` (forms without any are left out)."""
    where, params = submission_where(selection)
    sql = _COUNT_BY_FORM + where + " GROUP BY f.xml_form_id"
    return dict(conn.execute(text(sql), params).all())


def districts_with_plots(conn: Connection, project_id: int, area: str | None) -> list[str]:
    """The amphoe codes (4 digits) of the live plots in ``area`` (a code prefix; ``None`` = all), in order."""
    return db.scalars(
        conn,
        "SELECT DISTINCT left(area_code, 4) AS district FROM plots WHERE project_id = :p"
        " AND length(area_code) >= 4 AND (CAST(:area AS text) IS NULL OR area_code LIKE :area || '%')"
        " ORDER BY district",
        {"p": project_id, "area": area},
    )
