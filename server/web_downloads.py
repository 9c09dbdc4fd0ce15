"""The downloads page: each form's exports (CSV, XLSX, GeoJSON, GeoPackage, photos) under the filters, and the
monthly district reports (PDF, XLSX) with their sign-offs, all narrowed to the user's area; a district
supervisor submits the district's report here.

The links point at the JSON API's export and report routes, which accept the page's session cookie and narrow
every download to the user's area themselves (a link edited by hand cannot reach another district).
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request

from khoknongna import signoff
from khoknongna.areas import area_name
from khoknongna.exports import FORMATS, parse_month
from khoknongna.periods import month_being_reported, month_text
from khoknongna.plot_checks import CheckRules
from khoknongna.server.context import db, services
from khoknongna.server.web import bp
from khoknongna.server.web_filters import filter_query, selection_from_args
from khoknongna.server.web_session import require_reader
from khoknongna.storage import forms as form_queries
from khoknongna.storage import signoffs as signoff_queries
from khoknongna.storage.selection import REVIEW_STATES, count_by_form, districts_with_plots

FORMAT_LABELS = {
    "csv": "CSV (zip)",
    "xlsx": "Excel",
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "photos": "รูปภาพ Photos (zip)",
}


@bp.get("/downloads")
def downloads() -> str:
    """Exports of every form and the monthly district reports, for ``?month=&area=&review_state=``."""
    actor = require_reader()
    selection = selection_from_args(actor)
    counts = count_by_form(db(), selection)
    forms = [
        {"id": c.xml_form_id, "title": c.title, "count": counts.get(c.xml_form_id, 0)}
        for c in form_queries.current_versions(db(), selection.project_id)
    ]
    # The month being reported: the previous one until the 20th (khoknongna.periods).
    month = month_text(selection.month or month_being_reported())
    districts = [
        {"code": code, "name": area_name(code) or code}
        for code in districts_with_plots(db(), selection.project_id, selection.area)
    ]
    rules = CheckRules.from_settings(services().settings)
    signed = signoff_queries.revisions(db(), selection.project_id, selection.area, month)
    for district in districts:
        district["signoffs"] = [signoff.describe(r, rules) for r in signed if r.district_code == district["code"]]
        district["may_submit"] = signoff.may_submit(actor.role, actor.area_code, district["code"])
    return render_template(
        "downloads.html",
        forms=forms,
        formats=[(fmt, FORMAT_LABELS[fmt]) for fmt in FORMATS],
        query=filter_query(),
        selection=selection,
        month=month,
        districts=districts,
        review_states=REVIEW_STATES,
        project_id=selection.project_id,
    )


@bp.post("/downloads/signoff")
def downloads_signoff() -> Response:
    """A district supervisor submits the district's report of ``month`` (form fields ``district``, ``month``):
    the files as generated now are frozen as the next revision. Another district or role: 403."""
    actor = require_reader()
    district, month = request.form.get("district", ""), request.form.get("month", "")
    try:
        year, number = parse_month(month)
    except ValueError:
        abort(400, "month must be YYYY-MM")
    if not signoff.may_submit(actor.role, actor.area_code, district):
        abort(403, "only the district's own supervisor submits its report")
    conn = db()
    row = signoff.submit(
        conn,
        services().blobs,
        1,
        district,
        year,
        number,
        CheckRules.from_settings(services().settings),
        (actor.id, actor.role, actor.area_code),
    )
    conn.commit()
    flash(f"ส่งรายงานครั้งที่ {row.revision} แล้ว · Report submitted (revision {row.revision}).", "ok")
    return redirect(f"/downloads?month={month}")
