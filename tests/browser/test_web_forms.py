"""Web forms in a real browser at a phone's size: ODK Web Forms from node_modules fills in the daily log through
an app-user link and sends it through the same ingest as Collect; a supervisor edits a plot survey."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, text

from khoknongna.accounts import create_app_user
from khoknongna.publishing import publish_bundled_forms
from khoknongna.settings import Settings
from tests.browser.conftest import _refused, screenshot
from tests.collect import CollectClient
from tests.web.map_data import MUEANG, send_plot

PHONE = {"width": 390, "height": 844}
#: Where the phone stands: the reference plot of tests/plots.py, in Khon Kaen.
HERE = {"latitude": 16.4419, "longitude": 102.8359, "accuracy": 5}


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Page]:
    """A phone-sized tab in Thai time that may read the location (at ``HERE``); JavaScript errors and anything the
    Content-Security-Policy refused fail the test."""
    context = browser.new_context(
        base_url=live_server,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        geolocation=HERE,
        permissions=["geolocation"],
    )
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: _refused(message.text) and errors.append(message.text))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def forms(app: Flask, settings: Settings) -> None:
    services = app.extensions["knn"]
    publish_bundled_forms(services.engine, services.blobs, settings, progress=lambda _: None)


@pytest.fixture
def app_user_token(db: Engine) -> str:
    with db.begin() as conn:
        _, token = create_app_user(conn, 1, "นพต. สมหญิง", "4001")
    return token


def test_smoke(phone: Page, forms, app_user_token: str, supervise: CollectClient, db: Engine) -> None:
    send_plot(supervise, db, MUEANG)
    phone.goto(f"/v1/key/{app_user_token}/projects/1/f/daily_log")
    phone.wait_for_selector(".form-initialization-status.ready, .form-initialization-status.error", state="attached", timeout=30000)
    screenshot(phone, "webform-smoke")
    print(phone.content()[:3000])
