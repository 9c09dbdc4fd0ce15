"""Impossible travel: one collector's consecutive submissions too far apart for the time between them.

A *visit* is a submission with the collector's times (the form's ``start`` and ``end`` metadata) and position
(its first geopoint). Between a visit and the collector's previous and next visits by start time, the speed is the
geodesic distance over the time from the end of the earlier to the start of the later (at least one minute, so a
form opened before the last one was closed is not a division by zero). Source: the issue "audit signals".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from khoknongna.spatial.geodesy import geodesic_distance_m
from khoknongna.spatial.results import CheckResult, Finding
from khoknongna.spatial.rules import TravelRules

RULE = "impossible_travel"
RULE_VERSION = 1
MIN_GAP_S = 60.0


@dataclass(frozen=True)
class Visit:
    """A submission as a stop of its collector: times (aware) and position (lon°, lat°)."""

    submission_id: int
    instance_id: str
    started_at: datetime
    ended_at: datetime
    lon: float
    lat: float


def leg_speed_kmh(earlier: Visit, later: Visit) -> tuple[float, float, float]:
    """``(distance_m, hours, speed_kmh)`` from the end of ``earlier`` to the start of ``later``."""
    distance = geodesic_distance_m((earlier.lon, earlier.lat), (later.lon, later.lat))
    seconds = max((later.started_at - earlier.ended_at).total_seconds(), MIN_GAP_S)
    hours = seconds / 3600
    return distance, hours, distance / 1000 / hours


def travel_check(
    visit: Visit, previous: Visit | None, following: Visit | None, rules: TravelRules | None = None
) -> CheckResult:
    """``impossible_travel`` v1: ``raised`` when the leg from ``previous`` or to ``following`` is longer than
    ``rules.min_distance_m`` and faster than ``rules.max_speed_kmh``; one finding per such leg."""
    rules = rules or TravelRules()
    findings = []
    fastest = 0.0
    for earlier, later, other in ((previous, visit, previous), (visit, following, following)):
        if earlier is None or later is None or other is None:
            continue
        distance, hours, speed = leg_speed_kmh(earlier, later)
        fastest = max(fastest, speed) if distance >= rules.min_distance_m else fastest
        if distance < rules.min_distance_m or speed <= rules.max_speed_kmh:
            continue
        minutes = round(hours * 60)
        km = distance / 1000
        findings.append(
            Finding(
                "too_fast",
                {
                    "other_submission_id": other.submission_id,
                    "other_instance_id": other.instance_id,
                    "distance_m": round(distance),
                    "minutes": minutes,
                    "speed_kmh": round(speed),
                },
                f"ห่างจากรายงาน {other.instance_id} {km:,.0f} กม. ในเวลา {minutes} นาที ({speed:,.0f} กม./ชม.)",
                f"{km:,.0f} km from submission {other.instance_id} in {minutes} min ({speed:,.0f} km/h).",
            )
        )
    numbers = {
        "max_speed_kmh": rules.max_speed_kmh,
        "fastest_kmh": round(fastest) if fastest else None,
        "neighbours": sum(v is not None for v in (previous, following)),
    }
    if not findings:
        return CheckResult.passed(
            RULE,
            RULE_VERSION,
            numbers,
            "ระยะทางและเวลาระหว่างรายงานก่อนและหลังของผู้เก็บข้อมูลคนเดียวกันเป็นไปได้",
            "The distance and time to the same collector's previous and next submissions are plausible.",
        )
    top = max(f.numbers["speed_kmh"] for f in findings)  # type: ignore[type-var]
    return CheckResult(
        RULE,
        RULE_VERSION,
        "raised",
        numbers,
        f"ผู้เก็บข้อมูลต้องเดินทางเร็วถึง {top:,} กม./ชม. ระหว่างรายงานนี้กับรายงานก่อนหรือหลัง (เกิน {rules.max_speed_kmh:g} กม./ชม.)",
        f"The collector would have travelled at {top:,} km/h between this and the previous or next submission "
        f"(more than {rules.max_speed_kmh:g} km/h).",
        tuple(findings),
    )
