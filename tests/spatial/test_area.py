"""khoknongna.spatial.area: geodesic plot area against the declared size class, with the GPS error band."""

from __future__ import annotations

import json
import math

import pytest

from khoknongna.spatial.area import area_check, declared_m2, measure
from khoknongna.spatial.geodesy import Boundary
from khoknongna.spatial.odk_geo import OdkGeometry, parse_odk_geo
from khoknongna.spatial.rules import AreaRules
from khoknongna.spatial.units import RaiNganWa
from tests.spatial.shapes import geoshape, rect, ring

# Geoshapes as ODK Collect writes them ("lat lon altitude accuracy;..."), walked near Khon Kaen.
# 15 rai (154.9 m square, 24,000 m²) walked with a dual-frequency phone, accuracies 1.2-1.8 m.
FIFTEEN_RAI = (
    "16.4419000 102.8360000 161.2 1.4;16.4419000 102.8374506 160.8 1.8;16.4432999 102.8374506 163.0 1.2;"
    "16.4432999 102.8360000 162.1 1.6;16.4419000 102.8360000 161.2 1.4"
)
# 30 m x 30 m (900 m²) declared as 1 rai, accuracies about 3 m.
NINE_HUNDRED_M2 = (
    "16.4419000 102.8360000 162.0 3.0;16.4419000 102.8362809 161.5 2.8;16.4421711 102.8362809 161.9 3.2;"
    "16.4421711 102.8360000 162.4 3.0;16.4419000 102.8360000 162.0 3.0"
)
# 90 m x 90 m (8,100 m²) declared as 3 rai, accuracies about 5 m.
EIGHTY_ONE_HUNDRED_M2 = (
    "16.4419000 102.8360000 158.2 4.8;16.4419000 102.8368427 159.0 5.1;16.4427133 102.8368427 160.3 5.0;"
    "16.4427133 102.8360000 159.7 5.1;16.4419000 102.8360000 158.2 4.8"
)
# 3 rai (69.28 m square, 4,800 m²) with a fifth point half-way up the east side, accuracies 3.2-6.1 m.
THREE_RAI = (
    "16.4419000 102.8360000 162.3 3.9;16.4419000 102.8366487 161.8 4.8;16.4422130 102.8366487 161.1 6.1;"
    "16.4425260 102.8366487 160.4 3.2;16.4425260 102.8360000 162.0 4.4;16.4419000 102.8360000 162.3 3.9"
)


def shape(text: str) -> OdkGeometry:
    result = parse_odk_geo("geoshape", text)
    assert result.geometry is not None, result.problem
    return result.geometry


def test_40_m_square_near_khon_kaen_is_one_rai_within_half_a_percent() -> None:
    assert measure(geoshape(rect(0, 0, 40, 40))).area_m2 == pytest.approx(1600, rel=0.005)


def test_perimeter_of_the_40_m_square_is_160_m() -> None:
    assert measure(geoshape(rect(0, 0, 40, 40))).perimeter_m == pytest.approx(160, rel=0.001)


def test_band_is_perimeter_times_mean_accuracy_plus_the_corner_term() -> None:
    m = measure(geoshape(rect(0, 0, 40, 40), accuracy=4.0))
    assert m.band_m2 == pytest.approx(160 * 4 + math.pi * 16, rel=0.001)


def test_band_is_never_below_perimeter_times_mean_accuracy() -> None:
    m = measure(shape(THREE_RAI))
    assert m.band_m2 >= m.perimeter_m * m.mean_accuracy_m


def test_badly_measured_long_edges_widen_the_band_beyond_the_mean_accuracy() -> None:
    # A 100 m x 10 m strip with a fifth point in the middle of its east side: the four corners, which carry
    # the long edges, at 9 m, the middle point at 1 m. Mean 7.4 m, but 215 m of edges are known to 9 m only.
    strip = ring([(0, 0), (100, 0), (100, 5), (100, 10), (0, 10)])
    m = measure(Boundary.from_coords(strip, [9.0, 9.0, 1.0, 9.0, 9.0]))
    assert m.mean_accuracy_m == pytest.approx(7.4)
    assert m.band_m2 == pytest.approx(9.0 * 215 + 1.0 * 5 + math.pi * 7.4**2, rel=0.001)
    assert m.band_m2 > m.perimeter_m * m.mean_accuracy_m + math.pi * 7.4**2 + 300


def test_fifteen_rai_plot_measured_to_under_2_m_is_ok() -> None:
    result = area_check(shape(FIFTEEN_RAI), "15")
    assert result.status == "ok"
    assert result.numbers["area_rnw"] == "15-0-0"


def test_900_m2_declared_as_one_rai_is_undersized() -> None:
    result = area_check(shape(NINE_HUNDRED_M2), "1")
    assert result.status == "undersized"
    assert result.numbers["high_m2"] < result.numbers["min_m2"]


def test_8100_m2_declared_as_three_rai_is_oversized() -> None:
    result = area_check(shape(EIGHTY_ONE_HUNDRED_M2), "3")
    assert result.status == "oversized"
    assert result.numbers["low_m2"] > result.numbers["max_m2"]


def test_three_rai_plot_measured_to_about_5_m_is_uncertain() -> None:
    result = area_check(shape(THREE_RAI), "3")
    assert result.status == "uncertain"
    assert result.numbers["low_m2"] < result.numbers["min_m2"] < result.numbers["area_m2"]


def test_plot_just_under_the_limit_is_uncertain_when_the_band_straddles_it() -> None:
    # 36 m x 36 m = 1,296 m², below the 1,360 m² floor of 1 rai; 3 m accuracy gives a band of ±460 m².
    result = area_check(geoshape(rect(0, 0, 36, 36), accuracy=3.0), "1")
    assert result.status == "uncertain"


def test_plot_just_under_the_limit_is_undersized_when_measured_precisely() -> None:
    result = area_check(geoshape(rect(0, 0, 36, 36), accuracy=0.2), "1")
    assert result.status == "undersized"


def test_other_size_class_is_checked_against_its_stated_rai_ngan_wa() -> None:
    # 80 m x 80 m = 6,400 m² = 4-0-0, declared "other: 4-0-0", measured to 0.5 m.
    result = area_check(geoshape(rect(0, 0, 80, 80), accuracy=0.5), "other", RaiNganWa(4, 0, 0))
    assert result.status == "ok"
    assert result.numbers["declared_m2"] == 6400


def test_tolerances_come_from_the_rules() -> None:
    strict = AreaRules(tolerance={"1": (0.01, 0.01), "3": (0.1, 0.1), "15": (0.05, 0.05), "other": (0.1, 0.1)})
    result = area_check(geoshape(rect(0, 0, 39, 39), accuracy=0.0), "1", rules=strict)
    assert result.status == "undersized"


def test_other_size_class_without_its_size_is_refused() -> None:
    with pytest.raises(ValueError, match="stated size"):
        declared_m2("other")


def test_unknown_size_class_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown size class"):
        declared_m2("2")


def test_bowtie_area_is_not_measured() -> None:
    bowtie = Boundary.from_coords(ring([(0, 0), (40, 40), (40, 0), (0, 40)]), [3.0] * 4)
    assert area_check(bowtie, "1").status == "not_measured"


def test_result_names_its_rule_and_version_and_speaks_thai_and_english() -> None:
    result = area_check(shape(NINE_HUNDRED_M2), "1")
    data = json.loads(result.to_json())
    assert (data["rule"], data["rule_version"]) == ("plot_area", 1)
    assert "0-2-25 ไร่" in data["message_th"] and "900 ตร.ม." in data["message_th"]
    assert "smaller than the 1-rai class" in data["message_en"]
