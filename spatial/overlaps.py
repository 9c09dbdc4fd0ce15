"""Overlaps between registered plots: how much two plots share, in m² and as a share of each, and which to report.

The pure part (:func:`overlap_between`, :func:`judge_overlap`, :func:`overlaps_check`) works on shapely
polygons; the queries beside it (:func:`overlaps_for_plot`, :func:`overlap_scan`) find candidate pairs in
PostGIS with the GiST index on ``plots.boundary`` (``&&`` through ``ST_Intersects``) and measure them with
``ST_Area(...::geography)`` on the WGS84 spheroid, then apply the same rule in Python.

An overlap is ignored (:class:`~khoknongna.spatial.rules.OverlapRules`) when it is smaller than 10 m², less than
1 % of the smaller plot, or thinner than 2 m on average (2 × area / perimeter): two neighbours walking the
same bund with phone GPS disagree by a few metres, which makes a thin sliver, not an encroachment. Touching
plots share a line, whose area is 0.

Only plots of the same project are compared. Invalid boundaries (a bowtie) are made valid for the overlay
only (``ST_MakeValid``), so one bad plot cannot stop the scan; the validity check reports them.

Table expected (created by the plot register's migration, with more columns)::

    plots(entity_id bigint primary key, project_id int, boundary geometry(Polygon, 4326)) + GiST on boundary
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely import Polygon
from sqlalchemy import Connection, text

from khoknongna.spatial.geodesy import geodesic_area_m2, geodesic_perimeter_m
from khoknongna.spatial.results import CheckResult, Finding
from khoknongna.spatial.rules import OverlapRules
from khoknongna.spatial.units import format_m, format_m2, format_pct

RULE = "plot_overlaps"
RULE_VERSION = 1

#: Overlaps listed in one plot's result. More than this on one spot (a plot drawn again and again where others
#: lie) is reported as "more than" this number; listing them all would make each check cost as much as the
#: plots already there.
MAX_OVERLAPS_LISTED = 50


@dataclass(frozen=True)
class Overlap:
    """The overlap of plots ``plot_a`` and ``plot_b``: area (m²), their areas (m²), mean width (m) and whether the
    rules ignore it (``ignored_because`` names the first criterion that applied: ``area``, ``share``, ``width``)."""

    plot_a: int | None
    plot_b: int | None
    overlap_m2: float
    plot_a_m2: float
    plot_b_m2: float
    width_m: float
    ignored_because: str | None = None

    @property
    def share_a(self) -> float:
        """Overlap as a share (0–1) of plot a."""
        return self.overlap_m2 / self.plot_a_m2 if self.plot_a_m2 > 0 else 0.0

    @property
    def share_b(self) -> float:
        """Overlap as a share (0–1) of plot b."""
        return self.overlap_m2 / self.plot_b_m2 if self.plot_b_m2 > 0 else 0.0

    @property
    def ignored(self) -> bool:
        """True when the rules ignore this overlap."""
        return self.ignored_because is not None


def judge_overlap(
    overlap_m2: float,
    plot_a_m2: float,
    plot_b_m2: float,
    perimeter_m: float,
    rules: OverlapRules | None = None,
    plot_a: int | None = None,
    plot_b: int | None = None,
) -> Overlap:
    """An :class:`Overlap` from measured numbers (m², m², m², overlap perimeter in m), judged by ``rules``."""
    rules = rules or OverlapRules()
    width = 2.0 * overlap_m2 / perimeter_m if perimeter_m > 0 else 0.0
    smaller = min(plot_a_m2, plot_b_m2)
    share = overlap_m2 / smaller if smaller > 0 else 0.0
    because = None
    if overlap_m2 < rules.min_area_m2:
        because = "area"
    elif share < rules.min_share:
        because = "share"
    elif width < rules.min_width_m:
        because = "width"
    return Overlap(plot_a, plot_b, overlap_m2, plot_a_m2, plot_b_m2, width, because)


def overlap_between(
    a: Polygon, b: Polygon, rules: OverlapRules | None = None, plot_a: int | None = None, plot_b: int | None = None
) -> Overlap:
    """Overlap of two plot boundaries (shapely polygons in lon/lat): geodesic area of ``a ∩ b`` (m²), the plots'
    areas (m²), the overlap's mean width (m), judged by ``rules``. Invalid inputs are made valid first."""
    a = a if a.is_valid else shapely.make_valid(a)
    b = b if b.is_valid else shapely.make_valid(b)
    inter = a.intersection(b)
    return judge_overlap(
        geodesic_area_m2(inter),
        geodesic_area_m2(a),
        geodesic_area_m2(b),
        geodesic_perimeter_m(inter),
        rules,
        plot_a,
        plot_b,
    )


def overlaps_check(plot_id: int, overlaps: list[Overlap]) -> CheckResult:
    """Rule ``plot_overlaps`` v1 for one plot, from its overlaps (any order of a/b; ignored ones are skipped).

    Status ``ok`` (no reportable overlap) or ``overlaps``. Numbers: ``count``, ``total_overlap_m2``,
    ``largest_share`` (0–1, of this plot), and ``more: true`` when more than :data:`MAX_OVERLAPS_LISTED` overlaps
    are reportable: the first that many are listed and counted (a plot on a spot drawn over and over). One finding
    per listed overlap, with the other plot's id.
    """
    reportable = [o for o in overlaps if not o.ignored]
    findings = []
    total = 0.0
    largest = 0.0
    for o in reportable[:MAX_OVERLAPS_LISTED]:
        mine_first = o.plot_a == plot_id
        other = o.plot_b if mine_first else o.plot_a
        mine, theirs = (o.share_a, o.share_b) if mine_first else (o.share_b, o.share_a)
        total += o.overlap_m2
        largest = max(largest, mine)
        findings.append(
            Finding(
                "overlap",
                {
                    "other_plot": other,
                    "overlap_m2": round(o.overlap_m2, 1),
                    "share_this": round(mine, 4),
                    "share_other": round(theirs, 4),
                    "width_m": round(o.width_m, 1),
                },
                f"ทับแปลง {other} {format_m2(o.overlap_m2)} ตร.ม. ({format_pct(mine)}% ของแปลงนี้, "
                f"{format_pct(theirs)}% ของแปลง {other})",
                f"Overlaps plot {other} by {format_m2(o.overlap_m2)} m² ({format_pct(mine)}% of this plot, "
                f"{format_pct(theirs)}% of plot {other}; {format_m(o.width_m)} m wide on average).",
            )
        )
    numbers: dict[str, float | int | str | None] = {
        "count": len(findings),
        "total_overlap_m2": round(total, 1),
        "largest_share": round(largest, 4),
    }
    more = len(reportable) > MAX_OVERLAPS_LISTED
    if more:
        numbers["more"] = True
    if not findings:
        return CheckResult.passed(
            RULE,
            RULE_VERSION,
            numbers,
            "แปลงนี้ไม่ทับกับแปลงอื่นที่ลงทะเบียนไว้",
            "This plot does not overlap any other registered plot.",
        )
    n = len(findings)
    how_many_th, how_many_en = (
        (f"มากกว่า {n} แปลง (แสดง {n} แปลงแรก)", f"more than {n} other plots (the first {n} listed)")
        if more
        else (f" {n} แปลง", f"{n} other plot(s)")
    )
    return CheckResult(
        RULE,
        RULE_VERSION,
        "overlaps",
        numbers,
        f"แปลงนี้ทับกับแปลงอื่น{how_many_th} รวม {format_m2(total)} ตร.ม.: " + "; ".join(f.message_th for f in findings),
        f"This plot overlaps {how_many_en}, {format_m2(total)} m² in all. " + " ".join(f.message_en for f in findings),
        tuple(findings),
    )


# --- PostGIS -----------------------------------------------------------------------------------------------------


#: The pairs of plots whose boundaries intersect, measured on the spheroid. ``pairs`` is MATERIALIZED so that
#: the join is driven by the GiST index on plots.boundary alone: with ``a.entity_id < b.entity_id`` in the join,
#: PostgreSQL ANDs a primary-key range scan into every probe, which makes the scan quadratic (30 s for 50,000
#: plots instead of about 2). Each pair is therefore found from both sides and kept once. Invalid boundaries are
#: made valid for the overlay and their area only.
_OVERLAPS_SQL = """
WITH pairs AS MATERIALIZED (
    SELECT a.entity_id AS plot_a, b.entity_id AS plot_b, a.boundary AS boundary_a, b.boundary AS boundary_b
      FROM plots a
      JOIN plots b ON ST_Intersects(a.boundary, b.boundary)
     WHERE b.project_id = a.project_id AND b.entity_id <> a.entity_id
       AND {which_plots}
     {pairs_order}
), valid AS (
    SELECT plot_a, plot_b,
           CASE WHEN ST_IsValid(boundary_a) THEN boundary_a ELSE ST_MakeValid(boundary_a) END AS boundary_a,
           CASE WHEN ST_IsValid(boundary_b) THEN boundary_b ELSE ST_MakeValid(boundary_b) END AS boundary_b
      FROM pairs
     WHERE {which_pairs}
), measured AS (
    SELECT plot_a, plot_b, boundary_a, boundary_b, overlap, ST_Area(overlap::geography) AS overlap_m2
      FROM (SELECT *, ST_Intersection(boundary_a, boundary_b) AS overlap FROM valid) v
)
SELECT plot_a, plot_b, overlap_m2,
       ST_Area(boundary_a::geography) AS plot_a_m2,
       ST_Area(boundary_b::geography) AS plot_b_m2,
       ST_Perimeter(overlap::geography) AS perimeter_m
  FROM measured
 WHERE overlap_m2 >= :min_area_m2
 {finally_}
"""
#: One plot against the others: the first ``:limit`` overlaps, earliest registered plots first. ``pairs`` is
#: sorted before anything is measured, and the scan of it stops at the limit, so a plot drawn where hundreds of
#: others lie measures ``:limit`` of them, not all (an ORDER BY here would measure every pair before sorting).
OVERLAPS_FOR_PLOT_SQL = text(
    _OVERLAPS_SQL.format(
        which_plots="a.entity_id = :entity_id",
        pairs_order="ORDER BY plot_b",
        which_pairs="TRUE",
        finally_="LIMIT :limit",
    )
)
#: Every pair once, of one project or of all.
OVERLAP_SCAN_SQL = text(
    _OVERLAPS_SQL.format(
        which_plots="(CAST(:project_id AS integer) IS NULL OR a.project_id = :project_id)",
        pairs_order="",
        which_pairs="plot_a < plot_b",
        finally_="ORDER BY plot_a, plot_b",
    )
)


def _judge_rows(rows: list, rules: OverlapRules, include_ignored: bool) -> list[Overlap]:
    found = []
    for r in rows:
        o = judge_overlap(
            float(r.overlap_m2),
            float(r.plot_a_m2),
            float(r.plot_b_m2),
            float(r.perimeter_m),
            rules,
            int(r.plot_a),
            int(r.plot_b),
        )
        if include_ignored or not o.ignored:
            found.append(o)
    return found


def overlaps_for_plot(
    conn: Connection, entity_id: int, rules: OverlapRules | None = None, include_ignored: bool = False
) -> list[Overlap]:
    """Overlaps of plot ``entity_id`` with the other plots of its project, from the ``plots`` table, ordered by the
    other plot's id.

    Each :class:`Overlap` has ``plot_a = entity_id``. Overlaps below ``rules.min_area_m2`` are dropped in SQL;
    the share and width criteria are applied here, and those overlaps are returned only with
    ``include_ignored``. At most ``MAX_OVERLAPS_LISTED + 1`` overlaps are measured (those with the earliest
    registered plots), so the cost of one plot's check does not grow with the plots drawn at its spot; one more
    than :func:`overlaps_check` lists tells it that there are more. Uses the GiST index on ``plots.boundary``. An
    unknown plot gives ``[]``.
    """
    rules = rules or OverlapRules()
    parameters = {"entity_id": entity_id, "min_area_m2": rules.min_area_m2, "limit": MAX_OVERLAPS_LISTED + 1}
    rows = sorted(conn.execute(OVERLAPS_FOR_PLOT_SQL, parameters).all(), key=lambda r: r.plot_b)
    return _judge_rows(rows, rules, include_ignored)


def overlap_scan(
    conn: Connection,
    rules: OverlapRules | None = None,
    project_id: int | None = None,
    include_ignored: bool = False,
) -> list[Overlap]:
    """Every overlapping pair of plots (once, ``plot_a < plot_b``), optionally of one project, as
    :class:`Overlap` judged like :func:`overlaps_for_plot`. One self-join driven by the GiST index."""
    rules = rules or OverlapRules()
    rows = conn.execute(OVERLAP_SCAN_SQL, {"project_id": project_id, "min_area_m2": rules.min_area_m2}).all()
    return _judge_rows(rows, rules, include_ignored)
