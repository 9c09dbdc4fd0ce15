"""Account changes made with the ``khoknongna`` command (``user add|password|deactivate|activate``, ``appuser
add|qr|revoke``) go into the audit log as the admin pages' do: the same action, subject, area, before and after,
never a password or token; no actor, since nobody is signed in at the command line, and ``"via": "command line"``.
The audit trail names the command line as who made them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tests.web.support import audit_rows, knn

VIA = {"via": "command line"}


def user_id(db: Engine, username: str) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT id FROM users WHERE username = :u"), {"u": username}).scalar_one()


def test_user_add_on_the_command_line_is_logged_without_the_password(db: Engine, pg_url: str, tmp_path: Path) -> None:
    output = knn(pg_url, tmp_path, "user", "add", "nok", "--role", "district", "--area", "4001")
    password = re.search(r"with password: (\S+)", output)[1]

    (row,) = audit_rows(db, "user.create")

    assert (row.actor_id, row.subject_type, row.subject_id, row.area_code) == (None, "user", user_id(db, "nok"), "4001")
    assert row.before is None
    assert row.after == {"username": "nok", "role": "district", "area_code": "4001", **VIA}
    assert password not in json.dumps(row.after)


def test_a_new_password_on_the_command_line_is_logged_without_it(
    db: Engine, web_user, pg_url: str, tmp_path: Path
) -> None:
    web_user("somchai", "district", "4001")
    output = knn(pg_url, tmp_path, "user", "password", "somchai")
    password = re.search(r"changed to: (\S+)", output)[1]

    (row,) = audit_rows(db, "user.password")

    assert (row.actor_id, row.subject_id, row.area_code) == (None, user_id(db, "somchai"), "4001")
    assert row.before == {"username": "somchai"}
    assert row.after == {"username": "somchai", "new_password": "generated", **VIA}
    assert password not in json.dumps([row.before, row.after])


def test_deactivating_and_activating_on_the_command_line_are_logged(
    db: Engine, web_user, pg_url: str, tmp_path: Path
) -> None:
    web_user("somchai", "district", "4001")
    knn(pg_url, tmp_path, "user", "deactivate", "somchai")
    knn(pg_url, tmp_path, "user", "activate", "somchai")

    rows = audit_rows(db)

    assert [(r.action, r.actor_id, r.subject_id, r.area_code) for r in rows] == [
        ("user.deactivate", None, user_id(db, "somchai"), "4001"),
        ("user.activate", None, user_id(db, "somchai"), "4001"),
    ]
    assert [(r.before, r.after) for r in rows] == [
        ({"username": "somchai", "active": True}, {"username": "somchai", "active": False, **VIA}),
        ({"username": "somchai", "active": False}, {"username": "somchai", "active": True, **VIA}),
    ]


def test_app_user_changes_on_the_command_line_are_logged_without_the_token(
    db: Engine, pg_url: str, tmp_path: Path
) -> None:
    added = knn(pg_url, tmp_path, "appuser", "add", "phone", "--area", "4001")
    reissued = knn(pg_url, tmp_path, "appuser", "qr", "phone")
    knn(pg_url, tmp_path, "appuser", "revoke", "1")
    tokens = [re.search(r"/v1/key/([^/\s]+)/", output)[1] for output in (added, reissued)]

    rows = audit_rows(db)

    assert [r.action for r in rows] == ["app_user.create", "app_user.qr", "app_user.revoke"]
    assert {(r.actor_id, r.subject_type, r.subject_id, r.area_code) for r in rows} == {(None, "app_user", 1, "4001")}
    assert [r.after for r in rows] == [
        {"display_name": "phone", "area_code": "4001", "project_id": 1, **VIA},
        {"display_name": "phone", "new_link": True, **VIA},
        {"display_name": "phone", "revoked": True, **VIA},
    ]
    assert rows[2].before == {"display_name": "phone", "revoked": False}
    logged = json.dumps([[r.before, r.after] for r in rows])
    assert not [token for token in tokens if token in logged]


def test_the_audit_trail_names_the_command_line_as_who_deactivated_a_user(
    admin: FlaskClient, web_user, pg_url: str, tmp_path: Path
) -> None:
    web_user("somchai", "district", "4001")
    knn(pg_url, tmp_path, "user", "deactivate", "somchai")

    html = admin.get("/audit").get_data(as_text=True)
    (row,) = [r for r in html.split("<tr>") if "user.deactivate" in r]

    assert "<td>บรรทัดคำสั่ง <small>command line</small></td>" in row
    assert "ระงับบัญชีผู้ใช้" in row
