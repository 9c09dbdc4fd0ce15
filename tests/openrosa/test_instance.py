"""khoknongna.openrosa.instance: a submission's header (who and what it is) and its content (answers, geo, files)."""

from __future__ import annotations

import uuid

import openpyxl
import pytest
from lxml import etree
from pyxform.xls2xform import convert

from khoknongna.openrosa.instance import GeoValue, read_content, read_encrypted, read_header
from khoknongna.openrosa.xform import FormDefinition, read_xform
from khoknongna.openrosa.xml import parse_xml
from khoknongna.problems import Problem
from tests.paths import CORPUS

NESTED_01 = CORPUS / "instances/nested_repeats/nested_repeats_01.xml"
NESTED_02 = CORPUS / "instances/nested_repeats/nested_repeats_02.xml"
ENVELOPE = CORPUS / "instances/tutorial_encrypted/tutorial_encrypted.xml"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:openpyxl")


def header(xml: bytes):
    return read_header(parse_xml(xml), xml)


def header_problem(xml: bytes) -> Problem:
    with pytest.raises(Problem) as info:
        header(xml)
    return info.value


def definition(markdown: str) -> FormDefinition:
    return read_xform(convert(markdown, file_type=".md").xform.encode())


def content(xml: bytes, form: FormDefinition):
    return read_content(parse_xml(xml), form)


PLOT_FORM = definition(
    """
| survey |
| | type | name | label |
| | text | owner | Owner |
| | begin group | plot | Plot |
| | geoshape | boundary | Boundary |
| | geopoint | gate | Gate |
| | end group | | |
| | begin repeat | pond | Pond |
| | integer | depth | Depth |
| | image | pond_photo | Pond photo |
| | end repeat | | |
| | geotrace | road | Road |
| | image | photo | Photo |
"""
)


# --- read_header ---------------------------------------------------------------------------------------------


def test_form_id_is_the_root_id_attribute():
    assert header(NESTED_01.read_bytes()).form_id == "nested_repeats"


def test_version_is_none_when_the_root_has_no_version_attribute():
    assert header(NESTED_01.read_bytes()).version is None


def test_version_is_empty_when_the_version_attribute_is_empty():
    assert header(b'<data id="f" version=""><meta><instanceID>uuid:1</instanceID></meta></data>').version == ""


def test_version_is_read_from_the_root():
    xml = b'<data id="f" version="2026112101"><meta><instanceID>uuid:1</instanceID></meta></data>'

    assert header(xml).version == "2026112101"


def test_instance_id_is_read_from_orx_meta():
    xml = (
        b'<data id="f" xmlns:orx="http://openrosa.org/xforms">'
        b"<orx:meta><orx:instanceID>uuid:5e1c</orx:instanceID></orx:meta></data>"
    )

    read = header(xml)

    assert read.instance_id == "uuid:5e1c"
    assert read.instance_id_made_up is False


def test_instance_id_is_read_from_unprefixed_meta():
    read = header(NESTED_02.read_bytes())

    assert read.instance_id == "uuid:8742fb1c-50a5-4c54-80c6-4420129d14ce"
    assert read.instance_id_made_up is False


def test_instance_id_surrounding_whitespace_is_ignored():
    xml = b'<data id="f"><meta><instanceID>\n  uuid:abc  \n</instanceID></meta></data>'

    assert header(xml).instance_id == "uuid:abc"


def test_instance_id_may_come_from_a_root_attribute_when_meta_has_none():
    assert header(b'<data id="f" instanceID="uuid:root-attr"><a>1</a></data>').instance_id == "uuid:root-attr"


def test_missing_instance_id_is_made_up_as_a_uuid():
    read = header(b'<data id="f"><a>1</a></data>')

    assert read.instance_id_made_up is True
    assert read.instance_id.startswith("uuid:")
    uuid.UUID(read.instance_id.removeprefix("uuid:"))


def test_made_up_instance_id_is_the_same_for_a_byte_identical_resend():
    xml = b'<data id="f"><a>1</a></data>'

    assert header(xml).instance_id == header(bytes(xml)).instance_id


def test_made_up_instance_id_differs_for_different_xml():
    assert header(b'<data id="f"><a>1</a></data>').instance_id != header(b'<data id="f"><a>2</a></data>').instance_id


def test_empty_instance_id_element_counts_as_missing():
    read = header(b'<data id="f"><meta><instanceID> </instanceID></meta></data>')

    assert read.instance_id_made_up is True


def test_missing_root_id_is_problem_400_5_naming_the_root():
    problem = header_problem(b"<plot><meta><instanceID>uuid:1</instanceID></meta></plot>")

    assert problem.code == "400.5"
    assert "<plot>" in problem.message_en


def test_blank_root_id_is_problem_400_5():
    assert header_problem(b'<data id="  "><meta><instanceID>uuid:1</instanceID></meta></data>').code == "400.5"


def test_instance_id_of_500_characters_is_read():
    assert header(f'<data id="f" instanceID="{"ก" * 500}"/>'.encode()).instance_id == "ก" * 500


@pytest.mark.parametrize("element", ["instanceID", "deprecatedID"])
def test_instance_or_deprecated_id_longer_than_500_characters_is_problem_400_7(element):
    problem = header_problem(f'<data id="f"><meta><{element}>{"x" * 501}</{element}></meta></data>'.encode())

    assert problem.code == "400.7"
    assert element in problem.message_en


def test_deprecated_id_and_instance_name_are_read_from_meta():
    xml = (
        '<data id="f" xmlns:orx="http://openrosa.org/xforms"><orx:meta>'
        "<orx:instanceID>uuid:2</orx:instanceID><orx:deprecatedID>uuid:1</orx:deprecatedID>"
        "<orx:instanceName> แปลงนายสมชาย </orx:instanceName></orx:meta></data>"
    ).encode()

    read = header(xml)

    assert (read.deprecated_id, read.instance_name) == ("uuid:1", "แปลงนายสมชาย")


def test_deprecated_id_and_instance_name_are_none_when_absent():
    read = header(NESTED_01.read_bytes())

    assert (read.deprecated_id, read.instance_name) == (None, None)


def test_plain_submission_is_not_encrypted():
    assert header(NESTED_01.read_bytes()).encrypted is False


def test_real_encrypted_envelope_header():
    read = header(ENVELOPE.read_bytes())

    assert read.encrypted is True
    assert read.form_id == "tutorial_encrypted"
    assert read.version == "201701031234"
    assert read.instance_id == "uuid:f8971231-f3b8-4b2b-8c35-d95fa207d937"


def test_encrypted_envelope_without_instance_id_is_problem_400_6():
    root = parse_xml(ENVELOPE.read_bytes())
    for meta in root.findall("{http://openrosa.org/xforms}meta"):
        root.remove(meta)
    xml = etree.tostring(root)

    assert header_problem(xml).code == "400.6"


def test_envelope_marked_only_by_encrypted_yes_without_instance_id_is_problem_400_6():
    assert header_problem(b'<data id="f" encrypted="yes"><encryptedXmlFile>s.enc</encryptedXmlFile></data>').code == (
        "400.6"
    )


# --- read_content --------------------------------------------------------------------------------------------


def test_repeat_answered_once_is_still_a_list():
    xml = b'<data id="f"><pond><depth>2</depth></pond></data>'

    assert content(xml, PLOT_FORM).data["pond"] == [{"depth": "2"}]


def test_repeat_answered_twice_is_a_list_in_order():
    xml = b'<data id="f"><pond><depth>2</depth></pond><pond><depth>3</depth></pond></data>'

    assert content(xml, PLOT_FORM).data["pond"] == [{"depth": "2"}, {"depth": "3"}]


def test_groups_nest_as_objects():
    xml = b'<data id="f"><owner>Somchai</owner><plot><boundary/><gate/></plot></data>'

    assert content(xml, PLOT_FORM).data == {"owner": "Somchai", "plot": {"boundary": None, "gate": None}}


@pytest.fixture(scope="module")
def nested_repeats() -> FormDefinition:
    return read_xform(convert((CORPUS / "forms/nested_repeats.xlsx").read_bytes()).xform.encode())


def test_real_nested_repeats_become_lists_inside_lists(nested_repeats):
    data = read_content(parse_xml(NESTED_01.read_bytes()), nested_repeats).data

    details = data["kids"]["kids_details"]
    assert [d["kids_name"] for d in details] == ["Hansel", "Gretel"]
    assert [i["immunization_info"] for i in details[0]["kids_immunization"]] == ["Polio", "Measles", "Malaria"]
    assert details[1]["kids_immunization"] == [{"immunization_info": "TB"}, {"immunization_info": "Rickets"}]


def test_real_inner_repeat_answered_once_is_a_list(nested_repeats):
    data = read_content(parse_xml(NESTED_02.read_bytes()), nested_repeats).data

    harry = data["kids"]["kids_details"][2]
    assert harry["kids_immunization"] == [{"immunization_info": "Polio 2"}]


def test_real_group_inside_a_group_is_an_object(nested_repeats):
    data = read_content(parse_xml(NESTED_02.read_bytes()), nested_repeats).data

    assert data["kids"]["nested_group"] == {"nested_name": "John", "nested_age": "38"}


def test_geopoint_outside_repeats_has_an_empty_repeat_position(nested_repeats):
    geo = read_content(parse_xml(NESTED_01.read_bytes()), nested_repeats).geo_values

    assert geo == [GeoValue("gps", (), "geopoint", "-1.2627557 36.7926442 0.0 30.0")]


@pytest.fixture(scope="module")
def nested_repeats_with_clinic(tmp_path_factory) -> FormDefinition:
    """The corpus nested_repeats form with a geopoint ``clinic`` added inside the inner repeat."""
    book = openpyxl.load_workbook(CORPUS / "forms/nested_repeats.xlsx")
    survey = book["survey"]
    row = next(r for r in survey.iter_rows(min_row=2) if r[1].value == "immunization_info")[0].row
    survey.insert_rows(row + 1)
    for col, value in enumerate(["geopoint", "clinic", "Clinic location"], start=1):
        survey.cell(row=row + 1, column=col, value=value)
    path = tmp_path_factory.mktemp("forms") / "nested_repeats.xlsx"
    book.save(path)
    return read_xform(convert(path).xform.encode())


def test_geo_values_inside_nested_repeats_carry_their_repeat_positions(nested_repeats_with_clinic):
    root = parse_xml(NESTED_01.read_bytes())
    for d, detail in enumerate(root.iterfind("kids/kids_details"), start=1):
        for i, immunization in enumerate(detail.iterfind("kids_immunization"), start=1):
            etree.SubElement(immunization, "clinic").text = f"16.{d} 102.{i} 150 5"
    xml = etree.tostring(root)

    geo = read_content(parse_xml(xml), nested_repeats_with_clinic).geo_values

    inner = "kids/kids_details/kids_immunization/clinic"
    assert geo == [
        GeoValue(inner, (1, 1), "geopoint", "16.1 102.1 150 5"),
        GeoValue(inner, (1, 2), "geopoint", "16.1 102.2 150 5"),
        GeoValue(inner, (1, 3), "geopoint", "16.1 102.3 150 5"),
        GeoValue(inner, (2, 1), "geopoint", "16.2 102.1 150 5"),
        GeoValue(inner, (2, 2), "geopoint", "16.2 102.2 150 5"),
        GeoValue("gps", (), "geopoint", "-1.2627557 36.7926442 0.0 30.0"),
    ]


def test_geo_answers_are_collected_with_their_type_and_path():
    xml = (
        b'<data id="f"><plot><boundary>16.4 102.8 0 5;16.5 102.8 0 5;16.5 102.9 0 5;16.4 102.8 0 5</boundary>'
        b"<gate> 16.4 102.8 150 4.5 </gate></plot><road>16.4 102.8 0 0;16.5 102.9 0 0</road></data>"
    )

    geo = content(xml, PLOT_FORM).geo_values

    assert [(g.path, g.geo_type, g.repeat_position) for g in geo] == [
        ("plot/boundary", "geoshape", ()),
        ("plot/gate", "geopoint", ()),
        ("road", "geotrace", ()),
    ]
    assert geo[1].value == "16.4 102.8 150 4.5"


def test_unanswered_geo_questions_are_not_collected():
    xml = b'<data id="f"><plot><boundary/><gate>  </gate></plot><road></road></data>'

    assert content(xml, PLOT_FORM).geo_values == []


def test_binary_answers_are_attachment_names():
    xml = b'<data id="f"><pond><pond_photo>p1.jpg</pond_photo></pond><photo>plot.jpg</photo></data>'

    assert content(xml, PLOT_FORM).attachments == ["p1.jpg", "plot.jpg"]


def test_the_same_file_named_twice_is_one_attachment():
    xml = (
        b'<data id="f"><pond><pond_photo>same.jpg</pond_photo></pond>'
        b"<pond><pond_photo>same.jpg</pond_photo></pond><photo>same.jpg</photo></data>"
    )

    assert content(xml, PLOT_FORM).attachments == ["same.jpg"]


def test_attachment_name_longer_than_500_characters_is_problem_400_7_naming_the_field():
    with pytest.raises(Problem) as info:
        content(f'<data id="f"><photo>{"p" * 501}.jpg</photo></data>'.encode(), PLOT_FORM)

    assert info.value.code == "400.7"
    assert "'photo'" in info.value.message_en


def test_a_thousand_siblings_of_one_name_become_one_list_in_order():
    xml = b'<data id="f">' + b"".join(b"<n>%d</n>" % i for i in range(1000)) + b"</data>"

    assert content(xml, PLOT_FORM).data["n"] == [str(i) for i in range(1000)]


def test_text_answers_are_not_attachments():
    xml = b'<data id="f"><owner>photo.jpg</owner><photo/></data>'

    assert content(xml, PLOT_FORM).attachments == []


def test_elements_unknown_to_the_form_are_kept_in_data():
    xml = b'<data id="f"><owner>Somchai</owner><legacy_field><x>1</x></legacy_field><note>kept</note></data>'

    data = content(xml, PLOT_FORM).data

    assert data["legacy_field"] == {"x": "1"}
    assert data["note"] == "kept"


def test_attributes_of_non_root_elements_become_at_keys():
    xml = b'<data id="f" version="1"><plot source="gps"><gate>16.4 102.8 0 0</gate></plot></data>'

    data = content(xml, PLOT_FORM).data

    assert data["plot"] == {"@source": "gps", "gate": "16.4 102.8 0 0"}


def test_attributes_of_the_root_are_not_in_data():
    xml = b'<data id="f" version="1"><owner>Somchai</owner></data>'

    assert content(xml, PLOT_FORM).data == {"owner": "Somchai"}


def test_namespaced_attribute_key_uses_the_local_name():
    xml = b'<data id="f" xmlns:odk="http://www.opendatakit.org/xforms"><plot odk:source="map"/></data>'

    assert content(xml, PLOT_FORM).data["plot"] == {"@source": "map"}


def test_text_of_a_leaf_with_an_attribute_is_kept():
    xml = '<data id="f"><owner lang="th">สมชาย</owner></data>'.encode()

    data = content(xml, PLOT_FORM).data

    assert data["owner"]["@lang"] == "th"
    assert "สมชาย" in data["owner"].values()


def test_non_repeat_element_seen_twice_becomes_a_list():
    xml = b'<data id="f"><owner>A</owner><owner>B</owner></data>'

    assert content(xml, PLOT_FORM).data["owner"] == ["A", "B"]


def test_meta_is_part_of_data(nested_repeats):
    data = read_content(parse_xml(NESTED_01.read_bytes()), nested_repeats).data

    assert data["meta"] == {"instanceID": "uuid:0a2a8ef5-5d82-4e43-a267-74037b0e9ea4"}


# --- read_encrypted ------------------------------------------------------------------------------------------


def test_encrypted_envelope_lists_its_media_files_and_the_encrypted_submission():
    envelope = read_encrypted(parse_xml(ENVELOPE.read_bytes()))

    assert envelope.attachments == ["1483528430996.jpg.enc", "1483528445767.jpg.enc", "submission.xml.enc"]


def test_encrypted_envelope_files_are_the_ones_collect_sent():
    envelope = read_encrypted(parse_xml(ENVELOPE.read_bytes()))

    assert sorted(envelope.attachments) == sorted(p.name for p in ENVELOPE.parent.glob("*.enc"))


def test_encrypted_envelope_has_no_readable_data_or_geometry():
    envelope = read_encrypted(parse_xml(ENVELOPE.read_bytes()))

    assert envelope.data is None
    assert envelope.geo_values == []
