"""The JSON API: spatial check results of a plot or a submission, and monthly coverage of an area.

Signed in as a user (HTTP Digest, or Basic over https), as for the OpenRosa routes; app-user links are for
ODK Collect only. Errors are JSON: ``{"code", "message", "message_th"}`` with the HTTP status of the code.
Area scoping of supervisors comes with web roles; a user today sees the whole project.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask import Blueprint, Response, jsonify, request

from khoknongna import exports, monthly_report
from khoknongna.areas import area_name
from khoknongna.plot_checks import CheckRules
from khoknongna.plot_checks import coverage as month_coverage
from khoknongna.problems import (
    BAD_PARAMETER,
    PLOT_NOT_FOUND,
    PROJECT_NOT_FOUND,
    SUBMISSION_NOT_FOUND,
    USERS_ONLY,
    Problem,
)
from khoknongna.server.auth import authenticate
from khoknongna.server.context import db, services
from khoknongna.storage import checks as queries
from khoknongna.storage.projects import project_name

bp = Blueprint("api", __name__, url_prefix="/v1/projects/<int:project_id>")

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@bp.before_request
def _signed_in_user() -> None:
    actor = authenticate(None)
    if actor.kind != "user":
        raise Problem(USERS_ONLY)
    project_id = request.view_args["project_id"] if request.view_args else None
    if project_id is not None and project_name(db(), project_id) is None:
        raise Problem(PROJECT_NOT_FOUND, project_id=project_id)


def _json(body: dict) -> Response:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/plots/<plot>/checks")
def plot_checks(project_id: int, plot: str) -> Response:
    """``{"plot": uuid, "checks": [check…]}``: the latest result of every rule on the plot."""
    entity_id = queries.plot_id_by_uuid(db(), project_id, plot.lower())
    if entity_id is None:
        raise Problem(PLOT_NOT_FOUND, plot=plot, project_id=project_id)
    return _json({"plot": plot.lower(), "checks": queries.to_json(queries.results_of_plot(db(), entity_id))})


@bp.get("/forms/<form_id>/submissions/<instance_id>/checks")
def submission_checks(project_id: int, form_id: str, instance_id: str) -> Response:
    """``{"instanceId": …, "checks": [check…]}`` for a submission (its evidence location, when it names a plot)."""
    submission_id = queries.submission_id(db(), project_id, form_id, instance_id)
    if submission_id is None:
        raise Problem(SUBMISSION_NOT_FOUND, form_id=form_id, instance_id=instance_id)
    results = queries.to_json(queries.results_of_submission(db(), submission_id))
    return _json({"instanceId": instance_id, "checks": results})


@bp.get("/coverage")
def coverage(project_id: int) -> Response:
    """Coverage of ``?month=YYYY-MM`` for ``?area=`` (a province, amphoe or tambon code; the whole project
    without): the area's result, one per district, and the plots without a report or without any visit."""
    month = request.args.get("month", "")
    found = _MONTH.match(month)
    if found is None:
        raise Problem(BAD_PARAMETER, name="month", expected="YYYY-MM", value=month)
    area = request.args.get("area") or None
    if area is not None and area_name(area) is None:
        raise Problem(BAD_PARAMETER, name="area", expected="a province, amphoe or tambon code", value=area)
    rules = CheckRules.from_settings(services().settings)
    report = month_coverage(db(), project_id, int(found[1]), int(found[2]), area, rules)
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


def _filters() -> exports.Filters:
    """The filters of ``?month=YYYY-MM&area=<code>&review_state=<state>``, as on the map."""
    month = request.args.get("month") or None
    try:
        parsed = exports.parse_month(month) if month else None
    except ValueError:
        raise Problem(BAD_PARAMETER, name="month", expected="YYYY-MM", value=month) from None
    area = request.args.get("area") or None
    if area is not None and area_name(area) is None:
        raise Problem(BAD_PARAMETER, name="area", expected="a province, amphoe or tambon code", value=area)
    return exports.month_filters(parsed, area, request.args.get("review_state"))


def _send_and_remove(path: Path, media_type: str, download_name: str) -> Response:
    def body() -> Iterator[bytes]:
        try:
            yield from exports.chunks(path)
        finally:
            path.unlink(missing_ok=True)

    response = Response(body(), mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
    response.headers["Content-Length"] = str(path.stat().st_size)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/forms/<form_id>/export.<fmt>")
def export_form(project_id: int, form_id: str, fmt: str) -> Response:
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
            exports.export(conn, services().blobs, project_id, form_id, fmt, path, filters)
    except exports.ExportTooLarge as exc:
        path.unlink(missing_ok=True)
        raise Problem(BAD_PARAMETER, name="format", expected="csv for this many rows", value=str(exc)) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return _send_and_remove(path, exports.MEDIA_TYPES[fmt], f"{form_id}{exports.FILE_SUFFIX[fmt]}")


@bp.get("/reports/monthly.<fmt>")
def monthly_district_report(project_id: int, fmt: str) -> Response:
    """The monthly report of seed 002 for ``?district=<amphoe code>&month=YYYY-MM``, as ``pdf`` or ``xlsx``."""
    if fmt not in ("pdf", "xlsx"):
        raise Problem(BAD_PARAMETER, name="format", expected="pdf / xlsx", value=fmt)
    month = request.args.get("month", "")
    try:
        year, number = exports.parse_month(month)
    except ValueError:
        raise Problem(BAD_PARAMETER, name="month", expected="YYYY-MM", value=month) from None
    district = request.args.get("district", "")
    rules = CheckRules.from_settings(services().settings)
    try:
        built = monthly_report.build_report(db(), project_id, district, year, number, rules)
    except ValueError:
        raise Problem(BAD_PARAMETER, name="district", expected="an amphoe code (4 digits)", value=district) from None
    body = io.BytesIO()
    (monthly_report.write_pdf if fmt == "pdf" else monthly_report.write_xlsx)(built, body)
    media = "application/pdf" if fmt == "pdf" else exports.MEDIA_TYPES["xlsx"]
    response = Response(body.getvalue(), mimetype=media)
    response.headers["Content-Disposition"] = f'attachment; filename="report-{district}-{month}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response
