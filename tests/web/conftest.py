"""Fixtures of the web page tests: the app with every nav link resolvable, and browser-like clients signed in
through the sign-in form (the CSRF token read from the page, as a browser sends it)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy import Engine

from khoknongna.accounts import create_user
from khoknongna.server.app import create_app
from khoknongna.settings import Settings

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


@pytest.fixture
def app(settings: Settings, db: Engine) -> Flask:
    return add_missing_nav_endpoints(create_app(settings, engine=db))


def csrf_token(html: str) -> str:
    """The CSRF token a page carries (its ``<meta name="csrf-token">``, as in every page of base.html)."""
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str, next_path: str = ""):
    """Send the sign-in form as a browser does: GET the page, POST with its token. The POST's response."""
    token = csrf_token(client.get("/signin").get_data(as_text=True))
    return client.post(
        "/signin", data={"username": username, "password": password, "csrf_token": token, "next": next_path}
    )


@pytest.fixture
def web_user(db: Engine, settings: Settings) -> Callable[..., tuple[str, str]]:
    """Make a web user: ``web_user(name, role, area_code=None)`` -> (name, password)."""

    def make(name: str, role: str, area_code: str | None = None) -> tuple[str, str]:
        password = f"{name}-pass-2026"
        with db.begin() as conn:
            create_user(conn, name, password, role, settings.realm, area_code)
        return name, password

    return make


@pytest.fixture
def signed_in(app: Flask, web_user) -> Callable[..., FlaskClient]:
    """``signed_in(name, role, area_code=None)``: a new client with its own cookies, signed in as a new user."""

    def make(name: str, role: str, area_code: str | None = None) -> FlaskClient:
        client = app.test_client()
        response = sign_in(client, *web_user(name, role, area_code))
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


@pytest.fixture
def admin(signed_in) -> FlaskClient:
    """A client signed in as the admin ``root``."""
    return signed_in("root", "admin")
