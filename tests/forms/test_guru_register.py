"""The guru register (ทะเบียนปราชญ์ชุมชน/ครูพาทำ): the person, expertise, an optional linked plot, contact and
address on the same coded area lists as the plot survey, and a location.

Source: seed 003 ข้อ ๒ (จัดทำทะเบียนปราชญ์ชุมชน/ครูพาทำ, networked by district and province).
"""

from __future__ import annotations

import pytest
from lxml import etree

from tests.forms.xforms import NS, binds, choices, select_from_file, xform


@pytest.fixture(scope="module")
def register() -> etree._Element:
    return xform("guru_register")


def test_the_register_carries_the_seed_title(register: etree._Element) -> None:
    assert register.findtext("h:head/h:title", namespaces=NS).startswith("ทะเบียนปราชญ์ชุมชน/ครูพาทำ")
    assert choices(register, "guru_type") == ["sage", "guru"]


def test_the_register_asks_person_expertise_contact_and_location(register: etree._Element) -> None:
    b = binds(register)

    for field in ("guru_name", "expertise", "contact/phone", "location", "consent"):
        assert b[f"/data/{field}"]["required"] == "true()", field
    assert b["/data/location"]["type"] == "geopoint"
    assert "regex" in b["/data/contact/phone"]["constraint"]


def test_the_address_uses_the_same_coded_area_lists_as_the_plot_survey(register: etree._Element) -> None:
    for level, file in (("province", "provinces.csv"), ("amphoe", "amphoes.csv"), ("tambon", "tambons.csv")):
        assert select_from_file(register, f"/data/contact/{level}") == file


def test_the_linked_plot_is_optional(register: etree._Element) -> None:
    assert "required" not in binds(register)["/data/plot"]
