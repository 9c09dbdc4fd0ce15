"""The plot register with the real form pack: a plot survey registers a plot in the entity list ``plots``,
every follow-up form receives it as ``plots.csv`` (only on phones of its area), a re-survey updates it, and
the spatial checks run on it."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import Engine

from khoknongna.accounts import create_app_user
from khoknongna.jobs import run_worker
from khoknongna.publishing import publish_bundled_forms
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.plots import AMPHOE, TAMBON, plot_xml

MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
FOLLOW_UP_FORMS = ("socio_change", "activity_report", "daily_log", "potential_assessment", "guru_register")
OTHER_TAMBON = "400101"  # ต.ในเมือง, same amphoe


@pytest.fixture
def form_pack(app: Flask, settings: Settings) -> None:
    services = app.extensions["knn"]
    publish_bundled_forms(services.engine, services.blobs, settings)


@pytest.fixture
def phone(app: Flask, db: Engine):
    def make(area_code: str) -> CollectClient:
        with db.begin() as conn:
            _, token = create_app_user(conn, 1, f"นพต. {area_code}", area_code)
        return CollectClient(app.test_client(), base=f"/v1/key/{token}/projects/1")

    return make


def plots_entry(collect: CollectClient, form_id: str) -> dict[str, str]:
    response = collect.get(f"/forms/{form_id}/manifest")
    assert response.status_code == 200, response.data
    for media in etree.fromstring(response.data).findall(f"{{{MANIFEST_NS}}}mediaFile"):
        fields = {etree.QName(c).localname: c.text or "" for c in media} | dict(media.attrib)
        if fields["filename"] == "plots.csv":
            return fields
    raise AssertionError(f"{form_id} has no plots.csv in its manifest")


def register_rows(collect: CollectClient, form_id: str = "activity_report") -> list[dict[str, str]]:
    response = collect.get(plots_entry(collect, form_id)["downloadUrl"])
    assert response.status_code == 200, response.data
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))


def survey(collect: CollectClient, plot: str, **kwargs) -> None:
    (response,) = collect.submit(plot_xml(f"uuid:{uuid.uuid4()}", plot_id=plot, overview="", **kwargs))
    assert response.status_code == 201, response.data


def test_every_follow_up_form_lists_the_register_and_its_hash_changes_with_a_new_plot(
    form_pack, collect: CollectClient
) -> None:
    before = {form_id: plots_entry(collect, form_id)["hash"] for form_id in FOLLOW_UP_FORMS}

    survey(collect, str(uuid.uuid4()))

    for form_id in FOLLOW_UP_FORMS:
        entry = plots_entry(collect, form_id)
        assert entry["type"] == "entityList", form_id
        assert entry["hash"] != before[form_id], form_id


def test_a_plot_survey_registers_the_plot_with_its_label_codes_and_boundary(form_pack, collect: CollectClient) -> None:
    plot = str(uuid.uuid4())

    survey(collect, plot, owner="นางสมศรี ใจดี")

    (row,) = register_rows(collect)
    assert (row["name"], row["__version"]) == (plot, "1")
    assert row["label"] == "นางสมศรี ใจดี – ม.5 บ้านหนองแวง ต.ศิลา – 1 ไร่"
    assert (row["size_class"], row["model"], row["amphoe"], row["tambon"]) == ("1", "HLM", AMPHOE, TAMBON)
    assert row["geometry"].count(";") == 4, "the boundary ring, for the re-survey and the map"


def test_a_phone_fetching_plots_csv_right_after_its_201_finds_the_plot(form_pack, phone) -> None:
    field_phone, other_phone = phone(TAMBON), phone(TAMBON)
    plot = str(uuid.uuid4())

    survey(field_phone, plot)

    assert [r["name"] for r in register_rows(field_phone)] == [plot]
    assert [r["name"] for r in register_rows(other_phone)] == [plot]


def test_the_register_reaches_phones_of_the_plots_tambon_and_amphoe_only(
    form_pack, collect: CollectClient, phone
) -> None:
    plot = str(uuid.uuid4())
    survey(collect, plot)

    assert [r["name"] for r in register_rows(phone(TAMBON))] == [plot]
    assert [r["name"] for r in register_rows(phone(AMPHOE))] == [plot]
    assert register_rows(phone(OTHER_TAMBON)) == []


def test_a_re_survey_updates_the_registered_plot_and_bumps_its_version(form_pack, collect: CollectClient) -> None:
    plot = str(uuid.uuid4())
    survey(collect, plot, owner="นายสมชาย")

    survey(collect, plot, owner="นายสมชาย มั่นคง", resurvey_of_version=1)

    (row,) = register_rows(collect)
    assert (row["__version"], row["owner_name"]) == ("2", "นายสมชาย มั่นคง")
    assert row["label"].startswith("นายสมชาย มั่นคง – ")


def test_a_registered_plot_is_checked_with_its_parts(
    form_pack, collect: CollectClient, supervise: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    plot = str(uuid.uuid4())
    survey(collect, plot)

    run_worker(settings, db, pg_url, wait=False)

    checks = {c["rule"]: c for c in supervise.get(f"/v1/projects/1/plots/{plot}/checks").json["checks"]}
    assert set(checks) == {"plot_area", "plot_validity", "plot_overlaps", "plot_parts"}
    assert checks["plot_parts"]["numbers"]["parts"] == 2  # the pond and the paddy of the survey
    assert checks["plot_area"]["numbers"]["declared_m2"] == 1600
