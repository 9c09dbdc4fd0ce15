"""khoknongna.spatial.odk_geo: ODK geo strings become ZM geometries, or a problem saying why (never an exception)."""

from __future__ import annotations

import pytest

from khoknongna.spatial.odk_geo import GeoParseResult, OdkGeometry, parse_any_odk_geo, parse_odk_geo

# A small plot near Khon Kaen: four corners, the first repeated to close the ring.
RING = "16.40 102.80 150 5;16.40 102.81 151 5;16.41 102.81 152 5;16.41 102.80 153 5;16.40 102.80 150 5"


def geometry(geo_type: str, text: str) -> OdkGeometry:
    result = parse_odk_geo(geo_type, text)
    assert result.problem is None
    assert result.geometry is not None
    return result.geometry


def problem(geo_type: str, text: str) -> str:
    result = parse_odk_geo(geo_type, text)
    assert result.geometry is None
    assert result.problem
    return result.problem


# --- geopoint ------------------------------------------------------------------------------------------------


def test_geopoint_with_four_numbers_is_a_vertex_in_lon_lat_alt_acc_order():
    point = geometry("geopoint", "16.4 102.8 150.0 4.5")

    assert point.geo_type == "geopoint"
    assert point.vertices == ((102.8, 16.4, 150.0, 4.5),)


def test_geopoint_with_two_numbers_has_altitude_and_accuracy_zero():
    assert geometry("geopoint", "16.4 102.8").vertices == ((102.8, 16.4, 0.0, 0.0),)


def test_geopoint_with_three_numbers_has_accuracy_zero():
    assert geometry("geopoint", "16.4 102.8 150").vertices == ((102.8, 16.4, 150.0, 0.0),)


def test_geopoint_from_a_real_submission():
    assert geometry("geopoint", "-1.2627557 36.7926442 0.0 30.0").vertices == ((36.7926442, -1.2627557, 0.0, 30.0),)


def test_geopoint_surrounding_whitespace_is_ignored():
    assert geometry("geopoint", "  16.4 102.8 150 4.5\n").vertices == ((102.8, 16.4, 150.0, 4.5),)


def test_negative_altitude_below_sea_level_is_accepted():
    assert geometry("geopoint", "31.5 35.5 -430 3").vertices[0][2] == -430.0


def test_poles_and_antimeridian_are_inside_the_ranges():
    assert geometry("geopoint", "90 180").vertices == ((180.0, 90.0, 0.0, 0.0),)
    assert geometry("geopoint", "-90 -180").vertices == ((-180.0, -90.0, 0.0, 0.0),)


def test_geopoint_ewkt_is_point_zm_with_srid_4326():
    assert geometry("geopoint", "16.4 102.8 150 4.5").ewkt() == "SRID=4326;POINT ZM (102.8 16.4 150.0 4.5)"


def test_geopoint_with_two_points_is_a_problem():
    assert "one point" in problem("geopoint", "16.4 102.8 0 0;16.5 102.9 0 0")


# --- geotrace ------------------------------------------------------------------------------------------------


def test_geotrace_is_a_line_through_its_points_in_order():
    trace = geometry("geotrace", "16.40 102.80 150 5;16.41 102.81 151 6")

    assert trace.vertices == ((102.80, 16.40, 150.0, 5.0), (102.81, 16.41, 151.0, 6.0))


def test_geotrace_with_a_trailing_semicolon_is_tolerated():
    with_semicolon = geometry("geotrace", "16.40 102.80 150 5;16.41 102.81 151 6;")

    assert with_semicolon == geometry("geotrace", "16.40 102.80 150 5;16.41 102.81 151 6")


def test_geotrace_points_may_be_separated_by_semicolon_and_space():
    assert len(geometry("geotrace", "16.40 102.80 0 0; 16.41 102.81 0 0").vertices) == 2


def test_geotrace_ewkt_is_linestring_zm():
    trace = geometry("geotrace", "16.4 102.8 150 4.5;16.5 102.9 151 3")

    assert trace.ewkt() == "SRID=4326;LINESTRING ZM (102.8 16.4 150.0 4.5, 102.9 16.5 151.0 3.0)"


def test_geotrace_of_one_point_is_a_problem():
    assert "at least 2 points" in problem("geotrace", "16.4 102.8 0 0")


def test_geotrace_of_one_point_with_a_trailing_semicolon_is_a_problem():
    assert "at least 2 points" in problem("geotrace", "16.4 102.8 0 0;")


# --- geoshape ------------------------------------------------------------------------------------------------


def test_closed_geoshape_is_a_polygon_with_every_vertex_kept():
    shape = geometry("geoshape", RING)

    assert shape.geo_type == "geoshape"
    assert len(shape.vertices) == 5
    assert shape.vertices[0] == (102.80, 16.40, 150.0, 5.0)
    assert shape.vertices[0] == shape.vertices[-1]


def test_geoshape_ewkt_is_polygon_zm_with_one_ring():
    triangle = "16.4 102.8 1 2;16.4 102.9 1 2;16.5 102.9 1 2;16.4 102.8 1 2"

    assert geometry("geoshape", triangle).ewkt() == (
        "SRID=4326;POLYGON ZM ((102.8 16.4 1.0 2.0, 102.9 16.4 1.0 2.0, 102.9 16.5 1.0 2.0, 102.8 16.4 1.0 2.0))"
    )


def test_geoshape_with_a_trailing_semicolon_is_tolerated():
    assert geometry("geoshape", RING + ";") == geometry("geoshape", RING)


def test_geoshape_closed_in_position_but_not_altitude_is_accepted():
    ring = "16.4 102.8 150 5;16.4 102.9 150 5;16.5 102.9 150 5;16.4 102.8 160 3"

    assert len(geometry("geoshape", ring).vertices) == 4


def test_geoshape_of_three_points_is_a_problem():
    assert "at least 4 points" in problem("geoshape", "16.4 102.8 0 0;16.4 102.9 0 0;16.4 102.8 0 0")


def test_geoshape_that_is_not_closed_is_reported_not_repaired():
    open_ring = "16.4 102.8 0 0;16.4 102.9 0 0;16.5 102.9 0 0;16.5 102.8 0 0"

    assert "not closed" in problem("geoshape", open_ring)


# --- problems ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["16.4", "16.4 102.8 150 4.5 9"])
def test_point_with_the_wrong_number_of_numbers_is_a_problem(text):
    assert "expected 'latitude longitude [altitude [accuracy]]'" in problem("geopoint", text)


@pytest.mark.parametrize("text", ["north east", "16.4 102.8E", "16,4 102,8", "16.4 102.8 high 5"])
def test_point_that_is_not_numbers_is_a_problem(text):
    assert "not made of numbers" in problem("geopoint", text)


def test_latitude_91_is_a_problem():
    assert "latitude 91.0" in problem("geopoint", "91 102.8")


def test_longitude_minus_181_is_a_problem():
    assert "longitude -181.0" in problem("geopoint", "16.4 -181")


@pytest.mark.parametrize("text", ["nan 102.8", "16.4 NaN", "16.4 102.8 inf 5", "16.4 102.8 0 -inf", "1e400 102.8"])
def test_nan_and_infinity_are_a_problem(text):
    assert "NaN or infinity" in problem("geopoint", text)


def test_negative_accuracy_is_a_problem():
    assert "negative accuracy" in problem("geopoint", "16.4 102.8 150 -1")


@pytest.mark.parametrize("geo_type", ["geopoint", "geotrace", "geoshape"])
@pytest.mark.parametrize("text", ["", "   ", ";", " ; ;"])
def test_empty_value_is_a_problem(geo_type, text):
    assert problem(geo_type, text) == "empty value"


def test_problem_names_the_bad_point_of_a_trace():
    assert "point 3 " in problem("geotrace", "16.4 102.8 0 0;16.5 102.9 0 0;95 102.9 0 0")


def test_problem_quotes_at_most_60_characters_of_the_bad_text():
    message = problem("geopoint", "x" * 500 + " 1")

    assert "x" * 60 in message
    assert "x" * 61 not in message


def test_bad_input_gives_a_result_never_an_exception():
    for text in ["\x00", "1 2 3 4 5 6 7", ";;;;", "16.4 102.8;abc", "🌏 🌏", "1e999999 1"]:
        for geo_type in ("geopoint", "geotrace", "geoshape"):
            assert isinstance(parse_odk_geo(geo_type, text), GeoParseResult)


def test_unknown_geo_type_raises_value_error():
    with pytest.raises(ValueError, match="unknown ODK geo type 'geopolygon'"):
        parse_odk_geo("geopolygon", "16.4 102.8")


@pytest.mark.parametrize(
    ("text", "geo_type"),
    [
        ("16.44 102.83 170 4.5", "geopoint"),
        ("16.44 102.83 0 3;16.45 102.84 0 3", "geotrace"),
        ("16.44 102.83 0 3;16.45 102.83 0 3;16.45 102.84 0 3;16.44 102.83 0 3", "geoshape"),
        ("16.44 102.83 0 3;16.45 102.83 0 3;16.45 102.84 0 3;16.46 102.84 0 3", "geotrace"),
    ],
)
def test_a_geo_string_of_unknown_type_is_read_by_its_shape(text: str, geo_type: str) -> None:
    parsed = parse_any_odk_geo(text)

    assert parsed.problem is None
    assert parsed.geometry.geo_type == geo_type


def test_a_geo_string_of_unknown_type_that_is_not_one_gives_a_problem() -> None:
    assert parse_any_odk_geo("somewhere near the pond").problem
