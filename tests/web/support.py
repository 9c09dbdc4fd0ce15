"""Signing a Flask test client in to the web pages as a person does: the form, with its CSRF token."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/signin") -> str:
    """The CSRF token of the form on the page at ``path`` (bound to the client's session)."""
    page = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str, **extra: str) -> TestResponse:
    """POST the sign-in form with its token; the response (a redirect when it worked)."""
    data = {"username": username, "password": password, "csrf_token": csrf_token(client), **extra}
    return client.post("/signin", data=data)
