"""Signing a Flask test client in to the web pages as a person does: the form, with its CSRF token."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


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
