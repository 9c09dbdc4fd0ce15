"""Central's entity lists over real HTTP and pyodk: the ``plots`` list the plot survey fills, listed, one
entity, its OData feed and, beyond Central, as GeoJSON; narrowed to the user's area. Entities written over
the API (pyodk's ``create``/``update`` and plain HTTP) reach the phones' ``plots.csv``."""

from __future__ import annotations

import csv
import io
import uuid

import requests
from sqlalchemy import text

from khoknongna.accounts import create_app_user
from tests.plots import plot_xml
from tests.server.test_central_api import signed_in

PLOT = "3f9c2a4e-8d1b-4c6a-9e5f-2b7d0c1a4e83"


def register_plot(supervise) -> None:
    """A plot survey registering the plot ``PLOT`` in tambon 400114 (district 4001)."""
    (response,) = supervise.submit(plot_xml(f"uuid:{uuid.uuid4()}"))
    assert response.status_code == 201, response.data


def get(live_server: str, user: tuple[str, str], path: str, **params: str) -> requests.Response:
    return signed_in(live_server, user, "GET", f"projects/1/{path}", params=params)


def test_pyodk_lists_the_entities_of_plots(pyodk_client, supervise, plot_survey) -> None:
    register_plot(supervise)
    listed = pyodk_client.entities.list(entity_list_name="plots")
    assert [(e.uuid, e.currentVersion.version) for e in listed] == [(PLOT, 1)]
    assert listed[0].currentVersion.label.startswith("นางสมศรี ใจดี")


def test_pyodk_reads_the_entities_feed(pyodk_client, supervise, plot_survey) -> None:
    register_plot(supervise)
    table = pyodk_client.entities.get_table(entity_list_name="plots")
    assert [(r["__id"], r["__system"]["version"]) for r in table["value"]] == [(PLOT, 1)]


def test_entity_lists_are_listed_with_their_properties(live_server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    lists = get(live_server, supervisor, "datasets").json()
    plots = get(live_server, supervisor, "datasets/plots").json()
    assert [d["name"] for d in lists] == ["plots"]
    assert "owner_name" in [p["name"] for p in plots["properties"]]


def test_one_entity_has_its_data(live_server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    found = get(live_server, supervisor, f"datasets/plots/entities/{PLOT}").json()
    assert found["uuid"] == PLOT
    assert found["currentVersion"]["data"]["owner_name"] == "นางสมศรี ใจดี"


def test_the_entities_feed_has_a_metadata_document_and_counts(live_server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    metadata = get(live_server, supervisor, "datasets/plots.svc/$metadata")
    page = get(live_server, supervisor, "datasets/plots.svc/Entities", **{"$count": "true", "$top": "5"}).json()
    assert b'<EntitySet Name="Entities"' in metadata.content
    assert page["@odata.count"] == 1 and page["value"][0]["__id"] == PLOT


def test_entities_as_geojson_for_gis(live_server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    collection = get(live_server, supervisor, "datasets/plots.svc/Entities", **{"$format": "geojson"}).json()
    (feature,) = collection["features"]
    assert collection["type"] == "FeatureCollection"
    assert feature["id"] == PLOT and feature["geometry"]["type"] in ("Polygon", "Point")


def test_another_districts_entity_is_central_403_1_and_left_out_of_the_list(
    live_server, supervise, plot_survey, web_user
) -> None:
    register_plot(supervise)
    other = web_user("district_b", "district", "4002")
    one = get(live_server, other, f"datasets/plots/entities/{PLOT}")
    listed = get(live_server, other, "datasets/plots/entities").json()
    assert (one.status_code, one.json()["code"]) == (403, 403.1)
    assert listed == []


# --- writes -----------------------------------------------------------------------------------------------

NEW_PLOT = "0b4f6c1e-2a3d-4e5f-8a9b-1c2d3e4f5a6b"
PLOT_DATA = {"owner_name": "นายสมปอง มีนา", "tambon": "400114", "amphoe": "4001", "province": "40"}


def write(
    live_server: str, user: tuple[str, str], method: str, path: str, body: object, **params: str
) -> requests.Response:
    return signed_in(live_server, user, method, f"projects/1/datasets/plots/{path}", params=params, json=body)


def phone_rows(app, db, area: str) -> dict[str, dict[str, str]]:
    """The plot survey's ``plots.csv`` as a phone of ``area`` downloads it, by entity name."""
    with db.begin() as conn:
        _, token = create_app_user(conn, 1, f"phone {area}", area)
    answer = app.test_client().get(f"/v1/key/{token}/projects/1/forms/plot_survey/attachments/plots.csv")
    assert answer.status_code == 200, answer.data
    return {r["name"]: r for r in csv.DictReader(io.StringIO(answer.data.decode("utf-8")))}


def test_pyodk_creates_an_entity_that_phones_of_its_area_download(pyodk_client, app, db, plot_survey) -> None:
    made = pyodk_client.entities.create(label="แปลงนายสมปอง", data=PLOT_DATA, entity_list_name="plots", uuid=NEW_PLOT)
    rows = phone_rows(app, db, "400114")
    assert (made.uuid, made.currentVersion.version, made.currentVersion.data["owner_name"]) == (
        NEW_PLOT,
        1,
        "นายสมปอง มีนา",
    )
    assert (rows[NEW_PLOT]["label"], rows[NEW_PLOT]["__version"]) == ("แปลงนายสมปอง", "1")


def test_a_created_entity_is_not_on_another_districts_phones(pyodk_client, app, db, plot_survey) -> None:
    pyodk_client.entities.create(label="แปลงนายสมปอง", data=PLOT_DATA, entity_list_name="plots", uuid=NEW_PLOT)
    assert NEW_PLOT not in phone_rows(app, db, "400201")


def test_pyodk_updates_an_entity_and_phones_get_the_new_version(pyodk_client, app, db, supervise, plot_survey) -> None:
    register_plot(supervise)
    before = phone_rows(app, db, "400114")[PLOT]
    updated = pyodk_client.entities.update(
        PLOT, label="แปลงใหม่", data={"owner_name": "นางสมศรี ใจงาม"}, entity_list_name="plots", base_version=1
    )
    after = phone_rows(app, db, "400114")[PLOT]
    assert (updated.currentVersion.version, updated.currentVersion.baseVersion) == (2, 1)
    assert (before["__version"], after["__version"], after["label"]) == ("1", "2", "แปลงใหม่")
    assert after["owner_name"] == "นางสมศรี ใจงาม" and after["tambon"] == before["tambon"]


def test_an_update_from_an_old_version_is_409_15_unless_forced(live_server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    write(live_server, supervisor, "PATCH", f"entities/{PLOT}", {"label": "ครั้งที่ 1"}, baseVersion="1")
    stale = write(live_server, supervisor, "PATCH", f"entities/{PLOT}", {"label": "ครั้งที่ 2"}, baseVersion="1")
    forced = write(live_server, supervisor, "PATCH", f"entities/{PLOT}", {"label": "ครั้งที่ 3"}, force="true")
    assert (stale.status_code, stale.json()["code"]) == (409, 409.15)
    assert (forced.status_code, forced.json()["currentVersion"]["version"]) == (200, 3)


def test_an_update_moves_the_geometry_and_the_area(live_server, supervisor, supervise, plot_survey, db) -> None:
    register_plot(supervise)
    moved = {"geometry": "16.5 102.9 0 0", "tambon": "400101"}
    answer = write(live_server, supervisor, "PATCH", f"entities/{PLOT}", {"data": moved}, force="true")
    with db.connect() as conn:
        area, wkt = conn.execute(
            text("SELECT area_code, ST_AsText(ST_Force2D(geometry)) FROM entities WHERE uuid = :u"), {"u": PLOT}
        ).one()
    assert answer.status_code == 200, answer.text
    assert (area, wkt) == ("400101", "POINT(102.9 16.5)")


def test_creating_an_entity_with_a_taken_uuid_is_409_3(live_server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    answer = write(live_server, supervisor, "POST", "entities", {"uuid": PLOT, "label": "ซ้ำ", "data": PLOT_DATA})
    assert (answer.status_code, answer.json()["code"]) == (409, 409.3)


def test_an_entity_needs_a_label_and_known_properties(live_server, supervisor, plot_survey) -> None:
    no_label = write(live_server, supervisor, "POST", "entities", {"data": PLOT_DATA})
    unknown = write(live_server, supervisor, "POST", "entities", {"label": "x", "data": {"colour": "red"}})
    not_text = write(live_server, supervisor, "POST", "entities", {"label": "x", "data": {"owner_name": 5}})
    codes = [(a.status_code, a.json()["code"]) for a in (no_label, unknown, not_text)]
    assert codes == [(400, 400.2), (400, 400.28), (400, 400.8)]


def test_a_district_supervisor_may_not_write_another_districts_entities(
    live_server, supervise, plot_survey, web_user
) -> None:
    register_plot(supervise)
    other = web_user("district_b", "district", "4002")
    patch = write(live_server, other, "PATCH", f"entities/{PLOT}", {"label": "x"}, force="true")
    create = write(live_server, other, "POST", "entities", {"label": "x", "data": PLOT_DATA})
    assert (patch.status_code, patch.json()["code"]) == (403, 403.1)
    assert (create.status_code, create.json()["code"]) == (403, 403.1)


def test_a_district_supervisor_writes_entities_of_their_district(live_server, plot_survey, web_user) -> None:
    own = web_user("district_a", "district", "4001")
    create = write(live_server, own, "POST", "entities", {"uuid": NEW_PLOT, "label": "x", "data": PLOT_DATA})
    patch = write(live_server, own, "PATCH", f"entities/{NEW_PLOT}", {"label": "y"}, baseVersion="1")
    assert (create.status_code, patch.status_code) == (200, 200)
    assert patch.json()["currentVersion"]["creatorId"] == create.json()["creatorId"]


def test_gis_users_may_not_write_entities(live_server, plot_survey, web_user) -> None:
    gis = web_user("gis_a", "gis")
    answer = write(live_server, gis, "POST", "entities", {"label": "x", "data": PLOT_DATA})
    assert (answer.status_code, answer.json()["code"]) == (403, 403.1)


def test_entity_writes_are_in_the_audit_log(live_server, supervisor, plot_survey, db) -> None:
    write(live_server, supervisor, "POST", "entities", {"uuid": NEW_PLOT, "label": "x", "data": PLOT_DATA})
    write(live_server, supervisor, "PATCH", f"entities/{NEW_PLOT}", {"label": "y"}, baseVersion="1")
    with db.connect() as conn:
        logged = conn.execute(
            text(
                "SELECT u.username, l.action, l.area_code, l.after->>'label' FROM audit_log l"
                " JOIN users u ON u.id = l.actor_id WHERE l.subject_type = 'entity' ORDER BY l.id"
            )
        ).all()
    assert [tuple(r) for r in logged] == [
        (supervisor[0], "entity.create", "400114", "x"),
        (supervisor[0], "entity.update", "400114", "y"),
    ]
