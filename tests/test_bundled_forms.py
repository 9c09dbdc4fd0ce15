"""The Khok Nong Na form pack in ``forms_xlsform/``: every XLSForm is valid for Collect, and the plot survey
asks what the programme needs, in Thai first and English second.

The XForm is read here with lxml (nothing from the server), after conversion by pyxform with ODK Validate.
"""

from __future__ import annotations

import pytest
from lxml import etree

from khoknongna.forms_xlsform import bundled_forms
from khoknongna.openrosa.xlsform import convert_xlsform
from tests.forms.xforms import ENGLISH, JR, NS, THAI, XF, binds, choices, control, label, xform

FORMS = bundled_forms()


@pytest.fixture(scope="module")
def plot_survey() -> etree._Element:
    """The plot survey's XForm, converted and checked by ODK Validate."""
    return xform("plot_survey")


def test_the_form_pack_is_not_empty() -> None:
    assert "plot_survey.xlsx" in [p.name for p in FORMS]


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.name)
def test_every_bundled_xlsform_converts_and_passes_odk_validate_without_warnings(path) -> None:
    conversion = convert_xlsform(path.read_bytes(), path.name, validate=True)

    assert conversion.warnings == ()
    root = etree.fromstring(conversion.xform)
    assert root.find("h:head/x:model", NS) is not None


def test_the_plot_survey_is_identified_and_versioned(plot_survey: etree._Element) -> None:
    data = plot_survey.find("h:head/x:model/x:instance/x:data", NS)

    assert data.get("id") == "plot_survey"
    assert data.get("version", "").isdigit()
    assert len(data.get("version")) == 10  # YYYYMMDDnn


def test_the_plot_survey_asks_programme_model_and_size_class(plot_survey: etree._Element) -> None:
    b = binds(plot_survey)

    for field in ("programme", "model", "size_class"):
        assert b[f"/data/{field}"]["required"] == "true()", field
        assert control(plot_survey, f"/data/{field}").tag == f"{{{XF}}}select1", field
    assert len(choices(plot_survey, "programme")) == 5
    assert choices(plot_survey, "model") == ["HLM", "CLM"]
    assert choices(plot_survey, "size_class") == ["1", "3", "15", "other"]


def test_the_plot_survey_asks_the_area_only_for_another_size(plot_survey: etree._Element) -> None:
    b = binds(plot_survey)

    for field, kind in (("other_rai", "int"), ("other_ngan", "int"), ("other_wa", "decimal")):
        assert b[f"/data/{field}"]["type"] == kind, field
        assert "'other'" in b[f"/data/{field}"]["relevant"], field


def test_the_plot_survey_asks_the_owner_and_the_address(plot_survey: etree._Element) -> None:
    b = binds(plot_survey)

    assert control(plot_survey, "/data/owner").tag == f"{{{XF}}}group"
    for field in ("owner_name", "owner_phone", "village_no", "village_name", "tambon", "amphoe", "province"):
        assert b[f"/data/owner/{field}"].get("required") == "true()", field
    assert "/data/owner/house_no" in b
    assert "regex" in b["/data/owner/owner_phone"]["constraint"]


def test_the_plot_survey_asks_province_amphoe_and_tambon_as_coded_cascading_selects(
    plot_survey: etree._Element,
) -> None:
    itemsets = {
        field: control(plot_survey, f"/data/owner/{field}").find("x:itemset", NS).get("nodeset").replace(" ", "")
        for field in ("province", "amphoe", "tambon")
    }

    assert itemsets == {
        "province": "instance('provinces')/root/item",
        "amphoe": "instance('amphoes')/root/item[province=/data/owner/province]",
        "tambon": "instance('tambons')/root/item[amphoe=/data/owner/amphoe]",
    }
    for name in ("provinces", "amphoes", "tambons"):
        instance = plot_survey.find(f".//x:instance[@id='{name}']", NS)
        assert instance.get("src") == f"jr://file-csv/{name}.csv"


def test_the_plot_survey_maps_the_plot_with_its_boundary_and_location(plot_survey: etree._Element) -> None:
    b = binds(plot_survey)

    assert (b["/data/boundary"]["type"], b["/data/boundary"]["required"]) == ("geoshape", "true()")
    assert (b["/data/location"]["type"], b["/data/location"]["required"]) == ("geopoint", "true()")


def test_the_plot_survey_maps_parts_swales_and_bunds_in_repeats(plot_survey: etree._Element) -> None:
    b = binds(plot_survey)

    for repeat, field, kind in (
        ("parts", "part_shape", "geoshape"),
        ("swales", "swale_line", "geotrace"),
        ("bunds", "bund_line", "geotrace"),
    ):
        assert control(plot_survey, f"/data/{repeat}").tag in (f"{{{XF}}}group", f"{{{XF}}}repeat")
        assert plot_survey.find(f".//h:body//x:repeat[@nodeset='/data/{repeat}']", NS) is not None, repeat
        assert b[f"/data/{repeat}/{field}"]["type"] == kind, field
    assert choices(plot_survey, "part_type") == ["khok", "pond", "paddy"]


def test_the_plot_survey_takes_a_required_overview_photo_and_more_photos_in_a_repeat(
    plot_survey: etree._Element,
) -> None:
    b = binds(plot_survey)

    overview = control(plot_survey, "/data/photo_overview")
    assert overview.tag == f"{{{XF}}}upload"
    assert overview.get("mediatype") == "image/*"
    assert b["/data/photo_overview"]["required"] == "true()"
    assert plot_survey.find(".//h:body//x:repeat[@nodeset='/data/photos']", NS) is not None
    assert control(plot_survey, "/data/photos/photo").get("mediatype") == "image/*"


def test_the_plot_survey_has_an_instance_id_and_an_instance_name(plot_survey: etree._Element) -> None:
    b = binds(plot_survey)

    assert b["/data/meta/instanceID"][f"{{{JR}}}preload"] == "uid"
    assert b["/data/meta/instanceName"]["calculate"].strip() == "/data/plot_label"
    assert "owner_name" in b["/data/plot_label"]["calculate"]


def test_the_plot_survey_is_in_thai_first_and_english_second(plot_survey: etree._Element) -> None:
    translations = plot_survey.findall(".//x:itext/x:translation", NS)

    assert [t.get("lang") for t in translations] == [THAI, ENGLISH]
    assert translations[0].get("default") == "true()"
    assert translations[1].get("default") is None


def test_every_plot_survey_label_is_written_in_both_languages(plot_survey: etree._Element) -> None:
    thai, english = (
        {t.get("id") for t in plot_survey.iterfind(f".//x:itext/x:translation[@lang='{lang}']/x:text", NS)}
        for lang in (THAI, ENGLISH)
    )

    assert thai == english
    assert label(plot_survey, "/data/boundary", THAI) == "ขอบเขตแปลง"
    assert label(plot_survey, "/data/boundary", ENGLISH) == "Plot boundary"
    assert label(plot_survey, "/data/owner/owner_name", THAI) == "ชื่อเจ้าของแปลง"
