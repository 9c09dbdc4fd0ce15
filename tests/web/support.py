"""Signing a Flask test client in to the web pages as a person does (the form, with its CSRF token); running the
``khoknongna`` command on the test database; reading the audit log."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, Row, text
from werkzeug.test import TestResponse

from khoknongna.server.cli import main


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found[1]


def page_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the forms on the page at ``path`` (which must answer 200; bound to the session)."""
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return csrf_token(response.get_data(as_text=True))


def sign_in(client: FlaskClient, username: str, password: str, **extra: str) -> TestResponse:
    """POST the sign-in form with its token; the response (a redirect when it worked)."""
    data = {"username": username, "password": password, "csrf_token": page_token(client, "/signin"), **extra}
    return client.post("/signin", data=data)


def knn(pg_url: str, data_dir: Path, *args: str) -> str:
    """``khoknongna ARGS`` on the test database, as an operator runs it on the server; its output (it must work)."""
    result = CliRunner().invoke(
        main, [*args, "--data-dir", str(data_dir)], env={"KNN_DATABASE_URL": pg_url}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def audit_rows(db: Engine, action: str | None = None) -> list[Row]:
    """``(actor_id, action, subject_type, subject_id, area_code, before, after)`` of the audit log (of ``action``
    only, when given), oldest first."""
    query = "SELECT actor_id, action, subject_type, subject_id, area_code, before, after FROM audit_log"
    with db.connect() as conn:
        rows = conn.execute(text(query + " ORDER BY id")).all()
    return [r for r in rows if action is None or r.action == action]
