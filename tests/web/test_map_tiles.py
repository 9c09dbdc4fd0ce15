"""The map's vector tiles over HTTP with a signed-in session: narrowed to the user's area, filtered like the
list, clustered when zoomed out, and closed to visitors who are not signed in."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from khoknongna.settings import Settings
from khoknongna.storage.review import set_review_state
from tests.collect import CollectClient
from tests.plots import LAT, LON
from tests.web.map_data import BAN_FANG, MUEANG, Sent, flag_plot, tile_of, two_districts
from tests.web.support import sign_in

DETAIL = tile_of(LON, LAT, 14)
ZOOMED_OUT = tile_of(LON, LAT, 6)


@pytest.fixture
def sent(app: Flask, plot_survey: None, collect: CollectClient, db: Engine) -> tuple[Sent, Sent]:
    return two_districts(app, collect, db)


@pytest.fixture
def signed_in(app: Flask, db: Engine, settings: Settings):
    """``signed_in(role, area)`` -> a test client signed in through the sign-in form as a new user."""
    from khoknongna.accounts import create_user

    made = 0

    def make(role: str, area: str | None = None) -> FlaskClient:
        nonlocal made
        made += 1
        name = f"{role}{made}"
        with db.begin() as conn:
            create_user(conn, name, f"{name}-pass", role, settings.realm, area)
        client = app.test_client()
        assert sign_in(client, name, f"{name}-pass").status_code == 302
        return client

    return make


def tile(client: FlaskClient, kind: str, zxy: tuple[int, int, int], query: str = "") -> dict:
    """The decoded tile ``kind`` at ``zxy`` (``{}`` for an empty one), checking the answer's headers."""
    z, x, y = zxy
    response = client.get(f"/tiles/{kind}/{z}/{x}/{y}.mvt" + (f"?{query}" if query else ""))
    assert response.status_code in (200, 204), response.get_data(as_text=True)
    assert response.content_type == "application/vnd.mapbox-vector-tile"
    assert response.headers["Cache-Control"].startswith("private")
    return mapbox_vector_tile.decode(response.data) if response.status_code == 200 else {}


def features(decoded: dict, layer: str) -> list[dict]:
    return [f["properties"] for f in decoded.get(layer, {}).get("features", [])]


def test_a_district_supervisor_sees_only_the_plots_of_their_district(signed_in, sent) -> None:
    mueang, ban_fang = sent

    district = {p["uuid"] for p in features(tile(signed_in("district", "4001"), "plots", DETAIL), "plots")}
    everyone = {p["uuid"] for p in features(tile(signed_in("department"), "plots", DETAIL), "plots")}

    assert district == {mueang.plot_uuid}
    assert everyone == {mueang.plot_uuid, ban_fang.plot_uuid}


def test_a_district_supervisor_sees_only_the_submissions_of_their_district(signed_in, sent) -> None:
    mueang, ban_fang = sent

    district = features(tile(signed_in("district", "4002"), "submissions", DETAIL), "submissions")
    everyone = features(tile(signed_in("department"), "submissions", DETAIL), "submissions")

    assert {s["id"] for s in district} == {ban_fang.submission_id}
    assert {s["id"] for s in everyone} == {mueang.submission_id, ban_fang.submission_id}
    assert {s["geo_type"] for s in district} == {"geopoint", "geotrace", "geoshape"}
    assert {s["form"] for s in district} == {"plot_survey"} and {s["review_state"] for s in district} == {"received"}


def test_zoomed_out_tiles_count_plots_and_submissions_in_clusters_of_the_users_area(signed_in, sent) -> None:
    district, everyone = signed_in("district", "4001"), signed_in("department")

    def total(client: FlaskClient, kind: str, layer: str) -> int:
        return sum(c["count"] for c in features(tile(client, kind, ZOOMED_OUT), layer))

    assert total(district, "plots", "plot_clusters") == 1
    assert total(everyone, "plots", "plot_clusters") == 2
    assert total(district, "submissions", "submission_clusters") == 1
    assert total(everyone, "submissions", "submission_clusters") == 2
    assert "plots" not in tile(everyone, "plots", ZOOMED_OUT)


def test_plots_carry_their_check_status(signed_in, sent, db: Engine) -> None:
    mueang, ban_fang = sent
    flag_plot(db, mueang.plot_uuid)
    client = signed_in("department")

    status = {p["uuid"]: p["status"] for p in features(tile(client, "plots", DETAIL), "plots")}
    clusters = features(tile(client, "plots", ZOOMED_OUT), "plot_clusters")

    assert status == {mueang.plot_uuid: "problems", ban_fang.plot_uuid: "not_checked"}
    assert sum(c["problems"] for c in clusters) == 1 and sum(c["not_checked"] for c in clusters) == 1


def test_a_plot_whose_checks_all_pass_is_ok(signed_in, sent, db: Engine) -> None:
    mueang, _ = sent
    flag_plot(db, mueang.plot_uuid, status="ok")

    plots = features(tile(signed_in("district", "4001"), "plots", DETAIL), "plots")

    assert [(p["uuid"], p["status"], p["problems"]) for p in plots] == [(mueang.plot_uuid, "ok", 0)]


def test_filters_narrow_the_submissions_in_the_tiles(signed_in, sent, db: Engine) -> None:
    mueang, ban_fang = sent
    with db.begin() as conn:
        set_review_state(conn, ban_fang.submission_id, "approved")
    client = signed_in("department")

    def ids(query: str) -> set[int]:
        return {s["id"] for s in features(tile(client, "submissions", DETAIL, query), "submissions")}

    assert ids("review_state=approved") == {ban_fang.submission_id}
    assert ids("review_state=received") == {mueang.submission_id}
    assert ids(f"area={MUEANG}") == {mueang.submission_id}
    assert ids("form=plot_survey&month=2026-01") == set()
    assert ids("form=another_form") == set()


def test_the_area_filter_narrows_the_plots_and_the_flag_filter_keeps_flagged_plots(signed_in, sent, db) -> None:
    mueang, ban_fang = sent
    flag_plot(db, ban_fang.plot_uuid)
    client = signed_in("province", "40")

    def uuids(query: str) -> set[str]:
        return {p["uuid"] for p in features(tile(client, "plots", DETAIL, query), "plots")}

    assert uuids(f"area={BAN_FANG}") == {ban_fang.plot_uuid}
    assert uuids("area=4001") == {mueang.plot_uuid}
    assert uuids("flag=any") == {ban_fang.plot_uuid}
    assert uuids("flag=plot_overlaps") == set()


def test_an_area_outside_the_users_own_is_refused(signed_in, sent) -> None:
    client = signed_in("district", "4001")
    z, x, y = DETAIL

    for path in (f"/tiles/plots/{z}/{x}/{y}.mvt", f"/tiles/submissions/{z}/{x}/{y}.mvt", "/map"):
        assert client.get(f"{path}?area=4002").status_code == 403
        assert client.get(f"{path}?area={BAN_FANG}").status_code == 403


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_sign_in_page(client: FlaskClient, sent) -> None:
    z, x, y = DETAIL

    for path in (f"/tiles/plots/{z}/{x}/{y}.mvt", f"/tiles/submissions/{z}/{x}/{y}.mvt", "/map"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/signin?next=")


def test_an_empty_tile_is_204_and_a_tile_outside_the_grid_404(signed_in, sent) -> None:
    client = signed_in("department")

    assert client.get("/tiles/plots/14/0/0.mvt").status_code == 204
    assert client.get("/tiles/submissions/14/0/0.mvt").status_code == 204
    assert client.get("/tiles/plots/2/4/0.mvt").status_code == 404


def test_a_malformed_filter_is_a_bad_request(signed_in, sent) -> None:
    client = signed_in("department")
    z, x, y = DETAIL

    assert client.get(f"/tiles/plots/{z}/{x}/{y}.mvt?month=November").status_code == 400
    assert client.get(f"/tiles/submissions/{z}/{x}/{y}.mvt?review_state=done").status_code == 400
