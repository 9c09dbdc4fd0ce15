"""Running the spatial rules on the plot register: what each check reads, and storing what it found.

* a **plot** (entity of the list ``plots``): area against its declared size class, boundary validity,
  overlaps with the other plots of the project, and its parts against 30:30:30:10. When a plot changes, the
  plots it overlapped before and after are checked again, so both sides of an overlap stay true.
* a **follow-up** (a submission naming its plot in a top-level ``plot`` field): every geopoint against the
  plot's boundary (evidence location).
* **coverage** of a month and an area, from the plots and the follow-ups received.

The rules themselves are pure functions in ``spatial/``; their thresholds come from :class:`Settings`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from khoknongna.periods import month_text
from khoknongna.settings import Settings
from khoknongna.spatial.area import area_check
from khoknongna.spatial.coverage import CoverageReport, FollowUp, RegisteredPlot, month_coverage
from khoknongna.spatial.evidence import EvidencePoint, evidence_check
from khoknongna.spatial.geodesy import Boundary
from khoknongna.spatial.odk_geo import parse_odk_geo
from khoknongna.spatial.overlaps import RULE as OVERLAPS_RULE
from khoknongna.spatial.overlaps import overlaps_check, overlaps_for_plot
from khoknongna.spatial.parts import USE_OF_PART, Part, parts_check
from khoknongna.spatial.results import CheckResult
from khoknongna.spatial.rules import (
    AreaRules,
    CoverageRules,
    EvidenceRules,
    OverlapRules,
    PartsRules,
    ValidityRules,
)
from khoknongna.spatial.units import RaiNganWa
from khoknongna.spatial.validity import validity_check
from khoknongna.storage import checks as queries
from khoknongna.storage import submissions as submission_queries

logger = logging.getLogger(__name__)

#: Follow-up forms of the form pack, by formID, and the kind of visit each one is.
FOLLOW_UP_FORMS = {"activity_report": "activity_report", "socio_change": "socio_geo", "daily_log": "daily_log"}


@dataclass(frozen=True)
class CheckRules:
    """The thresholds of every rule, as configured."""

    area: AreaRules
    validity: ValidityRules
    overlaps: OverlapRules
    parts: PartsRules
    evidence: EvidenceRules
    coverage: CoverageRules

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckRules:
        return cls(
            area=AreaRules(tolerance=dict(settings.area_tolerance)),
            validity=ValidityRules(spike_angle_deg=settings.spike_angle_deg),
            overlaps=OverlapRules(
                min_area_m2=settings.overlap_min_area_m2,
                min_share=settings.overlap_min_share,
                min_width_m=settings.overlap_min_width_m,
            ),
            parts=PartsRules(tolerance=settings.parts_tolerance),
            evidence=EvidenceRules(margin_m=settings.evidence_margin_m),
            coverage=CoverageRules(deadline_day=settings.report_deadline_day),
        )


def plot_boundary(properties: dict[str, Any], data: dict[str, Any] | None) -> Boundary | None:
    """A plot's boundary from its entity ``properties`` (``geometry``) or its survey's answers (``boundary``)."""
    text = properties.get("geometry") or (data or {}).get("boundary") or ""
    parsed = parse_odk_geo("geoshape", text) if isinstance(text, str) and text.strip() else None
    return Boundary.from_odk(parsed.geometry) if parsed is not None and parsed.geometry is not None else None


def _other_size(data: dict[str, Any]) -> RaiNganWa | None:
    try:
        return RaiNganWa(
            int(data.get("other_rai") or 0), int(data.get("other_ngan") or 0), float(data.get("other_wa") or 0)
        )
    except (TypeError, ValueError):
        return None


def _parts(data: dict[str, Any]) -> list[Part]:
    parts = []
    for number, answer in enumerate(data.get("parts") or [], start=1):
        if not isinstance(answer, dict) or answer.get("part_type") not in USE_OF_PART:
            continue
        parsed = parse_odk_geo("geoshape", answer.get("part_shape") or "")
        if parsed.geometry is not None:
            polygon = Boundary.from_odk(parsed.geometry).polygon()
            parts.append(Part(answer["part_type"], polygon, number))
    return parts


def _no_boundary() -> CheckResult:
    return CheckResult(
        "plot_boundary",
        1,
        "missing",
        {},
        "แปลงนี้ไม่มีขอบเขตแปลงที่อ่านได้ จึงตรวจขนาด การทับซ้อน และองค์ประกอบไม่ได้",
        "This plot has no readable boundary, so its size, overlaps and parts cannot be checked.",
    )


def check_plot(conn: Connection, entity_id: int, rules: CheckRules) -> list[CheckResult]:
    """Run the plot rules on one plot and store the results; ``[]`` when it is not a live plot."""
    plot = queries.plot_for_check(conn, entity_id)
    if plot is None:
        return []
    data = plot.data or {}
    boundary = plot_boundary(plot.properties, data)
    if boundary is None:
        results = [_no_boundary()]
    else:
        results = [
            validity_check(boundary, rules.validity),
            overlaps_check(entity_id, overlaps_for_plot(conn, entity_id, rules.overlaps)),
            parts_check(boundary.polygon(), _parts(data), rules.parts),
        ]
        size_class = str(plot.properties.get("size_class") or data.get("size_class") or "")
        if size_class in rules.area.tolerance:
            other = _other_size(data) if size_class == "other" else None
            results.insert(0, area_check(boundary, size_class, other, rules.area))
    queries.save_results(conn, results, entity_id=entity_id, checked_version=plot.version)
    return results


#: A plot overlapping more plots than this is itself the finding (many plots drawn on one spot); its
#: neighbours are not re-checked one by one, which would make one submission cost the square of that number.
MAX_NEIGHBOUR_RECHECKS = 50


def check_plot_and_neighbours(conn: Connection, entity_id: int, rules: CheckRules) -> list[CheckResult]:
    """:func:`check_plot`, then the same for every plot it overlapped before or overlaps now (at most
    :data:`MAX_NEIGHBOUR_RECHECKS`, and none when it overlaps more plots than its result lists;
    ``khoknongna check plots`` re-checks them all)."""
    before = set(queries.overlapping_plot_ids(conn, entity_id))
    results = check_plot(conn, entity_id, rules)
    overlaps = [r for r in results if r.rule == OVERLAPS_RULE]  # what check_plot just stored: not read back
    now = {f.numbers.get("other_plot") for r in overlaps for f in r.findings} - {None}
    neighbours = sorted(before | {int(o) for o in now})
    crowded = any(r.numbers.get("more") for r in overlaps)
    if crowded or len(neighbours) > MAX_NEIGHBOUR_RECHECKS:
        logger.warning(
            "plot %d overlaps %s%d plots; their own overlap results are not refreshed",
            entity_id,
            "more than " if crowded else "",
            len(neighbours),
        )
        return results
    for neighbour in neighbours:
        check_plot(conn, neighbour, rules)
    return results


def check_follow_up(conn: Connection, submission_id: int, rules: CheckRules) -> CheckResult | None:
    """Check where a follow-up's geopoints lie against its plot, store and return the result; ``None`` when the
    submission names no plot."""
    follow_up = queries.follow_up_for_check(conn, submission_id)
    if follow_up is None:
        return None
    plot = queries.plot_for_check(conn, follow_up.plot_entity_id) if follow_up.plot_entity_id else None
    boundary = plot_boundary(plot.properties, plot.data) if plot is not None else None
    if boundary is None:
        result = CheckResult(
            "evidence_location",
            1,
            "no_plot",
            {"plot": follow_up.plot_uuid},
            "ไม่พบแปลงที่แบบรายงานนี้อ้างถึง หรือแปลงไม่มีขอบเขต จึงตรวจตำแหน่งหลักฐานไม่ได้",
            "The plot this submission names is not registered or has no boundary; its location cannot be checked.",
        )
    else:
        points = [
            EvidencePoint.from_odk(row.name, parse_odk_geo("geopoint", row.raw_value).geometry)
            for row in submission_queries.geo_answers(conn, follow_up.submission_version_id, "geopoint")
        ]
        result = evidence_check(points, boundary.polygon(), rules.evidence)
    queries.save_results(conn, [result], entity_id=follow_up.plot_entity_id, submission_id=submission_id)
    return result


def coverage(
    conn: Connection, project_id: int, year: int, month: int, area_code: str | None, rules: CheckRules
) -> CoverageReport:
    """Which plots of the area had an activity report (on time by the deadline, or late), a socio-geographic
    survey and daily logs in the month (Asia/Bangkok). A follow-up counts for the month its ``report_month``
    names, else its ``today``/``start``, else the month it was received (:mod:`khoknongna.periods`): a November
    report sent on 2 December is a late November one."""
    plots, visits = queries.month_visits(conn, project_id, month_text((year, month)), FOLLOW_UP_FORMS, area_code)
    return month_coverage(
        year,
        month,
        [RegisteredPlot(p.entity_id, p.area_code or "") for p in plots],
        [
            FollowUp(v.entity_id, FOLLOW_UP_FORMS[v.xml_form_id], v.received_at, (year, month))
            for v in visits  # every visit belongs to the month (storage/periods.py)
        ],
        area_code,
        rules.coverage,
    )
