"""Fixtures of the web pages: the real form pack with plots in two districts (``two_districts``), and for the
review pages: bilingual forms, plots in two districts of Khon Kaen with reports about them,
sent through the OpenRosa routes and checked by the worker, and web users signed in through the sign-in form.

District 4001 (เมืองขอนแก่น) has a plot in tambon 400101 with a report that lies outside it and has a GPS
accuracy of 0 (so it is flagged twice) and a photo; district 4002 (บ้านฝาง) has a plot in tambon 400201 with a
report inside it. One more report names no plot and has no area.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from khoknongna.accounts import create_user
from khoknongna.jobs import run_worker
from khoknongna.publishing import publish_bundled_forms, publish_form
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.photos import FIRST_VIEW, frame, jpeg, scene
from tests.plots import plot_xml
from tests.small_forms import MINI_ACTIVITY_REPORT, MINI_PLOT_SURVEY
from tests.test_plot_checks import point, square
from tests.web.support import csrf_token, page_token, sign_in

MUEANG, BAN_FANG = "4001", "4002"
MY_TAMBON, OTHER_TAMBON = "400114", "400201"  # ต.ศิลา อ.เมืองขอนแก่น (4001); ต.หนองบัว อ.บ้านฝาง (4002)
__all__ = ["csrf_token", "page_token"]  # used by the tests from here


@dataclass
class World:
    """What the fixture made: plot UUIDs and submission ids by district, and the photo sent."""

    plot_mueang: str
    plot_ban_fang: str
    flagged: int  # report in 4001, outside its plot, accuracy 0, one photo
    inside: int  # report in 4002, inside its plot
    no_area: int  # report naming no plot
    photo: bytes


def register(collect: CollectClient, plot: str, tambon: str, east_m: float) -> None:
    """Register a 40 m x 40 m plot of 1 rai in ``tambon`` through the OpenRosa routes."""
    xml = (
        f'<data id="mini_plot_survey" version="1"><owner>นายสมชาย {tambon}</owner><size_class>1</size_class>'
        f"<tambon>{tambon}</tambon><boundary>{square(east_m, 0, 40)}</boundary>"
        f"<parts><part_type>pond</part_type><part_shape>{square(east_m + 5, 5, 10)}</part_shape></parts>"
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID>"
        f'<entity dataset="plots" create="1" id="{plot}"><label>นายสมชาย {tambon}</label></entity></meta></data>'
    ).encode()
    collect.send(xml)


def report(collect: CollectClient, plot: str | None, where: str, photos: dict[str, bytes] | None = None) -> str:
    """Send an activity report about ``plot``; its instanceID."""
    instance_id = f"uuid:{uuid.uuid4()}"
    repeats = "".join(f"<photos><photo>{name}</photo></photos>" for name in photos or {})
    xml = (
        f'<data id="activity_report" version="1"><plot>{plot or ""}</plot><where>{where}</where>{repeats}'
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()
    collect.send(xml, photos)
    return instance_id


def work(settings: Settings, db: Engine, pg_url: str) -> None:
    """Run the worker until its queue is empty, in a thread of its own: the browser tests' Playwright keeps an
    event loop running in the main thread, and the worker starts its own."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            run_worker(settings, db, pg_url, wait=False)
        except BaseException as error:  # handed to the test below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


@pytest.fixture
def world(app: Flask, settings: Settings, db: Engine, pg_url: str, supervise: CollectClient) -> World:
    """Plots and reports in two districts, sent as Collect sends them, then checked and audited by the worker."""
    services = app.extensions["knn"]
    for name, data in (("mini_plot_survey.xlsx", MINI_PLOT_SURVEY), ("activity_report.xlsx", MINI_ACTIVITY_REPORT)):
        publish_form(services.engine, services.blobs, settings, name, data)
    mueang, ban_fang = str(uuid.uuid4()), str(uuid.uuid4())
    register(supervise, mueang, "400101", 0)
    register(supervise, ban_fang, "400201", 500)
    photo = jpeg(frame(scene(1), FIRST_VIEW))
    flagged = report(supervise, mueang, point(200, 200, accuracy=0), {"activity.jpg": photo})
    inside = report(supervise, ban_fang, point(520, 20))
    no_area = report(supervise, None, point(1000, 1000))
    work(settings, db, pg_url)
    with db.connect() as conn:
        ids = dict(conn.execute(text("SELECT instance_id, id FROM submissions")).all())
    return World(mueang, ban_fang, ids[flagged], ids[inside], ids[no_area], photo)


@pytest.fixture
def signed_in(app: Flask, db: Engine, settings: Settings) -> Callable[..., FlaskClient]:
    """``signed_in(name, role, area_code=None)``: a new web user, and a client signed in as them."""

    def make(name: str, role: str, area_code: str | None = None) -> FlaskClient:
        password = f"{name}-pass-2026"
        with db.begin() as conn:
            create_user(conn, name, password, role, settings.realm, area_code)
        client = app.test_client()
        response = sign_in(client, name, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


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
    """A plot registered in ``tambon`` by the real plot survey of the pack."""
    plot, instance_id = str(uuid.uuid4()), f"uuid:{uuid.uuid4()}"
    (response,) = collect.submit(plot_xml(instance_id, plot_id=plot, overview="", tambon=tambon))
    assert response.status_code == 201, response.data
    return Plot(plot, instance_id)


@pytest.fixture
def two_districts(form_pack, supervise: CollectClient) -> dict[str, Plot]:
    """A plot in อ.เมืองขอนแก่น (``mine``, district 4001) and one in อ.บ้านฝาง (``other``, 4002)."""
    return {"mine": register_plot(supervise, MY_TAMBON), "other": register_plot(supervise, OTHER_TAMBON)}


@pytest.fixture
def district(signed_in) -> FlaskClient:
    """The supervisor of district 4001 (``somchai``), signed in."""
    return signed_in("somchai", "district", "4001")


@pytest.fixture
def admin(signed_in) -> FlaskClient:
    """A client signed in as the admin ``root``."""
    return signed_in("root", "admin")
