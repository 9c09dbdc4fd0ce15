"""Hostile forms at publishing: refused with problem 422.1 (Thai and English, as ``khoknongna forms publish``
prints it), nothing published, nothing expanded; and what a form ID that is already taken means.

Forms belong to a project, not to the person who published them: the same formID published again in the
same project, by anyone, is a new version of that form (409.4 when it reuses a version string for other
content); in another project it is another form. Already covered elsewhere and not repeated: a zip bomb
with an honest directory (tests/openrosa/test_xlsform.py), media names with folders (tests/test_publishing.py).
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from khoknongna.accounts import create_user
from khoknongna.problems import Problem
from khoknongna.publishing import Published, publish_form
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.hostile.test_xml import SECRET
from tests.instances import jpeg
from tests.xlsforms import xlsform

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:openpyxl")

FORM_ID = "plot_notes"


def notes_form(version: str, label: str = "Owner's name") -> bytes:
    return xlsform(
        [["type", "name", "label"], ["text", "owner", label]],
        settings=[["form_id", "version", "form_title"], [FORM_ID, version, "Plot notes"]],
    )


def xform(form_id: str) -> bytes:
    return f"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
        xmlns:jr="http://openrosa.org/javarosa"><h:head><h:title>T</h:title><model>
<instance><data id="{form_id}" version="1"><q/><meta><instanceID/></meta></data></instance>
<bind nodeset="/data/q" type="string"/>
<bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/></model></h:head>
<h:body><input ref="/data/q"><label>Q</label></input></h:body></h:html>""".encode()


def publish(
    app: Flask,
    settings: Settings,
    data: bytes,
    name: str = "plot_notes.xlsx",
    media: dict[str, bytes] | None = None,
    **kwargs,
) -> Published:
    services = app.extensions["knn"]
    return publish_form(services.engine, services.blobs, settings, name, data, media, **kwargs)


def refused(app: Flask, settings: Settings, data: bytes, name: str = "plot_notes.xlsx", **kwargs) -> Problem:
    with pytest.raises(Problem) as info:
        publish(app, settings, data, name, **kwargs)
    problem = info.value
    assert problem.message_th and problem.message_en and problem.message_th != problem.message_en
    return problem


def form_rows(db: Engine) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM form_versions")).scalar_one()


def admin(db: Engine, settings: Settings, name: str) -> int:
    with db.begin() as conn:
        return create_user(conn, name, f"pass-of-{name}", "admin", settings.realm).id


# --- not a form -----------------------------------------------------------------------------------------


def test_a_picture_named_xlsx_is_refused_with_422(app: Flask, settings: Settings, db: Engine) -> None:
    problem = refused(app, settings, jpeg(1), "plot_notes.xlsx")

    assert problem.status == 422
    assert "neither an XLSForm" in problem.message_en
    assert form_rows(db) == 0


def test_a_zip_that_is_not_a_workbook_is_refused_with_422(app: Flask, settings: Settings, db: Engine) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")

    assert refused(app, settings, out.getvalue()).status == 422
    assert form_rows(db) == 0


def test_an_xlsx_whose_zip_directory_understates_its_size_is_refused_without_expanding_it(
    app: Flask, settings: Settings, db: Engine
) -> None:
    # 100 MB of zeros declared as 100 bytes, in both the local header and the central directory: the size
    # check passes, so it is zipfile's CRC check, after at most the declared bytes, that must stop it
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("[Content_Types].xml", "w") as member:
        for _ in range(100):
            member.write(bytes(1024 * 1024))
    data = bytearray(out.getvalue())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 100)
    struct.pack_into("<I", data, central + 24, 100)

    tracemalloc.start()
    try:
        problem = refused(app, settings, bytes(data), "innocent.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert problem.status == 422
    assert peak < 20 * 1024 * 1024
    assert form_rows(db) == 0


def test_an_xform_with_an_external_entity_is_refused_and_the_file_not_read(
    app: Flask, settings: Settings, db: Engine, tmp_path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    hostile = (
        xform("f")
        .replace(
            b'<?xml version="1.0"?>',
            f'<?xml version="1.0"?><!DOCTYPE h:html [<!ENTITY x SYSTEM "file://{secret}">]>'.encode(),
        )
        .replace(b"<h:title>T</h:title>", b"<h:title>&x;</h:title>")
    )

    problem = refused(app, settings, hostile, "f.xml")

    assert problem.status == 400
    assert SECRET not in problem.message
    assert form_rows(db) == 0


@pytest.mark.parametrize("form_id", ["a/../b", "../etc", "x.xml", "x.xlsx"])
def test_a_form_id_that_would_break_its_download_url_is_refused_with_422(
    app: Flask, settings: Settings, db: Engine, form_id: str
) -> None:
    problem = refused(app, settings, xform(form_id), "f.xml")

    assert problem.status == 422
    assert "form ID" in problem.message_en
    assert form_rows(db) == 0


@pytest.mark.parametrize("name", ["..", ".", "", "dir/..", "a\x00.png"])
def test_a_media_file_name_that_is_no_file_name_is_refused_with_422(
    app: Flask, settings: Settings, db: Engine, name: str
) -> None:
    problem = refused(app, settings, notes_form("1"), media={name: b"x"})

    assert problem.status == 422
    assert "not a usable file name" in problem.message_en
    assert form_rows(db) == 0


# --- a form ID that is already taken --------------------------------------------------------------------


def test_the_same_form_id_from_another_admin_with_a_new_version_is_a_new_version_of_the_same_form(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    first, second = admin(db, settings, "admin_a"), admin(db, settings, "admin_b")
    publish(app, settings, notes_form("1"), published_by=first)

    published = publish(app, settings, notes_form("2", label="Owner"), published_by=second)

    assert published.created
    with db.connect() as conn:
        versions = conn.execute(
            text(
                "SELECT f.xml_form_id, v.version, v.published_by FROM form_versions v JOIN forms f ON f.id = v.form_id"
            )
        ).all()
    assert sorted(versions) == [(FORM_ID, "1", first), (FORM_ID, "2", second)]
    assert b"<version>2</version>" in collect.get("/formList").data


def test_the_same_form_id_and_version_with_other_content_from_another_admin_is_409_and_the_first_stays(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    first, second = admin(db, settings, "admin_a"), admin(db, settings, "admin_b")
    publish(app, settings, notes_form("1"), published_by=first)
    served = collect.get(f"/forms/{FORM_ID}.xml").data

    problem = refused(app, settings, notes_form("1", label="Someone else's question"), published_by=second)

    assert (problem.status, problem.code) == (409, "409.4")
    assert form_rows(db) == 1
    assert collect.get(f"/forms/{FORM_ID}.xml").data == served


def test_the_same_form_id_in_another_project_is_another_form(
    app: Flask, settings: Settings, db: Engine, collector: tuple[str, str]
) -> None:
    with db.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name) VALUES (2, 'ชัยภูมิ')"))
    publish(app, settings, notes_form("1"))
    publish(app, settings, notes_form("1", label="Other project's question"), project_id=2)

    one = CollectClient(app.test_client(), *collector, base="/v1/projects/1")
    two = CollectClient(app.test_client(), *collector, base="/v1/projects/2")

    assert (
        b"Owner&apos;s name" in one.get(f"/forms/{FORM_ID}.xml").data
        or b"Owner's name" in one.get(f"/forms/{FORM_ID}.xml").data
    )
    assert b"Other project" in two.get(f"/forms/{FORM_ID}.xml").data
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM forms WHERE xml_form_id = :f"), {"f": FORM_ID}).scalar() == 2
