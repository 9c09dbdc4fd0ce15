"""khoknongna.spatial.validity: what is wrong with a boundary ring, reported and never silently repaired."""

from __future__ import annotations

import pytest

from khoknongna.spatial.geodesy import Boundary, geodesic_area_m2
from khoknongna.spatial.odk_geo import parse_odk_geo
from khoknongna.spatial.results import CheckResult, Finding
from khoknongna.spatial.validity import repaired_for_display, validity_check
from tests.spatial.shapes import geoshape, rect, ring

SQUARE = rect(0, 0, 40, 40)
# A bowtie: the walker crossed the plot diagonally between the second and third corner.
BOWTIE = ring([(0, 0), (40, 40), (40, 0), (0, 40)])


def finding(result: CheckResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, [f.code for f in result.findings]
    return found[0]


def codes(result: CheckResult) -> set[str]:
    return {f.code for f in result.findings}


def test_square_walked_with_gps_is_ok() -> None:
    result = validity_check(geoshape(SQUARE, accuracy=3.5))
    assert result.status == "ok"
    assert result.findings == ()


def test_bowtie_is_a_self_intersection_between_its_crossing_edges() -> None:
    result = validity_check(geoshape(BOWTIE))
    assert result.status == "invalid"
    crossing = finding(result, "self_intersection")
    assert crossing.numbers["crossing_edges"] == [1, 2, 3, 4]


def test_bowtie_crossing_is_located_where_the_edges_cross() -> None:
    crossing = finding(validity_check(geoshape(BOWTIE)), "self_intersection")
    centre = ring([(20, 20)])[0]
    assert abs(crossing.numbers["lon"] - centre[0]) < 1e-6
    assert abs(crossing.numbers["lat"] - centre[1]) < 1e-6


def test_spike_is_reported_at_its_point() -> None:
    # Point 5 jumps 100 m north of the north side and comes back 1.5 m further west.
    spiky = ring([(0, 0), (40, 0), (40, 40), (20, 40), (21, 140), (19.5, 40), (0, 40)])
    result = validity_check(geoshape(spiky))
    assert result.status == "invalid"
    spike = finding(result, "spike")
    assert spike.numbers["point"] == 5
    assert spike.numbers["angle_deg"] < 5


def test_sharp_but_real_corner_is_not_a_spike() -> None:
    # A long thin wedge of 10 degrees at point 2.
    wedge = ring([(0, 0), (100, 0), (0, 17.6)])
    assert "spike" not in codes(validity_check(geoshape(wedge)))


def test_duplicate_consecutive_points_are_a_warning_at_the_repeated_point() -> None:
    coords = [SQUARE[0], SQUARE[1], SQUARE[1], SQUARE[2], SQUARE[3]]
    result = validity_check(Boundary.from_coords(coords, [3.0] * 5))
    assert result.status == "warning"
    assert finding(result, "duplicate_vertices").numbers["points"] == [3]


def test_two_distinct_points_are_too_few() -> None:
    text = "16.4419 102.836 162 3.0;16.4423 102.836 162 3.0;16.4423 102.836 162 3.0;16.4419 102.836 162 3.0"
    geometry = parse_odk_geo("geoshape", text).geometry
    assert geometry is not None
    result = validity_check(geometry)
    assert result.status == "invalid"
    assert finding(result, "too_few_vertices").numbers["distinct_vertices"] == 2


def test_points_on_one_line_have_zero_area() -> None:
    line = ring([(0, 0), (20, 0), (40, 0)])
    result = validity_check(geoshape(line))
    assert result.status == "invalid"
    assert finding(result, "zero_area").numbers["area_m2"] < 1


def test_tiny_triangle_has_zero_area() -> None:
    tiny = ring([(0, 0), (3, 0), (0, 3)])  # 4.5 m², tapped at one spot
    assert "zero_area" in codes(validity_check(geoshape(tiny)))


def test_points_with_accuracy_zero_are_flagged() -> None:
    result = validity_check(geoshape(SQUARE, accuracy=[3.0, 0.0, 4.0, 0.0]))
    assert result.status == "warning"
    assert finding(result, "accuracy_zero").numbers["points"] == [2, 4]


def test_open_and_closed_rings_give_the_same_findings() -> None:
    spiky = ring([(0, 0), (40, 0), (40, 40), (20, 40), (21, 140), (19.5, 40), (0, 40)])
    closed = validity_check(Boundary.from_coords([*spiky, spiky[0]], [3.0] * 8))
    opened = validity_check(Boundary.from_coords(spiky, [3.0] * 7))
    assert closed.findings == opened.findings
    assert closed.numbers["closed_in_input"] is True and opened.numbers["closed_in_input"] is False


def test_repaired_copy_of_a_bowtie_is_valid_and_leaves_the_boundary_as_captured() -> None:
    bowtie = geoshape(BOWTIE)
    repaired = repaired_for_display(bowtie)
    assert repaired.is_valid
    assert geodesic_area_m2(repaired) == pytest.approx(800, rel=0.01)
    assert validity_check(bowtie).status == "invalid"


def test_findings_have_thai_and_english_sentences_with_the_point_numbers() -> None:
    result = validity_check(geoshape(SQUARE, accuracy=[3.0, 0.0, 4.0, 3.0]))
    f = finding(result, "accuracy_zero")
    assert "จุดที่ 2" in f.message_th
    assert "Point(s) 2" in f.message_en
