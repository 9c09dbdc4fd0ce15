"""The admin pages in a real browser: an admin makes an app user and sees its QR code, makes a supervisor and
sees the password once."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in


def test_an_admin_creates_an_app_user_and_its_qr_code_appears(page: Page, web_user) -> None:
    sign_in(page, *web_user("root", "admin"))
    page.get_by_role("link", name="ผู้ใช้แอป").click()

    page.get_by_label("ชื่อ").fill("นพต. ต.ในเมือง")
    page.get_by_label("รหัสพื้นที่").fill("400101")
    page.get_by_role("button", name="เพิ่มและแสดงคิวอาร์โค้ด").click()

    qr = page.get_by_role("img", name="ODK Collect settings QR code")
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.complete && image.naturalWidth > 100")
    collect_link, web_forms_link = page.locator("code.link").all()
    expect(collect_link).to_contain_text("/v1/key/")
    expect(web_forms_link).to_have_text(re.compile(r"/v1/key/\S+/projects/1/f$"))
    expect(page.get_by_role("img", name="Web forms QR code")).to_be_visible()
    expect(page.get_by_text("ต.ในเมือง อ.เมืองขอนแก่น จ.ขอนแก่น")).to_be_visible()
    screenshot(page, "admin-app-user-qr")

    page.get_by_role("link", name="กลับไปรายชื่อผู้ใช้แอป").click()
    expect(page.get_by_role("cell", name="นพต. ต.ในเมือง")).to_be_visible()
    screenshot(page, "admin-app-users")


def test_an_admin_creates_a_district_supervisor_and_sees_the_password_once(page: Page, web_user) -> None:
    sign_in(page, *web_user("root", "admin"))
    page.goto("/admin/users")

    page.get_by_label("ชื่อผู้ใช้").fill("somchai")
    page.get_by_label("บทบาท Role").select_option("district")
    page.get_by_label("รหัสพื้นที่ Area code").fill("4001")
    page.get_by_role("button", name="เพิ่มผู้ใช้").click()

    expect(page.locator("code.password")).to_have_text(re.compile(r"^[A-Za-z0-9]{16}$"))
    expect(page.get_by_role("row", name="somchai")).to_contain_text("อ.เมืองขอนแก่น จ.ขอนแก่น")
    screenshot(page, "admin-users-created")
