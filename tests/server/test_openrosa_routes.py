"""The OpenRosa routes as ODK Collect sees them: form list, form download, manifest, media, submission probe.

Everything goes through the real WSGI app (Flask test client) and the real PostGIS database. Forms are
published with ``publishing.publish_form``; Collect is played by :class:`tests.collect.CollectClient`,
which appends ``?deviceID=collect%3A…`` to every URL, including the URLs the server wrote (PROTOCOL §1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import Engine
from werkzeug.http import parse_cache_control_header
from werkzeug.test import TestResponse

from khoknongna.accounts import create_app_user, token_sha256
from khoknongna.problems import FORM_NOT_FOUND, MEDIA_NOT_FOUND, PROJECT_NOT_FOUND
from khoknongna.publishing import Published, publish_form
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from khoknongna.storage.users import insert_app_user
from tests.collect import CollectClient
from tests.paths import CORPUS_FORMS
from tests.small_forms import xform

XFORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"

PLOT_SURVEY = Path(__file__).resolve().parents[2] / "forms_xlsform" / "plot_survey.xlsx"

THAI_MEDIA = "แผนที่ หมู่บ้าน.png"  # "village map", with a space
MAP_BYTES = b"\x89PNG village map"
JPEG_BYTES = b"\xff\xd8\xff jpeg bytes"


# --- helpers -----------------------------------------------------------------------------------------


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def xml_of(response: TestResponse) -> etree._Element:
    return etree.fromstring(response.data)


def form_entries(response: TestResponse) -> list[dict[str, str]]:
    """The ``<xform>`` entries of a form list, in order, as ``{child local name: text}``."""
    root = xml_of(response)
    assert root.tag == f"{{{XFORMS_LIST_NS}}}xforms"
    return [
        {etree.QName(child).localname: child.text or "" for child in xform_el}
        for xform_el in root.findall(f"{{{XFORMS_LIST_NS}}}xform")
    ]


def entry(response: TestResponse, form_id: str) -> dict[str, str]:
    (found,) = [e for e in form_entries(response) if e["formID"] == form_id]
    return found


def media_entries(response: TestResponse) -> dict[str, dict[str, str]]:
    """The ``<mediaFile>`` entries of a manifest by file name."""
    root = xml_of(response)
    assert root.tag == f"{{{MANIFEST_NS}}}manifest"
    files = {}
    for media_file in root.findall(f"{{{MANIFEST_NS}}}mediaFile"):
        fields = {etree.QName(child).localname: child.text or "" for child in media_file}
        files[fields["filename"]] = fields
    return files


def openrosa_message(response: TestResponse) -> str:
    root = xml_of(response)
    assert root.tag == f"{{{RESPONSE_NS}}}OpenRosaResponse"
    return root.find(f"{{{RESPONSE_NS}}}message").text


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def publish(app: Flask, db: Engine, settings: Settings) -> Callable[..., Published]:
    """``publish(file_name, data, media)`` into project 1 with the app's blob store."""
    blobs = app.extensions["knn"].blobs

    def _publish(file_name: str, data: bytes, media: dict[str, bytes] | None = None) -> Published:
        return publish_form(db, blobs, settings, file_name, data, media)

    return _publish


@pytest.fixture
def app_user_token(db: Engine) -> str:
    with db.begin() as conn:
        _, token = create_app_user(conn, 1, "นพต. อำเภอเมือง")
    return token


@pytest.fixture(params=["root", "central", "app_user"])
def phone(request: pytest.FixtureRequest, app: Flask, collector: tuple[str, str], app_user_token: str) -> CollectClient:
    """Collect pointed at each of the three server URLs: the root and /v1/projects/1 with a user name and
    password (Digest), and an app user's /v1/key/<token>/projects/1 with no credentials at all."""
    if request.param == "app_user":
        return CollectClient(app.test_client(), base=f"/v1/key/{app_user_token}/projects/1")
    base = "" if request.param == "root" else "/v1/projects/1"
    return CollectClient(app.test_client(), *collector, base=base)


@pytest.fixture
def media_form(publish) -> Published:
    """Form "Spec test" (a space in its id) naming three images; two uploaded, one with a Thai name."""
    return publish(
        "spec_test.xml",
        xform("Spec test", "Spec test form", "2026112101", media=(THAI_MEDIA, "two words.jpg", "not uploaded.png")),
        {THAI_MEDIA: MAP_BYTES, "two words.jpg": JPEG_BYTES},
    )


# --- form list ---------------------------------------------------------------------------------------


def test_form_list_is_an_openrosa_xml_document(collect, publish):
    publish("simple.xml", xform())
    response = collect.get("/formList")
    assert response.status_code == 200
    assert "text/xml" in response.headers["Content-Type"]
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert xml_of(response).tag == f"{{{XFORMS_LIST_NS}}}xforms"


def test_form_list_entry_has_id_title_version_hash_and_download_url(collect, publish):
    publish("simple.xml", xform("simple", "Simple survey", "2026112101"))
    (listed,) = form_entries(collect.get("/formList"))
    assert listed["formID"] == "simple"
    assert listed["name"] == "Simple survey"
    assert listed["version"] == "2026112101"
    assert listed["hash"].startswith("md5:")
    assert listed["downloadUrl"] == "http://localhost/forms/simple.xml"


@pytest.mark.parametrize("source", ["xform", "xlsform"])
def test_form_list_hash_is_md5_of_the_exact_bytes_served_at_download_url(collect, publish, source):
    if source == "xform":
        publish("simple.xml", xform())
    else:
        publish(PLOT_SURVEY.name, PLOT_SURVEY.read_bytes())
    (listed,) = form_entries(collect.get("/formList"))
    downloaded = collect.get(listed["downloadUrl"])
    assert downloaded.status_code == 200
    assert listed["hash"] == f"md5:{md5(downloaded.data)}"


def test_form_without_version_is_listed_with_an_empty_version_element(collect, publish):
    publish("simple.xml", xform(version=None))
    (listed,) = form_entries(collect.get("/formList"))
    assert "version" in listed
    assert listed["version"] == ""


def test_download_url_is_absolute(collect, publish):
    publish("simple.xml", xform())
    (listed,) = form_entries(collect.get("/formList"))
    parts = urlsplit(listed["downloadUrl"])
    assert (parts.scheme, parts.netloc) == ("http", "localhost")


def test_every_url_still_works_with_device_id_appended(collect, media_form):
    """Collect adds ?deviceID=collect%3A… to the list URL and to every URL the server returned."""
    listed = entry(collect.get("/formList"), "Spec test")
    assert collect.get(listed["downloadUrl"]).status_code == 200
    manifest = collect.get(listed["manifestUrl"])
    assert manifest.status_code == 200
    for media in media_entries(manifest).values():
        assert collect.get(media["downloadUrl"]).status_code == 200
    requested = [url for _, url, status in collect.log if status == 200]
    assert len(requested) == 5  # list, form, manifest, two media files
    assert all("deviceID=collect%3ATESTDEVICE0000001" in url for url in requested)


def test_form_id_query_parameter_filters_the_list_to_that_form(collect, publish):
    publish("a.xml", xform("form_a", "A"))
    publish("b.xml", xform("form_b", "B"))
    response = collect.get("/formList?formID=form_b")
    assert [e["formID"] for e in form_entries(response)] == ["form_b"]


def test_form_list_must_not_be_cached(collect, publish):
    publish("simple.xml", xform())
    cache = parse_cache_control_header(collect.get("/formList").headers.get("Cache-Control"))
    assert cache.no_store or cache.no_cache
    assert not cache.max_age


def test_form_published_twice_is_listed_once_with_its_newest_version(collect, publish):
    publish("simple.xml", xform("simple", "Simple", "2026110101"))
    newest = xform("simple", "Simple, revised", "2026112101")
    publish("simple.xml", newest)
    (listed,) = form_entries(collect.get("/formList"))
    assert listed["version"] == "2026112101"
    assert listed["hash"] == f"md5:{md5(newest)}"
    assert collect.get(listed["downloadUrl"]).data == newest


def test_forms_are_listed_sorted_by_title(collect, publish):
    # formIDs in the opposite order of the titles, published in neither order
    publish("b.xml", xform("form_b", "Bravo"))
    publish("a.xml", xform("form_c", "Alpha"))
    publish("c.xml", xform("form_a", "Charlie"))
    names = [e["name"] for e in form_entries(collect.get("/formList"))]
    assert names == ["Alpha", "Bravo", "Charlie"]


# --- manifest and media ------------------------------------------------------------------------------


def test_manifest_url_is_listed_only_for_forms_that_declare_media(collect, publish, media_form):
    publish("simple.xml", xform())
    response = collect.get("/formList")
    assert "manifestUrl" not in entry(response, "simple")
    assert entry(response, "Spec test")["manifestUrl"] == "http://localhost/forms/Spec%20test/manifest"


def test_manifest_url_is_listed_even_when_no_declared_media_was_uploaded(collect, publish):
    publish("pending.xml", xform("pending", media=("later.png",)))
    assert "manifestUrl" in entry(collect.get("/formList"), "pending")


def test_manifest_is_an_openrosa_xml_document(collect, media_form):
    response = collect.get(entry(collect.get("/formList"), "Spec test")["manifestUrl"])
    assert response.status_code == 200
    assert "text/xml" in response.headers["Content-Type"]
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert xml_of(response).tag == f"{{{MANIFEST_NS}}}manifest"


def test_manifest_must_not_be_cached(collect, media_form):
    response = collect.get(entry(collect.get("/formList"), "Spec test")["manifestUrl"])
    cache = parse_cache_control_header(response.headers.get("Cache-Control"))
    assert cache.no_store or cache.no_cache
    assert not cache.max_age


def test_manifest_hash_is_md5_of_the_bytes_served_at_each_media_url(collect, publish):
    """The corpus form pull_data.xlsx with its fruits.csv."""
    fruits = (CORPUS_FORMS / "pull_data-media" / "fruits.csv").read_bytes()
    publish("pull_data.xlsx", (CORPUS_FORMS / "pull_data.xlsx").read_bytes(), {"fruits.csv": fruits})
    (listed,) = form_entries(collect.get("/formList"))
    files = media_entries(collect.get(listed["manifestUrl"]))
    assert list(files) == ["fruits.csv"]
    served = collect.get(files["fruits.csv"]["downloadUrl"])
    assert served.status_code == 200
    assert served.data == fruits
    assert files["fruits.csv"]["hash"] == f"md5:{md5(served.data)}"


def test_manifest_leaves_out_media_that_were_not_uploaded(collect, media_form):
    files = media_entries(collect.get(entry(collect.get("/formList"), "Spec test")["manifestUrl"]))
    assert sorted(files) == sorted([THAI_MEDIA, "two words.jpg"])


@pytest.mark.parametrize(("name", "content"), [(THAI_MEDIA, MAP_BYTES), ("two words.jpg", JPEG_BYTES)])
def test_media_with_spaces_or_thai_characters_downloads_at_its_url_encoded_url(collect, media_form, name, content):
    files = media_entries(collect.get(entry(collect.get("/formList"), "Spec test")["manifestUrl"]))
    url = files[name]["downloadUrl"]
    assert url == "http://localhost/forms/Spec%20test/attachments/" + quote(name)
    served = collect.get(url)
    assert served.status_code == 200
    assert served.data == content
    assert files[name]["hash"] == f"md5:{md5(content)}"


# --- the three prefixes ------------------------------------------------------------------------------


def test_form_list_works_under_each_server_url(phone, publish):
    publish("simple.xml", xform())
    response = phone.get("/formList")
    assert response.status_code == 200
    assert [e["formID"] for e in form_entries(response)] == ["simple"]


def test_urls_written_by_the_server_keep_the_prefix_they_were_asked_with(phone, media_form):
    prefix = f"http://localhost{phone.base}/"
    listed = entry(phone.get("/formList"), "Spec test")
    assert listed["downloadUrl"] == f"{prefix}forms/Spec%20test.xml"
    assert listed["manifestUrl"] == f"{prefix}forms/Spec%20test/manifest"
    files = media_entries(phone.get(listed["manifestUrl"]))
    assert files
    assert all(f["downloadUrl"].startswith(f"{prefix}forms/Spec%20test/attachments/") for f in files.values())


def test_form_and_media_download_at_the_urls_written_under_each_server_url(phone, media_form):
    listed = entry(phone.get("/formList"), "Spec test")
    form = phone.get(listed["downloadUrl"])
    assert form.status_code == 200
    assert listed["hash"] == f"md5:{md5(form.data)}"
    for media in media_entries(phone.get(listed["manifestUrl"])).values():
        served = phone.get(media["downloadUrl"])
        assert served.status_code == 200
        assert media["hash"] == f"md5:{md5(served.data)}"


def test_form_id_with_a_space_downloads_at_its_url_encoded_download_url(phone, publish):
    spec = xform("Spec test", "Spec test form")
    publish("spec_test.xml", spec)
    listed = entry(phone.get("/formList"), "Spec test")
    assert listed["downloadUrl"].endswith("/forms/Spec%20test.xml")
    assert phone.get(listed["downloadUrl"]).data == spec


def test_app_user_token_with_url_special_characters_is_kept_as_is_in_written_urls(app, db, media_form):
    """Tokens are 64 characters of [A-Za-z0-9!$] (PROTOCOL §8.3); '!' and '$' must survive in the URLs."""
    token = "Ab!$" * 16
    with db.begin() as conn:
        insert_app_user(conn, 1, "นพต. ตำบลโนนสูง", token_sha256(token))
    phone = CollectClient(app.test_client(), base=f"/v1/key/{token}/projects/1")
    listed = entry(phone.get("/formList"), "Spec test")
    assert listed["downloadUrl"].startswith(f"http://localhost/v1/key/{token}/projects/1/")
    assert phone.get(listed["downloadUrl"]).status_code == 200


def test_behind_a_trusted_proxy_written_urls_use_the_public_scheme_and_host(settings, db, app_user_token, media_form):
    app = create_app(settings.model_copy(update={"trusted_proxies": 1}), engine=db)
    prefix = f"https://odk.example.org/v1/key/{app_user_token}/projects/1/"
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "odk.example.org"}
    client = app.test_client()
    listed = entry(client.get(f"/v1/key/{app_user_token}/projects/1/formList", headers=proxy), "Spec test")
    assert listed["downloadUrl"].startswith(prefix)
    assert listed["manifestUrl"].startswith(prefix)
    manifest = client.get(urlsplit(listed["manifestUrl"]).path, headers=proxy)
    assert all(f["downloadUrl"].startswith(prefix) for f in media_entries(manifest).values())


def test_unknown_project_is_404_with_an_openrosa_message(app, collector):
    phone = CollectClient(app.test_client(), *collector, base="/v1/projects/99")
    response = phone.get("/formList")
    assert response.status_code == 404
    assert "text/xml" in response.headers["Content-Type"]
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert PROJECT_NOT_FOUND.en.format(project_id=99) in openrosa_message(response)


# --- HTTP caching of downloads ----------------------------------------------------------------------
# Collect's OkHttp cache revalidates with If-None-Match; an app-user URL needs no Authorization header,
# so the conditional requests are made with the plain test client.


def test_form_download_carries_the_md5_as_etag_and_answers_if_none_match_with_304(client, app_user_token, publish):
    data = xform()
    publish("simple.xml", data)
    url = f"/v1/key/{app_user_token}/projects/1/forms/simple.xml"
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["ETag"] == f'"{md5(data)}"'
    again = client.get(url, headers={"If-None-Match": f'"{md5(data)}"'})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_media_download_carries_the_md5_as_etag_and_answers_if_none_match_with_304(client, app_user_token, media_form):
    url = f"/v1/key/{app_user_token}/projects/1/forms/Spec%20test/attachments/two%20words.jpg"
    first = client.get(url)
    assert first.status_code == 200
    etag = f'"{md5(JPEG_BYTES)}"'
    assert first.headers["ETag"] == etag
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_form_download_with_an_outdated_etag_sends_the_form(client, app_user_token, publish):
    data = xform()
    publish("simple.xml", data)
    url = f"/v1/key/{app_user_token}/projects/1/forms/simple.xml"
    response = client.get(url, headers={"If-None-Match": f'"{md5(b"an older form")}"'})
    assert response.status_code == 200
    assert response.data == data


# --- submission probe --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_submission_probe_is_204_with_openrosa_headers_and_no_body(collect, settings, method):
    response = collect.request(method, "/submission")
    assert response.status_code == 204
    assert response.data == b""
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert response.headers["X-OpenRosa-Accept-Content-Length"] == str(settings.accept_content_length)


def test_accepted_content_length_is_configurable(settings, db, collector):
    app = create_app(settings.model_copy(update={"accept_content_length": 2_500_000}), engine=db)
    response = CollectClient(app.test_client(), *collector).request("HEAD", "/submission")
    assert response.status_code == 204
    assert response.headers["X-OpenRosa-Accept-Content-Length"] == "2500000"


def test_submission_probe_works_under_each_server_url(phone):
    response = phone.request("HEAD", "/submission")
    assert response.status_code == 204
    assert response.headers["X-OpenRosa-Version"] == "1.0"


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/forms/nope.xml", FORM_NOT_FOUND.en.format(form_id="nope")),
        ("/forms/nope/manifest", FORM_NOT_FOUND.en.format(form_id="nope")),
        ("/forms/nope/attachments/map.png", FORM_NOT_FOUND.en.format(form_id="nope")),
    ],
)
def test_unknown_form_is_404_with_a_message_naming_it(collect, path, message):
    response = collect.get(path)
    assert response.status_code == 404
    assert message in openrosa_message(response)
    assert "'nope'" in openrosa_message(response)


def test_media_not_uploaded_is_404_with_a_message_naming_form_and_file(collect, media_form):
    response = collect.get("/forms/Spec%20test/attachments/not%20uploaded.png")
    assert response.status_code == 404
    assert MEDIA_NOT_FOUND.en.format(form_id="Spec test", name="not uploaded.png") in openrosa_message(response)


ERRORS = {
    "unknown form": ("collector", "", "/forms/nope.xml"),
    "unknown manifest": ("collector", "", "/forms/nope/manifest"),
    "unknown media": ("collector", "", "/forms/nope/attachments/a.png"),
    "unknown project": ("collector", "/v1/projects/99", "/formList"),
    "unknown route": ("collector", "", "/no/such/route"),
    "no credentials": ("nobody", "", "/formList"),
    "unknown app-user token": ("nobody", "/v1/key/" + "x" * 64 + "/projects/1", "/formList"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_every_error_response_is_openrosa_xml(app, collector, case):
    who, base, path = ERRORS[case]
    credentials = collector if who == "collector" else ()
    response = CollectClient(app.test_client(), *credentials, base=base).get(path)
    assert response.status_code >= 400
    assert "text/xml" in response.headers["Content-Type"]
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert openrosa_message(response)


def test_method_not_allowed_names_the_allowed_methods(collect):
    response = collect.request("DELETE", "/formList")
    assert response.status_code == 405
    assert "GET" in response.headers.get("Allow", "")


# --- the home page -----------------------------------------------------------------------------------


def test_home_page_tells_a_person_to_enter_the_address_in_odk_collect(client: FlaskClient):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert "Enter this address in ODK Collect" in text
    assert len(text.splitlines()) <= 10
