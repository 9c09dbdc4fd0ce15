"""The socio-geographic change survey (ข้อมูลการเปลี่ยนแปลงทางด้านภูมิสังคม) asks DOMAIN.md item 2 in full and takes
photos at fixed photo points (location, bearing, photo) that can be compared across visits.

Source: DOMAIN.md "What is collected" item 2; seed 004 ๑.๑ (๕) (the survey through a digital platform).
"""

from __future__ import annotations

import pytest
from lxml import etree

from tests.forms.xforms import NS, binds, choices, control, label, xform

#: DOMAIN.md item 2, subject by subject -> the fields that answer it
DOMAIN_ITEM_2 = {
    "water in the ponds": ("water/pond_water_level", "water/water_months", "water/water_use"),
    "soil care (mulch, compost, no chemicals)": ("soil/soil_care", "soil/chemicals_used"),
    "trees by three forests, four benefits": (
        "trees/trees_use",
        "trees/trees_food",
        "trees/trees_economic",
        "trees/tree_benefits",
    ),
    "crops": ("farming/crops",),
    "livestock and fish": ("farming/animals",),
    "produce": ("farming/produce", "farming/produce_use"),
    "income and savings": ("money/income_baht", "money/expense_saved_baht", "money/savings_baht"),
    "people living from the plot": ("people/people_living",),
    "volunteers at community work days": ("people/aomue_times", "people/aomue_volunteers"),
    "problems and needs": ("problems", "needs"),
    "photos at fixed photo points": ("photo_points/point_location", "photo_points/point_photo"),
}


@pytest.fixture(scope="module")
def survey() -> etree._Element:
    return xform("socio_change")


@pytest.mark.parametrize("subject", DOMAIN_ITEM_2)
def test_every_subject_of_the_socio_geographic_survey_has_its_fields(survey: etree._Element, subject: str) -> None:
    b = binds(survey)

    for field in DOMAIN_ITEM_2[subject]:
        assert f"/data/{field}" in b, field


def test_the_form_carries_the_seed_title() -> None:
    title = xform("socio_change").findtext("h:head/h:title", namespaces=NS)

    assert title.startswith("ข้อมูลการเปลี่ยนแปลงทางด้านภูมิสังคม")


def test_fixed_photo_points_are_a_repeat_of_number_location_bearing_and_photo(survey: etree._Element) -> None:
    b = binds(survey)

    assert survey.find(".//h:body//x:repeat[@nodeset='/data/photo_points']", NS) is not None
    assert b["/data/photo_points/point_no"]["type"] == "int"
    assert b["/data/photo_points/point_location"]["type"] == "geopoint"
    assert b["/data/photo_points/point_bearing"]["type"] == "decimal"
    assert control(survey, "/data/photo_points/point_bearing").get("appearance") == "bearing"
    assert "360" in b["/data/photo_points/point_bearing"]["constraint"]
    assert control(survey, "/data/photo_points/point_photo").get("mediatype") == "image/*"
    for field in ("point_no", "point_location", "point_bearing", "point_photo"):
        assert b[f"/data/photo_points/{field}"]["required"] == "true()", field


def test_the_four_benefits_follow_the_programme_wording(survey: etree._Element) -> None:
    assert label(survey, "/data/trees") == "ป่า ๓ อย่าง ประโยชน์ ๔ อย่าง"
    assert choices(survey, "benefit") == ["food", "use", "shelter", "ecology"]
