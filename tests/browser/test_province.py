"""The province page in a real browser: a province supervisor signs in, follows the navigation to the page,
sees one district that submitted on time and one that did not, and downloads the chase list, which names
exactly the plots still missing."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.web import conftest as web_fixtures
from tests.web import test_province_page as province_fixtures
from tests.web.conftest import Plot

form_pack = web_fixtures.form_pack  # the bundled form pack, published
signed_in = web_fixtures.signed_in
province = province_fixtures.province  # Khon Kaen: 4001 submitted on time, 4002 did not


def test_a_province_supervisor_sees_who_submitted_and_downloads_the_plots_to_chase(
    page: Page, web_user, province: dict[str, Plot], tmp_path: Path
) -> None:
    name, password = web_user("kanya", "province", "40")
    sign_in(page, name, password)
    page.get_by_role("link", name="จังหวัด").click()
    page.get_by_label("เดือน").fill("2026-11")
    page.get_by_role("button", name="แสดง").click()

    expect(page.locator("tr[data-district]")).to_have_count(2)
    expect(page.locator('tr[data-district="4001"] td.submitted')).to_contain_text("ทันกำหนด")
    expect(page.locator('tr[data-district="4002"] td.submitted')).to_contain_text("ยังไม่ส่ง")
    expect(page.locator("#deadline")).to_contain_text("๒๐ พฤศจิกายน ๒๕๖๙")
    screenshot(page, "province-1-districts")

    with page.expect_download() as download:
        page.locator("#chase-xlsx").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "missing-plots-40-2026-11.xlsx"
    rows = list(load_workbook(saved)["แปลงที่ยังไม่รายงาน"].iter_rows(min_row=3, values_only=True))
    uuid_column = 8
    assert sorted(r[uuid_column] for r in rows) == sorted([province["missing"].uuid, province["other_district"].uuid])
