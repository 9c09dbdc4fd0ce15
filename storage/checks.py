"""Queries of the spatial checks: what a check reads (a plot, a follow-up's points, a month's visits) and the
results it stores.

A plot is an entity of the list ``plots``; its latest version came from a plot survey submission, whose answers
hold the declared size and the parts. A follow-up submission names its plot in a top-level ``plot`` field
(the entity's UUID, picked from ``plots.csv``). A result is kept per plot and rule, or per submission and rule,
and replaced when the check runs again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Row, text

from khoknongna.spatial.results import CheckResult
from khoknongna.storage import db
from khoknongna.storage.periods import period_sql
from khoknongna.storage.schema import check_results

_RESULT_COLUMNS = ("entity_id", "rule_version", "status", "result", "checked_version")
#: The subjects of a check result, each with the column of its id.
_SUBJECT_KEY = {"plot": "entity_id", "submission": "submission_id"}
#: Each subject as a constant predicate (not a bound parameter), so that PostgreSQL matches the partial unique
#: index of plots' or submissions' results.
_SUBJECT_IS = {subject: text(f"subject = '{subject}'") for subject in _SUBJECT_KEY}
#: One upsert statement per subject.
_SAVE_RESULT = {
    subject: db.upsert(check_results, (key, "rule"), _RESULT_COLUMNS, stamp="computed_at", where=_SUBJECT_IS[subject])
    for subject, key in _SUBJECT_KEY.items()
}

PLOTS_LIST = "plots"


def plot_for_check(conn: Connection, entity_id: int) -> Row | None:
    """``(entity_id, project_id, uuid, version, properties, data)`` of a live plot; ``data`` holds the answers of
    the submission version that wrote its current version (``None`` when none did)."""
    return db.row(
        conn,
        "SELECT e.id AS entity_id, d.project_id, e.uuid, e.version, e.properties, sv.data"
        " FROM entities e JOIN datasets d ON d.id = e.dataset_id AND d.name = :plots"
        " LEFT JOIN entity_versions ev ON ev.entity_id = e.id AND ev.version = e.version"
        " LEFT JOIN submission_versions sv ON sv.id = ev.submission_version_id"
        " WHERE e.id = :id AND e.deleted_at IS NULL",
        {"id": entity_id, "plots": PLOTS_LIST},
    )


def plot_with_area(conn: Connection, project_id: int, entity_uuid: str) -> Row | None:
    """``(entity_id, area_code)`` of the live plot with this uuid, or ``None``."""
    return db.row(
        conn,
        "SELECT entity_id, area_code FROM plots WHERE project_id = :project_id AND uuid = :uuid",
        {"project_id": project_id, "uuid": entity_uuid},
    )


def plot_uuids(conn: Connection, entity_ids: list[int]) -> dict[int, str]:
    """``entity_id -> uuid`` of these plots."""
    rows = conn.execute(text("SELECT entity_id, uuid FROM plots WHERE entity_id = ANY(:ids)"), {"ids": entity_ids})
    return dict(rows.all())


def plot_names(conn: Connection, entity_ids: list[int], uuids: list[str]) -> list[Row]:
    """``(entity_id, uuid, label, area_code)`` of the plots with these entity ids or UUIDs (findings name them)."""
    return db.rows(
        conn,
        "SELECT entity_id, uuid, label, area_code FROM plots WHERE entity_id = ANY(:ids) OR uuid = ANY(:uuids)",
        {"ids": entity_ids, "uuids": uuids},
    )


def submission_with_area(conn: Connection, project_id: int, xml_form_id: str, instance_id: str) -> Row | None:
    """``(id, area_code)`` of the submission of the form one of whose versions has this instanceID."""
    return db.row(
        conn,
        "SELECT s.id, s.area_code FROM submission_versions sv JOIN forms f ON f.id = sv.form_id"
        " JOIN submissions s ON s.id = sv.submission_id"
        " WHERE f.project_id = :project_id AND f.xml_form_id = :form_id AND sv.instance_id = :instance_id",
        {"project_id": project_id, "form_id": xml_form_id, "instance_id": instance_id},
    )


def plots_in_area(conn: Connection, project_id: int, area_code: str | None = None) -> list[Row]:
    """``(entity_id, area_code)`` of the live plots of the project (of an area: the area code is a prefix of
    theirs), oldest first."""
    return db.rows(
        conn,
        "SELECT entity_id, area_code FROM plots WHERE project_id = :project_id"
        " AND (CAST(:area AS text) IS NULL OR left(area_code, length(:area)) = :area) ORDER BY entity_id",
        {"project_id": project_id, "area": area_code},
    )


def plot_ids(conn: Connection, project_id: int, area_code: str | None = None) -> list[int]:
    """The ids of :func:`plots_in_area`."""
    return [p.entity_id for p in plots_in_area(conn, project_id, area_code)]


def plots_not_checked(conn: Connection, rule: str) -> list[int]:
    """Plots whose ``rule`` result is missing or older than their current version (a lost or pending job)."""
    return db.scalars(
        conn,
        "SELECT p.entity_id FROM plots p LEFT JOIN check_results r"
        " ON r.subject = 'plot' AND r.entity_id = p.entity_id AND r.rule = :rule"
        " WHERE r.id IS NULL OR r.checked_version < p.version ORDER BY p.entity_id",
        {"rule": rule},
    )


def follow_up_for_check(conn: Connection, submission_id: int) -> Row | None:
    """``(submission_id, project_id, plot_uuid, plot_entity_id, submission_version_id)`` of the current version
    of a submission that names a plot; ``plot_entity_id`` is ``None`` when no live plot has that UUID."""
    return db.row(
        conn,
        "SELECT s.id AS submission_id, f.project_id, sv.data->>'plot' AS plot_uuid, p.entity_id AS plot_entity_id,"
        "       sv.id AS submission_version_id"
        " FROM submissions s JOIN forms f ON f.id = s.form_id"
        " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
        " LEFT JOIN plots p ON p.project_id = f.project_id AND p.uuid = lower(sv.data->>'plot')"
        " WHERE s.id = :id AND jsonb_typeof(sv.data->'plot') = 'string'",
        {"id": submission_id},
    )


def save_results(
    conn: Connection,
    results: Sequence[CheckResult],
    *,
    entity_id: int | None,
    submission_id: int | None = None,
    checked_version: int | None = None,
) -> None:
    """Store ``results`` of one plot (``submission_id`` None) or one submission, replacing earlier ones per rule."""
    if not results:
        return
    subject = "plot" if submission_id is None else "submission"
    rows = [
        {
            "subject": subject,
            "entity_id": entity_id,
            "submission_id": submission_id,
            "rule": r.rule,
            "rule_version": r.rule_version,
            "status": r.status,
            "result": r.to_dict(),
            "checked_version": checked_version,
        }
        for r in results
    ]
    conn.execute(_SAVE_RESULT[subject], rows)


def results_of(conn: Connection, subject: str, subject_id: int) -> list[Row]:
    """``(rule, rule_version, status, result, checked_version, computed_at)`` of a plot (``subject`` "plot", by
    its entity id) or of a submission ("submission", by its id), by rule."""
    columns = ("rule", "rule_version", "status", "result", "checked_version", "computed_at")
    key = check_results.c[_SUBJECT_KEY[subject]]
    return db.table_rows(conn, check_results, columns, _SUBJECT_IS[subject], key == subject_id, order_by="rule")


def overlapping_plot_ids(conn: Connection, entity_id: int) -> list[int]:
    """Plots that the stored overlap result of ``entity_id`` names (to re-check them when it moves)."""
    found = conn.execute(
        text("SELECT result FROM check_results WHERE subject = 'plot' AND entity_id = :id AND rule = 'plot_overlaps'"),
        {"id": entity_id},
    ).scalar_one_or_none()
    if not found:
        return []
    others = {f["numbers"].get("other_plot") for f in found.get("findings", [])}
    return sorted(int(o) for o in others if o is not None)


def month_visits(
    conn: Connection, project_id: int, month: str, forms: dict[str, str], area_code: str | None
) -> tuple[list[Row], list[Row]]:
    """The plots of the project (of an area) ``(entity_id, area_code)``, and the follow-ups about them from the
    forms in ``forms`` ``(entity_id, xml_form_id, received_at, period)`` that belong to ``month`` (``YYYY-MM``,
    :func:`khoknongna.storage.periods.period_sql`)."""
    area = {"area": area_code}
    plots = plots_in_area(conn, project_id, area_code)
    period = period_sql("sv.data", "s.created_at")
    visits = db.rows(
        conn,
        f"SELECT p.entity_id, f.xml_form_id, s.created_at AS received_at, {period} AS period"  # noqa: S608 - fixed expression
        " FROM submissions s JOIN forms f ON f.id = s.form_id"
        " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
        " JOIN plots p ON p.project_id = f.project_id AND p.uuid = lower(sv.data->>'plot')"
        " WHERE f.project_id = :project_id AND f.xml_form_id = ANY(:forms)"
        f" AND {period} = :month"
        " AND (CAST(:area AS text) IS NULL OR left(p.area_code, length(:area)) = :area)",
        {"project_id": project_id, "forms": list(forms), "month": month, **area},
    )
    return plots, visits


def to_json(rows: Sequence[Row]) -> list[dict]:
    """Stored results as JSON-ready dicts (the check's own dict, plus when it was computed)."""
    return [{**r.result, "computed_at": r.computed_at.isoformat()} for r in rows]
