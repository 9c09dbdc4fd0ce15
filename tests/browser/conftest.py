"""Browser tests: Debian's chromium, headless, driven by Playwright against the real app served over HTTP.

Playwright's own browser download is never used: chromium comes from ``apt-get install chromium`` (``make
test`` installs it). Screenshots go to ``test-output/screenshots/`` for a reviewer to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/lib/chromium/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not for the whole session: Playwright's sync API keeps an event loop
    running while it is open, and the worker the other tests run (``asyncio.run``) cannot start beside it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: 'make test' installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@contextmanager
def watched_tab(browser: Browser, live_server: str, **options: Any) -> Iterator[Page]:
    """A new browser tab (its own cookies) on the live server, in Thai time, with ``options`` for
    ``Browser.new_context`` (viewport, phone emulation, location); JavaScript errors and anything the
    Content-Security-Policy refused (reported on the console) fail the test when the tab is closed."""
    context = browser.new_context(base_url=live_server, locale="th-TH", timezone_id="Asia/Bangkok", **options)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: refused(message.text) and errors.append(message.text))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def phone_options(viewport: dict[str, int], here: dict[str, float]) -> dict[str, Any]:
    """``watched_tab`` options of a phone: a ``viewport`` of that size (CSS pixels), touch, 2x pixels, standing
    at ``here`` (latitude, longitude, accuracy in metres) and allowed to read it."""
    return {
        "viewport": viewport,
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
        "geolocation": here,
        "permissions": ["geolocation"],
    }


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A desktop-sized ``watched_tab``."""
    with watched_tab(browser, live_server, viewport={"width": 1280, "height": 800}) as tab:
        yield tab


def refused(console_text: str) -> bool:
    """Whether a console message is Chromium reporting something the Content-Security-Policy refused."""
    return "Content Security Policy" in console_text


def sign_in(page: Page, username: str, password: str) -> None:
    """Fill in and send the sign-in form as a person would."""
    page.goto("/signin")
    page.get_by_label("ชื่อผู้ใช้").fill(username)
    page.get_by_label("รหัสผ่าน").fill(password)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-output/screenshots/<name>.png``; its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


PLOT_CENTRE = """(uuid) => {
  const map = window.knnMap;
  const feature = map.queryRenderedFeatures({ layers: ["plot-fill"] }).find((f) => f.properties.uuid === uuid);
  const ring = feature.geometry.coordinates[0];
  const lon = ring.reduce((s, c) => s + c[0], 0) / ring.length;
  const lat = ring.reduce((s, c) => s + c[1], 0) / ring.length;
  const p = map.project([lon, lat]);
  const box = map.getCanvas().getBoundingClientRect();
  return [box.left + p.x, box.top + p.y];
}"""


def plot_centre(page: Page, plot_uuid: str) -> tuple[float, float]:
    """Where the map page draws the middle of plot ``plot_uuid`` (the mean of its outer ring's corners), in page
    pixels (x, y), for a click or a tap; the plot must be on screen."""
    x, y = page.evaluate(PLOT_CENTRE, plot_uuid)
    return x, y
