"""The plot survey is the plot register: it creates a ``plots`` entity for a new plot and updates the chosen
one on a re-survey, saving the properties the server and the follow-up forms rely on.

Source: PROTOCOL.md §9 (entities in the XForm); the forms issue (entity list ``plots``, upsert, properties).
"""

from __future__ import annotations

import pytest
from lxml import etree

from tests.forms.xforms import NS, binds, control, select_from_file, xform

ENTITY_PROPERTIES = {
    "programme": "/data/programme",
    "model": "/data/model",
    "size_class": "/data/size_class",
    "learning_centre": "/data/learning_centre",
    "owner_name": "/data/owner/owner_name",
    "owner_phone": "/data/owner/owner_phone",
    "house_no": "/data/owner/house_no",
    "village_no": "/data/owner/village_no",
    "village_name": "/data/owner/village_name",
    "province": "/data/owner/province",
    "amphoe": "/data/owner/amphoe",
    "tambon": "/data/owner/tambon",
    "geometry": "/data/boundary",
}
SAVETO = "{http://www.opendatakit.org/xforms/entities}saveto"


@pytest.fixture(scope="module")
def survey() -> etree._Element:
    return xform("plot_survey")


def entity(survey: etree._Element) -> etree._Element:
    return survey.find("h:head/x:model/x:instance/x:data/x:meta/x:entity", NS)


def test_the_plot_survey_declares_an_entity_of_the_plots_list_with_create_and_update(
    survey: etree._Element,
) -> None:
    model = survey.find("h:head/x:model", NS)
    declared = entity(survey)

    assert model.get("{http://www.opendatakit.org/xforms/entities}entities-version") == "2024.1.0"
    assert declared.get("dataset") == "plots"
    assert {"create", "update", "id", "baseVersion"} <= set(declared.attrib)


def test_a_new_plot_is_created_and_a_re_survey_updates_the_chosen_plot(survey: etree._Element) -> None:
    b = binds(survey)

    assert b["/data/meta/entity/@create"]["calculate"].replace(" ", "") == "/data/survey_kind='new'"
    assert b["/data/meta/entity/@update"]["calculate"].replace(" ", "") == "/data/survey_kind='resurvey'"
    assert b["/data/meta/entity/@id"]["calculate"].strip() == "/data/plot_id"
    assert b["/data/plot_id"]["calculate"].replace(" ", "") == (
        "if(/data/survey_kind='resurvey',/data/existing_plot,/data/new_plot_id)"
    )
    assert b["/data/new_plot_id"]["calculate"] == "once(uuid())"
    assert "instance('plots')" in b["/data/meta/entity/@baseVersion"]["calculate"]


def test_the_re_survey_picks_the_registered_plot_from_the_plots_list(survey: etree._Element) -> None:
    b = binds(survey)

    assert select_from_file(survey, "/data/existing_plot") == "plots.csv"
    assert b["/data/existing_plot"]["relevant"].replace(" ", "") == "/data/survey_kind='resurvey'"
    assert b["/data/existing_plot"]["required"] == "true()"


def test_the_entity_label_is_owner_village_tambon_and_size(survey: etree._Element) -> None:
    b = binds(survey)
    label = b["/data/plot_label"]["calculate"]

    assert b["/data/meta/entity/label"]["calculate"].strip() == "/data/plot_label"
    for part in ("/data/owner/owner_name", "' – ม.'", "/data/owner/village_no", "/data/owner/village_name"):
        assert part in label
    assert "/data/size_text" in label
    assert "' ไร่'" in label


def test_the_plot_properties_are_saved_to_the_entity(survey: etree._Element) -> None:
    saved = {b[SAVETO]: nodeset for nodeset, b in binds(survey).items() if SAVETO in b}

    assert saved == ENTITY_PROPERTIES


def test_the_entity_keeps_the_official_area_codes_in_province_amphoe_and_tambon(survey: etree._Element) -> None:
    for level, file in (("province", "provinces.csv"), ("amphoe", "amphoes.csv"), ("tambon", "tambons.csv")):
        assert select_from_file(survey, f"/data/owner/{level}") == file


def test_a_re_survey_fills_in_the_registered_values_when_the_plot_is_chosen(survey: etree._Element) -> None:
    picker = control(survey, "/data/existing_plot")
    setvalues = {
        s.get("ref"): s.get("value").replace(" ", "")
        for s in picker.iterfind("x:setvalue", NS)
        if s.get("event") == "xforms-value-changed"
    }

    for prop, nodeset in ENTITY_PROPERTIES.items():
        assert setvalues[nodeset] == f"instance('plots')/root/item[name=/data/existing_plot]/{prop}", prop
