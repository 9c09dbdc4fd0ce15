"""Plot parts: ponds, paddy and khok inside the boundary, against the New Theory split 30 : 30 : 30 : 10.

Mapping of the parts drawn on the plot survey to the New Theory's four uses (DOMAIN.md "The programme"):

=============== ========================== ======================================================
use             parts                      why
=============== ========================== ======================================================
water           ``pond`` (หนอง)             ponds store the rain: the "nong"
rice            ``paddy`` (นา)              the "na"
forest_crops    ``khok`` (โคก)               the raised mound carries the three forests and crops
housing_other   the plot minus all parts   the house, paths, swales and bunds are not drawn as parts
=============== ========================== ======================================================

If a field developer draws the khok including the house, khok comes out near 40 % and the rest near 0 %;
both are then at the edge of the default ±10 points, which is why the tolerance is not tighter.

Shares are geodesic areas of the parts *inside* the boundary divided by the plot's area; parts of one use
are unioned first so overlapping ponds count once. A part that sticks out of the boundary is reported with
its area outside (m²) and that as a share of the part, unless the piece outside is a crumb (< 10 m²) or a
sliver thinner than 2 m on average (GPS disagreement along the edge); see
:class:`~khoknongna.spatial.rules.PartsRules`.

Statuses: ``ok``; ``deviates`` (a use outside its tolerance or a part sticking out: the findings say
which); ``no_parts`` (nothing drawn).

Source: the King's New Theory (ทฤษฎีใหม่) 30 : 30 : 30 : 10; DOMAIN.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely import Geometry, Polygon

from khoknongna.spatial.geodesy import geodesic_area_m2, mean_width_m, polygons_of
from khoknongna.spatial.results import CheckResult, Finding
from khoknongna.spatial.rules import PartsRules
from khoknongna.spatial.units import format_m2, format_pct

RULE = "plot_parts"
RULE_VERSION = 1

#: Part type (as on the plot survey) → New Theory use.
USE_OF_PART = {"pond": "water", "paddy": "rice", "khok": "forest_crops"}
USES = ("water", "rice", "forest_crops", "housing_other")
_USE_TH = {"water": "น้ำ (หนอง)", "rice": "นา", "forest_crops": "ป่าและพืช (โคก)", "housing_other": "ที่อยู่และอื่นๆ"}
_USE_EN = {
    "water": "water (ponds)",
    "rice": "rice (paddy)",
    "forest_crops": "forest and crops (khok)",
    "housing_other": "housing and the rest",
}
_PART_TH = {"pond": "หนอง", "paddy": "นา", "khok": "โคก"}


@dataclass(frozen=True)
class Part:
    """A drawn part of a plot: its type (``"pond"``, ``"paddy"`` or ``"khok"``) and its outline (lon/lat).
    ``number`` is its position among the plot's parts (1-based), used in messages."""

    kind: str
    polygon: Polygon
    number: int = 0


def _valid(g: Geometry) -> Geometry:
    return g if g.is_valid else shapely.make_valid(g)


def parts_check(boundary: Polygon, parts: Sequence[Part], rules: PartsRules | None = None) -> CheckResult:
    """Rule ``plot_parts`` v1: each use's share of the plot against the New Theory split, and parts outside.

    ``boundary`` is the plot's outline (lon/lat polygon, made valid if needed). Numbers: ``plot_m2``,
    ``<use>_m2`` and ``<use>_share`` (0–1) for water, rice, forest_crops, housing_other, ``parts``, and
    ``outside_m2`` (total reported area of parts outside, m²). Findings: ``share_below`` / ``share_above``
    per use, ``part_outside`` per part (``outside_m2``, ``outside_share`` of the part).
    Raises ``ValueError`` for an unknown part type.
    """
    rules = rules or PartsRules()
    plot = _valid(boundary)
    plot_m2 = geodesic_area_m2(plot)
    for p in parts:
        if p.kind not in USE_OF_PART:
            raise ValueError(f"unknown part type {p.kind!r}; expected one of {', '.join(USE_OF_PART)}")
    numbers: dict[str, float | int | str | None] = {"plot_m2": round(plot_m2, 1), "parts": len(parts)}
    if not parts:
        for use in USES:
            numbers[f"{use}_m2"] = None
            numbers[f"{use}_share"] = None
        numbers["outside_m2"] = 0.0
        return CheckResult(
            RULE,
            RULE_VERSION,
            "no_parts",
            numbers,
            "ยังไม่ได้วาดหนอง นา หรือโคกในแปลงนี้ จึงเทียบสัดส่วน 30:30:30:10 ไม่ได้",
            "No pond, paddy or khok is drawn on this plot, so the 30:30:30:10 split cannot be checked.",
        )
    findings: list[Finding] = []
    inside_by_use: dict[str, Geometry] = {}
    for use in USES[:3]:
        shapes = [_valid(p.polygon) for p in parts if USE_OF_PART[p.kind] == use]
        union = shapely.union_all(shapes) if shapes else Polygon()
        inside_by_use[use] = union.intersection(plot)
    all_parts = shapely.union_all(list(inside_by_use.values()))
    areas = {use: geodesic_area_m2(g) for use, g in inside_by_use.items()}
    areas["housing_other"] = max(0.0, plot_m2 - geodesic_area_m2(all_parts))
    for use in USES:
        share = areas[use] / plot_m2 if plot_m2 > 0 else 0.0
        numbers[f"{use}_m2"] = round(areas[use], 1)
        numbers[f"{use}_share"] = round(share, 4)
        target = rules.targets[use]
        if abs(share - target) <= rules.tolerance + 1e-9:
            continue
        code = "share_below" if share < target else "share_above"
        word_th = "ต่ำกว่า" if share < target else "สูงกว่า"
        accepted = f"{max(0.0, target - rules.tolerance):.0%}–{min(1.0, target + rules.tolerance):.0%}".replace("%", "")
        word_en = "below" if share < target else "above"
        findings.append(
            Finding(
                code,
                {
                    "use": use,
                    "area_m2": round(areas[use], 1),
                    "share": round(share, 4),
                    "target": target,
                    "tolerance": rules.tolerance,
                },
                f"{_USE_TH[use]} {format_pct(share)}% ของแปลง {word_th}ช่วงที่ยอมรับ {accepted}% (เป้า {target:.0%})",
                f"{_USE_EN[use].capitalize()} is {format_pct(share)}% of the plot, {word_en} the accepted "
                f"{accepted}% (target {target:.0%}).",
            )
        )
    outside_total = 0.0
    for i, p in enumerate(parts, start=1):
        number = p.number or i
        shape = _valid(p.polygon)
        part_m2 = geodesic_area_m2(shape)
        pieces = [
            q
            for q in polygons_of(shape.difference(plot))
            if geodesic_area_m2(q) >= rules.outside_min_area_m2 and mean_width_m(q) >= rules.outside_min_width_m
        ]
        if not pieces:
            continue
        out_m2 = sum(geodesic_area_m2(q) for q in pieces)
        out_share = out_m2 / part_m2 if part_m2 > 0 else 0.0
        outside_total += out_m2
        findings.append(
            Finding(
                "part_outside",
                {
                    "part": number,
                    "kind": p.kind,
                    "part_m2": round(part_m2, 1),
                    "outside_m2": round(out_m2, 1),
                    "outside_share": round(out_share, 4),
                },
                f"{_PART_TH[p.kind]} (ส่วนที่ {number}) ยื่นออกนอกขอบเขตแปลง {format_m2(out_m2)} ตร.ม. "
                f"({format_pct(out_share)}% ของ{_PART_TH[p.kind]})",
                f"The {p.kind} (part {number}) sticks out of the plot boundary by {format_m2(out_m2)} m² "
                f"({format_pct(out_share)}% of the {p.kind}).",
            )
        )
    numbers["outside_m2"] = round(outside_total, 1)
    split = " : ".join(format_pct(areas[u] / plot_m2 if plot_m2 else 0.0) for u in USES)
    if not findings:
        return CheckResult.passed(
            RULE,
            RULE_VERSION,
            numbers,
            f"สัดส่วนน้ำ : นา : ป่าและพืช : ที่อยู่ = {split} ใกล้เคียง 30:30:30:10 และทุกส่วนอยู่ในขอบเขตแปลง",
            f"Water : rice : forest and crops : housing = {split}, close to 30:30:30:10, and every part lies "
            "inside the boundary.",
        )
    return CheckResult(
        RULE,
        RULE_VERSION,
        "deviates",
        numbers,
        f"สัดส่วนน้ำ : นา : ป่าและพืช : ที่อยู่ = {split}; " + "; ".join(f.message_th for f in findings),
        f"Water : rice : forest and crops : housing = {split}. " + " ".join(f.message_en for f in findings),
        tuple(findings),
    )
