"""The downloads page: each form's exports (CSV, XLSX, GeoJSON, GeoPackage, photos) under the filters, and the
monthly district reports (PDF, XLSX), all narrowed to the user's area.

The links point at the JSON API's export and report routes, which accept the page's session cookie and narrow
every download to the user's area themselves (a link edited by hand cannot reach another district).
"""

from __future__ import annotations

from flask import render_template

from khoknongna.areas import area_name
from khoknongna.exports import FORMATS
from khoknongna.periods import month_being_reported, month_text
from khoknongna.server.context import db
from khoknongna.server.web import bp
from khoknongna.server.web_filters import filter_query, selection_from_args
from khoknongna.server.web_session import require_reader
from khoknongna.storage import forms as form_queries
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
