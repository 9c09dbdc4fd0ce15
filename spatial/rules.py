"""Thresholds of the spatial checks, with their defaults in one place. docs/spatial.md gives the reasons at length.

Every rule takes its dataclass as an argument with these defaults; a deployment may pass other values
(e.g. read from settings). Changing a default changes the rule: raise its ``*_VERSION`` in the rule's module.

======================== ============================== ============================================================
rules                    default                         why
======================== ============================== ============================================================
AreaRules.tolerance      1 rai ±15 %, 3 rai ±10 %,       a boundary walked on a bund 1 m wide moves each side by ~1 m:
                         15 rai ±5 %, other ±10 %        4 × side × 1 m is 10 % of a 40 m square, 5.8 % at 69 m
                                                         (3 rai), 2.6 % at 155 m (15 rai); plus owners who round
                                                         1.2 rai down to the 1-rai class. Bands never reach the
                                                         middle between classes (2 rai, 9 rai).
ValidityRules            spike < 5°, zero area < 10 m²   a corner sharper than 5° is an out-and-back GPS jump, not a
                                                         bund; no plot is smaller than 1 rai, so < 10 m² is a shape
                                                         tapped at one spot or on one line.
OverlapRules             ignore < 10 m², < 1 % of the    two neighbours walking the same bund disagree by their GPS
                         smaller plot, or thinner than   error: a sliver narrower than 2 m cannot be told from that
                         2 m on average                  disagreement; 10 m² and 1 % drop crumbs.
PartsRules               30:30:30:10 ± 10 points;        the New Theory split is a guide adapted to the land
                         outside ignored < 10 m² or      (ภูมิสังคม); ±10 percentage points flags a missing pond
                         thinner than 2 m                or a paddy-only plot, not an adapted design.
EvidenceRules            slack = point accuracy + 5 m    the boundary itself is only known to its walkers' accuracy;
                                                         5 m is Collect's default geopoint accuracy threshold.
CoverageRules            deadline the 20th, Asia/Bangkok seed 002 item 3: "รายงาน...ให้จังหวัดทราบทุกวันที่ ๒๐
                                                         ของเดือน"; seed 000 item 6 and seed 001 item 8 agree.
======================== ============================== ============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AreaRules:
    """Allowed relative deviation of the measured area from the declared size class.

    ``tolerance`` maps a size class (``"1"``, ``"3"``, ``"15"`` rai, ``"other"``) to a pair ``(below, above)``
    as fractions of the declared area: ``(0.15, 0.15)`` accepts 1,360–1,840 m² for 1 rai.
    """

    tolerance: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "1": (0.15, 0.15),
            "3": (0.10, 0.10),
            "15": (0.05, 0.05),
            "other": (0.10, 0.10),
        }
    )


@dataclass(frozen=True)
class ValidityRules:
    """When a boundary ring is not a usable plot outline.

    ``spike_angle_deg``: a vertex whose inner angle between its neighbours is below this (degrees) is a spike.
    ``min_area_m2``: a ring enclosing less than this (m², geodesic) has zero area for our purpose.
    ``duplicate_distance_m``: consecutive vertices closer than this (metres) are the same point.
    """

    spike_angle_deg: float = 5.0
    min_area_m2: float = 10.0
    duplicate_distance_m: float = 0.01


@dataclass(frozen=True)
class OverlapRules:
    """Which overlaps between two plots are reported. An overlap is ignored when ANY of these holds:
    area < ``min_area_m2`` (m²); share of the smaller plot < ``min_share`` (0–1);
    mean width (2 × area / perimeter, metres) < ``min_width_m`` — a sliver along a shared bund.
    """

    min_area_m2: float = 10.0
    min_share: float = 0.01
    min_width_m: float = 2.0


@dataclass(frozen=True)
class PartsRules:
    """The New Theory split and how far a plot may be from it.

    ``targets`` are shares of the plot (0–1) for water (ponds), rice (paddy), forest and crops (khok), and
    housing and the rest (the plot minus all parts); ``tolerance`` is the allowed deviation in share (0.10 is
    ten percentage points). A piece of a part outside the boundary is ignored when its area is below
    ``outside_min_area_m2`` (m²) or its mean width below ``outside_min_width_m`` (metres).
    """

    targets: dict[str, float] = field(
        default_factory=lambda: {"water": 0.30, "rice": 0.30, "forest_crops": 0.30, "housing_other": 0.10}
    )
    tolerance: float = 0.10
    outside_min_area_m2: float = 10.0
    outside_min_width_m: float = 2.0


@dataclass(frozen=True)
class EvidenceRules:
    """A point is ``near`` its plot when its distance outside the boundary is at most its own accuracy (metres)
    plus ``margin_m`` (metres), the error of the boundary itself."""

    margin_m: float = 5.0


@dataclass(frozen=True)
class CoverageRules:
    """The monthly activity report is on time when submitted on or before ``deadline_day`` of the month,
    in ``timezone``. Source: seed 002 item 3 (and seed 000 item 6, seed 001 item 8): by the 20th."""

    deadline_day: int = 20
    timezone: str = "Asia/Bangkok"


@dataclass(frozen=True)
class GpsTrustRules:
    """When a geoshape's vertices look typed rather than walked: at least ``uniform_min_vertices`` distinct
    corners that all share one accuracy (> 0) and one altitude. A phone walking a boundary reports accuracies and
    altitudes that change from fix to fix; identical values on every corner come from a tool, not a walk."""

    uniform_min_vertices: int = 4


@dataclass(frozen=True)
class TravelRules:
    """Consecutive submissions of one collector imply a speed: distance between their first geopoints over the
    time between the end of one and the start of the next. Faster than ``max_speed_kmh`` is impossible between
    rural plots (pickup trucks on district roads: 60–90 km/h). Jumps shorter than ``min_distance_m`` are never
    reported (GPS noise between two forms filled at the same spot)."""

    max_speed_kmh: float = 120.0
    min_distance_m: float = 1000.0
