"""Reviewing in a real browser: a district supervisor signs in, filters the list to their district, opens a
flagged submission and its plot, sets hasIssues with a reason and sees the audit entry on the page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.web import conftest as web_fixtures
from tests.web.conftest import MUEANG, World

world = web_fixtures.world  # plots and reports in two districts, sent through the OpenRosa routes


def test_a_district_supervisor_sets_has_issues_on_a_flagged_submission_and_sees_the_audit_entry(
    page: Page, web_user, world: World
) -> None:
    name, password = web_user("somchai", "district", MUEANG)
    sign_in(page, name, password)
    page.goto("/submissions")
    screenshot(page, "review-1-list")

    page.get_by_label("พื้นที่").fill(MUEANG)
    page.get_by_role("button", name="กรอง").click()
    expect(page).to_have_url(f"/submissions?form=&month=&area={MUEANG}&review_state=&flag=&submitter=")
    expect(page.locator("table.submissions tbody tr")).to_have_count(2)
    screenshot(page, "review-2-filtered")

    flagged = page.locator(f'tr[data-id="{world.flagged}"]')
    expect(flagged.locator("td.flags")).to_have_text("2")
    flagged.locator('a[href^="/plots/"]').click()
    expect(page).to_have_url(f"/plots/{world.plot_mueang}")
    expect(page.locator('tr.check[data-rule="plot_area"]')).to_be_visible()
    screenshot(page, "review-3-plot")

    page.locator(f'a[href="/submissions/{world.flagged}"]').first.click()
    expect(page.locator('tr.check[data-rule="evidence_location"]')).to_contain_text("outside")
    expect(page.locator("svg.sketch")).to_be_visible()
    screenshot(page, "review-4-submission")

    page.get_by_label("มีปัญหา").check()
    page.get_by_role("button", name="บันทึกสถานะ").click()
    expect(page.get_by_role("alert")).to_contain_text("A reason is required for hasIssues")
    screenshot(page, "review-5-reason-missing")

    page.get_by_label("มีปัญหา").check()
    page.locator('#review textarea[name="reason"]').fill("จุดถ่ายรูปอยู่นอกแปลง 200 เมตร")
    page.get_by_role("button", name="บันทึกสถานะ").click()
    expect(page.locator("p.flash")).to_contain_text("Review state changed from received to hasIssues")
    expect(page.locator("#review-state")).to_contain_text("มีปัญหา")
    history = page.locator("table.history")
    expect(history).to_contain_text("submission.review")
    expect(history).to_contain_text("จุดถ่ายรูปอยู่นอกแปลง 200 เมตร")
    expect(history).to_contain_text("somchai")
    screenshot(page, "review-6-has-issues")

    page.get_by_role("link", name="ประวัติ").click()
    expect(page.locator("table.audit")).to_contain_text("hasIssues")
    screenshot(page, "review-7-audit-trail")
