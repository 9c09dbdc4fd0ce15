"""End to end over the test corpus (tests/corpus): every real form, and the real submissions.

Each form is published with its media (ODK Validate on), listed and downloaded through a client that behaves
like ODK Collect, its manifest and media fetched at the absolute URLs the server gives, and — unless it is
encrypted — a submission built from the downloaded XForm by :mod:`tests.instances` is uploaded and looked
for in PostGIS and the blob store. The real instances of the corpus (nested repeats, an encrypted
submission, the 250-question soak template) are sent as they are.

Nothing here may talk to anything but the test client and the local database: two corpus forms carry a
``submission_url`` on the internet, so Python sockets are limited to loopback for every test of this file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import random
import re
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import Engine, text

from khoknongna.publishing import Published, publish_form
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.instances import BuiltInstance, build_instance
from tests.paths import CORPUS

FORMS_DIR = CORPUS / "forms"
INSTANCES_DIR = CORPUS / "instances"

XFORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"
XF = "http://www.w3.org/2002/xforms"
XHTML = "http://www.w3.org/1999/xhtml"

FORM_FILES = sorted(p for p in FORMS_DIR.iterdir() if p.is_file() and p.suffix in (".xml", ".xlsx", ".xls"))

#: Files the form names that are not in its ``-media/`` folder (corpus README, "Missing attachments").
EXPECTED_MISSING: dict[str, set[str]] = {
    "all-question-types-v2024091201-3.xlsx": {"body.svg"},
    "UCL_Biomass_Plot_Form.xlsx": {
        "UCL_districts.csv",
        "UCL_regions.csv",
        "UCL_villages.csv",
        "ULC_Biomass_Plots.csv",
        "species_names.csv",
    },
    "trees_follow_up.xlsx": {"trees.csv"},
    "widgets.xls": {"a.jpg", "b.jpg", "happy.jpg", "sad.jpg"},
    "xlsform_spec_test.xlsx": {
        "a.jpg",
        "b.jpg",
        "img_test.jpg",
        "img_test_2.jpg",
        "audio_test.wav",
        "chinese_audio.wav",
        "test.mov",
    },
}
#: Media files that are the form's own entity list: served from the database, not from the uploaded file.
ENTITY_LISTS: dict[str, set[str]] = {
    "create-or-update-entities-from-repeats.xml": {"people.csv"},
    "one-question-entity-update.xml": {"people.csv"},
}
#: Media the server makes itself when converting (pyxform's itemsets for ``select_one_external``).
GENERATED_MEDIA: dict[str, set[str]] = {"select_one_external.xlsx": {"itemsets.csv"}}
#: Forms with ``<submission base64RsaPublicKey>``: no readable submission can be built for them.
ENCRYPTED = {"encrypted-form.xlsx", "encrypted.xml", "tutorial_encrypted.xlsx", "xlsform_spec_test.xlsx"}

_MEDIA_URI = re.compile(r"jr://(?:images|audio|video|file|file-csv)/([^\s\"'<>)]+)")
_PULLDATA = re.compile(r"pulldata\(\s*['\"]([^'\"]+)['\"]")


# --- helpers ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any Python socket connection that is not to loopback or a Unix socket."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                local = ipaddress.ip_address(host).is_loopback
            except ValueError:
                local = host == "localhost"
            if not local:
                raise AssertionError(f"the server tried to connect to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def media_of(form_file: Path) -> dict[str, bytes]:
    folder = form_file.with_name(f"{form_file.stem}-media")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def publish(app: Flask, settings: Settings, form_file: Path) -> Published:
    services = app.extensions["knn"]
    return publish_form(
        services.engine,
        services.blobs,
        settings.model_copy(update={"validate_forms": True}),
        form_file.name,
        form_file.read_bytes(),
        media_of(form_file),
    )


def declared_media(xform: bytes) -> set[str]:
    """File names an XForm refers to: ``jr://`` media and secondary instances, and ``pulldata`` CSVs."""
    source = xform.decode("utf-8")
    names = {m.group(1).rsplit("/", 1)[-1] for m in _MEDIA_URI.finditer(source)}
    return names | {f"{m.group(1)}.csv" for m in _PULLDATA.finditer(source)}


def xform_identity(xform: bytes) -> tuple[etree._Element, bool]:
    """The primary instance root of an XForm, and whether the form is encrypted (a public key is given)."""
    model = etree.fromstring(xform).find(f"{{{XHTML}}}head/{{{XF}}}model")
    assert model is not None, "an XForm has h:head/model"
    primary = next(i for i in model.findall(f"{{{XF}}}instance") if i.get("id") is None)
    root = next(c for c in primary if isinstance(c.tag, str))
    submission = model.find(f"{{{XF}}}submission")
    return root, submission is not None and bool(submission.get("base64RsaPublicKey"))


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def openrosa_document(collect: CollectClient, url: str, root_tag: str) -> etree._Element:
    """The OpenRosa XML document at ``url``, after checking the answer is one with the root ``root_tag``."""
    response = collect.get(url)
    assert response.status_code == 200, response.data
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert response.mimetype == "text/xml"
    root = etree.fromstring(response.data)
    assert root.tag == root_tag
    return root


def form_list_entries(collect: CollectClient) -> dict[str, dict[str, str]]:
    """``formID -> {child local name: text}`` from ``GET /formList`` as Collect reads it."""
    root = openrosa_document(collect, "/formList", f"{{{XFORMS_LIST_NS}}}xforms")
    entries = {}
    for xform in root.findall(f"{{{XFORMS_LIST_NS}}}xform"):
        fields = {etree.QName(c).localname: (c.text or "") for c in xform}
        assert fields.get("formID") and fields.get("name") and fields.get("downloadUrl"), fields
        entries[fields["formID"]] = fields
    return entries


def manifest_entries(collect: CollectClient, url: str) -> dict[str, dict[str, str]]:
    root = openrosa_document(collect, url, f"{{{MANIFEST_NS}}}manifest")
    entries = {}
    for media in root.findall(f"{{{MANIFEST_NS}}}mediaFile"):
        fields = {etree.QName(c).localname: (c.text or "") for c in media} | dict(media.attrib)
        assert fields.get("filename") and fields.get("hash") and fields.get("downloadUrl"), fields
        entries[fields["filename"]] = fields
    return entries


def download_form(collect: CollectClient, form_id: str) -> bytes:
    """The XForm bytes as Collect gets them: list, then the absolute downloadUrl (hash checked)."""
    entry = form_list_entries(collect)[form_id]
    response = collect.get(entry["downloadUrl"])
    assert response.status_code == 200
    assert entry["hash"] == f"md5:{md5(response.data)}"
    return response.data


def assert_created(responses: list) -> None:
    """Every POST answered 201 with an OpenRosaResponse body, as Collect requires."""
    assert responses
    for response in responses:
        assert response.status_code == 201, response.data.decode("utf-8", "replace")
        root = etree.fromstring(response.data)
        assert root.tag == f"{{{RESPONSE_NS}}}OpenRosaResponse"
        assert root.find(f"{{{RESPONSE_NS}}}message") is not None


def version_row(db: Engine, instance_id: str) -> Any:
    with db.connect() as conn:
        return conn.execute(text("SELECT * FROM submission_versions WHERE instance_id = :i"), {"i": instance_id}).one()


def geometry_rows(db: Engine, version_id: int) -> list[Any]:
    with db.connect() as conn:
        return list(
            conn.execute(
                text(
                    """
                    SELECT field_path, repeat_position, geo_type, raw_value, problem,
                           upper(ST_GeometryType(geom)) AS kind, ST_NPoints(geom) AS npoints,
                           ST_X(ST_GeometryN(ST_Points(geom), 1)) AS x, ST_Y(ST_GeometryN(ST_Points(geom), 1)) AS y,
                           ST_SRID(geom) AS srid
                    FROM submission_geometries WHERE submission_version_id = :v ORDER BY id
                    """
                ),
                {"v": version_id},
            )
        )


def attachment_rows(db: Engine, version_id: int) -> dict[str, Any]:
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM submission_attachments WHERE submission_version_id = :v"), {"v": version_id}
        )
        return {r.name: r for r in rows}


def count(db: Engine, sql: str, **params: Any) -> int:
    with db.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def answer_at(data: Any, path: str) -> Any:
    """The value at ``a/b/c`` of the data JSON, taking the first item of every repeat on the way."""
    node = data
    for step in path.split("/"):
        if isinstance(node, list):
            node = node[0]
        node = node[step]
    return node[0] if isinstance(node, list) else node


GEOMETRY_KIND = {"geopoint": "ST_POINT", "geotrace": "ST_LINESTRING", "geoshape": "ST_POLYGON"}


def form_id(form_file: Path) -> str:
    return form_file.name


# --- every form of the corpus ---------------------------------------------------------------------------


@pytest.mark.parametrize("form_file", FORM_FILES, ids=form_id)
def test_form_publishes_lists_and_serves(
    app: Flask, settings: Settings, collect: CollectClient, form_file: Path
) -> None:
    media = media_of(form_file)
    published = publish(app, settings, form_file)
    expected_missing = EXPECTED_MISSING.get(form_file.name, set())
    generated = GENERATED_MEDIA.get(form_file.name, set())

    assert published.created
    assert sorted(published.missing_media) == sorted(expected_missing)
    assert published.ignored_media == []

    entries = form_list_entries(collect)
    assert list(entries) == [published.xml_form_id]
    entry = entries[published.xml_form_id]
    assert entry["version"] == published.version
    assert entry["name"] == published.title
    assert entry["downloadUrl"].startswith("http://localhost/")
    download = collect.get(entry["downloadUrl"])
    assert download.status_code == 200
    xform = download.data
    assert entry["hash"] == f"md5:{md5(xform)}"
    if form_file.suffix == ".xml":
        assert xform == form_file.read_bytes()

    # The downloaded XForm is the form that was published, read independently of the server.
    root, encrypted = xform_identity(xform)
    assert root.get("id") == published.xml_form_id
    assert (root.get("version") or "") == published.version
    assert encrypted == (form_file.name in ENCRYPTED)

    declared = declared_media(xform) | generated
    assert declared >= set(media), "every file of the -media folder is used by the form"
    assert expected_missing == declared - set(media) - generated
    uploaded = declared - expected_missing

    if not declared:
        assert "manifestUrl" not in entry
        return
    assert entry["manifestUrl"].startswith("http://localhost/")
    manifest = manifest_entries(collect, entry["manifestUrl"])
    assert set(manifest) == uploaded
    entity_lists = ENTITY_LISTS.get(form_file.name, set())
    for name, fields in manifest.items():
        served = collect.get(fields["downloadUrl"])
        assert served.status_code == 200, name
        if name in entity_lists:
            # An entity list's hash is a version token, the same as the download's ETag (PROTOCOL §5).
            assert fields["type"] == "entityList"
            assert fields["integrityUrl"].endswith(f"/datasets/{name[:-4]}/integrity")
            assert fields["hash"] == f"md5:{served.headers['ETag'].strip(chr(34))}", name
            assert served.data.startswith(b"name,label,__version"), name
            continue
        assert "type" not in fields
        assert fields["hash"] == f"md5:{md5(served.data)}", name
        if name in media:
            assert served.data == media[name], name


def test_all_forms_listed_together(app: Flask, settings: Settings, collect: CollectClient) -> None:
    """The whole corpus in one project: one valid list entry per form, each hash the MD5 of its download."""
    published = {f.name: publish(app, settings, f) for f in FORM_FILES}
    form_ids = [p.xml_form_id for p in published.values()]
    assert len(set(form_ids)) == len(FORM_FILES)
    entries = form_list_entries(collect)
    assert set(entries) == set(form_ids)
    for form_file, result in published.items():
        entry = entries[result.xml_form_id]
        assert entry["version"] == result.version, form_file
        download = collect.get(entry["downloadUrl"])
        assert download.status_code == 200, form_file
        assert entry["hash"] == f"md5:{md5(download.data)}", form_file
        assert xform_identity(download.data)[0].get("id") == result.xml_form_id, form_file
        has_media = bool(declared_media(download.data) | GENERATED_MEDIA.get(form_file, set()))
        assert ("manifestUrl" in entry) == has_media, form_file


SUBMITTABLE = [f for f in FORM_FILES if f.name not in ENCRYPTED]


@pytest.mark.parametrize("form_file", SUBMITTABLE, ids=form_id)
def test_form_accepts_a_collect_submission(
    app: Flask, settings: Settings, collect: CollectClient, db: Engine, form_file: Path
) -> None:
    published = publish(app, settings, form_file)
    xform = download_form(collect, published.xml_form_id)
    built: BuiltInstance = build_instance(xform, media_of(form_file))

    # One POST per file when there are several, as Collect splits a submission bigger than its limit.
    responses = collect.submit(built.xml, built.attachments, limit=1 if len(built.attachments) > 1 else None)
    assert_created(responses)
    assert len(responses) == max(1, len(built.attachments))

    if built.instance_id is None:  # the form has no meta/instanceID: the server makes one up
        with db.connect() as conn:
            (row,) = conn.execute(text("SELECT * FROM submission_versions")).all()
        assert row.instance_id_made_up
    else:
        row = version_row(db, built.instance_id)
        assert not row.instance_id_made_up
    assert row.form_version_id == published.form_version_id
    assert row.current and not row.encrypted
    assert row.claimed_version == (published.version or None)
    assert row.xml_sha256 == sha256(built.xml)
    assert count(db, "SELECT count(*) FROM submissions") == 1
    assert row.data is not None
    for path, value in built.answers.items():
        assert answer_at(row.data, path) == value, path
    for path, entity_id in built.entities.items():
        entity = answer_at(row.data, path)
        assert (entity["@id"], entity["@create"]) == (entity_id, "1"), path

    geometries = geometry_rows(db, row.id)
    assert [(g.field_path, g.geo_type) for g in geometries] == [(g.path, g.geo_type) for g in built.geo]
    for stored, written in zip(geometries, built.geo, strict=True):
        assert stored.problem is None, stored.problem
        assert stored.raw_value == written.value
        assert tuple(stored.repeat_position) == written.repeat_position
        assert stored.kind == GEOMETRY_KIND[written.geo_type]
        assert stored.srid == 4326
        assert stored.npoints == written.points
        lat, lon = written.first
        assert stored.x == pytest.approx(lon, abs=1e-9), "x is the longitude"
        assert stored.y == pytest.approx(lat, abs=1e-9), "y is the latitude"

    attachments = attachment_rows(db, row.id)
    assert set(attachments) == set(built.attachments)
    blobs = app.extensions["knn"].blobs
    for name, content in built.attachments.items():
        slot = attachments[name]
        assert slot.blob_sha256 == sha256(content), name
        assert slot.size == len(content)
        assert blobs.exists(slot.blob_sha256)
        assert blobs.read_bytes(slot.blob_sha256) == content, name


# --- the real submissions of the corpus --------------------------------------------------------------------


NESTED_REPEATS = {
    # file: (instanceID, gps (lat, lon), immunizations per child, web_browsers)
    "nested_repeats_01.xml": (
        "uuid:0a2a8ef5-5d82-4e43-a267-74037b0e9ea4",
        (-1.2627557, 36.7926442),
        [3, 2],
        "ie safari",
    ),
    "nested_repeats_02.xml": (
        "uuid:8742fb1c-50a5-4c54-80c6-4420129d14ce",
        (-1.2627427, 36.7925298),
        [2, 3, 1],
        "firefox chrome ie",
    ),
}


def test_nested_repeats_real_submissions(app: Flask, settings: Settings, collect: CollectClient, db: Engine) -> None:
    published = publish(app, settings, FORMS_DIR / "nested_repeats.xlsx")
    assert published.version == "201211121234"
    for file_name, (instance_id, (lat, lon), immunizations, browsers) in NESTED_REPEATS.items():
        xml = (INSTANCES_DIR / "nested_repeats" / file_name).read_bytes()
        assert_created(collect.submit(xml))
        row = version_row(db, instance_id)
        assert row.form_version_id == published.form_version_id
        assert row.claimed_version is None, "the instance has no version attribute"
        assert not row.instance_id_made_up
        assert row.xml_sha256 == sha256(xml)

        kids = row.data["kids"]["kids_details"]
        assert isinstance(kids, list)
        assert [len(k["kids_immunization"]) for k in kids] == immunizations
        assert all(isinstance(k["kids_immunization"], list) for k in kids)
        assert row.data["web_browsers"] == browsers
        assert row.data["kids"]["nested_group"]["nested_name"]

        (gps,) = geometry_rows(db, row.id)
        assert (gps.field_path, gps.geo_type, gps.kind, gps.problem) == ("gps", "geopoint", "ST_POINT", None)
        assert gps.x == pytest.approx(lon, abs=1e-9)
        assert gps.y == pytest.approx(lat, abs=1e-9)

        # Sending the same bytes again (Collect retrying) changes nothing.
        assert_created(collect.submit(xml))
        assert count(db, "SELECT count(*) FROM submissions WHERE instance_id = :i", i=instance_id) == 1
        assert count(db, "SELECT count(*) FROM submission_versions WHERE instance_id = :i", i=instance_id) == 1
    assert count(db, "SELECT count(*) FROM submissions") == 2
    assert count(db, "SELECT count(*) FROM submission_geometries") == 2


def test_nested_repeats_without_instance_id_gets_one_made_up(
    app: Flask, settings: Settings, collect: CollectClient, db: Engine
) -> None:
    """Both corpus instances carry an instanceID; with its ``<meta>`` removed, the server must make one up."""
    publish(app, settings, FORMS_DIR / "nested_repeats.xlsx")
    original = (INSTANCES_DIR / "nested_repeats" / "nested_repeats_01.xml").read_bytes()
    xml, n = re.subn(rb"\s*<meta>.*?</meta>", b"", original, flags=re.S)
    assert n == 1 and b"instanceID" not in xml

    assert_created(collect.submit(xml))
    with db.connect() as conn:
        (row,) = conn.execute(text("SELECT * FROM submission_versions")).all()
    assert row.instance_id_made_up
    assert re.fullmatch(r"uuid:[0-9a-f-]{36}", row.instance_id)
    assert row.data["kids"]["kids_details"][0]["kids_name"] == "Hansel"

    assert_created(collect.submit(xml))
    assert count(db, "SELECT count(*) FROM submissions") == 1
    assert count(db, "SELECT count(*) FROM submission_versions") == 1


def test_tutorial_encrypted_real_submission(app: Flask, settings: Settings, collect: CollectClient, db: Engine) -> None:
    published = publish(app, settings, FORMS_DIR / "tutorial_encrypted.xlsx")
    assert published.version == ""
    folder = INSTANCES_DIR / "tutorial_encrypted"
    envelope = (folder / "tutorial_encrypted.xml").read_bytes()
    files = {
        name: (folder / name).read_bytes()
        for name in ("submission.xml.enc", "1483528430996.jpg.enc", "1483528445767.jpg.enc")
    }
    assert_created(collect.submit(envelope, files, xml_name="submission.xml"))

    row = version_row(db, "uuid:f8971231-f3b8-4b2b-8c35-d95fa207d937")
    assert row.encrypted
    assert row.data is None
    assert row.form_version_id == published.form_version_id
    assert row.claimed_version == "201701031234"
    attachments = attachment_rows(db, row.id)
    assert set(attachments) == set(files)
    blobs = app.extensions["knn"].blobs
    for name, content in files.items():
        assert attachments[name].blob_sha256 == sha256(content), name
        assert attachments[name].size == len(content)
        assert blobs.exists(attachments[name].blob_sha256)
    assert geometry_rows(db, row.id) == []
    assert count(db, "SELECT count(*) FROM submission_geometries") == 0


def test_250_questions_soak_submission(app: Flask, settings: Settings, collect: CollectClient, db: Engine) -> None:
    published = publish(app, settings, FORMS_DIR / "250q-form.xml")
    assert published.xml_form_id == "250_questions"
    template = (INSTANCES_DIR / "250q-form" / "250q-submission.template.xml").read_text(encoding="utf-8")
    instance_uuid = str(uuid.uuid4())
    values: list[int] = []

    def rand_int(_match: re.Match) -> str:
        values.append(random.randint(0, 2_000_000_000))  # noqa: S311 - test data
        return str(values[-1])

    xml = re.sub(r"\{\{randInt\}\}", rand_int, template.replace("{{uuid}}", instance_uuid))
    assert "{{" not in xml and len(values) == 250

    assert_created(collect.submit(xml.encode("utf-8")))
    row = version_row(db, f"uuid:{instance_uuid}")
    assert row.form_version_id == published.form_version_id
    answers = {k: v for k, v in row.data.items() if k != "meta"}
    assert answers == {f"q{i}": str(v) for i, v in enumerate(values, start=1)}
    assert row.data["meta"]["instanceID"] == f"uuid:{instance_uuid}"


# --- the entity forms of the corpus -------------------------------------------------------------------------

ENTITIES_NS = "http://www.opendatakit.org/xforms/entities"


def entity_csv(collect: CollectClient, form_id: str, name: str) -> list[dict[str, str]]:
    """The entity list ``name`` as Collect downloads it for the form ``form_id``."""
    entry = manifest_entries(collect, f"/forms/{form_id}/manifest")[name]
    assert entry["type"] == "entityList"
    response = collect.get(entry["downloadUrl"])
    assert response.status_code == 200, response.data
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))


def test_trees_registration_creates_the_trees_that_trees_follow_up_receives(
    app: Flask, settings: Settings, collect: CollectClient
) -> None:
    follow_up = publish(app, settings, FORMS_DIR / "trees_follow_up.xlsx")  # before the list exists
    assert follow_up.missing_media == ["trees.csv"]
    publish(app, settings, FORMS_DIR / "trees_registration.xlsx")
    tree = str(uuid.uuid4())
    xml = (
        f'<data xmlns:entities="{ENTITIES_NS}" id="trees_registration" version="2022110901">'
        "<location>16.4419 102.8359 170.0 4.5</location><species>mora</species><circumference>120</circumference>"
        f'<intake_notes/><meta><entity dataset="trees" create="1" id="{tree}"><label>120cm mora</label></entity>'
        f"<instanceID>uuid:{uuid.uuid4()}</instanceID><instanceName>120cm mora</instanceName></meta></data>"
    ).encode()

    assert_created(collect.submit(xml))

    assert entity_csv(collect, "trees_follow_up", "trees.csv") == [
        {
            "name": tree,
            "label": "120cm mora",
            "__version": "1",
            "geometry": "16.4419 102.8359 170.0 4.5",
            "species": "mora",
            "circumference_cm": "120",
        }
    ]


def test_entities_from_repeats_are_created_and_the_one_question_form_updates_one(
    app: Flask, settings: Settings, collect: CollectClient
) -> None:
    publish(app, settings, FORMS_DIR / "create-or-update-entities-from-repeats.xml")
    publish(app, settings, FORMS_DIR / "one-question-entity-update.xml")
    shiv, kendall = str(uuid.uuid4()), str(uuid.uuid4())
    people = "".join(
        f"<people><action>create</action><person/><name>{name}</name><meta>"
        f'<entity dataset="people" create="true" update="false" id="{entity_id}" baseVersion="{uuid.uuid4()}" '
        f'trunkVersion="{uuid.uuid4()}" branchId="{uuid.uuid4()}"><label>{name}</label></entity></meta></people>'
        for entity_id, name in ((shiv, "Shiv Roy"), (kendall, "Kendall Roy"))
    )
    created = (
        f'<data id="create_or_update_entities_from_repeats" version="1">{people}'
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    ).encode()
    assert_created(collect.submit(created))

    renamed = (
        f'<data xmlns:entities="{ENTITIES_NS}" id="one_question_entity_update" version="1">'
        f"<person>{kendall}</person><name>Kendall Logan Roy</name><meta><instanceID>uuid:{uuid.uuid4()}</instanceID>"
        f'<instanceName/><entity dataset="people" update="true" id="{kendall}" baseVersion="1" trunkVersion="" '
        'branchId=""><label>Kendall Logan Roy</label></entity></meta></data>'
    ).encode()
    assert_created(collect.submit(renamed))

    rows = entity_csv(collect, "one_question_entity_update", "people.csv")
    assert [(r["name"], r["label"], r["__version"], r["full_name"]) for r in rows] == [
        (shiv, "Shiv Roy", "1", "Shiv Roy"),
        (kendall, "Kendall Logan Roy", "2", "Kendall Logan Roy"),
    ]
