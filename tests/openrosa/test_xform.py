"""khoknongna.openrosa.xform: what the server learns from an XForm (identity, field types, repeats, media)."""

from __future__ import annotations

import json
import re

import pytest
from pyxform.xls2xform import convert

from khoknongna.openrosa.xform import FormDefinition, read_xform, relative_path
from khoknongna.problems import Problem
from tests.paths import CORPUS_FORMS, CORPUS_INSTANCES

FORMS = CORPUS_FORMS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:openpyxl")


def xform(markdown: str) -> bytes:
    """An XForm made by pyxform from an XLSForm written as a markdown table."""
    return convert(markdown, file_type=".md").xform.encode()


def invalid(data: bytes) -> Problem:
    with pytest.raises(Problem) as info:
        read_xform(data)
    return info.value


PLOT_FORM = """
| settings |
| | form_id | version | form_title |
| | knn_plot | 2026112101 | แปลงโคกหนองนา |
| survey |
| | type | name | label |
| | text | owner | Owner |
| | begin group | plot | Plot |
| | geoshape | boundary | Boundary |
| | integer | rai | Area (rai) |
| | end group | | |
| | begin repeat | pond | Pond |
| | geopoint | location | Location |
| | begin repeat | visit | Visit |
| | date | day | Day |
| | geotrace | path | Path |
| | end repeat | | |
| | end repeat | | |
| | image | photo | Photo |
"""


@pytest.fixture(scope="module")
def plot_form() -> FormDefinition:
    return read_xform(xform(PLOT_FORM))


def test_form_id_comes_from_the_primary_instance_root(plot_form):
    assert plot_form.form_id == "knn_plot"


def test_version_comes_from_the_primary_instance_root(plot_form):
    assert plot_form.version == "2026112101"


def test_title_is_the_head_title(plot_form):
    assert plot_form.title == "แปลงโคกหนองนา"


def test_version_is_empty_when_the_form_has_none():
    definition = read_xform(xform("| survey |\n| | type | name | label |\n| | text | a | A |\n"))

    assert definition.version == ""


def test_title_falls_back_to_the_form_id_when_the_head_has_none():
    data = xform(
        "| settings |\n| | form_id |\n| | untitled |\n| survey |\n| | type | name | label |\n| | text | a | A |\n"
    )
    data = re.sub(rb"<h:title>[^<]*</h:title>", b"", data)

    assert read_xform(data).title == "untitled"


def test_root_name_of_an_older_xform_is_taken_as_it_is():
    definition = read_xform((FORMS / "encrypted.xml").read_bytes())

    assert (definition.form_id, definition.root_name) == ("encrypted", "encrypted")


def test_form_with_a_public_key_setting_is_encrypted():
    data = xform(
        "| settings |\n| | form_id | public_key |\n| | enc | MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA |\n"
        "| survey |\n| | type | name | label |\n| | text | a | A |\n"
    )

    assert read_xform(data).encrypted is True


def test_form_without_a_public_key_is_not_encrypted(plot_form):
    assert plot_form.encrypted is False


def test_encrypted_xform_from_collect_test_forms_is_encrypted():
    assert read_xform((FORMS / "encrypted.xml").read_bytes()).encrypted is True


def test_field_types_are_keyed_by_path_relative_to_the_root(plot_form):
    assert plot_form.field_type("owner") == "string"
    assert plot_form.field_type("plot/boundary") == "geoshape"
    assert plot_form.field_type("plot/rai") == "int"


def test_field_types_inside_nested_repeats_use_the_full_relative_path(plot_form):
    assert plot_form.field_type("pond/location") == "geopoint"
    assert plot_form.field_type("pond/visit/day") == "date"
    assert plot_form.field_type("pond/visit/path") == "geotrace"


def test_unknown_path_has_no_field_type(plot_form):
    assert plot_form.field_type("boundary") is None


def test_repeats_include_nested_repeats(plot_form):
    assert plot_form.repeats == frozenset({"pond", "pond/visit"})


def test_groups_are_not_repeats(plot_form):
    assert "plot" not in plot_form.repeats


def test_image_question_is_a_binary_field(plot_form):
    assert plot_form.field_type("photo") == "binary"


def test_repeats_of_a_real_form_with_a_repeat_in_a_repeat():
    data = convert((FORMS / "nested_repeats.xlsx").read_bytes()).xform.encode()

    assert read_xform(data).repeats == frozenset({"kids/kids_details", "kids/kids_details/kids_immunization"})


@pytest.mark.parametrize(
    ("survey", "media"),
    [
        (
            "| survey |\n| | type | name | label | media::image |\n"
            "| | note | intro | Welcome | logo.png |\n| | note | map | Map | plot-map.jpg |\n",
            ("logo.png", "plot-map.jpg"),
        ),
        (
            "| survey |\n| | type | name | label | media::image |\n"
            "| | note | one | One | logo.png |\n| | note | two | Two | logo.png |\n",
            ("logo.png",),
        ),
        (
            "| survey |\n| | type | name | label |\n| | select_one_from_file villages.csv | village | Village |\n",
            ("villages.csv",),
        ),
        (
            "| survey |\n| | type | name | label | calculation |\n"
            "| | text | key | Key | |\n| | calculate | price | | pulldata('fruits', 'price', 'name', ${key}) |\n",
            ("fruits.csv",),
        ),
    ],
    ids=[
        "the jr images of labels",
        "each name once, in order of appearance",
        "the CSV of select_one_from_file",
        "a CSV named after pulldata's first argument",
    ],
)
def test_the_media_a_form_expects_are(survey: str, media: tuple[str, ...]):
    assert read_xform(xform(survey)).media == media


def test_pulldata_form_from_pyxform_expects_fruits_csv():
    data = convert((FORMS / "pull_data.xlsx").read_bytes()).xform.encode()

    assert read_xform(data).media == ("fruits.csv",)


def test_media_of_the_all_widgets_xform_match_its_media_folder():
    definition = read_xform((FORMS / "all-widgets.xml").read_bytes())

    assert sorted(definition.media) == sorted(p.name for p in (FORMS / "all-widgets-media").iterdir())


def test_form_without_attachments_expects_no_media(plot_form):
    assert plot_form.media == ()


def test_media_name_with_a_space_is_kept_whole():
    data = xform("| survey |\n| | type | name | label | media::image |\n| | note | intro | Welcome | my logo.png |\n")

    assert read_xform(data).media == ("my logo.png",)


def test_xml_that_is_not_an_xform_is_an_invalid_form():
    problem = invalid((CORPUS_INSTANCES / "nested_repeats" / "nested_repeats_01.xml").read_bytes())

    assert problem.code == "422.1"
    assert "not an XForm" in problem.message_en


def test_xform_without_a_model_is_an_invalid_form():
    data = b'<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"><h:head/></h:html>'

    problem = invalid(data)

    assert problem.code == "422.1"
    assert "not an XForm" in problem.message_en


def test_xform_without_a_primary_instance_is_an_invalid_form():
    data = re.sub(
        rb"<instance>.*?</instance>", b"", xform("| survey |\n| | type | name | label |\n| | text | a | A |\n")
    )

    problem = invalid(data)

    assert problem.code == "422.1"
    assert "no primary instance" in problem.message_en


def test_xform_whose_root_has_no_id_is_an_invalid_form():
    data = xform("| survey |\n| | type | name | label |\n| | text | a | A |\n").replace(b' id="data"', b"")

    problem = invalid(data)

    assert problem.code == "422.1"
    assert "no id attribute" in problem.message_en


@pytest.mark.parametrize("form_id", ["survey.xml", "survey.XLSX", "survey.xls"])
def test_form_id_ending_like_a_file_name_is_an_invalid_form(form_id):
    data = xform(
        f"| settings |\n| | form_id |\n| | {form_id} |\n| survey |\n| | type | name | label |\n| | text | a | A |\n"
    )

    problem = invalid(data)

    assert problem.code == "422.1"
    assert form_id in problem.message_en


def test_form_id_containing_a_slash_is_an_invalid_form():
    data = xform("| survey |\n| | type | name | label |\n| | text | a | A |\n").replace(b'id="data"', b'id="a/b"')

    problem = invalid(data)

    assert problem.code == "422.1"
    assert "'a/b'" in problem.message_en


def test_unreadable_xml_is_malformed_not_an_invalid_form():
    assert invalid(b"<h:html>").code == "400.3"


def test_definition_survives_a_json_round_trip(plot_form):
    stored = json.loads(json.dumps(plot_form.to_json()))

    assert FormDefinition.from_json(stored) == plot_form


def test_json_form_lists_repeats_sorted_and_media_in_order():
    definition = read_xform((FORMS / "all-widgets.xml").read_bytes())

    as_json = definition.to_json()

    assert as_json["media"] == list(definition.media)
    assert as_json["repeats"] == sorted(definition.repeats)


def test_relative_path_drops_the_root_and_namespace_prefixes():
    assert relative_path("/data/orx:meta/orx:instanceID", "data") == "meta/instanceID"


def test_relative_path_is_none_outside_the_root():
    assert relative_path("/other/a", "data") is None
    assert relative_path("data/a", "data") is None
