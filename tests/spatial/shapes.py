"""Hand-made plot shapes near Khon Kaen, laid out in metres east/north of one corner, and their ODK geo strings."""

from __future__ import annotations

from collections.abc import Sequence

from pyproj import Geod
from shapely import Polygon

from khoknongna.spatial.odk_geo import OdkGeometry, parse_odk_geo

#: The corner of every test plot: a paddy field south of Khon Kaen town (lon°, lat°).
LON0, LAT0 = 102.8360, 16.4419

_geod = Geod(ellps="WGS84")
_east_lon, _, _ = _geod.fwd(LON0, LAT0, 90.0, 1000.0)
_, _north_lat, _ = _geod.fwd(LON0, LAT0, 0.0, 1000.0)
#: Degrees per metre east and north at the corner (linear over a few hundred metres to better than 1e-5).
DLON_PER_M = (_east_lon - LON0) / 1000.0
DLAT_PER_M = (_north_lat - LAT0) / 1000.0


def ll(x_m: float, y_m: float) -> tuple[float, float]:
    """(lon°, lat°) of the point ``x_m`` metres east and ``y_m`` metres north of the corner."""
    return (LON0 + x_m * DLON_PER_M, LAT0 + y_m * DLAT_PER_M)


def ring(points_m: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(lon°, lat°) of points given in metres east/north of the corner, not closed."""
    return [ll(x, y) for x, y in points_m]


def rect(x: float, y: float, width: float, height: float) -> list[tuple[float, float]]:
    """A width × height metre rectangle with its south-west corner at (x, y) metres, anticlockwise, not closed."""
    return ring([(x, y), (x + width, y), (x + width, y + height), (x, y + height)])


def polygon(coords: Sequence[tuple[float, float]]) -> Polygon:
    """A shapely polygon from (lon°, lat°) coordinates."""
    return Polygon(coords)


def odk_geoshape(coords: Sequence[tuple[float, float]], accuracy: float | Sequence[float] = 4.0) -> str:
    """The ODK geo string Collect writes for a geoshape: "lat lon alt acc" per point, the first point again last."""
    accs = [accuracy] * len(coords) if isinstance(accuracy, int | float) else list(accuracy)
    points = [*zip(coords, accs, strict=True)]
    points.append(points[0])
    return ";".join(f"{lat:.8f} {lon:.8f} 162.3 {acc}" for (lon, lat), acc in points)


def geoshape(coords: Sequence[tuple[float, float]], accuracy: float | Sequence[float] = 4.0) -> OdkGeometry:
    """The parsed ODK geoshape of ``coords`` with the given per-point accuracies (metres)."""
    result = parse_odk_geo("geoshape", odk_geoshape(coords, accuracy))
    assert result.geometry is not None, result.problem
    return result.geometry
