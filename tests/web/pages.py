"""Helpers of the web page tests: stand-ins for nav pages not merged yet, the CSRF token of a page, signing in."""

from __future__ import annotations

import re

from flask import Flask, render_template_string
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

#: Pages base.html links to that other modules provide; until they are merged, a plain page stands in for them.
NAV_ENDPOINTS = {
    "web.map_page": "/map",
    "web.submission_list": "/submissions",
    "web.downloads": "/downloads",
    "web.audit_trail": "/audit",
}
_PLACEHOLDER = '{% extends "base.html" %}{% block main %}<p>placeholder</p>{% endblock %}'


def add_missing_nav_endpoints(app: Flask) -> Flask:
    """Give ``app`` a stand-in page for each nav link whose module is not there yet, so base.html renders."""
    for endpoint, path in NAV_ENDPOINTS.items():
        if endpoint not in app.view_functions:
            app.add_url_rule(path, endpoint, lambda: render_template_string(_PLACEHOLDER))
    return app


def csrf_token(html: str) -> str:
    """The CSRF token a page carries (its ``<meta name="csrf-token">``, as in every page of base.html)."""
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str, next_path: str = "") -> TestResponse:
    """Send the sign-in form as a browser does: GET the page, POST with its token. The POST's response."""
    token = csrf_token(client.get("/signin").get_data(as_text=True))
    return client.post(
        "/signin", data={"username": username, "password": password, "csrf_token": token, "next": next_path}
    )
