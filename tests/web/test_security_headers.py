"""Security headers (server/security_headers.py) on every route of the web pages: a Content-Security-Policy
without inline script that forbids framing, X-Frame-Options, Referrer-Policy, nosniff, no caching of pages,
and HSTS over https."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.routing import Rule

from khoknongna.server import app as _app  # noqa: F401 - registers every page module on web.bp
from khoknongna.server import web
from khoknongna.server.app import create_app
from khoknongna.settings import Settings


def web_rules() -> list[Rule]:
    """Every route of the web pages' blueprint, read from a bare app's URL map."""
    bare = Flask(__name__)
    bare.register_blueprint(web.bp)
    return sorted((r for r in bare.url_map.iter_rules() if r.endpoint.startswith("web.")), key=lambda r: r.rule)


def example_path(rule: Rule) -> str:
    """The rule's path with each variable filled in (``1`` for numbers, ``x`` otherwise)."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", lambda m: "1" if m[1] == "int" else "x", rule.rule)


ROUTES = [
    (method, example_path(rule))
    for rule in web_rules()
    for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    if "static" not in rule.endpoint
]
# The map library (a public, versioned file) and the tiles and photos (private, briefly cached per user) choose
# their own caching; every other answer is a page, an error page or a download, never stored.
OWN_CACHING = ("/vendor/", "/tiles/", "/file")


def csp(response) -> dict[str, str]:
    """The directives of the response's Content-Security-Policy, by name."""
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: " ".join(d.split()[1:]) for d in policy.split(";") if d.strip()}


@pytest.fixture
def admin_client(app: Flask, signed_in) -> FlaskClient:
    return signed_in("root", "admin")


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_web_route_sends_the_security_headers(admin_client: FlaskClient, method: str, path: str) -> None:
    response = admin_client.open(path, method=method)

    policy = csp(response)
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if not any(part in path for part in OWN_CACHING):
        assert response.headers["Cache-Control"] == "no-store", response.status_code


@pytest.mark.parametrize("path", ["/signin", "/map", "/submissions", "/admin/users"])
def test_the_pages_have_no_inline_script(admin_client: FlaskClient, path: str) -> None:
    html = admin_client.get(path).get_data(as_text=True)

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert all("src=" in attributes or 'type="application/json"' in attributes for attributes, _ in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"


def test_the_signed_out_sign_in_page_has_the_headers(client: FlaskClient) -> None:
    response = client.get("/signin")

    assert csp(response)["frame-ancestors"] == "'none'"
    assert response.headers["Cache-Control"] == "no-store"


def test_https_requests_get_hsts(client: FlaskClient) -> None:
    assert "max-age=" in client.get("/signin", base_url="https://localhost").headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/signin").headers


def test_hsts_behind_a_trusted_proxy_that_received_https(settings: Settings, db: Engine) -> None:
    proxied = create_app(settings.model_copy(update={"trusted_proxies": 1}), engine=db).test_client()

    response = proxied.get("/signin", headers={"X-Forwarded-Proto": "https"})

    assert "Strict-Transport-Security" in response.headers


def test_forwarded_https_is_not_believed_without_a_trusted_proxy(client: FlaskClient) -> None:
    response = client.get("/signin", headers={"X-Forwarded-Proto": "https"})

    assert "Strict-Transport-Security" not in response.headers


def test_the_base_map_server_is_allowed_for_images_and_fetches(settings: Settings, db: Engine) -> None:
    basemap = "https://tile.example.org/{z}/{x}/{y}.png"
    client = create_app(settings.model_copy(update={"basemap_url": basemap}), engine=db).test_client()

    policy = csp(client.get("/signin"))

    assert "https://tile.example.org" in policy["img-src"].split()
    assert "https://tile.example.org" in policy["connect-src"].split()
