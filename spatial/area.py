"""Plot area: the geodesic area of the boundary against the declared size class, honest about GPS accuracy.

The measured area comes with an error band from the vertices' accuracies (the 4th number of each point of
the ODK geo string, metres). The band is at least ``perimeter × mean accuracy``:

* moving every vertex of a polygon outward (or inward) by δ metres changes its area by about ``P × δ``;
  for a convex polygon the exact figure is Steiner's ``P × δ + π × δ²`` (the area of the polygon grown by a
  disc of radius δ). We add the ``π × δ²`` term with δ = the mean accuracy.
* with unequal accuracies the edge-weighted sum ``Σ edge length × mean accuracy of its two ends`` can be
  larger than ``P × mean accuracy`` (a long edge measured badly); the band takes the larger of the two.

So ``band = max(P × ā, Σ Lᵢ × (aᵢ + aᵢ₊₁) / 2) + π × ā²`` in m². This is a deliberately pessimistic bound: the
errors of points walked within minutes of each other are largely the same bias (same satellites, same
multipath), which moves the shape rather than shrinking or growing it; but a bias along the walking
direction does grow or shrink it, and Android's accuracy is only a 68 % radius. A check that says
``uncertain`` costs a re-measure; one that wrongly says ``undersized`` costs a household its standing.

Classification against the declared size (1, 3 or 15 rai, or "other" with its stated size), with the
tolerances of :class:`~khoknongna.spatial.rules.AreaRules`: ``ok`` when the whole band
``[area − band, area + band]`` lies within ``[declared × (1 − below), declared × (1 + above)]``;
``undersized`` when the whole band lies below; ``oversized`` when it lies above; ``uncertain`` when it
straddles an edge; ``not_measured`` when the ring has fewer than 3 distinct corners or crosses itself
(its area means nothing; the validity check says why).

Source: DOMAIN.md (HLM 1 or 3 rai, CLM 15 rai; the report form's size classes ๑ ไร่ / ๓ ไร่ / ๑๕ ไร่ / อื่นๆ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from khoknongna.spatial.geodesy import GEOD, Boundary
from khoknongna.spatial.odk_geo import OdkGeometry
from khoknongna.spatial.results import CheckResult
from khoknongna.spatial.rules import AreaRules
from khoknongna.spatial.units import RaiNganWa, format_m, format_m2, format_rnw, m2_to_rai, rai_to_m2

RULE = "plot_area"
RULE_VERSION = 1

SIZE_CLASSES = ("1", "3", "15", "other")


@dataclass(frozen=True)
class AreaMeasure:
    """A boundary measured on WGS84: area (m²), perimeter (m), the GPS error band (± m²) and its inputs."""

    area_m2: float
    perimeter_m: float
    band_m2: float
    mean_accuracy_m: float
    vertices: int

    @property
    def low_m2(self) -> float:
        """Smallest area the accuracies allow (m², ≥ 0)."""
        return max(0.0, self.area_m2 - self.band_m2)

    @property
    def high_m2(self) -> float:
        """Largest area the accuracies allow (m²)."""
        return self.area_m2 + self.band_m2


def measure(boundary: Boundary | OdkGeometry) -> AreaMeasure:
    """Geodesic area (m²) and perimeter (m) of a boundary ring and its error band (± m², see the module doc).

    ``boundary`` is a :class:`Boundary` or a parsed ODK geoshape (closed or not). For a ring that crosses itself
    the area is the signed sum pyproj returns (meaningless; check validity first). Fewer than 3 vertices
    measure 0.
    """
    if isinstance(boundary, OdkGeometry):
        boundary = Boundary.from_odk(boundary)
    n = len(boundary.coords)
    mean_acc = boundary.mean_accuracy_m
    if n < 3:
        return AreaMeasure(0.0, 0.0, 0.0, mean_acc, n)
    lons = [c[0] for c in boundary.coords]
    lats = [c[1] for c in boundary.coords]
    area, perimeter = GEOD.polygon_area_perimeter(lons, lats)
    nxt_lons, nxt_lats = lons[1:] + lons[:1], lats[1:] + lats[:1]
    _, _, edges = GEOD.inv(lons, lats, nxt_lons, nxt_lats)
    accs = boundary.accuracies
    weighted = sum(length * (accs[i] + accs[(i + 1) % n]) / 2.0 for i, length in enumerate(edges))
    band = max(perimeter * mean_acc, weighted) + math.pi * mean_acc**2
    return AreaMeasure(abs(float(area)), float(perimeter), float(band), mean_acc, n)


def declared_m2(size_class: str, other: RaiNganWa | float | None = None) -> float:
    """The declared area in m² of a size class: ``"1"``, ``"3"``, ``"15"`` (rai) or ``"other"`` with ``other``
    given as :class:`RaiNganWa` or rai (float). Raises ``ValueError`` for an unknown class or a missing or
    non-positive "other" size."""
    size_class = str(size_class).strip()
    if size_class in ("1", "3", "15"):
        return rai_to_m2(int(size_class))
    if size_class != "other":
        raise ValueError(f"unknown size class {size_class!r}; expected one of {', '.join(SIZE_CLASSES)}")
    if other is None:
        raise ValueError("size class 'other' needs its stated size")
    m2 = other.m2 if isinstance(other, RaiNganWa) else rai_to_m2(float(other))
    if not m2 > 0:
        raise ValueError(f"the stated size must be positive, not {other}")
    return m2


def _class_label(size_class: str, target_m2: float) -> tuple[str, str]:
    if size_class == "other":
        return f"ขนาดที่แจ้ง {format_rnw(target_m2)} ไร่", f"the stated size of {format_rnw(target_m2)} rai"
    return f"แปลง {size_class} ไร่", f"the {size_class}-rai class"


def area_check(
    boundary: Boundary | OdkGeometry,
    size_class: str,
    other: RaiNganWa | float | None = None,
    rules: AreaRules | None = None,
) -> CheckResult:
    """Rule ``plot_area`` v1: the boundary's geodesic area against its declared size class, aware of GPS accuracy.

    ``size_class`` is ``"1"``, ``"3"``, ``"15"`` or ``"other"`` (then ``other`` is the stated size as
    :class:`RaiNganWa` or rai). Status ``ok``, ``undersized``, ``oversized``, ``uncertain`` or ``not_measured``
    (see the module doc). Numbers: ``area_m2``, ``area_rai``, ``area_rnw`` (text), ``perimeter_m``,
    ``mean_accuracy_m``, ``band_m2``, ``low_m2``, ``high_m2``, ``declared_class``, ``declared_m2``, ``min_m2``,
    ``max_m2``, ``vertices``. Raises ``ValueError`` for an unknown size class (see :func:`declared_m2`).
    """
    rules = rules or AreaRules()
    if isinstance(boundary, OdkGeometry):
        boundary = Boundary.from_odk(boundary)
    size_class = str(size_class).strip()
    target = declared_m2(size_class, other)
    below, above = rules.tolerance[size_class]
    lo, hi = target * (1 - below), target * (1 + above)
    m = measure(boundary)
    numbers: dict[str, float | int | str | None] = {
        "area_m2": round(m.area_m2, 1),
        "area_rai": round(m2_to_rai(m.area_m2), 4),
        "area_rnw": format_rnw(m.area_m2),
        "perimeter_m": round(m.perimeter_m, 1),
        "mean_accuracy_m": round(m.mean_accuracy_m, 2),
        "band_m2": round(m.band_m2, 1),
        "low_m2": round(m.low_m2, 1),
        "high_m2": round(m.high_m2, 1),
        "declared_class": size_class,
        "declared_m2": round(target, 1),
        "min_m2": round(lo, 1),
        "max_m2": round(hi, 1),
        "vertices": m.vertices,
    }
    label_th, label_en = _class_label(size_class, target)
    distinct = len(set(boundary.coords))
    if distinct < 3 or not boundary.polygon().is_valid:
        return CheckResult(
            RULE,
            RULE_VERSION,
            "not_measured",
            numbers,
            "วัดพื้นที่แปลงไม่ได้ เพราะขอบเขตแปลงมีจุดไม่ถึง 3 จุดหรือเส้นขอบตัดกันเอง ดูผลตรวจรูปแปลง",
            "The plot area cannot be measured: the boundary has fewer than 3 distinct points or crosses itself "
            "(see the validity check).",
        )
    area, band = format_m2(m.area_m2), format_m2(m.band_m2)
    rnw = format_rnw(m.area_m2)
    limits = f"{format_m2(lo)}–{format_m2(hi)}"
    acc = format_m(m.mean_accuracy_m)
    if lo <= m.low_m2 and m.high_m2 <= hi:
        status = "ok"
        th = f"พื้นที่แปลง {area} ตร.ม. ({rnw} ไร่) อยู่ในเกณฑ์{label_th} ({limits} ตร.ม.) แม้คิดความคลาดเคลื่อน GPS ±{band} ตร.ม."
        en = (
            f"The plot measures {area} m² ({rnw} rai), within {label_en} ({limits} m²) "
            f"even with the GPS error of ±{band} m²."
        )
    elif m.high_m2 < lo:
        status = "undersized"
        th = (
            f"พื้นที่แปลง {area} ตร.ม. ({rnw} ไร่) เล็กกว่าเกณฑ์{label_th} (อย่างน้อย {format_m2(lo)} ตร.ม.) "
            f"แม้คิดความคลาดเคลื่อน GPS ±{band} ตร.ม."
        )
        en = (
            f"The plot measures {area} m² ({rnw} rai), smaller than {label_en} (at least {format_m2(lo)} m²) "
            f"even with the GPS error of ±{band} m²."
        )
    elif m.low_m2 > hi:
        status = "oversized"
        th = (
            f"พื้นที่แปลง {area} ตร.ม. ({rnw} ไร่) ใหญ่กว่าเกณฑ์{label_th} (ไม่เกิน {format_m2(hi)} ตร.ม.) "
            f"แม้คิดความคลาดเคลื่อน GPS ±{band} ตร.ม."
        )
        en = (
            f"The plot measures {area} m² ({rnw} rai), larger than {label_en} (at most {format_m2(hi)} m²) "
            f"even with the GPS error of ±{band} m²."
        )
    else:
        status = "uncertain"
        th = (
            f"พื้นที่แปลง {area} ±{band} ตร.ม. ({rnw} ไร่) คร่อมเกณฑ์{label_th} ({limits} ตร.ม.) "
            f"เพราะความคลาดเคลื่อน GPS เฉลี่ย {acc} ม. จึงยังสรุปไม่ได้ ควรวัดขอบเขตซ้ำให้แม่นยำขึ้น"
        )
        en = (
            f"The plot measures {area} ± {band} m² ({rnw} rai); with a mean GPS accuracy of {acc} m that range "
            f"straddles the limits of {label_en} ({limits} m²), so it cannot be decided. Re-measure more accurately."
        )
    return CheckResult(RULE, RULE_VERSION, status, numbers, th, en)
