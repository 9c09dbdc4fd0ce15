"""The map in a real browser: MapLibre GL JS from node_modules draws the plots of the user's area from the
app's vector tiles, coloured by their check status; a click on a plot opens a sheet with its summary and a
link to its page."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from tests.browser.conftest import plot_centre, screenshot, sign_in
from tests.collect import CollectClient
from tests.web.map_data import flag_plot, two_districts

RENDERED_PLOTS = """() => {
  const map = window.knnMap;
  return map.queryRenderedFeatures({ layers: ["plot-fill"] }).map((f) => [f.properties.uuid, f.properties.status]);
}"""


def wait_for_map(page: Page) -> None:
    page.wait_for_function("() => window.knnMap && window.knnMap.loaded() && window.knnMap.areTilesLoaded()")


def test_a_district_supervisor_sees_the_plots_of_their_district_coloured_by_check_status(
    page: Page, web_user, app, plot_survey, collect: CollectClient, db: Engine
) -> None:
    mueang, _ = two_districts(app, collect, db)
    flag_plot(db, mueang.plot_uuid)
    name, password = web_user("somchai", "district", "4001")

    sign_in(page, name, password)
    expect(page).to_have_url("/map")
    wait_for_map(page)

    rendered = dict(page.evaluate(RENDERED_PLOTS))
    assert rendered == {mueang.plot_uuid: "problems"}
    screenshot(page, "map-district-plots")


def test_the_map_shows_every_district_to_the_department_and_a_click_opens_the_plots_summary_and_page(
    page: Page, web_user, app, plot_survey, collect: CollectClient, db: Engine
) -> None:
    mueang, ban_fang = two_districts(app, collect, db)
    name, password = web_user("malee", "department")

    sign_in(page, name, password)
    wait_for_map(page)
    assert {uuid for uuid, _ in page.evaluate(RENDERED_PLOTS)} == {mueang.plot_uuid, ban_fang.plot_uuid}
    screenshot(page, "map-department-plots")

    centre = plot_centre(page, ban_fang.plot_uuid)
    page.mouse.click(*centre)
    sheet = page.locator("#map-sheet")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("สถานะการตรวจแปลง")
    screenshot(page, "map-plot-sheet")
    sheet.get_by_role("link", name="ดูรายละเอียดแปลง").click()
    expect(page).to_have_url(f"/plots/{ban_fang.plot_uuid}")


def test_a_filter_zooms_the_map_to_the_plots_it_keeps(
    page: Page, web_user, app, plot_survey, collect: CollectClient, db: Engine
) -> None:
    _, ban_fang = two_districts(app, collect, db)
    flag_plot(db, ban_fang.plot_uuid)
    name, password = web_user("malee", "department")

    sign_in(page, name, password)
    page.goto("/map")
    page.get_by_label("ผลการตรวจที่พบปัญหา").select_option("any")
    page.get_by_role("button", name="กรอง").click()
    expect(page).to_have_url("/map?form=&month=&area=&review_state=&flag=any&submitter=")
    wait_for_map(page)

    assert [uuid for uuid, _ in page.evaluate(RENDERED_PLOTS)] == [ban_fang.plot_uuid]
    expect(page.get_by_role("link", name="ดูเป็นรายการ")).to_have_attribute("href", "/submissions?flag=any")
    screenshot(page, "map-flagged-plots")
