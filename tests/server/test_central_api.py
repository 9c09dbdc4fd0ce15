"""ODK's own tools work against this server: pyodk (from PyPI) and plain HTTP against ODK Central's API subset,
served by a real HTTP server over the real WSGI app and PostGIS.

The corpus of these tests: a form with a group, a repeat, an integer, a date-time and a geopoint; submissions
by app users of two districts (their area), so a district supervisor sees only their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from lxml import etree
from sqlalchemy import Engine

from khoknongna.accounts import create_app_user
from khoknongna.publishing import publish_form
from khoknongna.settings import Settings
from tests.small_forms import HOUSEHOLD, household

DISTRICT_A, DISTRICT_B = "4001", "4002"


@pytest.fixture
def corpus(app: Flask, settings: Settings, db: Engine, live_server: str) -> dict[str, str]:
    """The form, published, and three submissions sent by app users: two in district A, one in B.
    Returns instanceID by household name."""
    services = app.extensions["knn"]
    publish_form(services.engine, services.blobs, settings, "household.xml", HOUSEHOLD)
    sent = {}
    with db.begin() as conn:
        _, token_a = create_app_user(conn, 1, "phone A", DISTRICT_A + "01")
        _, token_b = create_app_user(conn, 1, "phone B", DISTRICT_B + "01")
    for name, age, members, token in (
        ("Somchai", 41, ["Nok", "Lek"], token_a),
        ("Malee", 35, [], token_a),
        ("Boonmee", 60, ["Dao"], token_b),
    ):
        xml = household(name, age, members)
        answer = requests.post(
            f"{live_server}/v1/key/{token}/projects/1/submission",
            files={"xml_submission_file": ("submission.xml", xml.encode(), "text/xml")},
            headers={"X-OpenRosa-Version": "1.0"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        sent[name] = etree.fromstring(xml.encode()).findtext("meta/instanceID")
    return sent


def token_of(live_server: str, user: tuple[str, str]) -> str:
    answer = requests.post(f"{live_server}/v1/sessions", json={"email": user[0], "password": user[1]}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(live_server: str, user: tuple[str, str], method: str, path: str, **options: Any) -> requests.Response:
    """``method`` on ``path`` (under ``/v1/``) with the bearer token of a new session of ``user`` (name, password);
    ``options`` go to ``requests.request`` (params, json, ...)."""
    headers = bearer(token_of(live_server, user))
    return requests.request(method, f"{live_server}/v1/{path}", headers=headers, timeout=60, **options)


@contextmanager
def signed_in_pyodk(live_server: str, user: tuple[str, str], folder: Path) -> Iterator[Any]:
    """A pyodk Client configured by a config file in ``folder`` pointing at the test server, signed in as
    ``user`` (name, password)."""
    from pyodk.client import Client

    config = folder / f"{user[0]}.toml"
    config.write_text(
        f'[central]\nbase_url = "{live_server}"\nusername = "{user[0]}"\npassword = "{user[1]}"\n'
        "default_project_id = 1\n",
        encoding="utf-8",
    )
    with Client(config_path=str(config), cache_path=str(folder / f"{user[0]}_cache.toml")) as client:
        yield client


@pytest.fixture
def pyodk_client(live_server: str, supervisor: tuple[str, str], tmp_path: Path) -> Iterator[Any]:
    """A pyodk Client signed in as the department supervisor."""
    with signed_in_pyodk(live_server, supervisor, tmp_path) as client:
        yield client


# --- pyodk ----------------------------------------------------------------------------------------------


def test_pyodk_lists_projects_and_forms(pyodk_client, corpus) -> None:
    projects = pyodk_client.projects.list()
    forms = pyodk_client.forms.list()
    assert [p.id for p in projects] == [1]
    assert [(f.xmlFormId, f.name, f.version) for f in forms] == [("household", "Household", "3")]


def test_pyodk_get_table_returns_typed_rows_and_expanded_repeats(pyodk_client, corpus) -> None:
    table = pyodk_client.submissions.get_table(
        form_id="household", expand="*", wkt=True, filter="__system/submissionDate ge 2020-01-01T00:00:00Z"
    )
    rows = {r["head"]["name"]: r for r in table["value"]}
    assert set(rows) == {"Somchai", "Malee", "Boonmee"}
    somchai = rows["Somchai"]
    assert somchai["__id"] == corpus["Somchai"]
    assert somchai["head"]["age"] == 41
    assert somchai["where"] == "POINT (102.83 16.43 180)"
    assert somchai["when"] == "2026-11-02T09:30:00.000+07:00"
    assert [m["member_name"] for m in somchai["member"]] == ["Nok", "Lek"]
    assert somchai["__system"]["reviewState"] is None


def test_pyodk_get_table_of_a_repeat_links_rows_to_their_submission(pyodk_client, corpus) -> None:
    table = pyodk_client.submissions.get_table(form_id="household", table_name="Submissions.member")
    parents = sorted((r["member_name"], r["__Submissions-id"]) for r in table["value"])
    assert parents == sorted([("Nok", corpus["Somchai"]), ("Lek", corpus["Somchai"]), ("Dao", corpus["Boonmee"])])


def test_pyodk_review_state_and_comment(pyodk_client, corpus) -> None:
    pyodk_client.submissions.review(
        corpus["Malee"], review_state="hasIssues", form_id="household", comment="the age looks wrong"
    )
    after = pyodk_client.submissions.get(corpus["Malee"], form_id="household")
    comments = pyodk_client.submissions.list_comments(corpus["Malee"], form_id="household")
    assert after.reviewState == "hasIssues"
    assert "the age looks wrong" in [c.body for c in comments]


def test_pyodk_lists_submissions_and_their_attachments(pyodk_client, corpus) -> None:
    listed = pyodk_client.submissions.list(form_id="household")
    assert sorted(s.instanceId for s in listed) == sorted(corpus.values())
    assert pyodk_client.submissions.get(corpus["Malee"], form_id="household").instanceId == corpus["Malee"]


def test_pyodk_creates_a_submission_from_raw_xml(pyodk_client, corpus) -> None:
    new_id = f"uuid:{uuid.uuid4()}"
    created = pyodk_client.submissions.create(household("Prasert", 28, ["Ploy"], new_id), form_id="household")
    assert created.instanceId == new_id
    table = pyodk_client.submissions.get_table(form_id="household", filter=f"__id eq '{new_id}'")
    assert [r["head"]["name"] for r in table["value"]] == ["Prasert"]


@pytest.fixture
def district_client(live_server: str, web_user, tmp_path: Path) -> Iterator[Any]:
    """A pyodk Client signed in as the supervisor of district A."""
    with signed_in_pyodk(live_server, web_user("district_a", "district", DISTRICT_A), tmp_path) as client:
        yield client


def test_a_district_supervisor_lists_only_their_district(district_client, corpus) -> None:
    table = district_client.submissions.get_table(form_id="household")
    listed = district_client.submissions.list(form_id="household")
    assert sorted(r["head"]["name"] for r in table["value"]) == ["Malee", "Somchai"]
    assert sorted(s.instanceId for s in listed) == sorted([corpus["Malee"], corpus["Somchai"]])


def test_pyodk_is_refused_another_districts_submission_with_central_403_1(district_client, corpus) -> None:
    from pyodk.errors import PyODKError

    refusals = []
    for call in (
        lambda: district_client.submissions.get(corpus["Boonmee"], form_id="household"),
        lambda: district_client.submissions.list_comments(corpus["Boonmee"], form_id="household"),
        lambda: district_client.submissions.review(corpus["Boonmee"], review_state="approved", form_id="household"),
        lambda: district_client.submissions.add_comment(corpus["Boonmee"], "looks fine", form_id="household"),
    ):
        with pytest.raises(PyODKError) as refused:
            call()
        refusals.append(refused.value.is_central_error(403.1))
    assert refusals == [True] * 4


#: Routes to one submission, under ``/v1/projects/1/forms/``; ``{id}`` is its instanceID.
ANOTHER_DISTRICT = (
    ("GET", "household/submissions/{id}"),
    ("GET", "household/submissions/{id}.xml"),
    ("GET", "household/submissions/{id}/attachments"),
    ("GET", "household/submissions/{id}/attachments/photo.jpg"),
    ("GET", "household/submissions/{id}/versions"),
    ("GET", "household/submissions/{id}/comments"),
    ("POST", "household/submissions/{id}/comments"),
    ("PATCH", "household/submissions/{id}"),
    ("GET", "household.svc/Submissions('{id}')"),
)


@pytest.mark.parametrize(("method", "route"), ANOTHER_DISTRICT)
def test_another_districts_submission_is_central_403_1_over_http(live_server, corpus, web_user, method, route) -> None:
    token = token_of(live_server, web_user("district_a", "district", DISTRICT_A))
    answer = requests.request(
        method,
        f"{live_server}/v1/projects/1/forms/{route.format(id=corpus['Boonmee'])}",
        json={"reviewState": "approved"} if method == "PATCH" else {"body": "fine"},
        headers=bearer(token),
        timeout=30,
    )
    assert (answer.status_code, answer.json()["code"]) == (403, 403.1)


def test_a_submission_of_no_district_is_still_central_404_1_for_a_district_supervisor(
    live_server, corpus, web_user
) -> None:
    token = token_of(live_server, web_user("district_a", "district", DISTRICT_A))
    answer = requests.get(
        f"{live_server}/v1/projects/1/forms/household/submissions/uuid:nothing", headers=bearer(token), timeout=30
    )
    assert (answer.status_code, answer.json()["code"]) == (404, 404.1)


# --- HTTP: sessions and problems ----------------------------------------------------------------------


def test_a_wrong_password_is_central_401_2(live_server, supervisor) -> None:
    answer = requests.post(f"{live_server}/v1/sessions", json={"email": supervisor[0], "password": "nope"}, timeout=30)
    assert answer.status_code == 401
    assert answer.json()["code"] == 401.2


def test_a_request_without_credentials_is_401_2(live_server, corpus) -> None:
    answer = requests.get(f"{live_server}/v1/projects", timeout=30)
    assert (answer.status_code, answer.json()["code"]) == (401, 401.2)


def test_a_deleted_session_token_stops_working(live_server, supervisor) -> None:
    token = token_of(live_server, supervisor)
    assert requests.get(f"{live_server}/v1/projects", headers=bearer(token), timeout=30).status_code == 200
    ended = requests.delete(f"{live_server}/v1/sessions/{token}", headers=bearer(token), timeout=30)
    after = requests.get(f"{live_server}/v1/projects", headers=bearer(token), timeout=30)
    assert ended.json() == {"success": True}
    assert (after.status_code, after.json()["code"]) == (401, 401.2)


def test_a_new_session_generation_ends_the_tokens(live_server, supervisor, db) -> None:
    from khoknongna.storage.users import set_active

    token = token_of(live_server, supervisor)
    with db.begin() as conn:
        set_active(conn, supervisor[0], False)
        set_active(conn, supervisor[0], True)
    after = requests.get(f"{live_server}/v1/projects", headers=bearer(token), timeout=30)
    assert after.status_code == 401


def test_the_tokens_are_stored_hashed(live_server, supervisor, db) -> None:
    from sqlalchemy import text

    token = token_of(live_server, supervisor)
    with db.connect() as conn:
        stored = conn.execute(text("SELECT token_sha256 FROM api_sessions")).scalars().all()
    assert token not in stored and len(stored) == 1


def test_an_unknown_form_is_central_404_1(live_server, supervisor, corpus) -> None:
    token = token_of(live_server, supervisor)
    answer = requests.get(f"{live_server}/v1/projects/1/forms/nothing", headers=bearer(token), timeout=30)
    assert answer.status_code == 404
    assert answer.json()["code"] == 404.1
    assert answer.json()["message"] == "Could not find the resource you were looking for."


def test_a_collector_is_central_403_1(live_server, collector, corpus) -> None:
    token = token_of(live_server, collector)
    answer = requests.get(f"{live_server}/v1/projects", headers=bearer(token), timeout=30)
    assert (answer.status_code, answer.json()["code"]) == (403, 403.1)


def test_a_bad_filter_is_central_400_18(live_server, supervisor, corpus) -> None:
    token = token_of(live_server, supervisor)
    answer = requests.get(
        f"{live_server}/v1/projects/1/forms/household.svc/Submissions",
        params={"$filter": "head/name eq 'x'"},
        headers=bearer(token),
        timeout=30,
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 400.18)


# --- HTTP: shapes ---------------------------------------------------------------------------------------


def test_fields_list_groups_repeats_and_types(live_server, supervisor, corpus) -> None:
    token = token_of(live_server, supervisor)
    fields = requests.get(
        f"{live_server}/v1/projects/1/forms/household/fields?odata=true", headers=bearer(token), timeout=30
    ).json()
    assert [(f["path"], f["type"]) for f in fields][:5] == [
        ("/head", "structure"),
        ("/head/name", "string"),
        ("/head/age", "int"),
        ("/when", "dateTime"),
        ("/where", "geopoint"),
    ]
    assert ("/member", "repeat") in [(f["path"], f["type"]) for f in fields]


def test_submission_xml_is_what_was_sent(live_server, supervisor, corpus) -> None:
    token = token_of(live_server, supervisor)
    answer = requests.get(
        f"{live_server}/v1/projects/1/forms/household/submissions/{corpus['Malee']}.xml",
        headers=bearer(token),
        timeout=30,
    )
    assert etree.fromstring(answer.content).findtext("head/name") == "Malee"


def test_metadata_is_edmx_and_every_entity_set_answers(live_server, supervisor, corpus) -> None:
    token = token_of(live_server, supervisor)
    base = f"{live_server}/v1/projects/1/forms/household.svc"
    edmx = etree.fromstring(requests.get(f"{base}/$metadata", headers=bearer(token), timeout=30).content)
    ns = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}
    sets = [s.get("Name") for s in edmx.iterfind(".//edm:EntitySet", ns)]
    service = requests.get(base, headers=bearer(token), timeout=30).json()
    assert sets == ["Submissions", "Submissions.member"]
    assert [v["name"] for v in service["value"]] == sets
    for name in sets:
        assert requests.get(f"{base}/{name}", headers=bearer(token), timeout=30).status_code == 200
    age = edmx.find(".//edm:ComplexType[@Name='head']/edm:Property[@Name='age']", ns)
    assert age.get("Type") == "Edm.Int64"


def test_paging_with_top_and_next_link_returns_each_row_once(live_server, supervisor, corpus) -> None:
    token = token_of(live_server, supervisor)
    url = f"{live_server}/v1/projects/1/forms/household.svc/Submissions?%24top=2&%24count=true"
    seen = []
    while url:
        page = requests.get(url, headers=bearer(token), timeout=30).json()
        assert page["@odata.count"] == 3
        seen += [r["__id"] for r in page["value"]]
        url = page.get("@odata.nextLink")
    assert sorted(seen) == sorted(corpus.values())


def test_geopoints_are_geojson_by_default(live_server, supervisor, corpus) -> None:
    token = token_of(live_server, supervisor)
    page = requests.get(
        f"{live_server}/v1/projects/1/forms/household.svc/Submissions",
        params={"$filter": f"__id eq '{corpus['Malee']}'"},
        headers=bearer(token),
        timeout=30,
    ).json()
    assert page["value"][0]["where"] == {
        "type": "Point",
        "coordinates": [102.83, 16.43, 180],
        "properties": {"accuracy": 4.5},
    }


# --- edits ----------------------------------------------------------------------------------------------


def edit_of(instance_id: str, name: str, age: int, new_id: str | None = None) -> str:
    """The XML of an edit of ``instance_id``: a new instanceID and ``meta/deprecatedID`` naming it."""
    xml = household(name, age, [], new_id or f"uuid:{uuid.uuid4()}")
    return xml.replace("</meta>", f"<deprecatedID>{instance_id}</deprecatedID></meta>")


def test_pyodk_edits_a_submission_as_central(pyodk_client, corpus) -> None:
    pyodk_client.submissions.edit(corpus["Malee"], edit_of(corpus["Malee"], "Malee", 36), form_id="household")
    after = pyodk_client.submissions.get(corpus["Malee"], form_id="household")
    table = pyodk_client.submissions.get_table(form_id="household", filter=f"__id eq '{corpus['Malee']}'")
    assert after.reviewState == "edited"
    assert [r["head"]["age"] for r in table["value"]] == [36]


def put(live_server: str, user: tuple[str, str], instance_id: str, xml: str) -> requests.Response:
    return requests.put(
        f"{live_server}/v1/projects/1/forms/household/submissions/{instance_id}",
        data=xml.encode(),
        headers={**bearer(token_of(live_server, user)), "Content-Type": "application/xml"},
        timeout=30,
    )


def test_an_edit_without_deprecated_id_is_central_400_19(live_server, supervisor, corpus) -> None:
    answer = put(live_server, supervisor, corpus["Malee"], household("Malee", 36, []))
    assert (answer.status_code, answer.json()["code"]) == (400, 400.19)


def test_an_edit_of_an_older_version_is_central_409_9(live_server, supervisor, corpus) -> None:
    first = put(live_server, supervisor, corpus["Malee"], edit_of(corpus["Malee"], "Malee", 36))
    again = put(live_server, supervisor, corpus["Malee"], edit_of(corpus["Malee"], "Malee", 37))
    assert first.status_code == 200
    assert (again.status_code, again.json()["code"]) == (409, 409.9)


def test_an_edit_of_another_form_is_central_400_8(live_server, supervisor, corpus) -> None:
    xml = edit_of(corpus["Malee"], "Malee", 36).replace('id="household"', 'id="other"')
    answer = put(live_server, supervisor, corpus["Malee"], xml)
    assert (answer.status_code, answer.json()["code"]) == (400, 400.8)


def test_a_post_naming_deprecated_id_is_a_new_version(live_server, supervisor, corpus) -> None:
    new_id = f"uuid:{uuid.uuid4()}"
    answer = requests.post(
        f"{live_server}/v1/projects/1/forms/household/submissions",
        data=edit_of(corpus["Somchai"], "Somchai", 42, new_id).encode(),
        headers={**bearer(token_of(live_server, supervisor)), "Content-Type": "application/xml"},
        timeout=30,
    )
    versions = signed_in(
        live_server, supervisor, "GET", f"projects/1/forms/household/submissions/{corpus['Somchai']}/versions"
    ).json()
    assert answer.status_code == 200
    assert (answer.json()["instanceId"], answer.json()["reviewState"]) == (corpus["Somchai"], "edited")
    assert [v["instanceId"] for v in versions] == [new_id, corpus["Somchai"]]


def test_a_district_supervisor_cannot_edit_another_district(live_server, corpus, web_user) -> None:
    district = web_user("district_a", "district", DISTRICT_A)
    by_put = put(live_server, district, corpus["Boonmee"], edit_of(corpus["Boonmee"], "Boonmee", 61))
    by_post = requests.post(
        f"{live_server}/v1/projects/1/forms/household/submissions",
        data=edit_of(corpus["Boonmee"], "Boonmee", 61).encode(),
        headers={**bearer(token_of(live_server, district)), "Content-Type": "application/xml"},
        timeout=30,
    )
    assert (by_put.status_code, by_put.json()["code"]) == (403, 403.1)
    assert (by_post.status_code, by_post.json()["code"]) == (403, 403.1)


# --- OData: one row, GeoJSON, long feeds ------------------------------------------------------------------


def test_a_single_row_path_answers_that_submission(live_server, supervisor, corpus) -> None:
    token = token_of(live_server, supervisor)
    one = f"{live_server}/v1/projects/1/forms/household.svc/Submissions('{corpus['Malee']}')"
    answer = requests.get(one, headers=bearer(token), timeout=30)
    missing = requests.get(
        f"{live_server}/v1/projects/1/forms/household.svc/Submissions('uuid:nothing')",
        headers=bearer(token),
        timeout=30,
    )
    assert [r["head"]["name"] for r in answer.json()["value"]] == ["Malee"]
    assert (missing.status_code, missing.json()["code"]) == (404, 404.1)


def test_format_geojson_is_a_feature_collection_on_the_first_geo_field(live_server, supervisor, corpus) -> None:
    token = token_of(live_server, supervisor)
    collection = requests.get(
        f"{live_server}/v1/projects/1/forms/household.svc/Submissions",
        params={"$format": "geojson", "$geometry": "where"},
        headers=bearer(token),
        timeout=30,
    ).json()
    malee = next(f for f in collection["features"] if f["id"] == corpus["Malee"])
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 3
    assert malee["geometry"] == {"type": "Point", "coordinates": [102.83, 16.43, 180]}
    assert malee["properties"]["head"]["name"] == "Malee" and malee["properties"]["accuracy"] == 4.5


GENERATED = """
WITH s AS (
    INSERT INTO submissions (form_id, instance_id, created_at, area_code)
    SELECT f.id, 'uuid:generated-' || g, now(), :area FROM generate_series(1, :n) g, forms f
    WHERE f.xml_form_id = 'household'
    RETURNING id, form_id, instance_id
)
INSERT INTO submission_versions (submission_id, form_id, form_version_id, instance_id, current, encrypted, xml,
                                 xml_sha256, data)
SELECT s.id, s.form_id, (SELECT max(id) FROM form_versions v WHERE v.form_id = s.form_id), s.instance_id, true,
       false, '<data/>', md5(s.instance_id),
       jsonb_build_object('head', jsonb_build_object('name', 'generated ' || s.id, 'age', (s.id % 90)::text))
FROM s
"""


def test_paging_with_skiptoken_returns_each_of_10000_rows_once_in_flat_memory(
    live_server, supervisor, corpus, db
) -> None:
    import tracemalloc

    from sqlalchemy import text

    with db.begin() as conn:
        conn.execute(text(GENERATED), {"n": 10_000, "area": DISTRICT_A + "01"})
    token = token_of(live_server, supervisor)
    url = f"{live_server}/v1/projects/1/forms/household.svc/Submissions?%24top=1000"
    seen: list[str] = []
    tracemalloc.start()
    while url:
        page = requests.get(url, headers=bearer(token), timeout=60).json()
        seen += [r["__id"] for r in page["value"]]
        url = page.get("@odata.nextLink")
        assert url is None or "%24skiptoken=" in url
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(seen) == len(set(seen)) == 10_003
    assert peak < 64 * 2**20  # pages of 1,000 rows: the server holds one page at most, never the 10,000


# --- WKT ------------------------------------------------------------------------------------------------

PLOT_FORM = b"""<?xml version="1.0" encoding="UTF-8"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">
  <h:head>
    <h:title>Boundary</h:title>
    <model>
      <instance><data id="boundary" version="1"><gate/><boundary/><meta><instanceID/></meta></data></instance>
      <bind nodeset="/data/gate" type="geopoint"/>
      <bind nodeset="/data/boundary" type="geoshape"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()"/>
    </model>
  </h:head>
  <h:body><input ref="/data/gate"/><input ref="/data/boundary"/></h:body>
</h:html>
"""
RING = "16.4 102.8 150.5 3; 16.4 102.81 151 4; 16.41 102.81 149 5; 16.4 102.8 150.5 3"


@pytest.fixture
def boundary(app: Flask, settings: Settings, live_server: str, supervisor: tuple[str, str]) -> str:
    """A form with a geopoint and a geoshape (a plot boundary whose corners have altitude and accuracy), and one
    submission of it. Returns the feed's URL."""
    services = app.extensions["knn"]
    publish_form(services.engine, services.blobs, settings, "boundary.xml", PLOT_FORM)
    xml = (
        f'<data id="boundary" version="1"><gate>16.43 102.83 180 4.5</gate><boundary>{RING}</boundary>'
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    )
    sent = requests.post(
        f"{live_server}/v1/projects/1/forms/boundary/submissions",
        data=xml.encode(),
        headers={**bearer(token_of(live_server, supervisor)), "Content-Type": "application/xml"},
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    return f"{live_server}/v1/projects/1/forms/boundary.svc/Submissions"


def test_wkt_true_keeps_the_altitude_as_central_writes_it(boundary, live_server, supervisor) -> None:
    row = requests.get(boundary, params={"$wkt": "true"}, headers=bearer(token_of(live_server, supervisor)), timeout=30)
    assert row.json()["value"][0]["gate"] == "POINT (102.83 16.43 180)"
    assert row.json()["value"][0]["boundary"] == (
        "POLYGON ((102.8 16.4 150.5,102.81 16.4 151,102.81 16.41 149,102.8 16.4 150.5))"
    )


def test_wkt_2d_drops_the_altitude_and_the_accuracy(boundary, live_server, supervisor) -> None:
    row = requests.get(boundary, params={"$wkt": "2d"}, headers=bearer(token_of(live_server, supervisor)), timeout=30)
    assert row.json()["value"][0]["gate"] == "POINT (102.83 16.43)"
    assert row.json()["value"][0]["boundary"] == "POLYGON ((102.8 16.4,102.81 16.4,102.81 16.41,102.8 16.4))"


def test_without_wkt_a_boundary_is_geojson_with_altitude_and_accuracies(boundary, live_server, supervisor) -> None:
    row = requests.get(boundary, headers=bearer(token_of(live_server, supervisor)), timeout=30)
    assert row.json()["value"][0]["boundary"] == {
        "type": "Polygon",
        "coordinates": [[[102.8, 16.4, 150.5], [102.81, 16.4, 151], [102.81, 16.41, 149], [102.8, 16.4, 150.5]]],
        "properties": {"accuracies": [3, 4, 5, 3]},
    }


def test_pyodk_asks_for_flat_wkt_with_wkt_2d(pyodk_client, boundary) -> None:
    table = pyodk_client.submissions.get_table(form_id="boundary", wkt="2d")
    assert table["value"][0]["boundary"] == "POLYGON ((102.8 16.4,102.81 16.4,102.81 16.41,102.8 16.4))"


# --- what schemathesis found: odd ids and values are Central's problems, never a server error ---------------


@pytest.mark.parametrize("path", ["", "/forms", "/forms/household/submissions", "/datasets"])
def test_a_project_id_beyond_the_databases_integers_is_central_404_1(live_server, supervisor, corpus, path) -> None:
    answer = signed_in(live_server, supervisor, "GET", f"projects/{2**31}{path}")
    assert (answer.status_code, answer.json()["code"]) == (404, 404.1)


@pytest.mark.parametrize("path", ["projects/null", "projects/null,null/datasets", "projects/1/nothing"])
def test_a_path_no_route_takes_under_v1_is_a_json_404(live_server, supervisor, path) -> None:
    answer = signed_in(live_server, supervisor, "GET", path)
    assert (answer.status_code, answer.headers["Content-Type"]) == (404, "application/json")
    assert answer.json()["code"] == 404.1


def test_a_method_a_central_route_does_not_take_is_a_json_405_with_allow(live_server, supervisor) -> None:
    answer = signed_in(live_server, supervisor, "DELETE", "projects/1/forms")
    assert (answer.status_code, answer.headers["Content-Type"]) == (405, "application/json")
    assert answer.json()["code"] == 405.1
    assert "GET" in answer.headers["Allow"]


def test_a_nul_character_in_a_path_is_central_400_8_not_database_unavailable(live_server, supervisor, corpus) -> None:
    answer = signed_in(live_server, supervisor, "GET", "projects/1/forms/household/submissions/uuid%00x")
    assert (answer.status_code, answer.json()["code"]) == (400, 400.8)


def test_a_nul_character_in_a_comment_is_central_400_8(live_server, supervisor, corpus) -> None:
    answer = signed_in(
        live_server,
        supervisor,
        "POST",
        f"projects/1/forms/household/submissions/{corpus['Malee']}/comments",
        json={"body": "a\x00b"},
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 400.8)


@pytest.mark.parametrize("feed", ["forms/household.svc/Submissions", "forms/household/submissions.csv"])
def test_a_filter_value_the_database_refuses_is_central_400_8_not_a_broken_stream(
    live_server, supervisor, corpus, feed
) -> None:
    answer = signed_in(live_server, supervisor, "GET", f"projects/1/{feed}", params={"$filter": "__id eq 'a\x00'"})
    assert (answer.status_code, answer.json()["code"]) == (400, 400.8)


def test_a_top_beyond_the_databases_integers_means_every_row(live_server, supervisor, corpus) -> None:
    answer = signed_in(
        live_server, supervisor, "GET", "projects/1/forms/household.svc/Submissions", params={"$top": str(10**20)}
    )
    assert answer.status_code == 200
    assert sorted(r["__id"] for r in answer.json()["value"]) == sorted(corpus.values())


def test_a_top_of_other_digits_than_ascii_is_central_400_8(live_server, supervisor, corpus) -> None:
    answer = signed_in(
        live_server, supervisor, "GET", "projects/1/forms/household.svc/Submissions", params={"$top": "²"}
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 400.8)
