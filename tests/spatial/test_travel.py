"""Impossible travel (``spatial/travel.py``) and untrusted GPS (``spatial/gps_trust.py``), as pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta

from khoknongna.spatial.gps_trust import GeoAnswer, gps_trust_check
from khoknongna.spatial.travel import Visit, travel_check

T0 = datetime.fromisoformat("2026-11-21T09:00:00+07:00")


def visit(n: int, minutes: float, lat: float) -> Visit:
    start = T0 + timedelta(minutes=minutes)
    return Visit(n, f"uuid:{n}", start, start + timedelta(minutes=5), 102.8, lat)


def test_300_km_in_ten_minutes_is_impossible() -> None:
    result = travel_check(visit(2, 15, 16.4 + 2.71), visit(1, 0, 16.4), None)
    assert result.status == "raised"
    assert result.findings[0].numbers["speed_kmh"] > 1000


def test_a_few_km_in_an_hour_is_plausible() -> None:
    assert travel_check(visit(2, 65, 16.45), visit(1, 0, 16.4), None).status == "ok"


def test_accuracy_zero_is_untrusted_and_a_walked_shape_is_not() -> None:
    placed = GeoAnswer("where", "geopoint", ((102.8, 16.4, 0.0, 0.0),))
    walked = GeoAnswer(
        "boundary",
        "geoshape",
        ((0, 0, 160, 3.0), (1, 0, 161, 4.0), (1, 1, 159, 3.5), (0, 1, 160, 2.9), (0, 0, 160, 3.0)),
    )
    assert [f.code for f in gps_trust_check([placed, walked], []).findings] == ["zero_accuracy"]
