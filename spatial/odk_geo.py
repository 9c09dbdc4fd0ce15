"""ODK geo strings (geopoint, geotrace, geoshape) to geometries, with altitude and accuracy kept.

A geopoint is ``"lat lon [altitude [accuracy]]"`` in degrees, metres and metres; a geotrace is points
joined by ``;``; a geoshape is a geotrace whose last point repeats the first (a closed ring). Collect
writes four numbers per point; other clients may write two, in which case altitude and accuracy are 0.

Geometries are ``POINT ZM``/``LINESTRING ZM``/``POLYGON ZM`` with x = longitude, y = latitude,
z = altitude (m), m = accuracy (m), SRID 4326. A value that does not follow these rules is not a
geometry: :func:`parse_odk_geo` says why, and the caller keeps the text.

Source: ODK XForms spec, "geopoint", "geotrace", "geoshape" data types; Collect's GeoUtils.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: (longitude°, latitude°, altitude m, accuracy m)
Vertex = tuple[float, float, float, float]


@dataclass(frozen=True)
class OdkGeometry:
    """A parsed ODK geo value: its ODK type and its vertices."""

    geo_type: str
    vertices: tuple[Vertex, ...]

    def ewkt(self) -> str:
        """Extended WKT with SRID 4326 and Z (altitude) and M (accuracy), for PostGIS."""
        coords = ", ".join(f"{x!r} {y!r} {z!r} {m!r}" for x, y, z, m in self.vertices)
        if self.geo_type == "geopoint":
            return f"SRID=4326;POINT ZM ({coords})"
        if self.geo_type == "geotrace":
            return f"SRID=4326;LINESTRING ZM ({coords})"
        return f"SRID=4326;POLYGON ZM (({coords}))"


@dataclass(frozen=True)
class GeoParseResult:
    """Either ``geometry`` is set, or ``problem`` says in English why the text is not a valid value."""

    geometry: OdkGeometry | None
    problem: str | None


def _vertex(text: str, index: int) -> Vertex | str:
    parts = text.split()
    if not 2 <= len(parts) <= 4:
        return f"point {index} has {len(parts)} numbers; expected 'latitude longitude [altitude [accuracy]]'"
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        return f"point {index} is not made of numbers: '{text.strip()[:60]}'"
    if not all(math.isfinite(n) for n in nums):
        return f"point {index} contains NaN or infinity"
    lat, lon = nums[0], nums[1]
    alt = nums[2] if len(nums) > 2 else 0.0
    acc = nums[3] if len(nums) > 3 else 0.0
    if not -90.0 <= lat <= 90.0:
        return f"point {index} has latitude {lat}, outside -90..90"
    if not -180.0 <= lon <= 180.0:
        return f"point {index} has longitude {lon}, outside -180..180"
    if acc < 0:
        return f"point {index} has a negative accuracy {acc}"
    return (lon, lat, alt, acc)


def parse_odk_geo(geo_type: str, text: str) -> GeoParseResult:
    """Parse ``text`` as an ODK ``geo_type`` ("geopoint", "geotrace" or "geoshape").

    A geotrace needs at least 2 points; a geoshape at least 4 with the last equal to the first.
    Never raises on bad input; raises ``ValueError`` only for an unknown ``geo_type``.
    """
    if geo_type not in ("geopoint", "geotrace", "geoshape"):
        raise ValueError(f"unknown ODK geo type {geo_type!r}")
    pieces = [p for p in text.strip().split(";") if p.strip()]
    if not pieces:
        return GeoParseResult(None, "empty value")
    if geo_type == "geopoint" and len(pieces) != 1:
        return GeoParseResult(None, f"a geopoint has one point, this value has {len(pieces)}")
    vertices: list[Vertex] = []
    for i, piece in enumerate(pieces, start=1):
        v = _vertex(piece, i)
        if isinstance(v, str):
            return GeoParseResult(None, v)
        vertices.append(v)
    if geo_type == "geotrace" and len(vertices) < 2:
        return GeoParseResult(None, "a geotrace needs at least 2 points")
    if geo_type == "geoshape":
        if len(vertices) < 4:
            return GeoParseResult(
                None,
                f"a geoshape needs at least 4 points (3 corners and the first again), this value has {len(vertices)}",
            )
        if vertices[0][:2] != vertices[-1][:2]:
            return GeoParseResult(None, "a geoshape must end at its first point (the ring is not closed)")
    return GeoParseResult(OdkGeometry(geo_type, tuple(vertices)), None)


def parse_any_odk_geo(text: str) -> GeoParseResult:
    """Parse a geo string whose ODK type is not known, as an entity's ``geometry`` property is.

    One point is a geopoint; a closed ring of at least 4 points a geoshape; anything else a geotrace.
    Source: ODK entities, where the ``geometry`` property holds whichever geo value the form saved to it.
    """
    pieces = [p for p in text.strip().split(";") if p.strip()]
    if len(pieces) == 1:
        return parse_odk_geo("geopoint", text)
    closed = len(pieces) >= 4 and pieces[0].split()[:2] == pieces[-1].split()[:2]
    return parse_odk_geo("geoshape" if closed else "geotrace", text)
