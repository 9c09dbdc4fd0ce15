"""Ending web sessions on the server (server/web_session.py): a copy of the session cookie taken before a sign-out,
a new password, a new role or area, or a deactivation opens no page and posts nothing afterwards; deactivated
accounts cannot sign in at all (web, Digest, Basic) until they are made active again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tests.collect import CollectClient
from tests.web.conftest import World
from tests.web.support import knn, page_token, sign_in

PASSWORD = "somchai-pass-2026"  # what the signed_in fixture gives "somchai"


def copy_of_session(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie (as a thief or a shared computer would)."""
    other = app.test_client()
    other.set_cookie("knn_session", client.get_cookie("knn_session").value)
    return other


def user_id(db: Engine, username: str) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT id FROM users WHERE username = :u"), {"u": username}).scalar_one()


def comments(db: Engine) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM submission_comments")).scalar_one()


def sign_out(ctx: dict) -> None:
    ctx["user"].post("/signout", data={"csrf_token": page_token(ctx["user"], "/downloads")})


def admin_new_password(ctx: dict) -> None:
    token = page_token(ctx["admin"], "/admin/users")
    ctx["admin"].post(f"/admin/users/{ctx['id']}/password", data={"csrf_token": token, "password": "another-pass-1"})


def cli_new_password(ctx: dict) -> None:
    knn(ctx["pg_url"], ctx["tmp_path"], "user", "password", "somchai", "--password", "another-pass-1")


def admin_new_role(ctx: dict) -> None:
    token = page_token(ctx["admin"], "/admin/users")
    ctx["admin"].post(f"/admin/users/{ctx['id']}/role", data={"csrf_token": token, "role": "department"})


def admin_new_area(ctx: dict) -> None:
    token = page_token(ctx["admin"], "/admin/users")
    data = {"csrf_token": token, "role": "district", "area_code": "4002"}
    ctx["admin"].post(f"/admin/users/{ctx['id']}/role", data=data)


def admin_deactivation(ctx: dict) -> None:
    token = page_token(ctx["admin"], "/admin/users")
    ctx["admin"].post(f"/admin/users/{ctx['id']}/active", data={"csrf_token": token, "active": "0"})


def cli_deactivation(ctx: dict) -> None:
    knn(ctx["pg_url"], ctx["tmp_path"], "user", "deactivate", "somchai")


ENDINGS: dict[str, Callable[[dict], None]] = {
    "sign-out in another browser": sign_out,
    "new password by an admin": admin_new_password,
    "new password on the command line": cli_new_password,
    "new role": admin_new_role,
    "new area": admin_new_area,
    "deactivation by an admin": admin_deactivation,
    "deactivation on the command line": cli_deactivation,
}


@pytest.fixture
def ctx(app: Flask, signed_in, admin: FlaskClient, db: Engine, pg_url: str, tmp_path: Path) -> dict:
    """A district supervisor ``somchai`` of 4001 signed in (``user``), and an admin signed in (``admin``)."""
    user = signed_in("somchai", "district", "4001")
    return {"user": user, "admin": admin, "id": user_id(db, "somchai"), "pg_url": pg_url, "tmp_path": tmp_path}


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_a_copied_session_cookie_opens_no_page_after(ending, ctx: dict, app: Flask) -> None:
    stolen = copy_of_session(app, ctx["user"])
    assert stolen.get("/downloads").status_code == 200, "the copy works before"

    ending(ctx)
    response = stolen.get("/downloads")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin")
    assert ctx["user"].get("/downloads").status_code == 302, "the browser that held the cookie is signed out too"


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_a_copied_session_cookie_posts_no_comment_after(
    ending, ctx: dict, app: Flask, world: World, db: Engine
) -> None:
    stolen = copy_of_session(app, ctx["user"])
    token = page_token(stolen, f"/submissions/{world.flagged}")

    ending(ctx)
    response = stolen.post(f"/submissions/{world.flagged}/comments", data={"csrf_token": token, "body": "แอบส่ง"})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin")
    assert comments(db) == 0


def test_signing_in_again_after_signing_out_opens_a_new_session(ctx: dict) -> None:
    sign_out(ctx)

    assert sign_in(ctx["user"], "somchai", PASSWORD).status_code == 302
    assert ctx["user"].get("/downloads").status_code == 200


def test_a_deactivated_user_cannot_sign_in_to_the_web_pages(ctx: dict, app: Flask) -> None:
    admin_deactivation(ctx)

    response = sign_in(app.test_client(), "somchai", PASSWORD)

    assert response.status_code == 401


def test_a_deactivated_collector_cannot_send_with_digest(
    app: Flask, collect: CollectClient, pg_url: str, tmp_path: Path
) -> None:
    assert collect.get("/formList").status_code == 200
    app.extensions["knn"].users = type(app.extensions["knn"].users)(ttl_s=0)  # no cached row

    knn(pg_url, tmp_path, "user", "deactivate", collect.username)

    assert collect.get("/formList").status_code == 401


def test_an_activated_user_signs_in_again_with_their_old_password(ctx: dict, app: Flask) -> None:
    admin_deactivation(ctx)
    token = page_token(ctx["admin"], "/admin/users")
    ctx["admin"].post(f"/admin/users/{ctx['id']}/active", data={"csrf_token": token, "active": "1"})

    assert sign_in(app.test_client(), "somchai", PASSWORD).status_code == 302


def test_the_users_page_shows_a_deactivated_user_as_such(ctx: dict) -> None:
    admin_deactivation(ctx)

    html = ctx["admin"].get("/admin/users").get_data(as_text=True)
    row = html.split('data-user="somchai"')[1].split("</tr>")[0]

    assert "deactivated" in row and 'name="active" value="1"' in row


def test_deactivation_is_kept_in_the_audit_log(ctx: dict, db: Engine) -> None:
    admin_deactivation(ctx)

    with db.connect() as conn:
        entry = conn.execute(text("SELECT action, subject_id, before, after FROM audit_log")).one()

    assert entry == (
        "user.deactivate",
        ctx["id"],
        {"username": "somchai", "active": True},
        {"username": "somchai", "active": False},
    )


def test_an_admin_cannot_deactivate_themselves(admin: FlaskClient, db: Engine) -> None:
    token = page_token(admin, "/admin/users")

    response = admin.post(f"/admin/users/{user_id(db, 'root')}/active", data={"csrf_token": token, "active": "0"})

    assert response.status_code == 400
    assert admin.get("/downloads").status_code == 200
