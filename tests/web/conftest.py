"""Fixtures of the web tests: the form pack, plots in two districts, and signed-in clients by role."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from khoknongna.accounts import create_user
from khoknongna.publishing import publish_bundled_forms
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.plots import plot_xml
from tests.web.support import sign_in

MY_TAMBON, OTHER_TAMBON = "400114", "400201"  # ต.ศิลา อ.เมืองขอนแก่น (4001); ต.หนองบัว อ.บ้านฝาง (4002)


@dataclass(frozen=True)
class Plot:
    uuid: str
    survey_instance_id: str


@pytest.fixture
def form_pack(app: Flask, settings: Settings) -> None:
    """The six forms of the Khok Nong Na pack, published."""
    services = app.extensions["knn"]
    publish_bundled_forms(services.engine, services.blobs, settings)


def register_plot(collect: CollectClient, tambon: str) -> Plot:
    """A plot registered in ``tambon`` by a real plot survey."""
    plot, instance_id = str(uuid.uuid4()), f"uuid:{uuid.uuid4()}"
    (response,) = collect.submit(plot_xml(instance_id, plot_id=plot, overview="", tambon=tambon))
    assert response.status_code == 201, response.data
    return Plot(plot, instance_id)


@pytest.fixture
def two_districts(form_pack, supervise: CollectClient) -> dict[str, Plot]:
    """A plot in อ.เมืองขอนแก่น (``mine``, district 4001) and one in อ.บ้านฝาง (``other``, 4002)."""
    return {"mine": register_plot(supervise, MY_TAMBON), "other": register_plot(supervise, OTHER_TAMBON)}


@pytest.fixture
def signed_in(app: Flask, db: Engine, settings: Settings) -> Callable[..., FlaskClient]:
    """``signed_in(role, area_code=None)``: a test client with a web session of a new user of that role."""

    def make(role: str, area_code: str | None = None) -> FlaskClient:
        name = f"{role}-{uuid.uuid4().hex[:6]}"
        with db.begin() as conn:
            create_user(conn, name, "web-pass-2026", role, settings.realm, area_code)
        client = app.test_client()
        assert sign_in(client, name, "web-pass-2026").status_code == 302
        return client

    return make
