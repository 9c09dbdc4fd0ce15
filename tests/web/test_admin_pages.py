"""The admin pages (users, app users, forms) through the app over HTTP, signed in by the sign-in form, on
real PostGIS: what an admin can do, what everyone else cannot, and what the audit log keeps."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import zlib
from urllib.parse import urlsplit

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Engine, text

from tests.collect import CollectClient
from tests.web.support import audit_rows, csrf_token, sign_in
from tests.xlsforms import xlsform


def _user_id(db: Engine, name: str) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT id FROM users WHERE username = :n"), {"n": name}).scalar_one()


def post(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """POST as the page's form does: with the CSRF token of a page the client has open."""
    token = csrf_token(client.get("/admin/users").get_data(as_text=True))
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def users_named(db: Engine, name: str) -> list:
    with db.connect() as conn:
        return conn.execute(text("SELECT username, role, area_code FROM users WHERE username = :n"), {"n": name}).all()


def shown_password(page: str) -> str:
    found = re.search(r'<code class="password">([^<]+)</code>', page)
    assert found, page
    return html.unescape(found.group(1))


# --- users -------------------------------------------------------------------------------------------------


def test_an_admin_creates_a_district_supervisor_who_signs_in_and_sees_their_area(
    app: Flask, admin: FlaskClient, db: Engine
) -> None:
    created = post(admin, "/admin/users", {"username": "somchai", "role": "district", "area_code": "4001"})

    assert created.status_code == 201
    password = shown_password(created.get_data(as_text=True))
    assert len(password) == 16
    listed = admin.get("/admin/users").get_data(as_text=True)
    assert "somchai" in listed and "อ.เมืองขอนแก่น จ.ขอนแก่น" in listed
    assert password not in listed, "a password is shown once only"

    supervisor = app.test_client()
    assert sign_in(supervisor, "somchai", password).status_code == 302
    home = supervisor.get("/home", follow_redirects=True).get_data(as_text=True)
    assert "somchai · ผู้ตรวจระดับอำเภอ · อ.เมืองขอนแก่น จ.ขอนแก่น" in home


def test_creating_a_user_is_logged_without_the_password(admin: FlaskClient, db: Engine) -> None:
    created = post(admin, "/admin/users", {"username": "malee", "role": "province", "area_code": "40"})
    password = shown_password(created.get_data(as_text=True))

    (row,) = audit_rows(db, "user.create")

    assert row.subject_type == "user" and row.area_code == "40"
    assert row.after == {"username": "malee", "role": "province", "area_code": "40"}
    assert password not in json.dumps(row.after) and "argon2" not in json.dumps(row.after)


def test_a_typed_password_is_used_and_not_shown(app: Flask, admin: FlaskClient) -> None:
    created = post(admin, "/admin/users", {"username": "gis1", "role": "gis", "password": "typed-pass-2026"})

    assert created.status_code == 201
    assert "typed-pass-2026" not in created.get_data(as_text=True)
    assert sign_in(app.test_client(), "gis1", "typed-pass-2026").status_code == 302


@pytest.mark.parametrize(
    ("form", "thai"),
    [
        ({"username": "x", "role": "district"}, "ผู้ตรวจระดับอำเภอต้องมีรหัสอำเภอ 4 หลัก"),
        ({"username": "x", "role": "district", "area_code": "9999"}, "ผู้ตรวจระดับอำเภอต้องมีรหัสอำเภอ 4 หลัก"),
        ({"username": "x", "role": "gis", "area_code": "40"}, "บทบาทนี้เห็นทุกพื้นที่"),
        ({"username": "root", "role": "gis"}, "มีผู้ใช้ชื่อนี้อยู่แล้ว"),
        ({"username": "x", "role": "gis", "password": "short"}, "รหัสผ่านต้องมีอย่างน้อย 8 ตัวอักษร"),
    ],
)
def test_a_user_that_cannot_be_created_is_explained_in_thai_and_english_and_nothing_changes(
    admin: FlaskClient, db: Engine, form: dict, thai: str
) -> None:
    response = post(admin, "/admin/users", form)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert thai in page
    assert re.search(r'role="alert">[^<]+<small>[A-Z][^<]+\.</small>', page), "English beside the Thai"
    assert users_named(db, "x") == []
    assert audit_rows(db) == []


def test_a_new_password_is_shown_once_ends_the_old_one_and_is_logged_without_it(
    app: Flask, admin: FlaskClient, web_user, db: Engine
) -> None:
    name, old = web_user("somsak", "department")
    user_id = _user_id(db, name)

    response = post(admin, f"/admin/users/{user_id}/password")

    assert response.status_code == 200
    new = shown_password(response.get_data(as_text=True))
    assert sign_in(app.test_client(), name, old).status_code == 401
    assert sign_in(app.test_client(), name, new).status_code == 302
    (row,) = audit_rows(db, "user.password")
    assert row.subject_id == user_id
    assert new not in json.dumps([row.before, row.after]) and "argon2" not in json.dumps([row.before, row.after])


def test_changing_a_role_and_area_is_logged_with_before_and_after(admin: FlaskClient, web_user, db: Engine) -> None:
    name, _ = web_user("wichai", "district", "4001")

    response = post(admin, f"/admin/users/{_user_id(db, name)}/role", {"role": "province", "area_code": "40"})

    assert response.status_code == 302
    assert users_named(db, name) == [(name, "province", "40")]
    (row,) = audit_rows(db, "user.role")
    assert row.before == {"username": name, "role": "district", "area_code": "4001"}
    assert row.after == {"username": name, "role": "province", "area_code": "40"}


def test_an_admin_cannot_take_away_their_own_admin_role(admin: FlaskClient, db: Engine) -> None:
    response = post(admin, f"/admin/users/{_user_id(db, 'root')}/role", {"role": "gis"})

    assert response.status_code == 400
    assert "ไม่สามารถเปลี่ยนบทบาทผู้ดูแลระบบของตนเองได้" in response.get_data(as_text=True)
    assert users_named(db, "root") == [("root", "admin", None)]


# --- who may -------------------------------------------------------------------------------------------------

PAGES = ["/admin/users", "/admin/app-users", "/admin/forms"]
POSTS = [
    ("/admin/users", {"username": "intruder", "role": "admin"}),
    ("/admin/users/1/password", {}),
    ("/admin/users/1/role", {"role": "gis"}),
    ("/admin/app-users", {"display_name": "intruder"}),
    ("/admin/app-users/1/qr", {}),
    ("/admin/app-users/1/revoke", {}),
    ("/admin/forms", {}),
]


@pytest.mark.parametrize("role", ["department", "district", "gis"])
def test_every_admin_page_and_post_is_forbidden_to_other_roles(signed_in, db: Engine, role: str) -> None:
    client = signed_in("someone", role, "4001" if role == "district" else None)
    token = csrf_token(client.get("/home", follow_redirects=True).get_data(as_text=True))

    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "หน้านี้สำหรับผู้ดูแลระบบเท่านั้น" in response.get_data(as_text=True)
    for path, data in POSTS:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert users_named(db, "intruder") == []
    assert audit_rows(db) == []


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_out_visitor_is_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/signin"


def test_a_post_without_the_csrf_token_is_refused(admin: FlaskClient, db: Engine) -> None:
    response = admin.post("/admin/users", data={"username": "forged", "role": "admin"})

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert users_named(db, "forged") == []


# --- app users ---------------------------------------------------------------------------------------------


def qr_settings(page: str) -> dict:
    """The Collect settings held by the QR image of a page, read with a QR reader (zxing-cpp)."""
    found = re.search(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert found, page
    image = Image.open(io.BytesIO(base64.b64decode(found.group(1))))
    (code,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return json.loads(zlib.decompress(base64.b64decode(code.text)).decode("utf-8"))


def qr_link(page: str, alt: str) -> str:
    """The text of the QR image of a page whose alt text contains ``alt``, read with a QR reader (zxing-cpp)."""
    found = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="[^"]*' + re.escape(alt), page)
    assert found, page
    image = Image.open(io.BytesIO(base64.b64decode(found.group(1))))
    (code,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return code.text


def form_list(client: FlaskClient, server_url: str):
    return CollectClient(client, base=urlsplit(server_url).path).get("/formList")


def test_an_app_users_qr_code_configures_collect_for_a_link_that_works_until_revoked(
    app: Flask, admin: FlaskClient, plot_survey, db: Engine
) -> None:
    created = post(admin, "/admin/app-users", {"display_name": "นพต. ต.ในเมือง", "area_code": "400101"})

    assert created.status_code == 201
    page = created.get_data(as_text=True)
    settings = qr_settings(page)
    url = settings["general"]["server_url"]
    assert re.fullmatch(r"http://localhost/v1/key/[A-Za-z0-9!$]{64}/projects/1", url)
    assert html.escape(url) in page, "the link is shown beside the QR code"
    assert settings["admin"]["change_server"] is False
    phone = app.test_client()
    listed = form_list(phone, url)
    assert listed.status_code == 200 and "plot_survey" in listed.get_data(as_text=True)

    revoked = post(admin, "/admin/app-users/1/revoke")

    assert revoked.status_code == 302
    assert form_list(phone, url).status_code == 403
    assert "ยกเลิกแล้ว" in admin.get("/admin/app-users").get_data(as_text=True)


def test_an_app_users_web_forms_qr_code_opens_the_list_of_forms_to_fill_in_the_browser(
    app: Flask, admin: FlaskClient, plot_survey
) -> None:
    page = post(admin, "/admin/app-users", {"display_name": "นพต. iPhone", "area_code": "400101"}).get_data(
        as_text=True
    )

    link = qr_link(page, "Web forms QR code")
    assert link == qr_settings(page)["general"]["server_url"] + "/f"
    assert html.escape(link) in page, "the link is shown beside the QR code"
    listed = app.test_client().get(urlsplit(link).path)
    assert listed.status_code == 200
    assert f'href="{urlsplit(link).path}/plot_survey"' in listed.get_data(as_text=True)


def test_showing_the_qr_code_again_issues_a_new_link_and_the_old_one_stops(
    app: Flask, admin: FlaskClient, db: Engine
) -> None:
    first = qr_settings(post(admin, "/admin/app-users", {"display_name": "phone"}).get_data(as_text=True))

    again = post(admin, "/admin/app-users/1/qr")

    assert again.status_code == 200
    assert again.headers["Cache-Control"] == "no-store"
    assert "ลิงก์และคิวอาร์โค้ดที่เคยให้ไว้ก่อนหน้าใช้ไม่ได้แล้ว" in again.get_data(as_text=True)
    second = qr_settings(again.get_data(as_text=True))
    phone = app.test_client()
    assert form_list(phone, first["general"]["server_url"]).status_code == 403
    assert form_list(phone, second["general"]["server_url"]).status_code == 200


def test_app_user_changes_are_logged_without_the_token(admin: FlaskClient, db: Engine) -> None:
    page = post(admin, "/admin/app-users", {"display_name": "phone", "area_code": "4001"}).get_data(as_text=True)
    token = urlsplit(qr_settings(page)["general"]["server_url"]).path.split("/")[3]
    post(admin, "/admin/app-users/1/qr")
    post(admin, "/admin/app-users/1/revoke")

    rows = audit_rows(db)

    assert [r.action for r in rows] == ["app_user.create", "app_user.qr", "app_user.revoke"]
    assert {(r.subject_type, r.subject_id, r.area_code) for r in rows} == {("app_user", 1, "4001")}
    assert rows[0].after == {"display_name": "phone", "area_code": "4001", "project_id": 1}
    assert token not in json.dumps([[r.before, r.after] for r in rows])


def test_an_app_user_with_an_unknown_area_is_explained_and_not_created(admin: FlaskClient, db: Engine) -> None:
    response = post(admin, "/admin/app-users", {"display_name": "phone", "area_code": "999999"})

    assert response.status_code == 400
    assert "ไม่พบรหัสพื้นที่นี้" in response.get_data(as_text=True)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM app_users")).scalar_one() == 0


# --- forms -------------------------------------------------------------------------------------------------


def small_form(version: str, label: str = "ชื่อ") -> bytes:
    return xlsform(
        [("type", "name", "label"), ("text", "name", label)],
        settings=[("form_id", "version", "form_title"), ("house_visit", version, "เยี่ยมบ้าน")],
    )


def upload(client: FlaskClient, name: str, data: bytes):
    return post(client, "/admin/forms", {"form": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_publishing_an_xlsform_upload_makes_it_appear_in_the_form_list(
    admin: FlaskClient, collect: CollectClient, db: Engine
) -> None:
    response = upload(admin, "house_visit.xlsx", small_form("2026110101"))

    assert response.status_code == 302
    page = admin.get("/admin/forms").get_data(as_text=True)
    assert "เผยแพร่ house_visit รุ่น 2026110101 แล้ว" in page
    assert re.search(r"2026110101.*?เยี่ยมบ้าน.*?root.*?house_visit\.xlsx", page, re.S)
    assert "<formID>house_visit</formID>" in collect.get("/formList").get_data(as_text=True)
    (row,) = audit_rows(db, "form.publish")
    assert row.subject_type == "form"
    assert row.after["xml_form_id"] == "house_visit" and row.after["version"] == "2026110101"


def test_a_new_version_is_listed_above_the_old_one(admin: FlaskClient) -> None:
    upload(admin, "house_visit.xlsx", small_form("1"))
    upload(admin, "house_visit.xlsx", small_form("2", "ชื่อ-สกุล"))

    page = admin.get("/admin/forms").get_data(as_text=True)

    assert re.search(r">2 <small>ปัจจุบัน · current</small>.*?>1</td>", page, re.S), page


@pytest.mark.parametrize(
    ("name", "data", "status", "thai"),
    [
        ("broken.xlsx", b"PK\x03\x04 not really a spreadsheet", 422, "ไม่สามารถเผยแพร่แบบฟอร์มได้"),
        ("notes.txt", b"hello", 400, "ไฟล์แบบฟอร์มต้องเป็น XLSForm"),
        (
            "bad.xlsx",
            xlsform([("type", "name", "label"), ("select_one nowhere", "q", "Q")]),
            422,
            "ไม่สามารถเผยแพร่แบบฟอร์มได้",
        ),
    ],
)
def test_a_bad_upload_shows_a_clear_error_and_changes_nothing(
    admin: FlaskClient, db: Engine, name: str, data: bytes, status: int, thai: str
) -> None:
    response = upload(admin, name, data)

    assert response.status_code == status
    assert thai in response.get_data(as_text=True)
    assert "ยังไม่มีแบบฟอร์ม" in response.get_data(as_text=True)
    assert audit_rows(db) == []


def test_a_changed_form_with_the_same_version_is_refused_with_the_reason(admin: FlaskClient, db: Engine) -> None:
    upload(admin, "house_visit.xlsx", small_form("1"))

    response = upload(admin, "house_visit.xlsx", small_form("1", "ชื่อ-สกุล"))

    assert response.status_code == 409
    assert "มีรุ่น &#39;1&#39; ที่เนื้อหาต่างกันอยู่แล้ว" in response.get_data(as_text=True)
    assert [r.action for r in audit_rows(db)] == ["form.publish"]


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(
    admin: FlaskClient, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("khoknongna.server.web_admin.MAX_FORM_UPLOAD_BYTES", 1024 * 1024)

    response = upload(admin, "house_visit.xlsx", small_form("1") + b"\0" * 1024 * 1024)

    assert response.status_code == 413
    assert "ไฟล์ใหญ่เกินไป" in response.get_data(as_text=True)
    assert audit_rows(db) == []
