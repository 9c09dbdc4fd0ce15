"""Property-based tests (hypothesis) of the two readers every submission goes through: ODK geo strings, and
the instance XML to the answers stored as JSONB.

* the geo parser never raises, whatever the text; values that follow the rules come back as the numbers
  written; values that break one rule come back with a problem saying which;
* any answers, in any characters XML can carry (Thai, ``<>&"'``, emoji), land in ``data`` at their path,
  unchanged, first in the pure reader and then through the app into PostgreSQL.
"""

from __future__ import annotations

import io
import uuid

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import Engine, text

from khoknongna.accounts import create_app_user
from khoknongna.openrosa.instance import read_content
from khoknongna.openrosa.xform import FormDefinition
from khoknongna.openrosa.xml import parse_xml
from khoknongna.publishing import publish_form
from khoknongna.spatial.odk_geo import parse_odk_geo

GEO_TYPES = ("geopoint", "geotrace", "geoshape")

latitudes = st.floats(-90, 90, allow_nan=False)
longitudes = st.floats(-180, 180, allow_nan=False)
altitudes = st.floats(-500, 9000, allow_nan=False)
accuracies = st.floats(0, 10_000, allow_nan=False)
vertices = st.tuples(latitudes, longitudes, altitudes, accuracies)


def odk(points: list[tuple[float, float, float, float]]) -> str:
    return ";".join(" ".join(repr(n) for n in p) for p in points)


# --- geo strings ----------------------------------------------------------------------------------------


@given(geo_type=st.sampled_from(GEO_TYPES), value=st.text())
def test_the_geo_parser_never_raises_and_gives_a_geometry_or_a_problem(geo_type: str, value: str) -> None:
    result = parse_odk_geo(geo_type, value)

    assert (result.geometry is None) != (result.problem is None)


@given(geo_type=st.sampled_from(GEO_TYPES), value=st.text(alphabet="0123456789.-+eE ;naifNIF\t", max_size=80))
def test_the_geo_parser_never_raises_on_number_like_text(geo_type: str, value: str) -> None:
    result = parse_odk_geo(geo_type, value)

    assert (result.geometry is None) != (result.problem is None)


@given(point=vertices)
def test_a_valid_geopoint_comes_back_as_the_numbers_written(point) -> None:
    lat, lon, alt, acc = point

    result = parse_odk_geo("geopoint", odk([point]))

    assert result.problem is None
    assert result.geometry.vertices == ((lon, lat, alt, acc),)


@given(points=st.lists(vertices, min_size=2, max_size=50))
def test_a_valid_geotrace_comes_back_as_the_numbers_written_in_order(points) -> None:
    result = parse_odk_geo("geotrace", odk(points))

    assert result.problem is None
    assert result.geometry.vertices == tuple((lon, lat, alt, acc) for lat, lon, alt, acc in points)


@given(points=st.lists(vertices, min_size=3, max_size=50))
def test_a_closed_geoshape_comes_back_as_the_numbers_written(points) -> None:
    ring = [*points, points[0]]

    result = parse_odk_geo("geoshape", odk(ring))

    assert result.problem is None
    assert len(result.geometry.vertices) == len(ring)
    assert result.geometry.ewkt().startswith("SRID=4326;POLYGON ZM ((")


@given(points=st.lists(vertices, min_size=2, max_size=10), bad_lat=st.floats(90, 1e300, exclude_min=True))
def test_a_latitude_beyond_90_anywhere_is_a_problem_naming_the_point(points, bad_lat: float) -> None:
    index = len(points) // 2
    _, lon, alt, acc = points[index]
    points[index] = (bad_lat, lon, alt, acc)

    result = parse_odk_geo("geotrace", odk(points))

    assert result.geometry is None
    assert f"point {index + 1} has latitude" in result.problem


@given(points=st.lists(vertices, min_size=1, max_size=10), special=st.sampled_from(["nan", "inf", "-Infinity"]))
def test_nan_or_infinity_anywhere_is_a_problem(points, special: str) -> None:
    text_value = odk(points) + f";{special} 100.0"

    result = parse_odk_geo("geotrace", text_value)

    assert result.geometry is None
    assert "NaN or infinity" in result.problem


@given(points=st.lists(vertices, min_size=0, max_size=2))
def test_a_geoshape_of_fewer_than_four_points_is_a_problem(points) -> None:
    result = parse_odk_geo("geoshape", odk([*points, *points[:1]]))

    assert result.geometry is None
    assert result.problem


# --- instance XML to answers ----------------------------------------------------------------------------

#: Characters XML 1.0 can carry (no C0 controls but tab and newline, no surrogates, no U+FFFE/U+FFFF).
xml_characters = st.characters(
    blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff\r", min_codepoint=0x09
).filter(lambda c: c in "\t\n" or ord(c) >= 0x20)
answers = st.text(alphabet=xml_characters, min_size=1, max_size=40).filter(lambda s: s.strip())
names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)


def instance(values: dict[str, str], repeated: list[str], form_id: str = "f", instance_id: str = "") -> bytes:
    """An instance: one element per answer, ``group/<name>`` inside a group, a repeat ``rep/val`` per item."""
    root = etree.Element("data", id=form_id, version="1")
    group = etree.SubElement(root, "group")
    for name, value in values.items():
        etree.SubElement(group, name).text = value
    for value in repeated:
        etree.SubElement(etree.SubElement(root, "rep"), "val").text = value
    meta = etree.SubElement(root, "meta")
    etree.SubElement(meta, "instanceID").text = instance_id or f"uuid:{uuid.uuid4()}"
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def definition(fields: list[str]) -> FormDefinition:
    return FormDefinition(
        form_id="f",
        version="1",
        title="f",
        root_name="data",
        encrypted=False,
        fields={**{f"group/{n}": "string" for n in fields}, "rep/val": "string", "meta/instanceID": "string"},
        repeats=frozenset({"rep"}),
    )


@given(values=st.dictionaries(names, answers, max_size=8), repeated=st.lists(answers, max_size=5))
def test_every_answer_lands_in_data_at_its_path_unchanged(values: dict[str, str], repeated: list[str]) -> None:
    data = read_content(parse_xml(instance(values, repeated)), definition(list(values))).data

    assert data["group"] == (values or None)
    assert [item["val"] for item in data.get("rep", [])] == repeated


FORM = b"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
        xmlns:jr="http://openrosa.org/javarosa"><h:head><h:title>Answers</h:title><model>
<instance><data id="answers" version="1"><group><a/><b/><c/></group><rep jr:template=""><val/></rep>
<meta><instanceID/></meta></data></instance>
<bind nodeset="/data/group/a" type="string"/><bind nodeset="/data/group/b" type="string"/>
<bind nodeset="/data/group/c" type="string"/><bind nodeset="/data/rep/val" type="string"/>
<bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/></model></h:head>
<h:body><group ref="/data/group"><input ref="/data/group/a"><label>A</label></input>
<input ref="/data/group/b"><label>B</label></input><input ref="/data/group/c"><label>C</label></input></group>
<repeat nodeset="/data/rep"><input ref="/data/rep/val"><label>V</label></input></repeat></h:body></h:html>"""


@pytest.fixture
def answers_form(app: Flask, db: Engine, settings) -> str:
    """The ``answers`` form published; the URL prefix of an app user who may submit to it."""
    services = app.extensions["knn"]
    publish_form(services.engine, services.blobs, settings, "answers.xml", FORM)
    with db.begin() as conn:
        _, token = create_app_user(conn, 1, "hypothesis")
    return f"/v1/key/{token}/projects/1"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.fixed_dictionaries({}, optional={"a": answers, "b": answers, "c": answers}),
    repeated=st.lists(answers, max_size=4),
)
def test_answers_sent_through_the_app_land_in_the_jsonb_at_their_paths(
    app: Flask, db: Engine, answers_form: str, values: dict[str, str], repeated: list[str]
) -> None:
    instance_id = f"uuid:{uuid.uuid4()}"
    xml = instance(values, repeated, form_id="answers", instance_id=instance_id)

    response = app.test_client().post(
        f"{answers_form}/submission",
        data={"xml_submission_file": (io.BytesIO(xml), "s.xml", "text/xml")},
        content_type="multipart/form-data",
        headers={"X-OpenRosa-Version": "1.0"},
    )

    assert response.status_code == 201, response.data
    with db.connect() as conn:
        data = conn.execute(
            text("SELECT data FROM submission_versions WHERE instance_id = :i"), {"i": instance_id}
        ).scalar_one()
    assert data["group"] == (values or None)
    assert [item["val"] for item in data.get("rep", [])] == repeated
