"""Web sign-in: sessions, CSRF, lockout and sign-out (server/web.py, server/web_session.py)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from khoknongna.accounts import create_user, set_password
from khoknongna.settings import Settings
from tests.web.support import page_token, sign_in


@pytest.fixture
def district_user(db: Engine, settings: Settings) -> tuple[str, str]:
    with db.begin() as conn:
        create_user(conn, "somchai", "district-pass", "district", settings.realm, "4001")
    return "somchai", "district-pass"


def test_signing_in_opens_a_session_that_reaches_the_pages(client: FlaskClient, district_user) -> None:
    response = sign_in(client, *district_user)

    assert response.status_code == 302
    assert "HttpOnly" in response.headers["Set-Cookie"] and "SameSite=Lax" in response.headers["Set-Cookie"]
    assert client.get("/downloads").status_code == 200


def test_pages_send_a_signed_out_visitor_to_the_sign_in_page(client: FlaskClient) -> None:
    response = client.get("/downloads")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=")


def test_a_sign_in_without_the_csrf_token_is_refused(client: FlaskClient, district_user) -> None:
    response = client.post("/signin", data={"username": district_user[0], "password": district_user[1]})

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/downloads").status_code == 302


def test_a_wrong_password_is_a_401_page_with_a_clear_message(client: FlaskClient, district_user) -> None:
    response = sign_in(client, district_user[0], "wrong")

    assert response.status_code == 401
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in response.get_data(as_text=True)


def test_repeated_wrong_passwords_lock_the_name_even_for_the_right_password(
    app: Flask, client: FlaskClient, district_user
) -> None:
    for _ in range(app.extensions["knn"].settings.lockout_failures):
        sign_in(client, district_user[0], "wrong")

    response = sign_in(client, *district_user)

    assert response.status_code == 429
    assert "locked until" in response.get_data(as_text=True)


def test_a_collector_account_cannot_sign_in_to_the_web_pages(
    client: FlaskClient, db: Engine, settings: Settings
) -> None:
    with db.begin() as conn:
        create_user(conn, "nopparat", "field-pass", "collector", settings.realm)

    response = sign_in(client, "nopparat", "field-pass")

    assert response.status_code == 403
    assert client.get("/downloads").status_code == 302


def test_signing_in_never_redirects_to_another_site(client: FlaskClient, district_user) -> None:
    response = sign_in(client, *district_user, next="//evil.example.org/x")

    assert response.headers["Location"] == "/home"


def test_signing_out_ends_the_session(client: FlaskClient, district_user) -> None:
    sign_in(client, *district_user)

    response = client.post("/signout", data={"csrf_token": page_token(client, "/downloads")})

    assert response.status_code == 302
    assert client.get("/downloads").status_code == 302


def test_a_new_password_ends_the_sessions_of_the_old_one(
    client: FlaskClient, district_user, db: Engine, settings: Settings
) -> None:
    sign_in(client, *district_user)

    with db.begin() as conn:
        set_password(conn, district_user[0], "a-new-password", settings.realm)

    assert client.get("/downloads").status_code == 302
