"""The JSON API: spatial check results of a plot or a submission, monthly coverage of an area, and the audit
signals of a submission or an area, which a supervisor may mark as explained.

Signed in as a user of a role that reads data (not ``collector``): by HTTP Digest (or Basic over https), as
for the OpenRosa routes, or by the web session cookie of the supervisors' pages. App-user links are for ODK
Collect only. Everything is narrowed to the user's area: another area's plot or submission is a 404, an
``?area=`` outside it a 403, and counts leave it out. A write signed in by cookie must carry the page's CSRF
token in ``X-CSRFToken``; one signed in by an ``Authorization`` header needs none (a browser cannot be made
to send that header from another site).

``server/openapi.yaml`` describes it, served at ``/v1/openapi.json``. Errors are JSON:
``{"code", "message", "message_th"}`` with the HTTP status of the code.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import BinaryIO, TypeVar

import yaml
from flask import Blueprint, Response, g, jsonify, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import Row

from khoknongna import audit, exports, monthly_report, province_report, signoff, weekly_log
from khoknongna.areas import OutsideArea, area_name, narrow
from khoknongna.findings import with_plot_names
from khoknongna.periods import month_being_reported, month_text
from khoknongna.plot_checks import CheckRules
from khoknongna.plot_checks import coverage as month_coverage
from khoknongna.problems import (
    BAD_PARAMETER,
    CSRF_FAILED,
    OUTSIDE_AREA,
    PLOT_NOT_FOUND,
    PROJECT_NOT_FOUND,
    REPORT_NOT_FOUND,
    ROLE_FORBIDDEN,
    SIGNAL_NOT_FOUND,
    SUBMISSION_NOT_FOUND,
    USERS_ONLY,
    Problem,
)
from khoknongna.server.auth import authenticate
from khoknongna.server.context import content_disposition, db, services
from khoknongna.server.web_session import csrf, session_actor
from khoknongna.storage import audit as audit_queries
from khoknongna.storage import checks as queries
from khoknongna.storage import signoffs as signoff_queries
from khoknongna.storage.blobs import BlobStore
from khoknongna.storage.projects import project_name

# The project is any path segment, so that a bad one is this API's JSON 404, not a routing miss.
bp = Blueprint("api", __name__, url_prefix="/v1/projects/<project>")

_MONTH = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")


@bp.url_value_preprocessor
def _project(endpoint: str | None, values: dict | None) -> None:
    g.project_id = (values or {}).pop("project", None)


@bp.before_request
def _signed_in_user() -> None:
    actor = session_actor() if request.authorization is None else None
    if actor is not None and request.method not in ("GET", "HEAD"):
        try:
            csrf.protect()
        except CSRFError:
            raise Problem(CSRF_FAILED) from None
    actor = actor or authenticate(None)
    if actor.kind != "user":
        raise Problem(USERS_ONLY)
    if not actor.reads_data:
        raise Problem(ROLE_FORBIDDEN, role=actor.role, action="read data", action_th="อ่านข้อมูล")
    g.api_user = actor
    raw = g.project_id
    g.project_id = int(raw) if raw is not None and raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
    if g.project_id is None or project_name(db(), g.project_id) is None:
        raise Problem(PROJECT_NOT_FOUND, project_id=raw)


def _json(body: dict) -> Response:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def openapi() -> Response:
    """``GET /v1/openapi.json``: the OpenAPI description of this API (``server/openapi.yaml``), no sign-in."""
    return _json(_description())


@cache
def _description() -> dict:
    return yaml.safe_load(files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8"))


@bp.get("/plots/<plot>/checks")
def plot_checks(plot: str) -> Response:
    """``{"plot": uuid, "checks": [check…]}``: the latest result of every rule on the plot."""
    found = queries.plot_with_area(db(), g.project_id, plot.lower())
    entity_id = found.entity_id if found is not None and _in_area(found.area_code) else None
    if entity_id is None:
        raise Problem(PLOT_NOT_FOUND, plot=plot, project_id=g.project_id)
    checks = _named(queries.to_json(queries.results_of(db(), "plot", entity_id)))
    return _json({"plot": plot.lower(), "checks": checks})


def _named(results: list[dict]) -> list[dict]:
    """Results whose findings name other plots by UUID and label (``khoknongna.findings``), not by row id."""
    return with_plot_names(db(), results, g.api_user.area_code)


@bp.get("/forms/<form_id>/submissions/<instance_id>/checks")
def submission_checks(form_id: str, instance_id: str) -> Response:
    """``{"instanceId": …, "checks": [check…]}`` for a submission (its evidence location, when it names a plot)."""
    submission_id = _submission(g.project_id, form_id, instance_id)
    results = _named(queries.to_json(queries.results_of(db(), "submission", submission_id)))
    return _json({"instanceId": instance_id, "checks": results})


@bp.get("/coverage")
def coverage() -> Response:
    """Coverage of ``?month=YYYY-MM`` for ``?area=`` (a province, amphoe or tambon code; the whole project
    without): the area's result, one per district, and the plots without a report or without any visit."""
    month = request.args.get("month", "")
    year, number = _month(month)
    area = _area()
    rules = CheckRules.from_settings(services().settings)
    report = month_coverage(db(), g.project_id, year, number, area, rules)
    uuids = queries.plot_uuids(db(), list(report.plots))
    return _json(
        {
            "month": month,
            "area": area,
            "total": report.result().to_dict(),
            "districts": {code: report.result(code).to_dict() for code in sorted(report.districts)},
            "plots_without_report": sorted(
                uuids[p.entity_id] for p in report.plots.values() if p.report_status == "missing"
            ),
            "plots_not_visited": sorted(uuids[p.entity_id] for p in report.plots.values() if not p.visited),
        }
    )


def _month(value: str) -> tuple[int, int]:
    found = _MONTH.match(value)
    if found is None:
        raise Problem(BAD_PARAMETER, name="month", expected="YYYY-MM", value=value)
    return int(found[1]), int(found[2])


def _area() -> str | None:
    """``?area=`` narrowed to the user's own area (their whole area without one)."""
    area = request.args.get("area") or None
    if area is not None and area_name(area) is None:
        raise Problem(BAD_PARAMETER, name="area", expected="a province, amphoe or tambon code", value=area)
    try:
        return narrow(g.api_user.area_code, area)
    except OutsideArea:
        raise Problem(OUTSIDE_AREA, asked=area, scope=g.api_user.area_code) from None


def _in_area(area_code: str | None) -> bool:
    """Whether an object of ``area_code`` is within the user's area (everything is, for an unscoped user)."""
    scope = g.api_user.area_code
    return scope is None or (area_code or "").startswith(scope)


def _submission(project_id: int, form_id: str, instance_id: str) -> int:
    """The submission's id; 404 when there is none, or it lies outside the user's area."""
    found = queries.submission_with_area(db(), project_id, form_id, instance_id)
    submission_id = found.id if found is not None and _in_area(found.area_code) else None
    if submission_id is None:
        raise Problem(SUBMISSION_NOT_FOUND, form_id=form_id, instance_id=instance_id)
    return submission_id


@bp.get("/forms/<form_id>/submissions/<instance_id>/signals")
def submission_signals(form_id: str, instance_id: str) -> Response:
    """``{"instanceId", "signals": [signal…], "explanations": [entry…]}``: every audit signal of the submission
    (``status`` raised or ok, numbers, findings, sentences, ``explained``) and the trail of explanations."""
    submission_id = _submission(g.project_id, form_id, instance_id)
    signals = _named(audit_queries.to_json(audit_queries.signals_of_submission(db(), submission_id)))
    trail = [
        {
            "rule": x.rule,
            "at": x.explained_at.isoformat(),
            "by": x.explained_by,
            "reason": x.reason,
            "before": x.before,
            "after": x.after,
        }
        for x in audit_queries.explanations_of(db(), submission_id)
    ]
    return _json({"instanceId": instance_id, "signals": signals, "explanations": trail})


@bp.post("/forms/<form_id>/submissions/<instance_id>/signals/<rule>/explanation")
def explain_signal(form_id: str, instance_id: str, rule: str) -> Response:
    """Mark a raised signal as explained: JSON ``{"reason": "…"}``; answers the signal as it now is. The change is
    kept in the trail of explanations, which no route edits."""
    if not g.api_user.reviews:
        raise Problem(ROLE_FORBIDDEN, role=g.api_user.role, action="explain signals", action_th="อธิบายสัญญาณ")
    submission_id = _submission(g.project_id, form_id, instance_id)
    body = request.get_json(silent=True)
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        raise Problem(BAD_PARAMETER, name="reason", expected='a JSON body {"reason": "…"}', value="")
    explained = audit.explain_signal(db(), submission_id, rule, g.api_user.id, reason.strip())
    if explained is None:
        raise Problem(SIGNAL_NOT_FOUND, instance_id=instance_id, rule=rule)
    (signal,) = [
        s for s in audit_queries.to_json(audit_queries.signals_of_submission(db(), submission_id)) if s["rule"] == rule
    ]
    return _json({"instanceId": instance_id, "signal": signal})


@bp.get("/signals")
def area_signals() -> Response:
    """Raised signals of ``?month=YYYY-MM`` (submissions received that month, Asia/Bangkok) about plots of
    ``?area=`` (the whole project without): unexplained counts per rule, and the list with positions for the map.
    ``?rule=`` keeps one rule; ``?explained=include`` lists explained signals too (they never count)."""
    year, month = _month(request.args.get("month", ""))
    area = _area()
    rule = request.args.get("rule") or None
    include = request.args.get("explained") == "include"
    summary = audit.area_summary(db(), g.project_id, year, month, area, rule=rule, include_explained=include)
    return _json({"month": request.args["month"], "area": area, **summary})


def _filters() -> exports.Filters:
    """The filters of ``?month=YYYY-MM&area=<code>&review_state=<state>``, as on the map."""
    month = request.args.get("month") or None
    return exports.month_filters(_month(month) if month else None, _area(), request.args.get("review_state"))


def _send_and_remove(path: Path, media_type: str, download_name: str) -> Response:
    def body() -> Iterator[bytes]:
        try:
            yield from exports.chunks(path)
        finally:
            path.unlink(missing_ok=True)

    response = Response(body(), mimetype=media_type)
    response.headers["Content-Disposition"] = content_disposition("attachment", download_name)
    response.headers["Content-Length"] = str(path.stat().st_size)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/forms/<form_id>/export.<fmt>")
def export_form(form_id: str, fmt: str) -> Response:
    """The submissions of a form as ``csv`` (zip), ``xlsx``, ``geojson``, ``gpkg`` or ``photos`` (zip), filtered by
    ``?month=&area=&review_state=``. Written to a temporary file as it is read from the database (memory stays
    flat), then streamed and removed."""
    if fmt not in exports.FORMATS:
        raise Problem(BAD_PARAMETER, name="format", expected=" / ".join(exports.FORMATS), value=fmt)
    filters = _filters()
    folder = services().settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=exports.FILE_SUFFIX[fmt], delete=False) as handle:
        path = Path(handle.name)
    try:
        # Its own connection in a transaction: the server-side cursor cannot live in the request's autocommit one.
        with services().engine.connect() as conn:
            exports.export(conn, services().blobs, g.project_id, form_id, fmt, path, filters)
    except exports.ExportTooLarge as exc:
        path.unlink(missing_ok=True)
        raise Problem(BAD_PARAMETER, name="format", expected="csv for this many rows", value=str(exc)) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return _send_and_remove(path, exports.MEDIA_TYPES[fmt], f"{form_id}{exports.FILE_SUFFIX[fmt]}")


@bp.get("/reports/monthly.<fmt>")
def monthly_district_report(fmt: str) -> Response:
    """The monthly report of seed 002 for ``?district=<amphoe code>&month=YYYY-MM``, as ``pdf`` or ``xlsx``."""
    if fmt not in ("pdf", "xlsx"):
        raise Problem(BAD_PARAMETER, name="format", expected="pdf / xlsx", value=fmt)
    month = request.args.get("month", "")
    year, number = _month(month)
    district = request.args.get("district", "")
    if len(district) == 4 and not _in_area(district):
        raise Problem(OUTSIDE_AREA, asked=district, scope=g.api_user.area_code)
    rules = CheckRules.from_settings(services().settings)
    try:
        built = monthly_report.build_report(db(), g.project_id, district, year, number, rules)
    except ValueError:
        raise Problem(BAD_PARAMETER, name="district", expected="an amphoe code (4 digits)", value=district) from None
    name = f"report-{district}-{month}.{fmt}"
    return _pdf_or_xlsx(fmt, name, built, monthly_report.write_pdf, monthly_report.write_xlsx)


def _district_month() -> tuple[str, str, int, int]:
    """``?district=<amphoe>&month=YYYY-MM``: ``(district, month, year, number)``; 400 for a bad value, 403 for a
    district outside the user's area."""
    month = request.args.get("month", "")
    year, number = _month(month)
    district = request.args.get("district", "")
    if len(district) != 4 or not district.isdigit() or area_name(district) is None:
        raise Problem(BAD_PARAMETER, name="district", expected="an amphoe code (4 digits)", value=district)
    if not _in_area(district):
        raise Problem(OUTSIDE_AREA, asked=district, scope=g.api_user.area_code)
    return district, month, year, number


@bp.post("/reports/monthly/signoffs")
def submit_monthly_report() -> tuple[Response, int]:
    """A district supervisor submits the district's report for ``?district=&month=``: the PDF and XLSX as
    generated now are frozen as the next revision (201 with the revision). Another role: 403; another
    district: 403."""
    district, _, year, number = _district_month()
    actor = g.api_user
    if not signoff.may_submit(actor.role, actor.area_code, district):
        raise Problem(
            ROLE_FORBIDDEN, role=actor.role, action="submit this district's report", action_th="ส่งรายงานของอำเภอนี้"
        )
    rules = CheckRules.from_settings(services().settings)
    row = signoff.submit(
        db(), services().blobs, g.project_id, district, year, number, rules, (actor.id, actor.role, actor.area_code)
    )
    db().commit()
    return _json({**signoff.describe(row, rules), **_signoff_links(row)}), 201


@bp.get("/reports/monthly/signoffs")
def monthly_report_signoffs() -> Response:
    """Every revision of the districts' sign-offs of ``?month=`` in ``?area=`` (the user's area), newest first
    within a district, with links to the frozen files."""
    month = request.args.get("month", "")
    _month(month)
    rules = CheckRules.from_settings(services().settings)
    rows = signoff_queries.revisions(db(), g.project_id, _area(), month)
    return _json({"month": month, "signoffs": [{**signoff.describe(r, rules), **_signoff_links(r)} for r in rows]})


@bp.get("/reports/monthly/signoffs/<number>.<fmt>")
def monthly_report_signoff_file(number: str, fmt: str) -> Response:
    """The frozen PDF or XLSX of revision ``number`` of ``?district=&month=``; 404 when there is none. (The
    revision is read here, not by the router, so that a malformed one is this API's JSON 400.)"""
    if fmt not in ("pdf", "xlsx"):
        raise Problem(BAD_PARAMETER, name="format", expected="pdf / xlsx", value=fmt)
    if not number.isdigit() or len(number) > 9:
        raise Problem(BAD_PARAMETER, name="revision", expected="a revision number", value=number)
    revision = int(number)
    district, month, _, _ = _district_month()
    row = signoff_queries.revision(db(), g.project_id, district, month, revision)
    if row is None:
        raise Problem(REPORT_NOT_FOUND, district=district, month=month, revision=revision)
    with services().blobs.open(row.pdf_sha256 if fmt == "pdf" else row.xlsx_sha256) as stream:
        data = stream.read()
    media = "application/pdf" if fmt == "pdf" else exports.MEDIA_TYPES["xlsx"]
    response = Response(data, mimetype=media)
    name = f"report-{district}-{month}-r{revision}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, max-age=3600"  # a revision never changes
    return response


def _signoff_links(row: Row) -> dict[str, str]:
    return _signoff_links_of(row.district_code, row.month, row.revision)


def _signoff_links_of(district: str, month: str, revision: int) -> dict[str, str]:
    base = f"/v1/projects/{g.project_id}/reports/monthly/signoffs/{revision}"
    query = f"?district={district}&month={month}"
    return {"pdf": base + ".pdf" + query, "xlsx": base + ".xlsx" + query}


@bp.get("/reports/weekly.<fmt>")
def weekly_log_bundle(fmt: str) -> Response:
    """The daily logs of ``?collector=<name>`` for ISO ``?week=YYYY-Www`` as ``pdf`` or ``xlsx`` (seed 004 ๔.๒),
    narrowed to the user's area (and ``?area=``)."""
    if fmt not in ("pdf", "xlsx"):
        raise Problem(BAD_PARAMETER, name="format", expected="pdf / xlsx", value=fmt)
    week, collector = request.args.get("week", ""), request.args.get("collector", "")
    try:
        bundle = weekly_log.build_weekly(db(), g.project_id, collector, week, _area())
    except ValueError:
        raise Problem(BAD_PARAMETER, name="week", expected="YYYY-Www", value=week) from None
    return _pdf_or_xlsx(fmt, f"daily-logs-{week}.{fmt}", bundle, weekly_log.write_pdf, weekly_log.write_xlsx)


_PDF, _XLSX = "application/pdf", exports.MEDIA_TYPES["xlsx"]


def _document(write: Callable[[io.BytesIO], None], name: str, media_type: str = _XLSX) -> Response:
    """The file ``write`` makes in memory (an XLSX workbook unless ``media_type`` says otherwise), sent as the
    attachment ``name``, never cached."""
    body = io.BytesIO()
    write(body)
    response = Response(body.getvalue(), mimetype=media_type)
    response.headers["Content-Disposition"] = content_disposition("attachment", name)
    response.headers["Cache-Control"] = "no-store"
    return response


_Built = TypeVar("_Built")


def _pdf_or_xlsx(
    fmt: str,
    name: str,
    built: _Built,
    write_pdf: Callable[[_Built, BinaryIO, BlobStore], None],
    write_xlsx: Callable[[_Built, BinaryIO], None],
) -> Response:
    """The attachment ``name`` as :func:`_document` sends it: ``built`` (a report or bundle) written by
    ``write_pdf`` (which reads photos and signatures from the blob store) when ``fmt`` is ``"pdf"``, else by
    ``write_xlsx``. The routes accept only ``pdf`` and ``xlsx``."""
    if fmt == "pdf":
        return _document(lambda body: write_pdf(built, body, services().blobs), name, _PDF)
    return _document(lambda body: write_xlsx(built, body), name)


def _province_month() -> province_report.ProvinceMonth:
    """The month of every district of ``?area=`` (the user's area) for ``?month=`` (default: the month being
    reported, :func:`khoknongna.periods.month_being_reported`)."""
    month = request.args.get("month") or month_text(month_being_reported())
    year, number = _month(month)
    rules = CheckRules.from_settings(services().settings)
    return province_report.build_province_month(db(), g.project_id, _area(), year, number, rules)


@bp.get("/reports/province")
def province_month() -> Response:
    """Every district of ``?area=`` for ``?month=``: sign-offs, coverage, publicity, learning centres, grades
    and the plots still missing (the province page as JSON)."""
    view = _province_month()
    return _json(
        {
            "month": view.month_text,
            "area": view.area,
            "deadline": view.last_day.date().isoformat(),
            "days_left": view.days_left(),
            "districts": [
                {
                    "district": d.code,
                    "name": d.name,
                    "plots": d.counts.plots,
                    "reported": d.counts.with_activity_report,
                    "on_time": d.counts.on_time,
                    "late": d.counts.late,
                    "missing": d.counts.missing,
                    "submitted": bool(d.signoffs),
                    "submitted_on_time": d.submitted_on_time,
                    "signoffs": [
                        {**s, **_signoff_links_of(s["district"], s["month"], s["revision"])} for s in d.signoffs
                    ],
                    "publicity_links": d.publicity_links,
                    "learning_centres": [c.uuid for c in d.learning_centres],
                    "grades": {grade: d.grades.get(grade, 0) for grade in province_report.GRADES},
                    "missing_plots": [{"plot": p["uuid"], "developer": p["developer"]} for p in d.missing_plots],
                }
                for d in view.districts
            ],
        }
    )


@bp.get("/reports/missing-plots.xlsx")
def missing_plots_xlsx() -> Response:
    """The chase list of ``?month=`` for ``?area=``: the plots still without an activity report, by district and
    field developer, with the districts' month (:func:`khoknongna.province_report.write_chase_xlsx`)."""
    view = _province_month()
    name = f"missing-plots-{view.area or 'all'}-{view.month_text}.xlsx"
    return _document(lambda body: province_report.write_chase_xlsx(view, body), name)


@bp.get("/reports/weekly-summary.xlsx")
def weekly_district_summary() -> Response:
    """Every field developer of ``?district=`` with the counts of ISO ``?week=YYYY-Www``: logs, days with and
    without a log, certified and uncertified logs (seed 004 ๔.๒)."""
    week, district = request.args.get("week", ""), request.args.get("district", "")
    if len(district) != 4 or not district.isdigit() or area_name(district) is None:
        raise Problem(BAD_PARAMETER, name="district", expected="an amphoe code (4 digits)", value=district)
    if not _in_area(district):
        raise Problem(OUTSIDE_AREA, asked=district, scope=g.api_user.area_code)
    try:
        rows = weekly_log.district_summary(db(), g.project_id, district, week)
    except ValueError:
        raise Problem(BAD_PARAMETER, name="week", expected="YYYY-Www", value=week) from None
    return _document(
        lambda body: weekly_log.write_summary_xlsx(district, week, rows, body), f"weekly-{district}-{week}.xlsx"
    )
