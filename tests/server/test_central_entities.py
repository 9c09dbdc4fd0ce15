"""Central's entity lists over real HTTP and pyodk: the ``plots`` list the plot survey fills, listed, one
entity, its OData feed and, beyond Central, as GeoJSON; narrowed to the user's area."""

from __future__ import annotations

import uuid

import requests

from tests.plots import plot_xml
from tests.server.test_central_api import bearer, token_of

PLOT = "3f9c2a4e-8d1b-4c6a-9e5f-2b7d0c1a4e83"


def register_plot(supervise) -> None:
    """A plot survey registering the plot ``PLOT`` in tambon 400114 (district 4001)."""
    (response,) = supervise.submit(plot_xml(f"uuid:{uuid.uuid4()}"))
    assert response.status_code == 201, response.data


def get(server: str, user: tuple[str, str], path: str, **params: str) -> requests.Response:
    return requests.get(
        f"{server}/v1/projects/1/{path}", params=params, headers=bearer(token_of(server, user)), timeout=30
    )


def test_pyodk_lists_the_entities_of_plots(pyodk_client, supervise, plot_survey) -> None:
    register_plot(supervise)
    listed = pyodk_client.entities.list(entity_list_name="plots")
    assert [(e.uuid, e.currentVersion.version) for e in listed] == [(PLOT, 1)]
    assert listed[0].currentVersion.label.startswith("นางสมศรี ใจดี")


def test_pyodk_reads_the_entities_feed(pyodk_client, supervise, plot_survey) -> None:
    register_plot(supervise)
    table = pyodk_client.entities.get_table(entity_list_name="plots")
    assert [(r["__id"], r["__system"]["version"]) for r in table["value"]] == [(PLOT, 1)]


def test_entity_lists_are_listed_with_their_properties(server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    lists = get(server, supervisor, "datasets").json()
    plots = get(server, supervisor, "datasets/plots").json()
    assert [d["name"] for d in lists] == ["plots"]
    assert "owner_name" in [p["name"] for p in plots["properties"]]


def test_one_entity_has_its_data(server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    found = get(server, supervisor, f"datasets/plots/entities/{PLOT}").json()
    assert found["uuid"] == PLOT
    assert found["currentVersion"]["data"]["owner_name"] == "นางสมศรี ใจดี"


def test_the_entities_feed_has_a_metadata_document_and_counts(server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    metadata = get(server, supervisor, "datasets/plots.svc/$metadata")
    page = get(server, supervisor, "datasets/plots.svc/Entities", **{"$count": "true", "$top": "5"}).json()
    assert b'<EntitySet Name="Entities"' in metadata.content
    assert page["@odata.count"] == 1 and page["value"][0]["__id"] == PLOT


def test_entities_as_geojson_for_gis(server, supervisor, supervise, plot_survey) -> None:
    register_plot(supervise)
    collection = get(server, supervisor, "datasets/plots.svc/Entities", **{"$format": "geojson"}).json()
    (feature,) = collection["features"]
    assert collection["type"] == "FeatureCollection"
    assert feature["id"] == PLOT and feature["geometry"]["type"] in ("Polygon", "Point")


def test_another_districts_entity_is_404(server, supervise, plot_survey, web_user) -> None:
    register_plot(supervise)
    other = web_user("district_b", "district", "4002")
    one = get(server, other, f"datasets/plots/entities/{PLOT}")
    listed = get(server, other, "datasets/plots/entities").json()
    assert (one.status_code, one.json()["code"]) == (404, 404.1)
    assert listed == []
