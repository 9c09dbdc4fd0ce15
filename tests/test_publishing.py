"""Publishing forms: versions, rejected forms, form media, the bundled form pack, XForms as they are.

Forms are small XLSForms written with openpyxl in memory (or XForms as bytes) and published with
``publish_form`` into the app's database and blob store; what ODK Collect would then see is read through the
Collect-like client (``/formList``, the manifest, the downloads).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert
from sqlalchemy import Engine, text

from khoknongna import publishing
from khoknongna.forms_xlsform import bundled_forms, bundled_media
from khoknongna.problems import Problem
from khoknongna.publishing import Published, fill_definition_nodes, publish_bundled_forms, publish_form
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.sql import rows, scalar
from tests.xlsforms import xlsform

XFORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"

FORM_ID = "plot_notes"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:openpyxl")


# --- helpers ------------------------------------------------------------------------------------------------


def notes_form(version: str = "1", *, label: str = "Owner's name", images: Sequence[str] = ()) -> bytes:
    """The form ``plot_notes`` at ``version``: one text question, and one note per label image named."""
    survey: list[list[Any]] = [["type", "name", "label", "media::image"], ["text", "owner", label, None]]
    survey += [["note", f"picture_{i}", f"Picture {i}", name] for i, name in enumerate(images)]
    return xlsform(survey, settings=[["form_id", "version", "form_title"], [FORM_ID, version, "Plot notes"]])


def publish(
    app: Flask, settings: Settings, data: bytes, media: dict[str, bytes] | None = None, *, name: str = "plot_notes.xlsx"
) -> Published:
    services = app.extensions["knn"]
    return publish_form(services.engine, services.blobs, settings, name, data, media)


def form_list(collect: CollectClient) -> dict[str, dict[str, str]]:
    """``formID -> {child: text}`` of ``GET /formList`` as Collect reads it."""
    response = collect.get("/formList")
    assert response.status_code == 200, response.data
    root = etree.fromstring(response.data)
    return {
        fields["formID"]: fields
        for fields in (
            {etree.QName(c).localname: c.text or "" for c in xform}
            for xform in root.findall(f"{{{XFORMS_LIST_NS}}}xform")
        )
    }


def manifest(collect: CollectClient, form_id: str = FORM_ID) -> dict[str, dict[str, str]]:
    """``filename -> {child: text, attribute: value}`` of the form's manifest (empty when the form list gives none)."""
    entry = form_list(collect)[form_id]
    if "manifestUrl" not in entry:
        return {}
    response = collect.get(entry["manifestUrl"])
    assert response.status_code == 200, response.data
    root = etree.fromstring(response.data)
    return {
        fields["filename"]: fields
        for fields in (
            {etree.QName(c).localname: c.text or "" for c in media} | dict(media.attrib)
            for media in root.findall(f"{{{MANIFEST_NS}}}mediaFile")
        )
    }


def download(collect: CollectClient, form_id: str = FORM_ID) -> bytes:
    response = collect.get(form_list(collect)[form_id]["downloadUrl"])
    assert response.status_code == 200, response.data
    return response.data


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def submission(version: str | None, instance_id: str) -> bytes:
    """A finalized instance of ``plot_notes`` naming ``version`` (no attribute when ``None``)."""
    attribute = f' version="{version}"' if version is not None else ""
    return (
        f'<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" id="{FORM_ID}"'
        f"{attribute}><owner>Somchai</owner><meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


def stored_without_nodes(db: Engine) -> None:
    """Every stored definition without its ``nodes``, as servers wrote them before definitions kept them."""
    with db.begin() as conn:
        conn.execute(text("UPDATE form_versions SET definition = definition - 'nodes'"))


def rejected(app: Flask, settings: Settings, data: bytes, name: str = "plot_notes.xlsx") -> Problem:
    with pytest.raises(Problem) as info:
        publish(app, settings, data, name=name)
    return info.value


# --- versions -----------------------------------------------------------------------------------------------


def test_publishing_the_same_xlsform_twice_creates_no_new_version(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    first = publish(app, settings, notes_form("1"))
    again = publish(app, settings, notes_form("1"))

    assert first.created
    assert not again.created
    assert again.form_version_id == first.form_version_id
    assert again.warnings == []
    assert len(rows(db, "SELECT id FROM form_versions")) == 1
    assert form_list(collect)[FORM_ID]["version"] == "1"


def test_a_new_version_in_the_settings_sheet_becomes_the_version_form_list_offers(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    first = publish(app, settings, notes_form("2026112101"))
    second = publish(app, settings, notes_form("2026112102", label="Name of the owner"))

    assert second.created
    assert second.form_version_id != first.form_version_id
    assert second.warnings == []
    assert [r.version for r in rows(db, "SELECT version FROM form_versions ORDER BY id")] == [
        "2026112101",
        "2026112102",
    ]
    entry = form_list(collect)[FORM_ID]
    assert entry["version"] == "2026112102"
    xform = download(collect)
    assert entry["hash"] == f"md5:{md5(xform)}"
    assert b'version="2026112102"' in xform
    assert b"Name of the owner" in xform


def test_a_changed_form_with_the_same_version_is_refused_asking_to_raise_the_version(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    publish(app, settings, notes_form("1", label="Owner's name"))

    problem = rejected(app, settings, notes_form("1", label="Name of the plot owner"))

    assert (problem.code, problem.status) == ("409.4", 409)
    assert "Raise the version" in problem.message_en and "'1'" in problem.message_en
    assert len(rows(db, "SELECT id FROM form_versions")) == 1
    assert b"Owner's name" in download(collect)


def test_republishing_an_older_xform_keeps_the_newer_current_and_says_so(
    app: Flask, settings: Settings, collect: CollectClient
) -> None:
    publish(app, settings, notes_form("1"))
    publish(app, settings, notes_form("2", label="Name of the owner"))

    again = publish(app, settings, notes_form("1"))

    assert not again.created
    assert any("current version stays '2'" in w for w in again.warnings), again.warnings
    assert b"Name of the owner" in download(collect)


def test_a_submission_naming_an_older_version_is_accepted_and_tied_to_that_version(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    old = publish(app, settings, notes_form("1"))
    new = publish(app, settings, notes_form("2", label="Name of the owner"))
    old_id, new_id = f"uuid:{uuid.uuid4()}", f"uuid:{uuid.uuid4()}"

    assert [r.status_code for r in collect.submit(submission("1", old_id))] == [201]
    assert [r.status_code for r in collect.submit(submission("2", new_id))] == [201]

    tied = dict(rows(db, "SELECT instance_id, form_version_id FROM submission_versions"))
    assert tied == {old_id: old.form_version_id, new_id: new.form_version_id}


def test_a_submission_naming_an_unknown_version_is_refused_with_404(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    publish(app, settings, notes_form("1"))

    (response,) = collect.submit(submission("9", f"uuid:{uuid.uuid4()}"))

    assert response.status_code == 404
    assert b"'9'" in response.data
    assert rows(db, "SELECT id FROM submission_versions") == []


def test_a_changed_form_without_a_version_takes_the_submissions_even_on_a_warm_server(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    unversioned = [["form_id", "form_title"], [FORM_ID, "Plot notes"]]
    publish(app, settings, xlsform([["type", "name", "label"], ["text", "owner", "Owner"]], settings=unversioned))
    assert [r.status_code for r in collect.submit(submission(None, f"uuid:{uuid.uuid4()}"))] == [201]
    with_gate = xlsform(
        [["type", "name", "label"], ["text", "owner", "Owner's name"], ["geopoint", "gate", "Plot entrance"]],
        settings=unversioned,
    )
    changed = publish(app, settings, with_gate)
    instance_id = f"uuid:{uuid.uuid4()}"
    xml = (
        f'<data id="{FORM_ID}"><owner>Somchai</owner><gate>16.43 102.83 160 5</gate>'
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()

    assert [r.status_code for r in collect.submit(xml)] == [201]

    assert any("no version" in w for w in changed.warnings), changed.warnings
    (row,) = rows(db, "SELECT form_version_id FROM submission_versions WHERE instance_id = :i", i=instance_id)
    assert row.form_version_id == changed.form_version_id
    assert [tuple(r) for r in rows(db, "SELECT field_path, problem FROM submission_geometries")] == [("gate", None)]


# --- rejected forms -----------------------------------------------------------------------------------------


def test_a_form_pyxform_rejects_raises_422_1_with_pyxforms_message_and_publishes_nothing(
    app: Flask, settings: Settings, db: Engine, tmp_path: Path
) -> None:
    data = xlsform([["type", "name", "label"], ["not_a_type", "q", "Question"]])
    source = tmp_path / "broken.xlsx"
    source.write_bytes(data)
    with pytest.raises(PyXFormError) as pyxform_error:
        convert(str(source), validate=False)
    pyxform_text = str(pyxform_error.value).strip()
    assert "not_a_type" in pyxform_text

    problem = rejected(app, settings, data, "broken.xlsx")

    assert problem.code == "422.1"
    assert problem.status == 422
    assert pyxform_text in problem.message_en
    assert rows(db, "SELECT id FROM forms") == []
    assert rows(db, "SELECT id FROM form_versions") == []


def test_a_form_odk_validate_rejects_raises_422_1_with_validates_message_and_publishes_nothing(
    app: Flask, settings: Settings, db: Engine
) -> None:
    cycle = xlsform(
        [
            ["type", "name", "label", "calculation"],
            ["calculate", "a", None, "${b} + 1"],
            ["calculate", "b", None, "${a} + 1"],
        ],
        settings=[["form_id", "version"], ["cycle", "1"]],
    )

    problem = rejected(app, settings.model_copy(update={"validate_forms": True}), cycle, "cycle.xlsx")

    assert problem.code == "422.1"
    assert "ODK Validate" in problem.message_en
    assert "Cycle detected" in problem.message_en
    assert rows(db, "SELECT id FROM forms") == []
    assert rows(db, "SELECT id FROM form_versions") == []


# --- what is kept -------------------------------------------------------------------------------------------


def test_the_xlsform_and_the_xform_are_kept_in_the_blob_store(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    data = notes_form("1")
    publish(app, settings, data, name="plot_notes.xlsx")
    blobs = app.extensions["knn"].blobs

    (row,) = rows(db, "SELECT xlsform_sha256, xlsform_name, xform_sha256, xform_md5 FROM form_versions")

    assert row.xlsform_sha256 == sha256(data)
    assert blobs.read_bytes(row.xlsform_sha256) == data
    assert row.xlsform_name == "plot_notes.xlsx"
    served = download(collect)
    assert row.xform_sha256 == sha256(served)
    assert blobs.read_bytes(row.xform_sha256) == served
    assert row.xform_md5 == md5(served)


def test_an_xform_upload_is_published_and_served_byte_for_byte(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    xform = (
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        b"<!-- written by hand -->\n"
        b'<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">\n'
        b"  <h:head>\n    <h:title>Hand-made \xe0\xb9\x81\xe0\xb8\x9b\xe0\xb8\xa5\xe0\xb8\x87</h:title>\n"
        b'    <model>\n      <instance>\n        <data id="hand_made" version="7">\n'
        b"          <q/>\n          <meta><instanceID/></meta>\n        </data>\n      </instance>\n"
        b'      <bind nodeset="/data/q" type="string"/>\n'
        b'      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()"/>\n'
        b"    </model>\n  </h:head>\n"
        b'  <h:body>\n    <input ref="/data/q"><label>Q</label></input>\n  </h:body>\n</h:html>\n'
    )

    published = publish(app, settings, xform, name="hand_made.xml")

    assert (published.xml_form_id, published.version, published.created) == ("hand_made", "7", True)
    assert download(collect, "hand_made") == xform
    assert form_list(collect)["hand_made"]["hash"] == f"md5:{md5(xform)}"
    (row,) = rows(db, "SELECT xlsform_sha256, xlsform_name FROM form_versions")
    assert (row.xlsform_sha256, row.xlsform_name) == (None, None)


# --- form media ---------------------------------------------------------------------------------------------


def test_media_named_by_the_form_but_not_given_are_missing_and_left_out_of_the_manifest(
    app: Flask, settings: Settings, collect: CollectClient
) -> None:
    published = publish(app, settings, notes_form("1", images=["plot_map.png"]))

    assert published.missing_media == ["plot_map.png"]
    assert any("plot_map.png" in w for w in published.warnings)
    assert "plot_map.png" not in manifest(collect)
    assert collect.get(f"/forms/{FORM_ID}/attachments/plot_map.png").status_code == 404


def test_publishing_the_same_form_again_with_its_missing_media_fills_the_manifest(
    app: Flask, settings: Settings, collect: CollectClient
) -> None:
    picture = b"\x89PNG\r\n\x1a\n a map of the plot"
    first = publish(app, settings, notes_form("1", images=["plot_map.png"]))

    again = publish(app, settings, notes_form("1", images=["plot_map.png"]), {"plot_map.png": picture})

    assert not again.created
    assert again.form_version_id == first.form_version_id
    assert again.missing_media == []
    entry = manifest(collect)["plot_map.png"]
    assert entry["hash"] == f"md5:{md5(picture)}"
    served = collect.get(entry["downloadUrl"])
    assert served.status_code == 200
    assert served.data == picture


def test_a_media_file_the_form_does_not_use_is_ignored(app: Flask, settings: Settings, collect: CollectClient) -> None:
    published = publish(
        app, settings, notes_form("1", images=["plot_map.png"]), {"plot_map.png": b"map", "unused.csv": b"a,b\n"}
    )

    assert published.ignored_media == ["unused.csv"]
    assert published.missing_media == []
    assert any("unused.csv" in w for w in published.warnings)
    assert set(manifest(collect)) == {"plot_map.png"}


def test_media_of_the_previous_version_are_carried_over_when_not_uploaded_again(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    picture = b"\x89PNG\r\n\x1a\n the plot"
    publish(app, settings, notes_form("1", images=["plot_map.png"]), {"plot_map.png": picture})

    second = publish(app, settings, notes_form("2", images=["plot_map.png"]))

    assert second.created
    assert second.missing_media == []
    entry = manifest(collect)["plot_map.png"]
    assert entry["hash"] == f"md5:{md5(picture)}"
    assert collect.get(entry["downloadUrl"]).data == picture
    (row,) = rows(db, "SELECT blob_sha256 FROM form_attachments WHERE form_version_id = :v", v=second.form_version_id)
    assert row.blob_sha256 == sha256(picture)


@pytest.mark.parametrize(
    ("given_name", "base_name"),
    [("../../etc/passwd", "passwd"), ("C:\\x\\y.png", "y.png"), ("sub/dir/a.csv", "a.csv")],
)
def test_a_media_file_name_with_folders_is_reduced_to_its_base_name_and_stays_in_the_blob_store(
    app: Flask, settings: Settings, collect: CollectClient, tmp_path: Path, given_name: str, base_name: str
) -> None:
    content = f"content of {base_name}".encode()
    etc_passwd = Path("/etc/passwd").read_bytes()

    published = publish(app, settings, notes_form("1", images=[base_name]), {given_name: content})

    assert published.missing_media == []
    assert published.ignored_media == []
    entry = manifest(collect)[base_name]
    assert entry["hash"] == f"md5:{md5(content)}"
    assert collect.get(entry["downloadUrl"]).data == content
    assert Path("/etc/passwd").read_bytes() == etc_passwd
    blobs_root = settings.blobs_path.resolve()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written, "the blob store holds the form's files"
    for path in written:
        assert path.resolve().is_relative_to(blobs_root), path
        assert path.name == sha256(path.read_bytes()), path


def test_a_select_one_external_form_gets_itemsets_csv_in_its_manifest(
    app: Flask, settings: Settings, collect: CollectClient
) -> None:
    data = xlsform(
        [
            ["type", "name", "label", "choice_filter"],
            ["select_one province", "province", "Province", None],
            ["select_one_external amphoe", "amphoe", "District", "province=${province}"],
        ],
        choices=[["list_name", "name", "label"], ["province", "kkn", "Khon Kaen"], ["province", "udn", "Udon Thani"]],
        external_choices=[
            ["list_name", "name", "label", "province"],
            ["amphoe", "ban_phai", "Ban Phai", "kkn"],
            ["amphoe", "mueang_udon", "Mueang Udon Thani", "udn"],
        ],
        settings=[["form_id", "version"], ["districts", "1"]],
    )

    published = publish(app, settings, data, name="districts.xlsx")

    assert published.missing_media == []
    entry = manifest(collect, "districts")["itemsets.csv"]
    served = collect.get(entry["downloadUrl"])
    assert served.status_code == 200
    assert entry["hash"] == f"md5:{md5(served.data)}"
    csv_text = served.data.decode("utf-8")
    assert "ban_phai" in csv_text
    assert "mueang_udon" in csv_text


# --- the bundled form pack ----------------------------------------------------------------------------------


BUNDLED = {
    "activity_report": "activity_report.xlsx",
    "daily_log": "daily_log.xlsx",
    "guru_register": "guru_register.xlsx",
    "plot_survey": "plot_survey.xlsx",
    "potential_assessment": "potential_assessment.xlsx",
    "socio_change": "socio_change.xlsx",
}


def test_the_bundled_forms_are_published_once_and_skipped_without_conversion_the_second_time(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = app.extensions["knn"]
    names = [p.name for p in bundled_forms()]
    assert names[0] == "plot_survey.xlsx", "the register comes first: it makes the list the others read"
    assert sorted(names) == sorted(BUNDLED.values())
    messages: list[str] = []

    first = publish_bundled_forms(services.engine, services.blobs, settings, progress=messages.append)

    assert sorted((r.xml_form_id, r.created) for r in first) == [(form_id, True) for form_id in sorted(BUNDLED)]
    assert set(BUNDLED) <= set(form_list(collect))

    def no_conversion(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged bundled form was converted again")

    monkeypatch.setattr(publishing, "convert_xlsform", no_conversion)
    messages.clear()
    second = publish_bundled_forms(services.engine, services.blobs, settings, progress=messages.append)

    assert second == []
    assert any("plot_survey" in m and "up to date" in m for m in messages), messages
    assert len(rows(db, "SELECT id FROM form_versions")) == len(BUNDLED)


def test_each_bundled_form_gets_the_area_lists_it_names_and_no_warning_for_the_others(
    app: Flask, settings: Settings, collect: CollectClient
) -> None:
    services = app.extensions["knn"]

    published = {r.xml_form_id: r for r in publish_bundled_forms(services.engine, services.blobs, settings)}

    area_lists = {"provinces.csv", "amphoes.csv", "tambons.csv"}
    for form_id in ("plot_survey", "guru_register", "activity_report"):
        assert area_lists <= set(manifest(collect, form_id)), form_id
    for form_id in ("socio_change", "daily_log", "potential_assessment"):
        assert not area_lists & set(manifest(collect, form_id)), form_id
    for result in published.values():
        assert result.ignored_media == [], result.xml_form_id
        assert not [w for w in result.warnings if "not used" in w], result.xml_form_id
        # plots.csv is the entity list the plot survey (published first) creates, never a missing file
        assert result.missing_media == [], result.xml_form_id
    for form_id in ("plot_survey", "socio_change", "activity_report", "daily_log", "potential_assessment"):
        assert manifest(collect, form_id)["plots.csv"]["type"] == "entityList", form_id
    served = collect.get(manifest(collect, "plot_survey")["tambons.csv"]["downloadUrl"]).data
    assert served == bundled_media()["tambons.csv"]


def test_offered_media_are_stored_only_when_the_form_names_them(app: Flask, settings: Settings) -> None:
    services = app.extensions["knn"]
    offered = {"picture.png": b"picture", "unused.csv": b"a,b\n"}

    published = publish_form(
        services.engine,
        services.blobs,
        settings,
        "plot_notes.xlsx",
        notes_form("1", images=["picture.png"]),
        offered_media=offered,
    )

    assert published.missing_media == []
    assert published.ignored_media == []
    assert published.warnings == []


# --- definitions stored before they kept the instance's elements --------------------------------------------


def test_a_version_stored_without_nodes_gets_at_start_those_publishing_stores(
    app: Flask, settings: Settings, db: Engine
) -> None:
    services = app.extensions["knn"]
    publish(app, settings, notes_form("1"))
    published = scalar(db, "SELECT definition -> 'nodes' FROM form_versions")
    stored_without_nodes(db)
    messages: list[str] = []

    filled = fill_definition_nodes(services.engine, services.blobs, progress=messages.append)

    assert published
    assert scalar(db, "SELECT definition -> 'nodes' FROM form_versions") == published
    assert filled == 1
    assert messages == ["form versions stored without their instance elements (nodes): 1 filled"]


def test_a_version_whose_xform_is_missing_is_logged_and_skipped_and_the_others_are_filled(
    app: Flask, settings: Settings, db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    services = app.extensions["knn"]
    publish(app, settings, notes_form("1"))
    publish(app, settings, notes_form("2", label="Name of the owner"))
    lost = scalar(db, "SELECT xform_sha256 FROM form_versions WHERE version = '1'")
    services.blobs.remove(lost)
    stored_without_nodes(db)
    messages: list[str] = []

    with caplog.at_level(logging.WARNING, logger="khoknongna.publishing"):
        filled = fill_definition_nodes(services.engine, services.blobs, progress=messages.append)

    assert filled == 1
    assert messages == [
        "form versions stored without their instance elements (nodes): 1 filled, 1 skipped (XForm unreadable)"
    ]
    assert lost in caplog.text
    assert [r.version for r in rows(db, "SELECT version FROM form_versions WHERE definition ? 'nodes'")] == ["2"]


def test_versions_published_with_their_nodes_need_no_filling_and_nothing_is_said(
    app: Flask, settings: Settings, db: Engine
) -> None:
    services = app.extensions["knn"]
    publish(app, settings, notes_form("1"))
    messages: list[str] = []

    filled = fill_definition_nodes(services.engine, services.blobs, progress=messages.append)

    assert (filled, messages) == (0, [])
