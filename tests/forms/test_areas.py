"""The address lists of the form pack (``forms_xlsform/areas.py``): every official province, district and
sub-district from ``geothai``, each under its parent's code, as CSV attachments Collect can read.

Source: DOMAIN.md (administrative units, official codes); geothai's DOPA codes.
"""

from __future__ import annotations

import csv
import io

import geothai
import pytest

from khoknongna.forms_xlsform import bundled_media
from khoknongna.forms_xlsform.areas import area_csvs


def table(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(area_csvs()[name].decode("utf-8"))))


@pytest.fixture(scope="module")
def districts() -> list[geothai.District]:
    return [d for p in geothai.provinces() for d in geothai.districts(p.code)]


def test_the_area_lists_are_three_csv_files() -> None:
    assert sorted(area_csvs()) == ["amphoes.csv", "provinces.csv", "tambons.csv"]


def test_bundled_media_offers_the_area_lists() -> None:
    assert bundled_media() == area_csvs()


def test_every_geothai_province_is_listed_with_its_thai_and_english_name() -> None:
    rows = table("provinces.csv")

    assert [(r["name"], r["label"], r["label_en"]) for r in rows] == [
        (p.code, p.name_th, p.name_en) for p in geothai.provinces()
    ]
    assert len(rows) == 77


def test_every_geothai_district_is_listed_under_its_province(districts: list[geothai.District]) -> None:
    rows = table("amphoes.csv")

    assert [(r["name"], r["label"], r["province"]) for r in rows] == [
        (d.code, d.name_th, d.province_code) for d in districts
    ]
    provinces = {r["name"] for r in table("provinces.csv")}
    assert all(r["province"] in provinces and r["name"][:2] == r["province"] for r in rows)


def test_every_geothai_sub_district_is_listed_under_its_district(districts: list[geothai.District]) -> None:
    rows = table("tambons.csv")

    expected = [
        (s.code, s.name_th, s.district_code, s.province_code) for d in districts for s in geothai.subdistricts(d.code)
    ]
    assert [(r["name"], r["label"], r["amphoe"], r["province"]) for r in rows] == expected
    amphoes = {r["name"] for r in table("amphoes.csv")}
    assert all(r["amphoe"] in amphoes and r["name"][:4] == r["amphoe"] for r in rows)


def test_codes_have_two_four_and_six_digits_and_are_unique() -> None:
    for name, digits in (("provinces.csv", 2), ("amphoes.csv", 4), ("tambons.csv", 6)):
        codes = [r["name"] for r in table(name)]
        assert all(c.isascii() and c.isdigit() and len(c) == digits for c in codes), name
        assert len(set(codes)) == len(codes), name


def test_a_known_sub_district_has_its_official_code_and_parents() -> None:
    sila = next(r for r in table("tambons.csv") if r["name"] == "400114")

    assert (sila["label"], sila["amphoe"], sila["province"]) == ("ศิลา", "4001", "40")


def test_the_csv_bytes_are_utf8_without_bom_and_the_same_on_every_call() -> None:
    first, second = area_csvs(), area_csvs()

    assert first == second
    for content in first.values():
        assert not content.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" not in content
        content.decode("utf-8")
