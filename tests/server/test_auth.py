"""Who may use the OpenRosa routes, and how ODK Collect proves it (PROTOCOL §8).

* no credentials → 401 with a Digest challenge (and a Basic one only over https), since Collect answers
  nothing but a challenge: Digest always, Basic only over https;
* Digest as Collect's okhttp-digest does it: one challenge, then the same nonce with a growing ``nc``;
  an expired nonce gets ``stale=true`` so that Collect retries without asking the user;
* Basic only over https (problem 401.3 over http) unless ``allow_basic_over_http`` is set;
* app users carry a secret token in the URL: no header at all, and 403 (never 401) when the token is
  unknown, revoked or for another project, so Collect does not show a login prompt.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import time
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from lxml import etree
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from khoknongna.accounts import create_app_user
from khoknongna.problems import BASIC_NEEDS_HTTPS, KEY_INVALID
from khoknongna.publishing import publish_form
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from khoknongna.storage.users import revoke_app_user
from tests.collect import CollectClient, parse_challenges
from tests.small_forms import xform

RESPONSE_NS = "http://openrosa.org/http/response"
XFORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
DEVICE_QUERY = "deviceID=collect%3ATESTDEVICE0000001"
NONCE_SALT = "knn-digest-nonce"  # server.auth.DigestNonces

#: The three requests Collect makes that need a signed-in user.
PROTECTED = [("GET", "/formList"), ("HEAD", "/submission"), ("POST", "/submission")]

# --- helpers -----------------------------------------------------------------------------------------


def md5(value: str) -> str:
    return hashlib.md5(value.encode()).hexdigest()


def challenges(response: TestResponse) -> dict[str, dict[str, str]]:
    return parse_challenges(response.headers.getlist("WWW-Authenticate"))


def digest_authorization(
    method: str,
    uri: str,
    *,
    username: str,
    password: str,
    nonce: str,
    realm: str = "khoknongna",
    opaque: str = "",
    nc: int = 1,
) -> dict[str, str]:
    """An ``Authorization: Digest`` header (qop=auth, MD5) computed for ``method`` and ``uri``."""
    cnonce = uuid.uuid4().hex[:16]
    ha1 = md5(f"{username}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    response = md5(f"{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}")
    return {
        "Authorization": f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'qop=auth, nc={nc:08x}, cnonce="{cnonce}", response="{response}", opaque="{opaque}", algorithm=MD5'
    }


def basic_authorization(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def fresh_challenge(client: FlaskClient) -> dict[str, str]:
    return challenges(client.get("/formList"))["digest"]


def openrosa_message(response: TestResponse) -> str:
    root = etree.fromstring(response.data)
    assert root.tag == f"{{{RESPONSE_NS}}}OpenRosaResponse"
    return root.find(f"{{{RESPONSE_NS}}}message").text


def expired_nonce(settings: Settings) -> str:
    """A nonce this server signed (same key and salt) two lifetimes ago."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 2 * settings.nonce_lifetime_s

    return PastSigner(settings.secret_key, salt=NONCE_SALT).sign(secrets.token_hex(8)).decode()


def submission_xml() -> bytes:
    return (
        '<data xmlns:orx="http://openrosa.org/xforms" id="simple" version="1"><q>สวัสดี</q>'
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    ).encode()


def request(client: FlaskClient, method: str, path: str, **kwargs) -> TestResponse:
    """One request as Collect sends it before it has seen any challenge."""
    if method == "POST":
        kwargs.setdefault(
            "data", {"xml_submission_file": (io.BytesIO(submission_xml()), "Simple_2026-11-21_10-00-00.xml")}
        )
        kwargs.setdefault("content_type", "multipart/form-data")
    headers = {"X-OpenRosa-Version": "1.0", **kwargs.pop("headers", {})}
    return client.open(path, method=method, headers=headers, **kwargs)


@pytest.fixture
def simple_form(app: Flask, db: Engine, settings: Settings) -> None:
    publish_form(db, app.extensions["knn"].blobs, settings, "simple.xml", xform())


@pytest.fixture
def app_user(db: Engine) -> tuple[int, str]:
    """(id, token) of an app user of project 1."""
    with db.begin() as conn:
        return create_app_user(conn, 1, "นพต. อำเภอเมือง")


# --- no credentials ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_credentials_is_401_with_a_digest_challenge(client, method, path):
    response = request(client, method, path)
    assert response.status_code == 401
    digest = challenges(response)["digest"]
    assert digest["realm"] == "khoknongna"
    assert digest["qop"] == "auth"
    assert digest["nonce"]
    assert digest["opaque"]
    assert digest["algorithm"].upper() == "MD5"
    assert "stale" not in digest


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_credentials_over_http_offers_no_basic_challenge(client, method, path):
    response = request(client, method, path)
    assert list(challenges(response)) == ["digest"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_credentials_over_https_offers_basic_after_digest(client, method, path):
    response = request(client, method, path, base_url="https://localhost")
    assert response.status_code == 401
    schemes = [value.split(" ", 1)[0].lower() for value in response.headers.getlist("WWW-Authenticate")]
    assert schemes == ["digest", "basic"]
    assert challenges(response)["basic"]["realm"] == "khoknongna"


def test_the_challenge_comes_with_an_openrosa_message(client):
    response = client.get("/formList")
    assert "text/xml" in response.headers["Content-Type"]
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert openrosa_message(response)


# --- Digest as Collect does it -----------------------------------------------------------------------


def test_digest_as_collect_does_it_is_accepted(collect):
    response = collect.get("/formList")
    assert response.status_code == 200
    assert [status for _, _, status in collect.log] == [401, 200]


def test_digest_over_https_is_accepted(app, collector):
    phone = CollectClient(app.test_client(), *collector, scheme="https")
    assert phone.get("/formList").status_code == 200


def test_digest_nonce_is_reused_with_a_growing_nc_without_new_challenges(collect, simple_form):
    for _ in range(5):
        assert collect.get("/formList").status_code == 200
        assert collect.get("/forms/simple.xml").status_code == 200
        assert collect.request("HEAD", "/submission").status_code == 204
    assert collect.nc == 15
    assert [status for _, _, status in collect.log].count(401) == 1


def test_digest_with_a_wrong_password_is_401_and_not_stale_so_collect_gives_up(app, collector):
    phone = CollectClient(app.test_client(), collector[0], "wrong-password")
    response = phone.get("/formList")
    assert response.status_code == 401
    assert "stale" not in challenges(response)["digest"]
    assert [status for _, _, status in phone.log] == [401, 401]


def test_digest_for_an_unknown_user_is_401(app, collector):
    phone = CollectClient(app.test_client(), "somchai", collector[1])
    assert phone.get("/formList").status_code == 401


def test_digest_computed_for_another_uri_is_refused(client, collector):
    challenge = fresh_challenge(client)
    header = digest_authorization(
        "GET", f"/submission?{DEVICE_QUERY}", username=collector[0], password=collector[1], **_nonce(challenge)
    )
    response = client.get(f"/formList?{DEVICE_QUERY}", headers=header)
    assert response.status_code == 401


def test_digest_uri_without_the_query_string_the_request_had_is_refused(client, collector):
    challenge = fresh_challenge(client)
    header = digest_authorization("GET", "/formList", username=collector[0], password=collector[1], **_nonce(challenge))
    response = client.get(f"/formList?{DEVICE_QUERY}", headers=header)
    assert response.status_code == 401


def test_digest_uri_includes_the_device_id_query_string(client, collector):
    challenge = fresh_challenge(client)
    uri = f"/formList?{DEVICE_QUERY}"
    header = digest_authorization("GET", uri, username=collector[0], password=collector[1], **_nonce(challenge))
    response = client.get(uri, headers=header)
    assert response.status_code == 200


def test_nonce_not_signed_by_this_server_is_refused_with_a_fresh_challenge(client, collector):
    forged = TimestampSigner("another-servers-key", salt=NONCE_SALT).sign(secrets.token_hex(8)).decode()
    header = digest_authorization("GET", "/formList", username=collector[0], password=collector[1], nonce=forged)
    response = client.get("/formList", headers=header)
    assert response.status_code == 401
    new_nonce = challenges(response)["digest"]["nonce"]
    assert new_nonce != forged
    retry = digest_authorization("GET", "/formList", username=collector[0], password=collector[1], nonce=new_nonce)
    assert client.get("/formList", headers=retry).status_code == 200


def test_expired_nonce_is_401_with_stale_true_and_a_fresh_nonce(client, collector, settings):
    old = expired_nonce(settings)
    header = digest_authorization("GET", "/formList", username=collector[0], password=collector[1], nonce=old)
    response = client.get("/formList", headers=header)
    assert response.status_code == 401
    digest = challenges(response)["digest"]
    assert digest["stale"].lower() == "true"
    assert digest["nonce"] != old
    retry = digest_authorization(
        "GET", "/formList", username=collector[0], password=collector[1], nonce=digest["nonce"]
    )
    assert client.get("/formList", headers=retry).status_code == 200


def test_collect_retries_transparently_after_its_nonce_expires(collect, settings):
    assert collect.get("/formList").status_code == 200
    collect.challenge = {**collect.challenge, "nonce": expired_nonce(settings)}
    collect.log.clear()
    assert collect.get("/formList").status_code == 200
    assert [status for _, _, status in collect.log] == [401, 200]


@pytest.mark.parametrize("hashed_with", ["other-server", "khoknongna"])
def test_digest_naming_another_realm_is_refused(client, collector, hashed_with):
    """A client set up for another server; and one whose hash would match but that names another realm."""
    challenge = fresh_challenge(client)
    header = digest_authorization(
        "GET", "/formList", username=collector[0], password=collector[1], realm=hashed_with, **_nonce(challenge)
    )
    header["Authorization"] = header["Authorization"].replace(f'realm="{hashed_with}"', 'realm="other-server"')
    assert 'realm="other-server"' in header["Authorization"]
    assert client.get("/formList", headers=header).status_code == 401


def _nonce(challenge: dict[str, str]) -> dict[str, str]:
    return {"nonce": challenge["nonce"], "opaque": challenge["opaque"]}


# --- Basic -------------------------------------------------------------------------------------------


def test_basic_over_https_with_the_right_password_is_accepted(client, collector):
    response = client.get("/formList", base_url="https://localhost", headers=basic_authorization(*collector))
    assert response.status_code == 200


def test_basic_over_https_with_a_wrong_password_is_401(client, collector):
    response = client.get(
        "/formList", base_url="https://localhost", headers=basic_authorization(collector[0], "wrong-password")
    )
    assert response.status_code == 401
    assert "digest" in challenges(response)


def test_basic_over_http_is_401_even_with_the_right_password(client, collector):
    response = client.get("/formList", headers=basic_authorization(*collector))
    assert response.status_code == 401
    assert BASIC_NEEDS_HTTPS.en in openrosa_message(response)
    assert list(challenges(response)) == ["digest"]


def test_basic_over_http_is_accepted_when_the_setting_allows_it(settings, db, collector):
    app = create_app(settings.model_copy(update={"allow_basic_over_http": True}), engine=db)
    response = app.test_client().get("/formList", headers=basic_authorization(*collector))
    assert response.status_code == 200


def test_basic_is_accepted_behind_a_trusted_proxy_that_received_https(settings, db, collector):
    app = create_app(settings.model_copy(update={"trusted_proxies": 1}), engine=db)
    headers = {"X-Forwarded-Proto": "https", **basic_authorization(*collector)}
    assert app.test_client().get("/formList", headers=headers).status_code == 200


def test_forwarded_proto_is_not_believed_without_trusted_proxies(client, collector):
    """Anyone can send X-Forwarded-Proto; it must not turn plain http into https."""
    response = client.get("/formList", headers={"X-Forwarded-Proto": "https", **basic_authorization(*collector)})
    assert response.status_code == 401
    assert BASIC_NEEDS_HTTPS.en in openrosa_message(response)


# --- app users ---------------------------------------------------------------------------------------


def test_app_user_url_needs_no_authorization_header(client, app_user):
    _, token = app_user
    response = client.get(f"/v1/key/{token}/projects/1/formList?{DEVICE_QUERY}")
    assert response.status_code == 200
    assert etree.fromstring(response.data).tag == f"{{{XFORMS_LIST_NS}}}xforms"


def test_unknown_app_user_token_is_403_with_an_openrosa_message_and_no_challenge(client, app_user):
    _, token = app_user
    unknown = ("B" if token[0] == "A" else "A") + token[1:]
    response = client.get(f"/v1/key/{unknown}/projects/1/formList")
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response.headers
    assert KEY_INVALID.en in openrosa_message(response)


def test_revoked_app_user_token_is_403_on_the_next_request(client, db, app_user):
    app_user_id, token = app_user
    url = f"/v1/key/{token}/projects/1/formList"
    assert client.get(url).status_code == 200
    with db.begin() as conn:
        assert revoke_app_user(conn, app_user_id)
    response = client.get(url)
    assert response.status_code == 403
    assert KEY_INVALID.en in openrosa_message(response)


def test_app_user_of_project_1_is_403_in_project_2(client, db, app_user):
    with db.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name) VALUES (2, 'ชัยภูมิ')"))
    _, token = app_user
    assert client.get(f"/v1/key/{token}/projects/1/formList").status_code == 200
    response = client.get(f"/v1/key/{token}/projects/2/formList")
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response.headers


def test_app_user_can_submit_through_its_url(app, app_user, simple_form):
    _, token = app_user
    phone = CollectClient(app.test_client(), base=f"/v1/key/{token}/projects/1")
    (response,) = phone.submit(submission_xml())
    assert response.status_code == 201


# --- collectors --------------------------------------------------------------------------------------


def test_collector_can_list_forms(collect, simple_form):
    response = collect.get("/formList")
    assert response.status_code == 200
    ids = [el.text for el in etree.fromstring(response.data).iter(f"{{{XFORMS_LIST_NS}}}formID")]
    assert ids == ["simple"]


def test_collector_can_submit(collect, simple_form):
    (response,) = collect.submit(submission_xml())
    assert response.status_code == 201
    methods = [(method, status) for method, _, status in collect.log]
    assert methods == [("HEAD", 401), ("HEAD", 204), ("POST", 201)]


def test_submission_is_recorded_with_the_collector_who_sent_it(collect, simple_form, db):
    (response,) = collect.submit(submission_xml())
    assert response.status_code == 201
    with db.connect() as conn:
        submitters = conn.execute(
            text("SELECT u.username FROM submission_versions v JOIN users u ON u.id = v.submitter_id")
        ).scalars()
        assert list(submitters) == [collect.username]
