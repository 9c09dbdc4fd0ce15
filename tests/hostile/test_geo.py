"""Broken ODK geo strings in a real submission: the submission is accepted (a field developer's other
answers and photos must not be lost over one bad GPS value), the value is kept as text with its problem,
and no geometry is made of it.

Latitude 91, words instead of numbers and NaN in a geoshape are covered in tests/server/test_submission.py;
the parser on its own in tests/spatial/test_odk_geo.py and tests/hostile/test_properties.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from tests.collect import CollectClient
from tests.hostile.support import PHOTO, assert_still_serving, new_id
from tests.instances import jpeg
from tests.plots import LAT, LON, plot_xml

pytestmark = pytest.mark.usefixtures("plot_survey")

GOOD = f"{LAT} {LON} 162.0 4.8"


def submit_with(collect: CollectClient, element: str, value: str) -> None:
    xml = plot_xml(new_id())
    start = xml.index(f"<{element}>".encode()) + len(element) + 2
    end = xml.index(f"</{element}>".encode())
    responses = collect.submit(xml[:start] + value.encode() + xml[end:], {PHOTO: jpeg(1)})
    assert [r.status_code for r in responses] == [201], responses[-1].data


def stored(db: Engine, field_path: str):
    with db.connect() as conn:
        return conn.execute(
            text("SELECT geom, raw_value, problem FROM submission_geometries WHERE field_path = :p"), {"p": field_path}
        ).one()


def point(value: str, problem: str) -> pytest.ParameterSet:
    return pytest.param("location", "location", value, problem, id=f"geopoint {value}")


def shape(value: str, problem: str, case: str) -> pytest.ParameterSet:
    return pytest.param("boundary", "boundary", value, problem, id=f"geoshape of {case}")


@pytest.mark.parametrize(
    ("element", "field_path", "value", "problem"),
    [
        point("16.44", "1 numbers"),
        point("16.44 102.83 162.0 4.8 99", "5 numbers"),
        point("16.44 102.83 162.0 4.8;16.45 102.83 0 0", "one point"),
        point("16.44 Infinity 0 0", "NaN or infinity"),
        point("-inf 102.83", "NaN or infinity"),
        point("1e400 102.83", "NaN or infinity"),
        point("-90.5 102.83", "latitude -90.5"),
        point("16.44 180.5", "longitude 180.5"),
        point("16.44 102.83 0 -1", "negative accuracy"),
        point("0x10 102.83", "not made of numbers"),
        shape(f"{GOOD};{LAT + 0.001} {LON} 162.0 4.8", "at least 4 points", "two points"),
        shape(f"{GOOD};{GOOD}", "at least 4 points", "the same point twice"),
        shape(";;;", "empty value", "only separators"),
        shape(
            f"{GOOD};{LAT + 0.001} {LON};{LAT} {LON + 0.001};{LAT + 0.002} {LON + 0.002}",
            "not closed",
            "4 points not closed",
        ),
        pytest.param("swale_line", "swales/swale_line", GOOD + ";", "at least 2 points", id="geotrace of one point"),
    ],
)
def test_a_broken_geo_value_is_kept_as_text_with_its_problem(
    collect: CollectClient, db: Engine, element: str, field_path: str, value: str, problem: str
) -> None:
    submit_with(collect, element, value)

    row = stored(db, field_path)
    assert row.geom is None
    assert row.raw_value == value
    assert problem in row.problem


def test_a_self_crossing_geoshape_is_stored_as_the_polygon_it_describes(collect: CollectClient, db: Engine) -> None:
    # a bow tie: a valid ODK value, an invalid polygon; validity is a spatial check's business, not ingest's
    bow_tie = f"{LAT} {LON};{LAT + 0.001} {LON + 0.001};{LAT + 0.001} {LON};{LAT} {LON + 0.001};{LAT} {LON}"

    submit_with(collect, "boundary", bow_tie)

    with db.connect() as conn:
        valid = conn.execute(
            text("SELECT ST_IsValid(geom) FROM submission_geometries WHERE field_path = 'boundary'")
        ).scalar_one()
    assert valid is False
    assert_still_serving(collect)


def test_a_geotrace_of_20000_points_is_stored_whole(collect: CollectClient, db: Engine) -> None:
    trace = ";".join(f"{LAT + i * 1e-6:.7f} {LON + i * 1e-6:.7f} 160.0 4.0" for i in range(20_000))

    submit_with(collect, "swale_line", trace)

    with db.connect() as conn:
        points = conn.execute(
            text("SELECT ST_NPoints(geom) FROM submission_geometries WHERE field_path = 'swales/swale_line'")
        ).scalar_one()
    assert points == 20_000
