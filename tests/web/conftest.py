"""Fixtures of the web page tests: the app with every nav link resolvable, and browser-like clients signed in
through the sign-in form (the CSRF token read from the page, as a browser sends it)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from khoknongna.accounts import create_user
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from tests.web.pages import add_missing_nav_endpoints, sign_in


@pytest.fixture
def app(settings: Settings, db: Engine) -> Flask:
    return add_missing_nav_endpoints(create_app(settings, engine=db))


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
