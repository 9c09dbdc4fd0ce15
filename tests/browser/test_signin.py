"""Signing in to the supervisors' pages in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in


def test_a_wrong_password_shows_an_error_and_keeps_the_user_on_the_sign_in_page(page: Page, web_user) -> None:
    name, _ = web_user("somchai", "district", "4001")

    sign_in(page, name, "not-the-password")

    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    expect(page).to_have_url("/signin")
    screenshot(page, "signin-wrong-password")


def test_a_collector_account_is_told_it_has_no_web_pages(page: Page, web_user) -> None:
    name, password = web_user("nopparat", "collector")

    sign_in(page, name, password)

    expect(page.get_by_role("alert")).to_contain_text("for ODK Collect only")
