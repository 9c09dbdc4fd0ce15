"""GPS that cannot be trusted: positions placed by hand, copied between plots, or typed in.

* **accuracy 0**: Collect writes the fix's accuracy (metres) as the 4th number of a geopoint; 0 means the
  position did not come from a GPS fix (a point placed on the map by hand, or a mock-location app).
* **same coordinates, other plot**: two GPS fixes at different places never agree to the last digit; the exact
  same latitude and longitude in a submission about another plot is a copied position.
* **uniform geoshape**: every corner of a walked boundary with the same accuracy and the same altitude
  (:class:`GpsTrustRules`).

Source: the issue "audit signals"; Collect's geopoint format (``lat lon altitude accuracy``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from khoknongna.spatial.odk_geo import Vertex
from khoknongna.spatial.results import CheckResult, Finding
from khoknongna.spatial.rules import GpsTrustRules

RULE = "gps_untrusted"
RULE_VERSION = 1


@dataclass(frozen=True)
class GeoAnswer:
    """A geo answer of the submission: its question (``name``, with repeat positions), ODK type and vertices."""

    name: str
    geo_type: str
    vertices: tuple[Vertex, ...]


@dataclass(frozen=True)
class SameSpot:
    """A geopoint of this submission at exactly the coordinates of a geopoint in a submission about another plot."""

    name: str
    lon: float
    lat: float
    other_submission_id: int
    other_instance_id: str
    other_plot: str | None


def _distinct_corners(vertices: Sequence[Vertex]) -> list[Vertex]:
    ring = list(vertices[:-1]) if len(vertices) > 1 and vertices[0][:2] == vertices[-1][:2] else list(vertices)
    seen, out = set(), []
    for v in ring:
        if v[:2] not in seen:
            seen.add(v[:2])
            out.append(v)
    return out


def gps_trust_check(
    answers: Sequence[GeoAnswer], same_spots: Sequence[SameSpot], rules: GpsTrustRules | None = None
) -> CheckResult:
    """``gps_untrusted`` v1 over a submission's geo ``answers`` and the ``same_spots`` the database found.
    Status ``raised`` with one finding per untrusted answer, else ``ok``."""
    rules = rules or GpsTrustRules()
    findings: list[Finding] = []
    for answer in answers:
        zero = sum(1 for v in answer.vertices if v[3] == 0)
        if zero:
            findings.append(
                Finding(
                    "zero_accuracy",
                    {"field": answer.name, "points": len(answer.vertices), "zero_accuracy_points": zero},
                    f"{answer.name}: {zero} จุดมีความแม่นยำ 0 ม. (วางตำแหน่งเอง ไม่ได้มาจาก GPS)",
                    f"{answer.name}: {zero} point(s) have accuracy 0 m (placed by hand, not a GPS fix).",
                )
            )
            continue
        corners = _distinct_corners(answer.vertices)
        if answer.geo_type == "geoshape" and len(corners) >= rules.uniform_min_vertices:
            accuracies = {v[3] for v in corners}
            altitudes = {v[2] for v in corners}
            if len(accuracies) == 1 and len(altitudes) == 1:
                acc, alt = next(iter(accuracies)), next(iter(altitudes))
                findings.append(
                    Finding(
                        "uniform_shape",
                        {"field": answer.name, "corners": len(corners), "accuracy_m": acc, "altitude_m": alt},
                        f"{answer.name}: ทุกมุม ({len(corners)} มุม) มีความแม่นยำ {acc:g} ม. และความสูง {alt:g} ม. เท่ากัน",
                        f"{answer.name}: all {len(corners)} corners have the same accuracy ({acc:g} m) and altitude "
                        f"({alt:g} m), unlike a boundary walked with a GPS.",
                    )
                )
    for spot in same_spots:
        findings.append(
            Finding(
                "same_coordinates_other_plot",
                {
                    "field": spot.name,
                    "lon": spot.lon,
                    "lat": spot.lat,
                    "other_submission_id": spot.other_submission_id,
                    "other_instance_id": spot.other_instance_id,
                    "other_plot": spot.other_plot,
                },
                f"{spot.name}: พิกัดตรงกันทุกตำแหน่งกับรายงาน {spot.other_instance_id} ของแปลงอื่น",
                f"{spot.name}: exactly the same coordinates as submission {spot.other_instance_id}, about another "
                "plot.",
            )
        )
    numbers = {
        "geo_answers": len(answers),
        "zero_accuracy": sum(f.code == "zero_accuracy" for f in findings),
        "uniform_shapes": sum(f.code == "uniform_shape" for f in findings),
        "same_coordinates": len(same_spots),
    }
    if not findings:
        return CheckResult.passed(
            RULE,
            RULE_VERSION,
            numbers,
            f"ตำแหน่ง {len(answers)} รายการมาจาก GPS ตามปกติ",
            f"The {len(answers)} position(s) look like ordinary GPS fixes.",
        )
    return CheckResult(
        RULE,
        RULE_VERSION,
        "raised",
        numbers,
        f"ตำแหน่งที่เชื่อถือไม่ได้ {len(findings)} รายการ (วางเอง คัดลอกจากแปลงอื่น หรือพิมพ์ค่าเดียวกันทุกมุม)",
        f"{len(findings)} position(s) cannot be trusted (placed by hand, copied from another plot, or typed in).",
        tuple(findings),
    )
