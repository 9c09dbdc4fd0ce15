"""Evidence location: do the geopoints of a follow-up submission lie in the plot the submission is about?

A point is ``inside`` the boundary, ``near`` it (outside by no more than its slack), or ``outside`` with its
distance to the boundary in metres. The slack is the point's own accuracy (metres, the 4th number of the ODK
geopoint) plus :attr:`EvidenceRules.margin_m` (5 m by default) for the error of the boundary itself.

Distances: the nearest point of the boundary is found in the UTM zone of the plot (47N west of 102° E, 48N
east of it for Thailand; a point and its plot are never far enough apart to leave the zone's accurate
band), then the distance between the two is measured geodesically on WGS84, so the UTM scale factor
(up to 0.1 % in Thailand) does not enter the number.

Source: DOMAIN.md (photos at fixed photo points; evidence of the monthly activity report, seed 002).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely import Point, Polygon
from shapely.ops import nearest_points

from khoknongna.spatial.geodesy import geodesic_distance_m, utm_epsg, utm_transformers
from khoknongna.spatial.odk_geo import OdkGeometry
from khoknongna.spatial.results import CheckResult, Finding
from khoknongna.spatial.rules import EvidenceRules
from khoknongna.spatial.units import format_m

RULE = "evidence_location"
RULE_VERSION = 1


@dataclass(frozen=True)
class EvidencePoint:
    """A geopoint of a submission: the question it answers (``name``), lon°, lat° and accuracy (metres)."""

    name: str
    lon: float
    lat: float
    accuracy_m: float = 0.0

    @classmethod
    def from_odk(cls, name: str, geometry: OdkGeometry) -> EvidencePoint:
        """From a parsed ODK geopoint. Raises ``ValueError`` for another geo type."""
        if geometry.geo_type != "geopoint":
            raise ValueError(f"{name} is a {geometry.geo_type}, not a geopoint")
        lon, lat, _, acc = geometry.vertices[0]
        return cls(name, lon, lat, acc)


@dataclass(frozen=True)
class PointPlacement:
    """Where one point lies: ``status`` inside / near / outside, ``distance_m`` outside the boundary (0 inside),
    ``slack_m`` allowed for it (metres)."""

    point: EvidencePoint
    status: str
    distance_m: float
    slack_m: float


def distance_outside_m(lon: float, lat: float, boundary: Polygon) -> float:
    """Distance in metres from (lon°, lat°) to the nearest point of ``boundary`` (lon/lat polygon); 0 inside
    or on it. Nearest point found in the plot's UTM zone, distance measured geodesically."""
    point = Point(lon, lat)
    plot = boundary if boundary.is_valid else shapely.make_valid(boundary)
    if plot.covers(point):
        return 0.0
    centre = plot.centroid if not plot.is_empty else point
    forward, inverse = utm_transformers(utm_epsg(centre.x, centre.y))
    plot_xy = shapely.transform(plot, forward.transform, interleaved=False)
    point_xy = shapely.transform(point, forward.transform, interleaved=False)
    _, nearest_xy = nearest_points(point_xy, plot_xy)
    near_lon, near_lat = inverse.transform(nearest_xy.x, nearest_xy.y)
    return geodesic_distance_m((lon, lat), (near_lon, near_lat))


def place_point(point: EvidencePoint, boundary: Polygon, rules: EvidenceRules | None = None) -> PointPlacement:
    """Where ``point`` lies relative to the plot ``boundary``: inside, near (within accuracy + margin) or outside."""
    rules = rules or EvidenceRules()
    distance = distance_outside_m(point.lon, point.lat, boundary)
    slack = point.accuracy_m + rules.margin_m
    status = "inside" if distance == 0 else "near" if distance <= slack else "outside"
    return PointPlacement(point, status, distance, slack)


def evidence_check(
    points: Sequence[EvidencePoint], boundary: Polygon, rules: EvidenceRules | None = None
) -> CheckResult:
    """Rule ``evidence_location`` v1: every geopoint of one submission against the boundary of its plot.

    Status: ``outside`` if any point is outside its slack, else ``near`` if any is near, else ``inside``;
    ``no_points`` without points. Numbers: ``points``, ``inside``, ``near``, ``outside``, ``max_distance_m``.
    One finding per point that is not inside (``point``, ``distance_m``, ``accuracy_m``, ``slack_m``).
    """
    rules = rules or EvidenceRules()
    placements = [place_point(p, boundary, rules) for p in points]
    counts = {s: sum(1 for p in placements if p.status == s) for s in ("inside", "near", "outside")}
    max_distance = max((p.distance_m for p in placements), default=0.0)
    numbers: dict[str, float | int | str | None] = {"points": len(placements), **counts}
    numbers["max_distance_m"] = round(max_distance, 1)
    if not placements:
        return CheckResult(
            RULE,
            RULE_VERSION,
            "no_points",
            numbers,
            "แบบรายงานนี้ไม่มีพิกัด จึงตรวจตำแหน่งหลักฐานไม่ได้",
            "This submission has no geopoint, so its location cannot be checked.",
        )
    findings = []
    for p in placements:
        if p.status == "inside":
            continue
        d, acc, slack = format_m(p.distance_m), format_m(p.point.accuracy_m), format_m(p.slack_m)
        if p.status == "near":
            th = f"{p.point.name} อยู่นอกแปลง {d} ม. แต่ยังอยู่ในระยะคลาดเคลื่อนที่ยอมรับ {slack} ม. (ความแม่นยำ {acc} ม.)"
            en = f"{p.point.name} is {d} m outside the plot, within the {slack} m allowed (accuracy {acc} m)."
            severity = "warning"
        else:
            th = f"{p.point.name} อยู่นอกแปลง {d} ม. เกินระยะที่ยอมรับ {slack} ม. (ความแม่นยำ {acc} ม.)"
            en = f"{p.point.name} is {d} m outside the plot, beyond the {slack} m allowed (accuracy {acc} m)."
            severity = "error"
        findings.append(
            Finding(
                p.status,
                {
                    "point": p.point.name,
                    "distance_m": round(p.distance_m, 1),
                    "accuracy_m": p.point.accuracy_m,
                    "slack_m": round(p.slack_m, 1),
                    "lon": p.point.lon,
                    "lat": p.point.lat,
                },
                th,
                en,
                severity,
            )
        )
    if counts["outside"]:
        status = "outside"
        th = (
            f"พิกัด {counts['outside']} จาก {len(placements)} จุดอยู่นอกแปลง ไกลสุด {format_m(max_distance)} ม.: "
            + "; ".join(f.message_th for f in findings if f.code == "outside")
        )
        en = (
            f"{counts['outside']} of {len(placements)} point(s) lie outside the plot, the farthest "
            f"{format_m(max_distance)} m away. " + " ".join(f.message_en for f in findings if f.code == "outside")
        )
    elif counts["near"]:
        status = "near"
        th = f"พิกัดทุกจุดอยู่ในแปลงหรือใกล้ขอบแปลงภายในระยะคลาดเคลื่อน ({counts['near']} จุดอยู่ริมนอกขอบ)"
        en = f"All points lie in the plot or within GPS error of its edge ({counts['near']} just outside)."
    else:
        status = "inside"
        th = f"พิกัดทั้ง {len(placements)} จุดอยู่ในแปลง"
        en = f"All {len(placements)} point(s) lie inside the plot."
    return CheckResult(RULE, RULE_VERSION, status, numbers, th, en, tuple(findings))
