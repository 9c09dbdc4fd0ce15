"""The field developer's daily work log: the day, the plot, the duties of seed 004 in their ranked order, hours,
notes, photos, the location when the log is started, and the plot owner's certification with a signature.

Source: seed 004 (แนวทางการปฏิบัติการของนักพัฒนาพื้นที่ต้นแบบ, items ๑–๕ and ๔.๒ the owner certifies every day).
"""

from __future__ import annotations

import pytest
from lxml import etree

from tests.forms.xforms import NS, ODK, binds, choices, control, xform


@pytest.fixture(scope="module")
def log() -> etree._Element:
    return xform("daily_log")


def test_the_duties_are_the_seed_004_list_in_its_ranked_order(log: etree._Element) -> None:
    assert choices(log, "duty") == [
        "improve_plot",
        "natural_farming",
        "learning_centre",
        "teach_base",
        "socio_survey",
        "coordinate",
        "social_media",
        "hlm_aomue",
        "hlm_support",
        "publicity",
        "reporting",
        "other",
    ]
    assert control(log, "/data/duties").tag.endswith("}select")


def test_the_log_asks_date_hours_and_details(log: etree._Element) -> None:
    b = binds(log)

    assert (b["/data/work_date"]["type"], b["/data/work_date"]["required"]) == ("date", "true()")
    assert b["/data/hours"]["type"] == "decimal"
    assert "24" in b["/data/hours"]["constraint"]
    assert b["/data/work_details"]["required"] == "true()"
    assert log.find(".//h:body//x:repeat[@nodeset='/data/photos']", NS) is not None


def test_the_location_is_recorded_when_the_log_is_started(log: etree._Element) -> None:
    action = log.find(f"h:head/x:model/{{{ODK}}}setgeopoint", NS)

    assert binds(log)["/data/start_location"]["type"] == "geopoint"
    assert action.get("ref") == "/data/start_location"
    assert action.get("event") == "odk-instance-first-load"


def test_the_plot_owner_certifies_the_day_with_name_and_signature(log: etree._Element) -> None:
    b = binds(log)

    assert b["/data/certification/owner_name"]["required"] == "true()"
    assert b["/data/certification/owner_signature"]["required"] == "true()"
    assert control(log, "/data/certification/owner_signature").get("appearance") == "signature"
