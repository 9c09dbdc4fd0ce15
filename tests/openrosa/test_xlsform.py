"""khoknongna.openrosa.xlsform: XLSForm uploads become XForms, or a 422.1 saying why; XForms are checked by Validate."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from pyxform.xls2xform import convert

from khoknongna.openrosa.xform import read_xform
from khoknongna.openrosa.xlsform import MAX_XLSX_EXPANDED_BYTES, convert_xlsform, spreadsheet_type, validate_xform
from khoknongna.problems import Problem
from tests.paths import CORPUS_FORMS
from tests.xlsforms import xlsform

FORMS = CORPUS_FORMS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:openpyxl")


def xlsx(*survey_rows: list[str], choices: list[list[str]] | None = None) -> bytes:
    return xlsform(survey_rows, choices=choices)


def rejected(data: bytes, file_name: str, *, validate: bool = False) -> Problem:
    with pytest.raises(Problem) as info:
        convert_xlsform(data, file_name, validate=validate)
    return info.value


# --- spreadsheet_type ----------------------------------------------------------------------------------------


def test_spreadsheet_type_of_a_zip_workbook_is_xlsx():
    assert spreadsheet_type((FORMS / "GeoLocationForm.xlsx").read_bytes()) == ".xlsx"


def test_spreadsheet_type_of_an_ole_workbook_is_xls():
    assert spreadsheet_type((FORMS / "widgets.xls").read_bytes()) == ".xls"


def test_spreadsheet_type_of_anything_else_is_none():
    assert spreadsheet_type((FORMS / "encrypted.xml").read_bytes()) is None
    assert spreadsheet_type(b"") is None


# --- convert_xlsform -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spreadsheet", "upload_name", "form_id"),
    [
        ("GeoLocationForm.xlsx", "GeoLocationForm.xlsx", "GeoLocationForm"),
        ("GeoLocationForm.xlsx", "../../uploads/แปลงโคกหนองนา.xlsx", "แปลงโคกหนองนา"),
        ("nested_repeats.xlsx", "something_else.xlsx", "nested_repeats"),
        (
            "ifrc-distribution-site-assessment-v1.xls",
            "ifrc-distribution-site-assessment-v1.xlsx",
            "distributionsite_assessment_v1_0",
        ),
    ],
    ids=[
        "the file name when the settings have none",
        "the file name without its folders",
        "the settings sheet over the file name",
        "a legacy xls saved with an xlsx name, converted by its content",
    ],
)
def test_the_form_id_comes_from(spreadsheet: str, upload_name: str, form_id: str):
    conversion = convert_xlsform((FORMS / spreadsheet).read_bytes(), upload_name, validate=False)

    assert read_xform(conversion.xform).form_id == form_id


def test_the_version_comes_from_the_settings_sheet():
    conversion = convert_xlsform((FORMS / "nested_repeats.xlsx").read_bytes(), "nested_repeats.xlsx", validate=False)

    assert read_xform(conversion.xform).version == "201211121234"


def test_select_one_external_yields_itemsets_csv_as_form_media():
    data = (FORMS / "select_one_external.xlsx").read_bytes()

    conversion = convert_xlsform(data, "select_one_external.xlsx", validate=False)

    assert list(conversion.media) == ["itemsets.csv"]
    first_line = conversion.media["itemsets.csv"].decode("utf-8").splitlines()[0]
    assert first_line == '"list_name","name","label","state","county"'
    assert b'"cities","seattle","Seattle","washington","king"' in conversion.media["itemsets.csv"]


def test_form_without_external_choices_has_no_generated_media():
    conversion = convert_xlsform((FORMS / "GeoLocationForm.xlsx").read_bytes(), "GeoLocationForm.xlsx", validate=False)

    assert conversion.media == {}


def test_converted_xform_is_utf8_xml_bytes():
    data = xlsx(["type", "name", "label"], ["text", "village", "หมู่บ้าน"])

    conversion = convert_xlsform(data, "village.xlsx", validate=False)

    assert isinstance(conversion.xform, bytes)
    assert "หมู่บ้าน".encode() in conversion.xform


def test_pyxform_warnings_are_passed_on():
    data = xlsx(
        ["type", "name", "label"],
        ["select_one yes_no", "answer", "Answer"],
        choices=[["list_name", "name", "label"], ["yes_no", "yes", "Yes"], ["yes_no", "no", None]],
    )

    conversion = convert_xlsform(data, "warn.xlsx", validate=False)

    assert len(conversion.warnings) == 1
    assert "Choices should have a label" in conversion.warnings[0]


def test_unknown_question_type_is_an_invalid_form_with_pyxforms_message():
    data = xlsx(["type", "name", "label"], ["text", "a", "A"], ["frobnicate", "b", "B"])

    problem = rejected(data, "broken.xlsx")

    assert problem.code == "422.1"
    assert problem.status == 422
    assert "Unknown question type 'frobnicate'" in problem.message_en


def test_bytes_that_are_not_a_spreadsheet_are_an_invalid_form():
    problem = rejected(b"name,label\nvillage,Village\n", "form.xlsx")

    assert problem.code == "422.1"
    assert "'form.xlsx' is not an XLSForm spreadsheet" in problem.message_en


def test_a_damaged_zip_is_an_invalid_form():
    problem = rejected(b"PK\x03\x04" + b"\x00" * 64, "form.xlsx")

    assert problem.code == "422.1"
    assert "damaged" in problem.message_en


def test_a_zip_that_is_not_a_workbook_is_an_invalid_form():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")

    assert rejected(out.getvalue(), "form.xlsx").code == "422.1"


def test_a_damaged_ole_file_is_an_invalid_form():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100

    assert rejected(data, "form.xls").code == "422.1"


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> bytes:
    """An .xlsx-looking zip holding 300 MB of zeros that compresses to about 300 KB."""
    path = tmp_path_factory.mktemp("bomb") / "innocent.xlsx"
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(300):
                member.write(chunk)
    return path.read_bytes()


def test_zip_bomb_disguised_as_xlsx_is_refused_without_expanding_it(zip_bomb):
    assert len(zip_bomb) < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        problem = rejected(zip_bomb, "innocent.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert problem.code == "422.1"
    assert "expands to 314572808 bytes" in problem.message_en
    assert peak < 20 * 1024 * 1024


def test_large_real_xlsform_is_not_refused_as_a_bomb():
    data = (FORMS / "whova_form.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sum(i.file_size for i in zf.infolist()) < MAX_XLSX_EXPANDED_BYTES

    conversion = convert_xlsform(data, "whova_form.xlsx", validate=False)

    assert read_xform(conversion.xform).form_id == "va_who_v1_5_2"


def test_convert_with_validation_reports_odk_validates_message():
    data = xlsx(["type", "name", "label", "calculation"], ["calculate", "a", "", "${a} + 1"])

    problem = rejected(data, "cycle.xlsx", validate=True)

    assert problem.code == "422.1"
    assert "Cycle detected" in problem.message_en


def test_convert_without_validation_leaves_validate_out():
    data = xlsx(["type", "name", "label", "calculation"], ["calculate", "a", "", "${a} + 1"])

    conversion = convert_xlsform(data, "cycle.xlsx", validate=False)

    assert read_xform(conversion.xform).form_id == "cycle"


# --- validate_xform ------------------------------------------------------------------------------------------


SIMPLE = convert(
    "| survey |\n| | type | name | label |\n| | text | a | A |\n| | integer | b | B |\n", file_type=".md"
).xform


def test_validate_accepts_a_valid_xform():
    assert validate_xform(SIMPLE.encode()) == ()


def test_validate_accepts_a_real_xform_from_collect():
    assert isinstance(validate_xform((FORMS / "all-widgets.xml").read_bytes()), tuple)


def test_validate_rejects_a_question_bound_to_a_missing_node():
    broken = SIMPLE.replace('<input ref="/data/a">', '<input ref="/data/missing">')
    assert broken != SIMPLE

    with pytest.raises(Problem) as info:
        validate_xform(broken.encode())

    assert info.value.code == "422.1"
    assert "non-existent node" in info.value.message_en


def test_validate_rejects_an_unparseable_xpath_expression():
    bind = '<bind nodeset="/data/a" type="string"/>'
    broken = SIMPLE.replace(bind, bind.replace("/>", ' relevant="/data/b = = 1"/>'))
    assert broken != SIMPLE

    with pytest.raises(Problem) as info:
        validate_xform(broken.encode())

    assert info.value.code == "422.1"
    assert "Result: Invalid" in info.value.message_en
