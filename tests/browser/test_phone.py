"""Every web page on a phone: at 360 x 740 and 390 x 844, in Chromium's mobile mode, no page is wider than the
screen (Chromium would zoom it out), and on ``/map`` the map starts within the first screen.

The pages hold data: the map, a list of 50 submissions, a submission with repeats and a photo, a plot, the
downloads, the audit trail and the admin pages. Screenshots go to ``test-output/screenshots/phone-*.png``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Response

from tests.browser.conftest import SCREENSHOTS, phone_options, plot_centre, screenshot, sign_in, watched_tab
from tests.collect import CollectClient
from tests.test_plot_checks import point
from tests.web import conftest as web_fixtures
from tests.web.conftest import World, report

world = web_fixtures.world  # plots and reports in two districts, sent through the OpenRosa routes
PHONES = [(360, 740), (390, 844)]
LIST_ROWS = 50
#: Where a supervisor stands when the map asks the browser for their location (near the Mueang plot).
HERE = {"latitude": 16.4421, "longitude": 102.8361, "accuracy": 10}
#: The most a first visit to /map may fetch, before compression (the page, the map library, its style, the tiles).
MAP_FIRST_LOAD_BUDGET = 2_000_000


@pytest.fixture(params=PHONES, ids=lambda size: f"{size[0]}x{size[1]}")
def phone(request: pytest.FixtureRequest, browser: Browser, live_server: str) -> Iterator[Page]:
    """A tab of an emulated phone of each size in ``PHONES``, standing at ``HERE``."""
    width, height = request.param
    with watched_tab(browser, live_server, **phone_options({"width": width, "height": height}, HERE)) as tab:
        yield tab


@pytest.fixture
def fifty_waiting(world: World, supervise: CollectClient) -> World:
    """The world and enough reports without a plot that the list of what waits for review fills a page."""
    for n in range(LIST_ROWS - 3):
        report(supervise, None, point(1000 + n, 1000))
    return world


def page_width(page: Page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def pages_of(world: World) -> list[tuple[str, str]]:
    return [
        ("list", "/submissions"),
        ("submission", f"/submissions/{world.flagged}"),
        ("plot", f"/plots/{world.plot_mueang}"),
        ("downloads", "/downloads"),
        ("audit", "/audit"),
        ("admin-users", "/admin/users"),
        ("admin-app-users", "/admin/app-users"),
        ("admin-forms", "/admin/forms"),
        ("not-found", "/no-such-page"),
    ]


def test_no_page_is_wider_than_the_phone(phone: Page, web_user, fifty_waiting: World) -> None:
    width = phone.viewport_size["width"]
    phone.goto("/signin")
    screenshot(phone, f"phone-{width}-signin")
    too_wide = {"/signin": page_width(phone)} if page_width(phone) > width else {}
    sign_in(phone, *web_user("root", "admin"))
    for name, path in pages_of(fifty_waiting):
        phone.goto(path)
        if name == "list":
            assert phone.locator("table.submissions tbody tr").count() == LIST_ROWS
        screenshot(phone, f"phone-{width}-{name}")
        if page_width(phone) > width:
            too_wide[path] = page_width(phone)
    assert too_wide == {}


def test_the_map_fills_the_first_screen_of_a_phone(phone: Page, web_user, fifty_waiting: World) -> None:
    width, height = phone.viewport_size["width"], phone.viewport_size["height"]
    sign_in(phone, *web_user("root", "admin"))
    phone.goto("/map")
    phone.wait_for_function("() => window.knnMap && window.knnMap.loaded()")
    box = phone.locator("#map canvas").bounding_box()
    screenshot(phone, f"phone-{width}-map")
    assert page_width(phone) <= width
    assert box is not None and box["y"] < height / 4, "the map starts near the top of the first screen"
    assert box["height"] > height / 2, "the map takes most of the screen"
    assert box["width"] == width, "the map is as wide as the screen"


def test_filters_and_legend_open_over_the_map_and_a_tapped_plot_shows_its_sheet(
    phone: Page, web_user, world: World
) -> None:
    width = phone.viewport_size["width"]
    sign_in(phone, *web_user("root", "admin"))
    phone.goto("/map")
    phone.wait_for_function("() => window.knnMap && window.knnMap.loaded() && window.knnMap.areTilesLoaded()")
    filters = phone.get_by_label("ผลการตรวจที่พบปัญหา")
    assert not filters.is_visible()

    phone.get_by_role("button", name="ตัวกรองและคำอธิบาย").tap()
    assert filters.is_visible()
    assert phone.get_by_text("ผ่านการตรวจ").first.is_visible()  # the legend
    screenshot(phone, f"phone-{width}-map-panel")
    phone.get_by_role("button", name="ปิด").first.tap()
    assert not filters.is_visible()

    centre = plot_centre(phone, world.plot_mueang)
    phone.touchscreen.tap(*centre)
    sheet = phone.locator("#map-sheet")
    sheet.wait_for(state="visible")
    screenshot(phone, f"phone-{width}-map-sheet")
    assert page_width(phone) <= width
    sheet.get_by_role("link", name="ดูรายละเอียดแปลง").tap()
    phone.wait_for_url(f"**/plots/{world.plot_mueang}")


def test_my_location_centres_the_map_where_the_phone_is(phone: Page, web_user, world: World) -> None:
    sign_in(phone, *web_user("root", "admin"))
    phone.goto("/map")
    phone.wait_for_function("() => window.knnMap && window.knnMap.loaded()")

    phone.get_by_role("button", name="ตำแหน่งของฉัน").tap()

    phone.wait_for_function(
        """([lat, lon]) => { const c = window.knnMap.getCenter();
             return Math.abs(c.lat - lat) < 1e-4 && Math.abs(c.lng - lon) < 1e-4; }""",
        arg=[HERE["latitude"], HERE["longitude"]],
    )


def test_a_first_visit_to_the_map_stays_within_its_byte_budget(phone: Page, web_user, world: World) -> None:
    width = phone.viewport_size["width"]
    sign_in(phone, *web_user("root", "admin"))
    phone.wait_for_url("**/map")
    phone.goto("/submissions")
    cdp = phone.context.new_cdp_session(phone)
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # as on a first visit
    responses: list[Response] = []
    phone.on("response", lambda response: responses.append(response))

    phone.goto("/map")
    phone.wait_for_function("() => window.knnMap && window.knnMap.loaded() && window.knnMap.areTilesLoaded()")
    phone.wait_for_load_state("networkidle")

    # The bodies' sizes (before any compression on the way), from the page itself on (the list's last requests may
    # still come in before it).
    first = next(i for i, r in enumerate(responses) if r.url.endswith("/map"))
    fetched = {r.url.split("/", 3)[3]: len(r.body()) for r in responses[first:] if r.status not in (204, 304)}
    total = sum(fetched.values())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    record = json.dumps({"total_bytes": total, "files": fetched}, indent=1)
    (SCREENSHOTS / f"map-first-load-{width}.json").write_text(record)
    assert any(url.startswith("tiles/plots/") for url in fetched), "the tiles were counted"
    assert total < MAP_FIRST_LOAD_BUDGET


def test_the_lists_filters_fold_behind_a_button_on_a_phone(phone: Page, web_user, world: World) -> None:
    sign_in(phone, *web_user("root", "admin"))
    phone.goto("/submissions")
    area = phone.get_by_label("พื้นที่")
    assert not area.is_visible()
    first_row = phone.locator("table.submissions tbody tr").first.bounding_box()
    assert first_row is not None and first_row["y"] < phone.viewport_size["height"], "the list starts on screen one"

    phone.get_by_role("button", name="ตัวกรอง").tap()
    area.fill("4001")
    phone.get_by_role("button", name="กรอง Filter").tap()

    phone.wait_for_url("**/submissions?*area=4001*")
    assert phone.locator("table.submissions tbody tr").count() == 2  # the plot survey and the report of 4001
