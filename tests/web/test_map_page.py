"""The map page: its filter panel keeps the filters, links to the list with them, and loads maplibre-gl from
the project's node_modules (or says how to install it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from khoknongna.accounts import create_user
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from tests.web.support import sign_in


def signed_in_client(app: Flask, db: Engine, settings: Settings, role: str, area: str | None = None) -> FlaskClient:
    with db.begin() as conn:
        create_user(conn, "somchai", "somchai-pass", role, settings.realm, area)
    client = app.test_client()
    assert sign_in(client, "somchai", "somchai-pass").status_code == 302
    return client


def map_config(page: str) -> dict:
    found = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', page, re.S)
    assert found, "no map configuration on the page"
    return json.loads(found.group(1))


def test_the_map_page_keeps_the_filters_and_links_to_the_list_with_them(app, db, settings) -> None:
    client = signed_in_client(app, db, settings, "district", "4001")

    response = client.get("/map?month=2026-11&review_state=hasIssues&area=400114&flag=any")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert 'href="/submissions?month=2026-11&amp;area=400114&amp;review_state=hasIssues&amp;flag=any"' in page
    assert 'value="2026-11"' in page and 'value="400114"' in page
    tiles = map_config(page)["plotTiles"]
    assert tiles == "/tiles/plots/{z}/{x}/{y}.mvt?month=2026-11&area=400114&review_state=hasIssues&flag=any"


def test_the_map_starts_on_thailand_without_plots_and_without_a_base_map(app, db, settings) -> None:
    client = signed_in_client(app, db, settings, "department")

    config = map_config(client.get("/map").get_data(as_text=True))

    assert config["bounds"] == [97.3, 5.6, 105.7, 20.5]
    assert config["basemapUrl"] is None


def test_the_base_map_url_is_a_setting(db, settings) -> None:
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    app = create_app(settings.model_copy(update={"basemap_url": url}), engine=db)
    client = signed_in_client(app, db, settings, "department")

    assert map_config(client.get("/map").get_data(as_text=True))["basemapUrl"] == url


def test_the_map_library_is_served_from_node_modules_as_a_javascript_module(client: FlaskClient, settings) -> None:
    response = client.get("/vendor/maplibre-gl/maplibre-gl.mjs")
    installed = settings.vendor_dir / "maplibre-gl" / "dist" / "maplibre-gl.mjs"

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.data == installed.read_bytes()
    assert client.get("/vendor/maplibre-gl/maplibre-gl.css").mimetype == "text/css"
    assert client.get("/vendor/maplibre-gl/../package.json").status_code == 404


def test_without_the_library_the_page_says_to_run_npm_ci(db, settings, tmp_path: Path) -> None:
    app = create_app(settings.model_copy(update={"vendor_dir": tmp_path / "nothing"}), engine=db)
    client = signed_in_client(app, db, settings, "department")

    page = client.get("/map")
    library = client.get("/vendor/maplibre-gl/maplibre-gl.mjs")

    assert page.status_code == 503 and "npm ci" in page.get_data(as_text=True)
    assert library.status_code == 503 and "npm ci" in library.get_data(as_text=True)
