"""Measuring on the WGS84 ellipsoid: geodesic areas and perimeters, UTM for distances, and plot boundary rings.

Coordinates are always (longitude°, latitude°) in WGS84 (EPSG:4326), as in PostGIS and shapely. Areas are
computed geodesically with pyproj's ``Geod`` (Karney's algorithm), never in square degrees. Edges are taken
as straight lines in longitude/latitude, as PostGIS ``geometry`` does; over a plot's 40–200 m this differs
from the geodesic by far less than a millimetre.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from pyproj import Geod, Transformer
from shapely import Geometry, Polygon
from shapely.geometry.polygon import orient

from khoknongna.spatial.odk_geo import OdkGeometry

GEOD = Geod(ellps="WGS84")

LonLat = tuple[float, float]


def polygons_of(geom: Geometry) -> list[Polygon]:
    """The polygons in ``geom`` (a Polygon, a MultiPolygon or a GeometryCollection); lines and points dropped."""
    if geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in polygons_of(g)]
    return []


def geodesic_area_m2(geom: Geometry) -> float:
    """Geodesic area in m² (≥ 0) of the polygons in ``geom``, holes subtracted; 0 for lines, points, empty.

    Each polygon is oriented (exterior counter-clockwise) first, so the winding of the input does not matter.
    """
    total = 0.0
    for p in polygons_of(geom):
        area, _ = GEOD.geometry_area_perimeter(orient(p, 1.0))
        total += area
    return abs(total)


def geodesic_perimeter_m(geom: Geometry) -> float:
    """Geodesic length in metres of the boundaries (exterior and holes) of the polygons in ``geom``."""
    return sum(GEOD.geometry_area_perimeter(p)[1] for p in polygons_of(geom))


def geodesic_distance_m(a: LonLat, b: LonLat) -> float:
    """Geodesic distance in metres between two (lon°, lat°) points on WGS84."""
    _, _, dist = GEOD.inv(a[0], a[1], b[0], b[1])
    return float(dist)


def mean_width_m(geom: Geometry) -> float:
    """Mean width in metres of a polygonal shape: 2 × area / perimeter (a 40 m × 2 m strip → ~1.9 m); 0 if empty."""
    perimeter = geodesic_perimeter_m(geom)
    return 2.0 * geodesic_area_m2(geom) / perimeter if perimeter > 0 else 0.0


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the UTM zone holding (lon°, lat°): Thailand is zone 47N (EPSG:32647, 96–102° E) or
    48N (EPSG:32648, 102–108° E)."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


@lru_cache(maxsize=16)
def utm_transformers(epsg: int) -> tuple[Transformer, Transformer]:
    """(lon/lat → UTM metres, UTM metres → lon/lat) transformers for ``epsg``, made once and cached."""
    forward = Transformer.from_crs(4326, epsg, always_xy=True)
    inverse = Transformer.from_crs(epsg, 4326, always_xy=True)
    return forward, inverse


def local_xy(coords: Sequence[LonLat]) -> list[tuple[float, float]]:
    """``coords`` in metres on a plane tangent at their first point (equirectangular): good for angles within a
    plot (a few hundred metres), not for distances across a province."""
    if not coords:
        return []
    lon0, lat0 = coords[0]
    k = math.cos(math.radians(lat0))
    metres_per_degree = 111_320.0
    return [((lon - lon0) * k * metres_per_degree, (lat - lat0) * metres_per_degree) for lon, lat in coords]


@dataclass(frozen=True)
class Boundary:
    """A plot boundary as captured: its vertices in order (lon°, lat°) and each vertex's GPS accuracy (metres).

    ``coords`` never repeat the first vertex at the end (an ODK geoshape does; it is dropped), so a boundary of
    ``n`` corners has ``n`` coords. ``closed_in_input`` says whether the input repeated its first point.
    Point numbers in messages are 1-based positions in ``coords``, as in the ODK geo string.
    """

    coords: tuple[LonLat, ...]
    accuracies: tuple[float, ...]
    closed_in_input: bool = True

    @classmethod
    def from_odk(cls, geometry: OdkGeometry) -> Boundary:
        """The boundary of an ODK geoshape (or a geotrace read as a ring). Raises ``ValueError`` for a geopoint."""
        if geometry.geo_type == "geopoint":
            raise ValueError("a geopoint is not a boundary")
        return cls.from_coords([(v[0], v[1]) for v in geometry.vertices], [v[3] for v in geometry.vertices])

    @classmethod
    def from_coords(cls, coords: Iterable[LonLat], accuracies: Iterable[float] | None = None) -> Boundary:
        """A boundary from (lon°, lat°) vertices, closed or not, and optional per-vertex accuracies in metres
        (default 0 = unknown). Raises ``ValueError`` when the lists differ in length."""
        points = [(float(x), float(y)) for x, y in coords]
        accs = [0.0] * len(points) if accuracies is None else [float(a) for a in accuracies]
        if len(accs) != len(points):
            raise ValueError(f"{len(points)} vertices but {len(accs)} accuracies")
        closed = len(points) > 1 and points[0] == points[-1]
        if closed:
            points, accs = points[:-1], accs[:-1]
        return cls(tuple(points), tuple(accs), closed)

    def polygon(self) -> Polygon:
        """The ring as a shapely Polygon (x = lon, y = lat), possibly invalid; empty with fewer than 3 vertices."""
        if len(self.coords) < 3:
            return Polygon()
        return Polygon(self.coords)

    @property
    def mean_accuracy_m(self) -> float:
        """Mean of the vertices' accuracies in metres (0 with no vertices)."""
        return sum(self.accuracies) / len(self.accuracies) if self.accuracies else 0.0
