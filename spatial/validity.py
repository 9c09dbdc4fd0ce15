"""Plot boundary validity: is the ring a usable outline of a plot? Report what is wrong, never repair silently.

Findings (``code``, severity):

* ``too_few_vertices`` (error): fewer than 3 distinct corners.
* ``self_intersection`` (error): the outline crosses itself (a bowtie); with the crossing's location and the
  edges that cross, as point numbers.
* ``spike`` (error): a corner sharper than ``ValidityRules.spike_angle_deg``, an out-and-back jump of the GPS;
  with the point number and the angle.
* ``zero_area`` (error): the outline encloses (nearly) nothing, e.g. all points on one line or at one spot.
* ``duplicate_vertices`` (warning): a point repeats the one before it (standing still while recording);
  harmless for the area, reported because it hides how many corners were really walked.
* ``accuracy_zero`` (warning): points with accuracy 0 m were placed by hand on the map or came from a
  mock-location app, not from a GPS fix (also the case when the client wrote no accuracy at all).

Status ``invalid`` with any error, ``warning`` with warnings only, ``ok`` otherwise. A boundary that repeats
its first point at the end (as ODK geoshapes do) and one that does not are both accepted. Point numbers are
1-based positions in the ODK geo string. :func:`repaired_for_display` makes a valid copy for maps only; it
must be stored apart from the captured boundary.

Source: OGC Simple Features validity (via GEOS ``is_valid_reason``); ODK Collect's geoshape widget (manual
placement records accuracy 0).
"""

from __future__ import annotations

import math
import re

import shapely
from shapely import Geometry, Polygon

from khoknongna.spatial.geodesy import Boundary, geodesic_area_m2, local_xy
from khoknongna.spatial.odk_geo import OdkGeometry
from khoknongna.spatial.results import CheckResult, Finding
from khoknongna.spatial.rules import ValidityRules
from khoknongna.spatial.units import format_m2

RULE = "plot_validity"
RULE_VERSION = 1

_LOCATION = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)\s*\]")


def _points_text(points: list[int]) -> str:
    shown = ", ".join(str(p) for p in points[:10])
    return shown + (f" … ({len(points)})" if len(points) > 10 else "")


def _points_warning(code: str, points: list[int], says_th: str, says_en: str) -> Finding:
    """A warning about the boundary points ``points`` (1-based numbers): "จุดที่ <points> <says_th>" and
    "Point(s) <points> <says_en>", with the numbers ``points`` and ``count``."""
    listed = _points_text(points)
    return Finding(
        code,
        {"points": points, "count": len(points)},
        f"จุดที่ {listed} {says_th}",
        f"Point(s) {listed} {says_en}",
        severity="warning",
    )


def _distinct_ring(b: Boundary, rules: ValidityRules) -> tuple[list[int], list[int]]:
    """(indexes kept, 1-based point numbers that repeat the point before them), the wrap-around included."""
    xy = local_xy(b.coords)
    kept: list[int] = []
    duplicates: list[int] = []
    for i, (x, y) in enumerate(xy):
        if kept:
            px, py = xy[kept[-1]]
            if math.hypot(x - px, y - py) < rules.duplicate_distance_m:
                duplicates.append(i + 1)
                continue
        kept.append(i)
    while len(kept) > 1:
        (x0, y0), (xn, yn) = xy[kept[0]], xy[kept[-1]]
        if math.hypot(x0 - xn, y0 - yn) >= rules.duplicate_distance_m:
            break
        duplicates.append(kept.pop() + 1)
    return kept, sorted(duplicates)


XY = tuple[float, float]


def _orientation(a: XY, b: XY, c: XY) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _segments_cross(p1: XY, p2: XY, q1: XY, q2: XY) -> bool:
    d1, d2 = _orientation(q1, q2, p1), _orientation(q1, q2, p2)
    d3, d4 = _orientation(p1, p2, q1), _orientation(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True

    def on_segment(a: XY, b: XY, c: XY) -> bool:  # c lies on segment ab (the collinear case)
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    return (
        (d1 == 0 and on_segment(q1, q2, p1))
        or (d2 == 0 and on_segment(q1, q2, p2))
        or (d3 == 0 and on_segment(p1, p2, q1))
        or (d4 == 0 and on_segment(p1, p2, q2))
    )


def _crossing_edges(xy: list[XY], numbers: list[int]) -> list[tuple[int, int, int, int]]:
    """Pairs of non-adjacent edges that touch or cross, as (from, to, from, to) point numbers."""
    n = len(xy)
    found = []
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            if _segments_cross(xy[i], xy[(i + 1) % n], xy[j], xy[(j + 1) % n]):
                found.append((numbers[i], numbers[(i + 1) % n], numbers[j], numbers[(j + 1) % n]))
    return found


def _spikes(xy: list[XY], numbers: list[int], threshold_deg: float) -> list[tuple[int, float]]:
    """(point number, inner angle in degrees) of the corners sharper than ``threshold_deg``."""
    n = len(xy)
    found = []
    for i in range(n):
        (px, py), (x, y), (nx, ny) = xy[i - 1], xy[i], xy[(i + 1) % n]
        ax, ay, bx, by = px - x, py - y, nx - x, ny - y
        la, lb = math.hypot(ax, ay), math.hypot(bx, by)
        if la == 0 or lb == 0:
            continue
        cos = max(-1.0, min(1.0, (ax * bx + ay * by) / (la * lb)))
        angle = math.degrees(math.acos(cos))
        if angle < threshold_deg:
            found.append((numbers[i], angle))
    return found


def validity_check(boundary: Boundary | OdkGeometry, rules: ValidityRules | None = None) -> CheckResult:
    """Rule ``plot_validity`` v1: the findings listed in the module doc for one boundary ring.

    ``boundary`` is a :class:`Boundary` or a parsed ODK geoshape. Numbers: ``vertices`` (without the closing
    repeat), ``distinct_vertices``, ``closed_in_input`` (bool), ``area_m2`` (geodesic area of the valid
    repair, m²), ``errors`` and ``warnings`` (counts). Never raises on a bad shape.
    """
    rules = rules or ValidityRules()
    b = Boundary.from_odk(boundary) if isinstance(boundary, OdkGeometry) else boundary
    findings: list[Finding] = []
    kept, duplicates = _distinct_ring(b, rules)
    if duplicates:
        findings.append(
            _points_warning(
                "duplicate_vertices",
                duplicates,
                "ซ้ำกับจุดก่อนหน้า (ยืนอยู่ที่เดิมขณะเก็บจุด)",
                "repeat the point before them (recorded while standing still).",
            )
        )
    zero_acc = [i + 1 for i, a in enumerate(b.accuracies) if a == 0]
    if zero_acc:
        findings.append(
            _points_warning(
                "accuracy_zero",
                zero_acc,
                "มีค่าความแม่นยำ 0 ม. คือจิ้มบนแผนที่ด้วยมือหรือมาจากแอปจำลองตำแหน่ง ไม่ได้วัดด้วย GPS",
                "have accuracy 0 m: placed by hand on the map or from a mock-location app, not measured by GPS.",
            )
        )
    area = 0.0
    distinct = len({b.coords[i] for i in kept})
    if distinct < 3:
        findings.append(
            Finding(
                "too_few_vertices",
                {"distinct_vertices": distinct, "required": 3},
                f"ขอบเขตแปลงมีจุดที่ต่างกันเพียง {distinct} จุด ต้องมีอย่างน้อย 3 จุด",
                f"The boundary has only {distinct} distinct point(s); a plot needs at least 3.",
            )
        )
    else:
        ring = [b.coords[i] for i in kept]
        numbers = [i + 1 for i in kept]
        xy = local_xy(ring)
        polygon = Polygon(ring)
        area = geodesic_area_m2(shapely.make_valid(polygon))
        if area < rules.min_area_m2:
            findings.append(
                Finding(
                    "zero_area",
                    {"area_m2": round(area, 2), "min_area_m2": rules.min_area_m2},
                    f"ขอบเขตแปลงแทบไม่มีพื้นที่ ({format_m2(area)} ตร.ม. น้อยกว่า {format_m2(rules.min_area_m2)} ตร.ม.)",
                    f"The boundary encloses almost nothing ({area:.1f} m², less than {rules.min_area_m2:g} m²).",
                )
            )
        elif not polygon.is_valid:
            reason = shapely.is_valid_reason(polygon)
            match = _LOCATION.search(reason)
            lon, lat = (float(match[1]), float(match[2])) if match else (None, None)
            crossings = _crossing_edges(xy, numbers)
            edges_en = "; ".join(f"{a}–{b_} with {c}–{d}" for a, b_, c, d in crossings[:5])
            edges_th = "; ".join(f"{a}–{b_} กับ {c}–{d}" for a, b_, c, d in crossings[:5])
            where_th = f" ที่ละติจูด {lat:.6f} ลองจิจูด {lon:.6f}" if lat is not None else ""
            where_en = f" at latitude {lat:.6f}, longitude {lon:.6f}" if lat is not None else ""
            findings.append(
                Finding(
                    "self_intersection",
                    {
                        "lon": lon,
                        "lat": lat,
                        "reason": reason,
                        "crossing_edges": [p for c in crossings for p in c],
                    },
                    f"เส้นขอบแปลงตัดกันเอง (เช่น รูปโบว์){where_th}" + (f" เส้นจุดที่ {edges_th}" if crossings else ""),
                    f"The boundary crosses itself (a bowtie){where_en}"
                    + (f": edges between points {edges_en}" if crossings else "")
                    + ".",
                )
            )
        for point, angle in _spikes(xy, numbers, rules.spike_angle_deg):
            findings.append(
                Finding(
                    "spike",
                    {"point": point, "angle_deg": round(angle, 2), "max_angle_deg": rules.spike_angle_deg},
                    f"จุดที่ {point} เป็นหนามแหลม (มุม {angle:.1f}° น้อยกว่า {rules.spike_angle_deg:g}°) มักเกิดจาก GPS กระโดด",
                    f"Point {point} is a spike (an angle of {angle:.1f}°, under {rules.spike_angle_deg:g}°), "
                    "usually a GPS jump.",
                )
            )
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    numbers_out: dict[str, float | int | str | None] = {
        "vertices": len(b.coords),
        "distinct_vertices": distinct,
        "closed_in_input": b.closed_in_input,
        "area_m2": round(area, 1),
        "errors": len(errors),
        "warnings": len(warnings),
    }
    if errors:
        status = "invalid"
        th = "รูปขอบเขตแปลงใช้ไม่ได้: " + "; ".join(f.message_th for f in errors)
        en = "The boundary is not a usable plot outline: " + " ".join(f.message_en for f in errors)
    elif warnings:
        status = "warning"
        th = "รูปขอบเขตแปลงใช้ได้ แต่" + "; ".join(f.message_th for f in warnings)
        en = "The boundary is usable, but: " + " ".join(f.message_en for f in warnings)
    else:
        status = "ok"
        th = f"รูปขอบเขตแปลงถูกต้อง ({len(b.coords)} จุด)"
        en = f"The boundary is a valid outline ({len(b.coords)} points)."
    return CheckResult(RULE, RULE_VERSION, status, numbers_out, th, en, tuple(findings))


def repaired_for_display(boundary: Boundary | OdkGeometry) -> Geometry:
    """A valid copy of the boundary for drawing on a map (shapely ``make_valid`` of the ring; a bowtie becomes
    two triangles), in lon/lat. Empty with fewer than 3 vertices. Keep it apart from the captured boundary:
    the checks always run on what was captured."""
    b = Boundary.from_odk(boundary) if isinstance(boundary, OdkGeometry) else boundary
    return shapely.make_valid(b.polygon())
