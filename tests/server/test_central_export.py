"""Central's CSV exports (``submissions.csv.zip``, ``submissions.csv``) over real HTTP: the columns and rows
Central's own code writes for the bundled plot survey, the tables and headers it writes for every corpus and
bundled form (``central_csv/headers/``, made by ``central_csv/make_headers.py``), repeats as their own tables,
the submitted files in the zip, the area narrowing, and the columns of a form version stored before its definition
kept the instance's elements, once the start-up has filled them in."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from flask import Flask
from sqlalchemy import Engine

from khoknongna.publishing import fill_definition_nodes
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.instances import build_instance
from tests.server.central_csv.make_headers import HEADERS, form_files
from tests.server.test_central_api import DISTRICT_A, signed_in
from tests.test_corpus import ENCRYPTED, FORMS_DIR, download_form, media_of, publish
from tests.test_publishing import stored_without_nodes

CENTRAL = Path(__file__).parent / "central_csv"
PHOTOS = {
    "1790000000001.jpg": b"\xff\xd8overview",
    "1790000000002.jpg": b"\xff\xd8one",
    "1790000000003.jpg": b"\xff\xd8two",
}


def export(live_server: str, user: tuple[str, str], path: str, **params: str) -> requests.Response:
    answer = signed_in(live_server, user, "GET", f"projects/1/forms/{quote(path)}", params=params)
    assert answer.status_code == 200, answer.text
    return answer


def tables(answer: requests.Response) -> dict[str, list[list[str]]]:
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    return {
        n: list(csv.reader(io.StringIO(archive.read(n).decode())))
        for n in archive.namelist()
        if not n.startswith("media/")
    }


def send_plot_survey(supervise) -> dict:
    """The submission of ``plot_survey.instances.json``, sent as Collect sends it, with its three photos."""
    (given,) = json.loads((CENTRAL / "plot_survey.instances.json").read_text(encoding="utf-8"))
    (response,) = supervise.submit(given["xml"].encode(), PHOTOS)
    assert response.status_code == 201, response.data
    return given


def test_the_plot_survey_export_is_what_central_writes(live_server, supervisor, supervise, plot_survey) -> None:
    send_plot_survey(supervise)
    got = tables(export(live_server, supervisor, "plot_survey/submissions.csv.zip", attachments="false"))
    expected = {
        p.name: list(csv.reader(io.StringIO(p.read_text(encoding="utf-8"))))
        for p in sorted((CENTRAL / "plot_survey").glob("*.csv"))
    }
    assert sorted(got) == sorted(expected)
    got["plot_survey.csv"][1][0] = expected["plot_survey.csv"][1][0]  # SubmissionDate: when it arrived
    for name in expected:
        assert got[name] == expected[name], name


def test_the_export_is_csv_as_central_writes_it(live_server, supervisor, corpus) -> None:
    answer = export(live_server, supervisor, "household/submissions.csv.zip", attachments="false")
    body = zipfile.ZipFile(io.BytesIO(answer.content)).read("household.csv")
    assert answer.headers["Content-Disposition"] == 'attachment; filename="household.csv.zip"'
    assert not body.startswith(b"\xef\xbb\xbf") and b"\r\n" not in body
    assert body.split(b"\n")[0].startswith(b"SubmissionDate,head-name,head-age,when,where-Latitude,")


def test_a_repeat_table_links_each_row_to_its_submission(live_server, supervisor, corpus) -> None:
    member = tables(export(live_server, supervisor, "household/submissions.csv.zip", attachments="false"))[
        "household-member.csv"
    ]
    somchai = corpus["Somchai"]
    assert member[0] == ["member_name", "PARENT_KEY", "KEY"]
    assert ["Nok", somchai, f"{somchai}/member[1]"] in member
    assert ["Lek", somchai, f"{somchai}/member[2]"] in member


def test_the_submitted_files_come_in_the_zip_unless_asked_not_to(
    live_server, supervisor, supervise, plot_survey
) -> None:
    send_plot_survey(supervise)
    with_files = zipfile.ZipFile(io.BytesIO(export(live_server, supervisor, "plot_survey/submissions.csv.zip").content))
    without = zipfile.ZipFile(
        io.BytesIO(export(live_server, supervisor, "plot_survey/submissions.csv.zip", attachments="false").content)
    )
    assert {n: with_files.read(n) for n in with_files.namelist() if n.startswith("media/")} == {
        f"media/{name}": content for name, content in PHOTOS.items()
    }
    assert not [n for n in without.namelist() if n.startswith("media/")]


def test_submissions_csv_is_the_root_table_alone(live_server, supervisor, corpus) -> None:
    answer = export(live_server, supervisor, "household/submissions.csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert answer.headers["Content-Type"].startswith("text/csv")
    central_root = json.loads((HEADERS / "plot_survey.xlsx.json").read_text(encoding="utf-8"))["plot_survey.csv"]
    trailer = central_root[central_root.index("KEY") :]  # what Central writes after every root table's questions
    assert rows[0][-len(trailer) :] == trailer
    assert sorted(r[rows[0].index("KEY")] for r in rows[1:]) == sorted(corpus.values())


def test_group_paths_false_names_questions_alone(live_server, supervisor, corpus) -> None:
    header = export(live_server, supervisor, "household/submissions.csv", groupPaths="false").text.split("\n")[0]
    assert header.startswith("SubmissionDate,name,age,when,")


def test_a_filter_selects_the_rows(live_server, supervisor, corpus) -> None:
    answer = export(live_server, supervisor, "household/submissions.csv", **{"$filter": f"__id eq '{corpus['Malee']}'"})
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert [r[1] for r in rows[1:]] == ["Malee"]


def test_a_district_supervisor_exports_only_their_district(live_server, corpus, web_user) -> None:
    district = web_user("district_a", "district", DISTRICT_A)
    got = tables(export(live_server, district, "household/submissions.csv.zip", attachments="false"))
    assert sorted(r[1] for r in got["household.csv"][1:]) == ["Malee", "Somchai"]
    assert {r[1] for r in got["household-member.csv"][1:]} == {corpus["Somchai"]}


# --- every corpus and bundled form: the tables and headers Central writes -------------------------------------

FORM_NAMES = [name for name, _ in form_files()]
#: The bundled forms, by file name (the others are corpus forms).
BUNDLED = {p.name: p for p in Path(__file__).parents[2].joinpath("forms_xlsform").glob("*.xlsx")}


@pytest.mark.parametrize("name", FORM_NAMES)
def test_the_export_has_the_tables_and_headers_central_writes(
    app: Flask, settings: Settings, live_server, supervisor, collect: CollectClient, name: str
) -> None:
    expected = json.loads((HEADERS / f"{name}.json").read_text(encoding="utf-8"))
    form_file = BUNDLED.get(name, FORMS_DIR / name)
    form_id = publish(app, settings, form_file).xml_form_id
    submitted = name not in ENCRYPTED  # no readable submission can be built for an encrypted form
    if submitted:
        built = build_instance(download_form(collect, form_id), media_of(form_file))
        assert all(r.status_code == 201 for r in collect.submit(built.xml, built.attachments))

    got = tables(export(live_server, supervisor, f"{form_id}/submissions.csv.zip", attachments="false"))
    root = list(csv.reader(io.StringIO(export(live_server, supervisor, f"{form_id}/submissions.csv").text)))

    assert {table: rows[0] for table, rows in got.items()} == expected
    assert root[0] == next(iter(expected.values()))  # the root table comes first
    assert len(root) == 1 + submitted
    for table, rows in got.items():
        assert {len(r) for r in rows} == {len(rows[0])}, table


# --- a form version stored before its definition kept the instance's elements ----------------------------------

#: A corpus form whose ``meta/instanceName`` has no bind: a column in Central, missed by the binds alone.
UNBOUND_NAME = "one-question-entity-update.xml"


def test_a_version_stored_without_nodes_has_central_columns_without_a_bind_after_start_up(
    app: Flask, settings: Settings, db: Engine, live_server, supervisor
) -> None:
    (expected,) = json.loads((HEADERS / f"{UNBOUND_NAME}.json").read_text(encoding="utf-8")).values()
    form_id = publish(app, settings, FORMS_DIR / UNBOUND_NAME).xml_form_id
    stored_without_nodes(db)
    before = export(live_server, supervisor, f"{form_id}/submissions.csv").text.splitlines()[0].split(",")
    services = app.extensions["knn"]

    fill_definition_nodes(services.engine, services.blobs)

    after = export(live_server, supervisor, f"{form_id}/submissions.csv").text.splitlines()[0].split(",")
    assert "meta-instanceName" not in before
    assert after == expected
