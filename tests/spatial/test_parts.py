"""khoknongna.spatial.parts: ponds, paddy and khok against the New Theory split, and parts outside the plot."""

from __future__ import annotations

import pytest

from khoknongna.spatial.parts import Part, parts_check
from khoknongna.spatial.results import CheckResult, Finding
from khoknongna.spatial.rules import PartsRules
from tests.spatial.shapes import polygon, rect

PLOT = polygon(rect(0, 0, 40, 40))  # 1 rai
# Strips 40 m wide across the plot, south to north: pond 12 m (480 m², 30 %), paddy 12 m, khok 12 m, 4 m left.
POND = Part("pond", polygon(rect(0, 0, 40, 12)))
PADDY = Part("paddy", polygon(rect(0, 12, 40, 12)))
KHOK = Part("khok", polygon(rect(0, 24, 40, 12)))


def findings(result: CheckResult, code: str) -> list[Finding]:
    return [f for f in result.findings if f.code == code]


def test_parts_in_30_30_30_10_are_ok() -> None:
    result = parts_check(PLOT, [POND, PADDY, KHOK])
    assert result.status == "ok"
    assert result.numbers["water_share"] == pytest.approx(0.30, abs=0.001)
    assert result.numbers["housing_other_share"] == pytest.approx(0.10, abs=0.001)
    assert "30.0 : 30.0 : 30.0 : 10.0" in result.message_en


def test_pond_sticking_out_by_200_m2_is_reported_with_its_share() -> None:
    # A 20 m x 20 m pond whose eastern half lies beyond the plot's east side.
    pond = Part("pond", polygon(rect(30, 10, 20, 20)))
    (out,) = findings(parts_check(PLOT, [pond, PADDY, KHOK]), "part_outside")
    assert out.numbers["outside_m2"] == pytest.approx(200, rel=0.001)
    assert out.numbers["outside_share"] == pytest.approx(0.5, abs=0.001)
    assert out.numbers["part"] == 1


def test_only_the_part_inside_counts_towards_the_share() -> None:
    pond = Part("pond", polygon(rect(30, 10, 20, 20)))  # 200 m² inside of 1,600
    result = parts_check(PLOT, [pond])
    assert result.numbers["water_m2"] == pytest.approx(200, rel=0.001)
    assert result.numbers["water_share"] == pytest.approx(0.125, abs=0.001)


def test_plot_without_a_pond_is_below_the_water_share() -> None:
    result = parts_check(PLOT, [PADDY, KHOK])
    assert result.status == "deviates"
    (low,) = findings(result, "share_below")
    assert low.numbers["use"] == "water"
    assert "ต่ำกว่าช่วงที่ยอมรับ 20–40%" in low.message_th


def test_khok_drawn_with_the_house_is_at_the_edge_and_still_accepted() -> None:
    khok_and_house = Part("khok", polygon(rect(0, 24, 40, 16)))  # 40 %, leaving 0 % for housing
    assert parts_check(PLOT, [POND, PADDY, khok_and_house]).status == "ok"


def test_tolerance_comes_from_the_rules() -> None:
    pond = Part("pond", polygon(rect(0, 0, 40, 10)))  # 25 %
    strict = PartsRules(tolerance=0.02)
    result = parts_check(PLOT, [pond, PADDY, KHOK], strict)
    assert [f.numbers["use"] for f in findings(result, "share_below")] == ["water"]


def test_sliver_of_a_part_outside_the_boundary_is_ignored() -> None:
    pond = Part("pond", polygon(rect(0, -1, 40, 13)))  # 1 m south of the plot along 40 m: GPS, not a dig
    result = parts_check(PLOT, [pond, PADDY, KHOK])
    assert findings(result, "part_outside") == []


def test_overlapping_ponds_count_once() -> None:
    ponds = [Part("pond", polygon(rect(0, 0, 40, 12))), Part("pond", polygon(rect(0, 6, 40, 6)))]
    result = parts_check(PLOT, [*ponds, PADDY, KHOK])
    assert result.numbers["water_m2"] == pytest.approx(480, rel=0.001)


def test_plot_without_parts_cannot_be_checked() -> None:
    assert parts_check(PLOT, []).status == "no_parts"


def test_unknown_part_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown part type"):
        parts_check(PLOT, [Part("swale", polygon(rect(0, 0, 5, 5)))])
