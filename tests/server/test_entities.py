"""Entity lists end to end: a registration creates an entity, follow-up forms receive it as CSV.

Two small forms stand for the plot register: ``site_register`` creates entities of the list ``sites``
(properties ``site_name`` and ``tambon``), ``site_update`` picks one from ``sites.csv`` and updates it.
Submissions go through the real OpenRosa routes; phones are a Digest collector or app users of an area.
"""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import Engine, text

from khoknongna.accounts import create_app_user
from khoknongna.publishing import Published, publish_form
from khoknongna.settings import Settings
from khoknongna.storage.forms import form_summaries
from tests.collect import CollectClient
from tests.small_forms import MINI_PLOT_SURVEY, SITE_REGISTER, SITE_UPDATE

MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
ENTITIES_NS = "http://www.opendatakit.org/xforms/entities"


KHON_KAEN_NAI_MUEANG = "400101"  # ต.ในเมือง อ.เมืองขอนแก่น จ.ขอนแก่น
KHON_KAEN_SILA = "400103"  # ต.ศิลา, same amphoe
CHIANG_MAI_SI_PHUM = "500101"  # another province


def publish(app: Flask, settings: Settings, name: str, data: bytes, media: dict | None = None) -> Published:
    services = app.extensions["knn"]
    return publish_form(services.engine, services.blobs, settings, name, data, media)


@pytest.fixture
def forms(app: Flask, settings: Settings) -> None:
    publish(app, settings, "site_register.xlsx", SITE_REGISTER)
    publish(app, settings, "site_update.xlsx", SITE_UPDATE)


def register_xml(
    entity_id: str, name: str, tambon: str = KHON_KAEN_NAI_MUEANG, instance_id: str | None = None
) -> bytes:
    instance_id = instance_id or f"uuid:{uuid.uuid4()}"
    return (
        f'<data xmlns:entities="{ENTITIES_NS}" id="site_register" version="1">'
        f"<site_name>{name}</site_name><tambon>{tambon}</tambon>"
        f'<meta><instanceID>{instance_id}</instanceID><entity dataset="sites" create="1" id="{entity_id}">'
        f"<label>{name}</label></entity></meta></data>"
    ).encode()


def update_xml(entity_id: str, name: str, base_version: int, tambon: str = KHON_KAEN_NAI_MUEANG) -> bytes:
    return (
        f'<data xmlns:entities="{ENTITIES_NS}" id="site_update" version="1">'
        f"<site>{entity_id}</site><site_name>{name}</site_name><tambon>{tambon}</tambon>"
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID>"
        f'<entity dataset="sites" update="1" baseVersion="{base_version}" trunkVersion="" branchId="" id="{entity_id}">'
        f"<label>{name}</label></entity></meta></data>"
    ).encode()


def submit(collect: CollectClient, xml: bytes) -> None:
    collect.send(xml)


def manifest(collect: CollectClient, form_id: str) -> dict[str, dict[str, str]]:
    response = collect.get(f"/forms/{form_id}/manifest")
    assert response.status_code == 200, response.data
    entries = {}
    for media in etree.fromstring(response.data).findall(f"{{{MANIFEST_NS}}}mediaFile"):
        fields = {etree.QName(c).localname: c.text or "" for c in media} | dict(media.attrib)
        entries[fields["filename"]] = fields
    return entries


def entity_list(collect: CollectClient) -> list[dict[str, str]]:
    """The rows of ``sites.csv`` as the phone downloads it."""
    response = collect.get(manifest(collect, "site_update")["sites.csv"]["downloadUrl"])
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))


def list_hash(collect: CollectClient) -> str:
    return manifest(collect, "site_update")["sites.csv"]["hash"]


def entity_problems(db: Engine) -> list[str]:
    with db.connect() as conn:
        return list(conn.execute(text("SELECT problem FROM entity_problems ORDER BY id")).scalars())


@pytest.fixture
def phone_of_area(app: Flask, db: Engine):
    """Make an app user of an area and return a Collect client using its link."""

    def make(area_code: str | None) -> CollectClient:
        with db.begin() as conn:
            _, token = create_app_user(conn, 1, f"นพต. {area_code}", area_code)
        return CollectClient(app.test_client(), base=f"/v1/key/{token}/projects/1")

    return make


# --- creating and serving -----------------------------------------------------------------------------------


def test_a_registration_creates_an_entity_the_follow_up_form_receives(forms, collect: CollectClient) -> None:
    site = str(uuid.uuid4())

    submit(collect, register_xml(site, "แปลงนายสมชาย"))

    assert entity_list(collect) == [
        {"name": site, "label": "แปลงนายสมชาย", "__version": "1", "site_name": "แปลงนายสมชาย", "tambon": "400101"}
    ]


def test_the_manifest_gives_the_list_as_an_entity_list_with_its_integrity_url(forms, collect: CollectClient) -> None:
    entry = manifest(collect, "site_update")["sites.csv"]

    assert entry["type"] == "entityList"
    assert entry["integrityUrl"] == "http://localhost/datasets/sites/integrity"
    assert entry["hash"].startswith("md5:")


def test_the_list_hash_changes_when_an_entity_is_registered_and_matches_the_csv_etag(
    forms, collect: CollectClient
) -> None:
    before = list_hash(collect)

    submit(collect, register_xml(str(uuid.uuid4()), "แปลงใหม่"))

    after = list_hash(collect)
    assert after != before
    download = collect.get(manifest(collect, "site_update")["sites.csv"]["downloadUrl"])
    assert after == f"md5:{download.headers['ETag'].strip(chr(34))}"


def test_an_unchanged_list_answers_not_modified_to_its_etag(forms, collect: CollectClient) -> None:
    submit(collect, register_xml(str(uuid.uuid4()), "แปลง"))
    url = manifest(collect, "site_update")["sites.csv"]["downloadUrl"]
    etag = collect.get(url).headers["ETag"]

    again = collect.request("GET", url, headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.data == b""


def test_a_resent_registration_makes_no_second_entity_or_version(forms, collect: CollectClient, db: Engine) -> None:
    xml = register_xml(str(uuid.uuid4()), "แปลง")
    submit(collect, xml)
    before = list_hash(collect)

    submit(collect, xml)

    assert [row["__version"] for row in entity_list(collect)] == ["1"]
    assert list_hash(collect) == before
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM entity_versions")).scalar_one() == 1


def test_an_upload_of_a_file_named_after_an_entity_list_is_ignored_with_a_warning(
    app: Flask, settings: Settings, forms
) -> None:
    published = publish(app, settings, "site_update.xlsx", SITE_UPDATE, {"sites.csv": b"name,label\nx,y\n"})

    assert published.missing_media == []
    assert published.warnings == ["'sites.csv' is served from the entity list 'sites'; the uploaded file was ignored"]


# --- updating -----------------------------------------------------------------------------------------------


def test_an_update_bumps_the_version_and_replaces_the_saved_properties(forms, collect: CollectClient) -> None:
    site = str(uuid.uuid4())
    submit(collect, register_xml(site, "แปลงเดิม"))

    submit(collect, update_xml(site, "แปลงชื่อใหม่", base_version=1, tambon=KHON_KAEN_SILA))

    (row,) = entity_list(collect)
    assert (row["__version"], row["label"], row["site_name"], row["tambon"]) == (
        "2",
        "แปลงชื่อใหม่",
        "แปลงชื่อใหม่",
        KHON_KAEN_SILA,
    )


def test_an_update_from_an_old_version_is_applied_and_marked_as_a_conflict(
    forms, collect: CollectClient, db: Engine
) -> None:
    site = str(uuid.uuid4())
    submit(collect, register_xml(site, "แปลง ๑"))
    submit(collect, update_xml(site, "แปลง ๒", base_version=1))

    submit(collect, update_xml(site, "แปลง ๓", base_version=1))  # a second phone that never saw version 2

    (row,) = entity_list(collect)
    assert (row["__version"], row["site_name"]) == ("3", "แปลง ๓")
    with db.connect() as conn:
        assert conn.execute(text("SELECT conflict FROM entities")).scalar_one() == "hard"


def test_an_update_of_an_unknown_entity_is_recorded_and_the_submission_kept(
    forms, collect: CollectClient, db: Engine
) -> None:
    missing = str(uuid.uuid4())

    submit(collect, update_xml(missing, "ไม่มีแปลงนี้", base_version=1))

    assert entity_problems(db) == [f"there is no entity {missing} in list 'sites' to update"]
    assert entity_list(collect) == []
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submissions")).scalar_one() == 1


def test_a_second_registration_with_a_known_entity_id_is_recorded_and_the_submission_kept(
    forms, collect: CollectClient, db: Engine
) -> None:
    site = str(uuid.uuid4())
    submit(collect, register_xml(site, "ครั้งแรก"))

    submit(collect, register_xml(site, "ครั้งที่สอง"))

    assert entity_problems(db) == [f"an entity with id {site} already exists in list 'sites'"]
    assert [row["label"] for row in entity_list(collect)] == ["ครั้งแรก"]
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submissions")).scalar_one() == 2


def test_an_entity_id_that_is_not_a_uuid_is_recorded_and_the_submission_kept(
    forms, collect: CollectClient, db: Engine
) -> None:
    submit(collect, register_xml("not-a-uuid", "แปลง"))

    assert entity_problems(db) == ["entity id 'not-a-uuid' is not a UUID"]
    assert entity_list(collect) == []


def test_an_edit_of_the_registering_submission_updates_its_entity(forms, collect: CollectClient) -> None:
    site, first = str(uuid.uuid4()), f"uuid:{uuid.uuid4()}"
    submit(collect, register_xml(site, "สะกดผิด", instance_id=first))
    edit = register_xml(site, "สะกดถูก").replace(b"<meta>", f"<meta><deprecatedID>{first}</deprecatedID>".encode())

    submit(collect, edit)

    (row,) = entity_list(collect)
    assert (row["__version"], row["label"]) == ("2", "สะกดถูก")


def test_an_entity_id_with_a_uuid_prefix_and_capitals_is_the_same_entity(forms, collect: CollectClient) -> None:
    site = str(uuid.uuid4())
    submit(collect, register_xml(f"uuid:{site.upper()}", "แปลง"))

    submit(collect, update_xml(site, "แปลงแก้ไข", base_version=1))

    assert [(r["name"], r["__version"]) for r in entity_list(collect)] == [(site, "2")]


# --- what each phone sees -----------------------------------------------------------------------------------


def test_an_app_user_receives_only_the_entities_of_their_tambon(forms, collect: CollectClient, phone_of_area) -> None:
    submit(collect, register_xml(str(uuid.uuid4()), "ขอนแก่น", KHON_KAEN_NAI_MUEANG))
    submit(collect, register_xml(str(uuid.uuid4()), "เชียงใหม่", CHIANG_MAI_SI_PHUM))

    phone = phone_of_area(KHON_KAEN_NAI_MUEANG)

    assert [r["label"] for r in entity_list(phone)] == ["ขอนแก่น"]
    assert [r["label"] for r in entity_list(collect)] == ["ขอนแก่น", "เชียงใหม่"]


def test_an_amphoe_app_user_receives_every_tambon_of_the_amphoe(forms, collect: CollectClient, phone_of_area) -> None:
    submit(collect, register_xml(str(uuid.uuid4()), "ในเมือง", KHON_KAEN_NAI_MUEANG))
    submit(collect, register_xml(str(uuid.uuid4()), "ศิลา", KHON_KAEN_SILA))
    submit(collect, register_xml(str(uuid.uuid4()), "ศรีภูมิ", CHIANG_MAI_SI_PHUM))

    assert [r["label"] for r in entity_list(phone_of_area("4001"))] == ["ในเมือง", "ศิลา"]


def test_entities_without_an_area_are_received_by_every_app_user(forms, collect: CollectClient, phone_of_area) -> None:
    submit(collect, register_xml(str(uuid.uuid4()), "ไม่ระบุตำบล", tambon=""))

    assert [r["label"] for r in entity_list(phone_of_area(CHIANG_MAI_SI_PHUM))] == ["ไม่ระบุตำบล"]


def test_a_registration_in_another_area_leaves_an_app_users_list_hash_unchanged(
    forms, collect: CollectClient, phone_of_area
) -> None:
    submit(collect, register_xml(str(uuid.uuid4()), "ขอนแก่น", KHON_KAEN_NAI_MUEANG))
    phone = phone_of_area(KHON_KAEN_NAI_MUEANG)
    before = list_hash(phone)

    submit(collect, register_xml(str(uuid.uuid4()), "เชียงใหม่", CHIANG_MAI_SI_PHUM))

    assert list_hash(phone) == before


def test_a_plot_moved_out_of_an_area_changes_that_area_list_hash(forms, collect: CollectClient, phone_of_area) -> None:
    site = str(uuid.uuid4())
    submit(collect, register_xml(site, "ย้ายตำบล", KHON_KAEN_NAI_MUEANG))
    phone = phone_of_area(KHON_KAEN_NAI_MUEANG)
    before = list_hash(phone)

    submit(collect, update_xml(site, "ย้ายตำบล", base_version=1, tambon=CHIANG_MAI_SI_PHUM))

    assert list_hash(phone) != before
    assert entity_list(phone) == []


# --- integrity ----------------------------------------------------------------------------------------------


def test_integrity_says_which_entities_are_deleted_and_leaves_out_unknown_ids(
    forms, collect: CollectClient, db: Engine
) -> None:
    live, deleted, unknown = (str(uuid.uuid4()) for _ in range(3))
    submit(collect, register_xml(live, "ยังอยู่"))
    submit(collect, register_xml(deleted, "ลบแล้ว"))
    with db.begin() as conn:
        conn.execute(text("UPDATE entities SET deleted_at = now() WHERE uuid = :u"), {"u": deleted})

    response = collect.get(f"/datasets/sites/integrity?id={live},{deleted},{unknown}")

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    root = etree.fromstring(response.data)
    states = {e.get("id"): e.findtext("deleted") for e in root.find("entities")}
    assert states == {live: "false", deleted: "true"}


def test_integrity_of_an_unknown_list_is_404_with_an_openrosa_message(forms, collect: CollectClient) -> None:
    response = collect.get(f"/datasets/nothing/integrity?id={uuid.uuid4()}")

    assert response.status_code == 404
    assert b"nothing" in response.data


def test_an_entity_list_is_never_reported_as_missing_media(forms, db: Engine) -> None:
    with db.connect() as conn:
        summaries = {s["xml_form_id"]: s for s in form_summaries(conn, 1)}

    assert summaries["site_update"]["missing_media"] == ""


# --- geometry and the plot register -------------------------------------------------------------------------

SQUARE = (
    "16.44 102.83 160 3.5;16.44036 102.83 161 4;16.44036 102.83037 160 4;16.44 102.83037 159 3;16.44 102.83 160 3.5"
)


def test_a_plot_register_entity_is_in_the_plots_view_with_its_boundary_and_accuracies(
    app: Flask, settings: Settings, collect: CollectClient, db: Engine
) -> None:
    publish(app, settings, "mini_plot_survey.xlsx", MINI_PLOT_SURVEY)
    plot = str(uuid.uuid4())
    submit(
        collect,
        (
            f'<data id="mini_plot_survey" version="1"><owner>นายสมชาย</owner><boundary>{SQUARE}</boundary>'
            f'<meta><instanceID>uuid:{uuid.uuid4()}</instanceID><entity dataset="plots" create="1" id="{plot}">'
            "<label>นายสมชาย</label></entity></meta></data>"
        ).encode(),
    )

    with db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT uuid, label, ST_GeometryType(boundary) AS kind, ST_NPoints(boundary) AS points,"
                " ST_M(ST_PointN(ST_ExteriorRing(boundary), 2)) AS accuracy,"
                " ST_Area(boundary::geography) AS m2 FROM plots"
            )
        ).one()
    assert (row.uuid, row.label, row.kind, row.points, row.accuracy) == (plot, "นายสมชาย", "ST_Polygon", 5, 4.0)
    assert 1_400 < row.m2 < 1_700  # about 40 m × 40 m, one rai


def test_an_entity_with_an_invalid_geometry_property_keeps_the_text_and_no_geometry(
    app: Flask, settings: Settings, collect: CollectClient, db: Engine
) -> None:
    publish(app, settings, "mini_plot_survey.xlsx", MINI_PLOT_SURVEY)
    submit(
        collect,
        (
            '<data id="mini_plot_survey" version="1"><owner>ก</owner><boundary>ข้างสระน้ำ</boundary>'
            f'<meta><instanceID>uuid:{uuid.uuid4()}</instanceID><entity dataset="plots" create="1" '
            f'id="{uuid.uuid4()}"><label>ก</label></entity></meta></data>'
        ).encode(),
    )

    with db.connect() as conn:
        row = conn.execute(text("SELECT properties->>'geometry' AS text, geometry FROM entities")).one()
    assert (row.text, row.geometry) == ("ข้างสระน้ำ", None)
