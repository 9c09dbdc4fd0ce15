"""The supervisors' map: the page, its vector tiles and the MapLibre GL JS library it loads.

| route | answer |
|---|---|
| ``GET /map`` | the map with the filter panel (the filters of ``server/web_filters.py`` as GET parameters) |
| ``GET /tiles/plots/<z>/<x>/<y>.mvt`` | the plots of the selection (``storage/tiles.py`` says the layers) |
| ``GET /tiles/submissions/<z>/<x>/<y>.mvt`` | the submissions' points, traces and shapes of the selection |
| ``GET /vendor/maplibre-gl/<file>`` | ``maplibre-gl/dist/<file>`` from ``settings.vendor_dir`` (``npm ci``) |

Tiles take the same query parameters as the page and are always narrowed to the user's area: an area outside
it is a 403, a user without a session is sent to the sign-in page. They answer ``application/vnd.mapbox-vector-tile``
(``Cache-Control: private``: they depend on who asks), or 204 when nothing is in the tile.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flask import Response, abort, render_template, send_from_directory, url_for
from sqlalchemy import Connection

from khoknongna import wording
from khoknongna.server.context import db, services
from khoknongna.server.web import bp
from khoknongna.server.web_filters import filter_query, selection_from_args
from khoknongna.server.web_session import require_reader
from khoknongna.storage import forms as form_queries
from khoknongna.storage import tiles
from khoknongna.storage.selection import REVIEW_STATES, Selection

MVT_TYPE = "application/vnd.mapbox-vector-tile"
#: Seconds a browser may reuse a tile (a review changes its colour within this time).
TILE_MAX_AGE_S = 30
#: The map's view when the selection has no plot: Thailand.
THAILAND_BOUNDS = (97.3, 5.6, 105.7, 20.5)
#: The check and audit rules a supervisor can filter by, with their Thai and English names.
FLAG_RULES = tuple(
    (rule, *wording.RULES[rule])
    for rule in (
        "plot_area",
        "plot_validity",
        "plot_overlaps",
        "plot_parts",
        "evidence_location",
        "photo_reused_exact",
        "photo_reused_near",
        "photo_exif",
        "gps_untrusted",
        "impossible_travel",
        "certification_missing",
    )
)

#: The plots' colours on the map, in words (the legend of map.html says the same).
PLOT_STATUSES = {
    "ok": ("ผ่านการตรวจ", "checks passed"),
    "problems": ("พบปัญหา", "problems found"),
    "not_checked": ("ยังไม่ได้ตรวจ", "not checked yet"),
}


def _library_dir() -> Path:
    return services().settings.vendor_dir / "maplibre-gl" / "dist"


def _library_version() -> str | None:
    """The installed maplibre-gl version (from its package.json), or ``None`` when it is not installed."""
    package = services().settings.vendor_dir / "maplibre-gl" / "package.json"
    if not (package.is_file() and (_library_dir() / "maplibre-gl.mjs").is_file()):
        return None
    return str(json.loads(package.read_text())["version"])


@bp.get("/map")
def map_page() -> tuple[str, int] | str:
    """The map of the plots and submissions of the selection, with the filter panel; 503 with an explanation
    when the browser library has not been installed (``npm ci``)."""
    actor = require_reader()
    selection = selection_from_args(actor)
    settings = services().settings
    version = _library_version()
    query = filter_query()
    page = render_template(
        "map.html",
        selection=selection,
        query=query,
        month=f"{selection.month[0]}-{selection.month[1]:02d}" if selection.month else "",
        forms=form_queries.current_versions(db(), selection.project_id),
        review_states=REVIEW_STATES,
        flag_rules=FLAG_RULES,
        library_version=version,
        vendor_dir=settings.vendor_dir,
        map_config={
            "plotTiles": _tile_template("plots", query),
            "submissionTiles": _tile_template("submissions", query),
            "detailMinZoom": tiles.DETAIL_MIN_ZOOM,
            "bounds": tiles.plots_extent(db(), selection) or THAILAND_BOUNDS,
            "basemapUrl": settings.basemap_url,
            "basemapAttribution": settings.basemap_attribution or "",
            "words": {"plotStatus": PLOT_STATUSES, "reviewStates": wording.REVIEW_STATES},
            "library": url_for("web.maplibre_file", filename="maplibre-gl.mjs", v=version) if version else None,
        },
    )
    return (page, 503) if version is None else page


def _tile_template(kind: str, query: str) -> str:
    """The tile URL template MapLibre fills in (``{z}/{x}/{y}``), carrying the page's filters."""
    return f"/tiles/{kind}/{{z}}/{{x}}/{{y}}.mvt" + (f"?{query}" if query else "")


def _tile_response(body: bytes) -> Response:
    response = Response(body, status=200 if body else 204, content_type=MVT_TYPE)
    response.headers["Cache-Control"] = f"private, max-age={TILE_MAX_AGE_S}"
    response.headers["Vary"] = "Cookie"
    return response


def _selection() -> Selection:
    return selection_from_args(require_reader())


def _tile(draw: Callable[[Connection, Selection, int, int, int], bytes], z: int, x: int, y: int) -> Response:
    """The tile ``z/x/y`` that ``draw`` (a function of :mod:`khoknongna.storage.tiles`) makes of the request's
    selection; 404 for a tile outside the grid."""
    selection = _selection()
    try:
        return _tile_response(draw(db(), selection, z, x, y))
    except ValueError as error:
        abort(404, description=str(error))


@bp.get("/tiles/plots/<int:z>/<int:x>/<int:y>.mvt")
def plot_tile(z: int, x: int, y: int) -> Response:
    """The plots tile ``z/x/y`` of the selection (404 for a tile outside the grid)."""
    return _tile(tiles.plot_tile, z, x, y)


@bp.get("/tiles/submissions/<int:z>/<int:x>/<int:y>.mvt")
def submission_tile(z: int, x: int, y: int) -> Response:
    """The submissions tile ``z/x/y`` of the selection (404 for a tile outside the grid)."""
    return _tile(tiles.submission_tile, z, x, y)


@bp.get("/vendor/maplibre-gl/<path:filename>")
def maplibre_file(filename: str) -> Response:
    """A file of the installed maplibre-gl ``dist`` folder (the module, its worker, the style sheet); a page
    saying to run ``npm ci`` when the library is not installed. Public, as the library is."""
    folder = _library_dir()
    if not folder.is_dir():
        abort(
            503,
            description=f"The map library is not installed in {folder}: run 'npm ci' in the project folder "
            "(make serve does), or set KNN_VENDOR_DIR to the node_modules folder that holds maplibre-gl.",
        )
    mimetype = "text/javascript" if filename.endswith(".mjs") else None
    response = send_from_directory(folder, filename, mimetype=mimetype, max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
