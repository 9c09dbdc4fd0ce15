"""Vector tiles of the supervisors' map, made by PostGIS (``ST_AsMVT``), for one :class:`Selection`.

Tiles are in Web Mercator (EPSG:3857) with the usual XYZ scheme (``z`` 0–22, ``x`` east and ``y`` south from
the north-west corner), 4096 units across, geometries clipped with a 64-unit buffer. Two tile sets:

``plots`` (the register, ``plots`` view, filtered by :func:`plot_where`)
    from zoom :data:`DETAIL_MIN_ZOOM`: layer ``plots``, one polygon per plot with ``uuid``, ``label``,
    ``size_class`` (the ``size_class`` property: ``1``, ``3``, ``15``, ``other`` or empty) and ``status``:
    ``problems`` (a check result that is not passing), ``ok`` (results, all passing), ``not_checked`` (none);
    ``problems`` counts the failed rules.
    Below it: layer ``plot_clusters``, the centres of the plots' bounding boxes gathered into cells of
    1/:data:`CLUSTER_CELLS` of the tile, one point per cell at the mean position with ``count``, ``problems``,
    ``ok``, ``not_checked`` and ``status`` (``problems`` if any plot has problems, else ``not_checked`` if any
    has no result, else ``ok``).

``submissions`` (current versions' geometries, filtered by :func:`submission_where`)
    from zoom :data:`DETAIL_MIN_ZOOM`: layer ``submissions``, one feature per valid geopoint, geotrace or
    geoshape answer with ``id`` (the submission), ``form`` (formID), ``review_state``, ``geo_type``, ``field``
    (its path) and ``flags``: failed checks of the submission plus its raised, unexplained audit signals.
    Below it: layer ``submission_clusters``, one point per submission (the centre of its geometries' bounding box)
    gathered into cells as for plots, with ``count`` (submissions) and ``flagged`` (those with a flag).

Cluster cells are aligned to the tile grid and a plot or submission falls in the tile holding its point, so a
count is never split or repeated across tiles. An empty tile is an empty ``bytes``.
"""

# ruff: noqa: S608 - the queries are built from fixed fragments; every value is a bound parameter
from __future__ import annotations

from sqlalchemy import Connection, text

from khoknongna.storage.gis_views import PASSING_STATUSES
from khoknongna.storage.selection import Selection, plot_where, submission_where

#: From this zoom level on, tiles hold each plot and geometry; below it, clusters.
DETAIL_MIN_ZOOM = 12
#: Highest zoom level served; the map over-zooms beyond it.
MAX_ZOOM = 22
#: Cluster cells per tile side (8 x 8 cells: 64 px on a 512 px tile).
CLUSTER_CELLS = 8
EXTENT = 4096
BUFFER = 64

_PASSING = ", ".join(f"'{status}'" for status in PASSING_STATUSES)

_BOUNDS = (
    "bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS env4326)"
)

#: Per plot: results and failed rules (``check_results`` of subject ``plot``).
_PLOT_CHECKS = (
    "LEFT JOIN LATERAL (SELECT count(*) AS results,"
    f" count(*) FILTER (WHERE r.status NOT IN ({_PASSING})) AS failed"
    " FROM check_results r WHERE r.subject = 'plot' AND r.entity_id = p.entity_id) c ON true"
)
_PLOT_STATUS = "CASE WHEN c.failed > 0 THEN 'problems' WHEN c.results > 0 THEN 'ok' ELSE 'not_checked' END"

#: Per submission: failed checks plus raised, unexplained audit signals.
_SUBMISSION_FLAGS = (
    "(SELECT count(*) FROM check_results r WHERE r.subject = 'submission' AND r.submission_id = s.id"
    f" AND r.status NOT IN ({_PASSING}))"
    " + (SELECT count(*) FROM audit_signals a WHERE a.submission_id = s.id AND a.status = 'raised'"
    " AND a.explained_at IS NULL)"
)

#: The geometries of current versions in the tile's box, of the selected submissions.
_SUBMISSION_GEOMETRIES = (
    "SELECT s.id, f.xml_form_id AS form, s.review_state, g.geo_type, g.field_path AS field,"
    " ST_Force2D(g.geom) AS geom"
    " FROM bounds b JOIN submission_geometries g ON g.geom && b.env4326"
    " JOIN submission_versions sv ON sv.id = g.submission_version_id AND sv.current"
    " JOIN submissions s ON s.id = sv.submission_id"
    " JOIN forms f ON f.id = s.form_id"
    " WHERE g.geom IS NOT NULL AND {where}"
)


_CLUSTER_POINT = (
    "ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(avg(ST_X(pt)), avg(ST_Y(pt))), 3857), (SELECT env FROM bounds),"
    f" {EXTENT}, {BUFFER}, true)"
)


def _mercator_centre(geometry: str) -> str:
    """The centre of the bounding box of ``geometry`` (a 4326 expression) as a 3857 point, by the spherical
    Mercator formulas (no reprojection of the geometry: the box is stored with it)."""
    lon = f"((ST_XMin({geometry}) + ST_XMax({geometry})) / 2)"
    lat = f"((ST_YMin({geometry}) + ST_YMax({geometry})) / 2)"
    return (
        f"ST_SetSRID(ST_MakePoint({lon} * 20037508.342789244 / 180, ln(tan(radians(90 + {lat}) / 2)) * 6378137), 3857)"
    )


def _cluster_cells(point: str) -> str:
    """The cell columns ``cx``, ``cy`` of ``point`` (a 3857 geometry expression) in the tile ``b.env``."""
    size = f"((ST_XMax(b.env) - ST_XMin(b.env)) / {CLUSTER_CELLS})"
    return (
        f"floor((ST_X({point}) - ST_XMin(b.env)) / {size}) AS cx,"
        f" floor((ST_Y({point}) - ST_YMin(b.env)) / {size}) AS cy"
    )


def _tile_args(z: int, x: int, y: int) -> dict[str, int]:
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise ValueError(f"no tile {z}/{x}/{y}")
    return {"z": z, "x": x, "y": y}


def plot_tile(conn: Connection, selection: Selection, z: int, x: int, y: int) -> bytes:
    """The ``plots`` tile ``z/x/y`` (Mapbox Vector Tile bytes, empty when nothing is in it) of the plots of
    ``selection``; raises ``ValueError`` for a tile that does not exist."""
    where, params = plot_where(selection)
    params.update(_tile_args(z, x, y))
    if z >= DETAIL_MIN_ZOOM:
        sql = (
            f"WITH {_BOUNDS} SELECT ST_AsMVT(t, 'plots', {EXTENT}, 'geom') FROM ("
            "  SELECT p.uuid, p.label, coalesce(p.properties->>'size_class', '') AS size_class,"
            f"  {_PLOT_STATUS} AS status, c.failed::int AS problems,"
            f"  ST_AsMVTGeom(ST_Transform(ST_Force2D(p.boundary), 3857), b.env, {EXTENT}, {BUFFER}, true) AS geom"
            f"  FROM bounds b JOIN plots p ON p.boundary && b.env4326 {_PLOT_CHECKS}"
            f"  WHERE {where}"
            ") t WHERE geom IS NOT NULL"
        )
    else:
        sql = (
            f"WITH {_BOUNDS}, pts AS ("
            f"  SELECT {_mercator_centre('p.boundary')} AS pt,"
            f"  {_PLOT_STATUS} AS status"
            f"  FROM bounds b JOIN plots p ON p.boundary && b.env4326 {_PLOT_CHECKS}"
            f"  WHERE {where}"
            "), cells AS ("
            f"  SELECT pts.*, {_cluster_cells('pts.pt')} FROM pts, bounds b"
            "  WHERE ST_Intersects(pts.pt, b.env)"
            ") "
            f"SELECT ST_AsMVT(t, 'plot_clusters', {EXTENT}, 'geom') FROM ("
            "  SELECT count(*)::int AS count,"
            "  count(*) FILTER (WHERE status = 'problems')::int AS problems,"
            "  count(*) FILTER (WHERE status = 'ok')::int AS ok,"
            "  count(*) FILTER (WHERE status = 'not_checked')::int AS not_checked,"
            "  CASE WHEN bool_or(status = 'problems') THEN 'problems'"
            "       WHEN bool_or(status = 'not_checked') THEN 'not_checked' ELSE 'ok' END AS status,"
            f"  {_CLUSTER_POINT} AS geom FROM cells GROUP BY cx, cy"
            ") t WHERE geom IS NOT NULL"
        )
    return bytes(conn.execute(text(sql), params).scalar_one() or b"")


def submission_tile(conn: Connection, selection: Selection, z: int, x: int, y: int) -> bytes:
    """The ``submissions`` tile ``z/x/y`` (Mapbox Vector Tile bytes, empty when nothing is in it) of the
    current versions of the submissions of ``selection``; raises ``ValueError`` for a tile that does not exist."""
    where, params = submission_where(selection)
    params.update(_tile_args(z, x, y))
    geometries = _SUBMISSION_GEOMETRIES.format(where=where)
    if z >= DETAIL_MIN_ZOOM:
        sql = (
            f"WITH {_BOUNDS}, g AS ({geometries}),"
            f" flags AS (SELECT s.id, {_SUBMISSION_FLAGS} AS flags FROM (SELECT DISTINCT id FROM g) s) "
            f"SELECT ST_AsMVT(t, 'submissions', {EXTENT}, 'geom') FROM ("
            "  SELECT g.id, g.form, g.review_state, g.geo_type, g.field, flags.flags::int AS flags,"
            f"  ST_AsMVTGeom(ST_Transform(g.geom, 3857), b.env, {EXTENT}, {BUFFER}, true) AS geom"
            "  FROM g JOIN flags USING (id), bounds b"
            ") t WHERE geom IS NOT NULL"
        )
    else:
        sql = (
            f"WITH {_BOUNDS}, g AS ({geometries}),"
            f" subs AS (SELECT s.id, {_mercator_centre('ST_Collect(s.geom)')} AS pt FROM g s GROUP BY s.id),"
            f" cells AS (SELECT s.id, {_SUBMISSION_FLAGS} > 0 AS flagged, subs.pt, {_cluster_cells('subs.pt')}"
            "  FROM subs JOIN submissions s ON s.id = subs.id, bounds b WHERE ST_Intersects(subs.pt, b.env)) "
            f"SELECT ST_AsMVT(t, 'submission_clusters', {EXTENT}, 'geom') FROM ("
            "  SELECT count(*)::int AS count, count(*) FILTER (WHERE flagged)::int AS flagged,"
            f"  {_CLUSTER_POINT} AS geom FROM cells GROUP BY cx, cy"
            ") t WHERE geom IS NOT NULL"
        )
    return bytes(conn.execute(text(sql), params).scalar_one() or b"")


def plots_extent(conn: Connection, selection: Selection) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` in degrees of the plots of ``selection``; ``None`` when there are none."""
    where, params = plot_where(selection)
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
            f" FROM (SELECT ST_Extent(p.boundary) AS e FROM plots p WHERE {where}) x"
        ),
        params,
    ).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
