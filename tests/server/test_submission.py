"""Submitting the plot survey as ODK Collect does, and what ends up in PostGIS and the blob store.

Everything goes through the real WSGI app into the real database; the client splits and resends like
Collect (tests/collect.py). Source of the rules: OpenRosa form submission API and the PROTOCOL notes §6.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import uuid

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import Engine, text

from khoknongna import accounts
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from tests.collect import DEVICE_ID, USER_AGENT, CollectClient
from tests.instances import jpeg
from tests.plots import LAT, LON, PLOT_SURVEY_VERSION, plot_xml
from tests.sql import one, rows, scalar

RESPONSE_NS = "http://openrosa.org/http/response"


def new_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def big_jpeg(size: int, seed: int = 0) -> bytes:
    """A JPEG of exactly ``size`` bytes: a real image followed by padding after its end marker."""
    head = jpeg(seed)
    return head + os.urandom(size - len(head))


def message(response) -> str:
    root = etree.fromstring(response.data)
    assert etree.QName(root).localname == "OpenRosaResponse"
    assert etree.QName(root).namespace == RESPONSE_NS
    return root.findtext(f"{{{RESPONSE_NS}}}message") or ""


@pytest.fixture
def small_split_app(settings: Settings, db: Engine, plot_survey: None) -> Flask:
    """The app with Collect told to keep each POST under 300 kB, so photos travel in several POSTs."""
    return create_app(settings.model_copy(update={"accept_content_length": 300_000}), engine=db)


@pytest.fixture
def surveyed(collect: CollectClient, plot_survey: None) -> None:
    """One plot survey (with its photo) sent by Collect and stored."""
    collect.submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(1)})


# --- the happy path ------------------------------------------------------------------------------------


def test_plot_survey_submission_is_accepted_with_201_and_an_openrosa_message(collect, plot_survey):
    responses = collect.submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(1)})

    assert [r.status_code for r in responses] == [201]
    assert "successful" in message(responses[0])
    assert "text/xml" in responses[0].headers["Content-Type"]


def test_plot_boundary_is_a_polygon_in_postgis_of_one_rai(surveyed, db):
    geom_type, zm, srid, area = one(
        db,
        "SELECT GeometryType(geom), ST_Zmflag(geom), ST_SRID(geom), ST_Area(geom::geography) "
        "FROM submission_geometries WHERE field_path = 'boundary'",
    )
    assert (geom_type, zm, srid) == ("POLYGON", 3, 4326)  # 3: with Z (altitude) and M (accuracy)
    assert area == pytest.approx(1600, rel=0.01)


def test_vertices_keep_longitude_latitude_altitude_and_accuracy(surveyed, db):
    x, y, z, m = one(
        db,
        "SELECT ST_X(geom), ST_Y(geom), ST_Z(geom), ST_M(geom) FROM submission_geometries"
        " WHERE field_path = 'location'",
    )
    assert (x, y, z, m) == pytest.approx((LON, LAT, 162.0, 4.8))


def test_parts_in_a_repeat_are_stored_with_their_repeat_position(surveyed, db):
    found = rows(
        db,
        "SELECT field_path, repeat_position, geo_type, ST_GeometryType(geom) FROM submission_geometries "
        "WHERE field_path IN ('parts/part_shape', 'swales/swale_line') ORDER BY field_path, repeat_position",
    )
    assert [tuple(r) for r in found] == [
        ("parts/part_shape", [1], "geoshape", "ST_Polygon"),
        ("parts/part_shape", [2], "geoshape", "ST_Polygon"),
        ("swales/swale_line", [1], "geotrace", "ST_LineString"),
    ]


def test_geometries_are_found_through_the_spatial_index(surveyed, db):
    with db.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                text(
                    "EXPLAIN SELECT id FROM submission_geometries "
                    "WHERE geom && ST_MakeEnvelope(102.8, 16.4, 102.9, 16.5, 4326)"
                )
            )
        )
    assert "ix_submission_geometries_geom" in plan


def test_answers_are_kept_as_json_with_repeats_as_lists(surveyed, db):
    data = scalar(db, "SELECT data FROM submission_versions")
    assert data["owner"]["owner_name"] == "นางสมศรี ใจดี"
    assert [p["part_type"] for p in data["parts"]] == ["pond", "paddy"]
    assert data["size_class"] == "1"


def test_full_xml_and_who_sent_it_from_what_are_recorded(collect, plot_survey, db):
    xml = plot_xml(new_id())
    collect.submit(xml, {"1790000000001.jpg": jpeg(1)})

    stored = rows(
        db,
        "SELECT v.xml, v.xml_sha256, v.device_id, v.user_agent, u.username, v.instance_name, v.claimed_version "
        "FROM submission_versions v JOIN users u ON u.id = v.submitter_id",
    )[0]
    assert stored.xml.encode("utf-8") == xml
    assert stored.xml_sha256 == hashlib.sha256(xml).hexdigest()
    assert (stored.device_id, stored.user_agent, stored.username) == (DEVICE_ID, USER_AGENT, "nopparat")
    assert stored.instance_name == "นางสมศรี ใจดี – ม.5 บ้านหนองแวง ต.ศิลา – 1 ไร่"
    assert stored.claimed_version == PLOT_SURVEY_VERSION


def test_photos_are_in_the_blob_store_under_their_sha256(app, collect, plot_survey, db):
    photos = {"1790000000001.jpg": jpeg(1), "1790000000002.jpg": jpeg(2)}
    collect.submit(plot_xml(new_id(), photos=("1790000000002.jpg",)), photos)

    stored = dict(rows(db, "SELECT name, blob_sha256 FROM submission_attachments"))
    blobs = app.extensions["knn"].blobs
    for name, content in photos.items():
        assert stored[name] == hashlib.sha256(content).hexdigest()
        assert blobs.read_bytes(stored[name]) == content


def test_a_5_mb_photo_is_stored_intact(app, collect, plot_survey, db):
    photo = big_jpeg(5 * 1024 * 1024)
    responses = collect.submit(plot_xml(new_id()), {"1790000000001.jpg": photo})

    assert [r.status_code for r in responses] == [201]
    key, size = rows(db, "SELECT blob_sha256, size FROM submission_attachments")[0]
    assert size == len(photo)
    assert app.extensions["knn"].blobs.read_bytes(key) == photo


def test_submission_from_an_app_user_link_is_recorded_as_that_app_user(app, db, plot_survey):
    with db.begin() as conn:
        app_user_id, token = accounts.create_app_user(conn, 1, "นพต. บ้านหนองแวง")
    phone = CollectClient(app.test_client(), base=f"/v1/key/{token}/projects/1")

    responses = phone.submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(1)})

    assert [r.status_code for r in responses] == [201]
    assert scalar(db, "SELECT app_user_id FROM submission_versions") == app_user_id


def test_submission_under_central_style_project_url_is_accepted(app, collector, plot_survey, db):
    phone = CollectClient(app.test_client(), *collector, base="/v1/projects/1")

    responses = phone.submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(1)})

    assert [r.status_code for r in responses] == [201]
    assert scalar(db, "SELECT count(*) FROM submissions") == 1


def test_submission_with_basic_auth_over_https_is_accepted(app, collector, plot_survey, db):
    phone = CollectClient(app.test_client(), *collector, scheme="https")

    responses = phone.submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(1)})

    assert [r.status_code for r in responses] == [201]
    assert phone.auth_scheme == "digest"  # Collect answers the first challenge offered: Digest
    basic = CollectClient(app.test_client(), *collector, scheme="https", auth_scheme="basic")
    assert [r.status_code for r in basic.submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(1)})] == [201]


# --- split uploads, resends, conflicts, edits ----------------------------------------------------------


def test_submission_split_over_three_posts_is_one_submission_with_every_photo(small_split_app, collector, db):
    phone = CollectClient(small_split_app.test_client(), *collector)
    photos = {f"17900000000{i}.jpg": big_jpeg(200_000, i) for i in (1, 2, 3)}
    xml = plot_xml(new_id(), overview="179000000001.jpg", photos=("179000000002.jpg", "179000000003.jpg"))

    responses = phone.submit(xml, photos)

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert scalar(db, "SELECT count(*) FROM submission_versions") == 1
    assert scalar(db, "SELECT count(*) FROM submission_attachments WHERE blob_sha256 IS NOT NULL") == 3


def test_an_incomplete_split_upload_says_which_files_it_still_waits_for(small_split_app, collector, db):
    phone = CollectClient(small_split_app.test_client(), *collector)
    photos = {f"17900000000{i}.jpg": big_jpeg(200_000, i) for i in (1, 2, 3)}
    xml = plot_xml(new_id(), overview="179000000001.jpg", photos=("179000000002.jpg", "179000000003.jpg"))

    first = phone.submit(xml, {"179000000001.jpg": photos["179000000001.jpg"]})[0]

    assert first.status_code == 201
    assert "179000000002.jpg" in message(first) and "179000000003.jpg" in message(first)
    assert scalar(db, "SELECT count(*) FROM submission_attachments WHERE blob_sha256 IS NULL") == 2


def test_byte_identical_resend_answers_201_and_adds_no_row(collect, plot_survey, db):
    xml = plot_xml(new_id())
    collect.submit(xml, {"1790000000001.jpg": jpeg(1)})

    again = collect.submit(xml, {"1790000000001.jpg": jpeg(1)})

    assert [r.status_code for r in again] == [201]
    assert scalar(db, "SELECT count(*) FROM submissions") == 1
    assert scalar(db, "SELECT count(*) FROM submission_versions") == 1
    assert scalar(db, "SELECT count(*) FROM submission_geometries") == 5


def test_resend_fills_in_a_photo_that_was_missing(collect, plot_survey, db):
    xml = plot_xml(new_id())
    collect.submit(xml)
    assert scalar(db, "SELECT blob_sha256 FROM submission_attachments") is None

    collect.submit(xml, {"1790000000001.jpg": jpeg(1)})

    assert scalar(db, "SELECT blob_sha256 FROM submission_attachments") == hashlib.sha256(jpeg(1)).hexdigest()


def test_same_instance_id_with_different_xml_is_refused_with_409_and_nothing_changes(collect, plot_survey, db):
    instance_id = new_id()
    collect.submit(plot_xml(instance_id), {"1790000000001.jpg": jpeg(1)})
    before = scalar(db, "SELECT xml FROM submission_versions")

    response = collect.submit(plot_xml(instance_id, owner="นายสมชาย ใจดี"), {"1790000000001.jpg": jpeg(9)})[0]

    assert response.status_code == 409
    assert instance_id in message(response)
    assert scalar(db, "SELECT xml FROM submission_versions") == before
    assert scalar(db, "SELECT count(*) FROM submission_versions") == 1
    assert scalar(db, "SELECT blob_sha256 FROM submission_attachments") == hashlib.sha256(jpeg(1)).hexdigest()


def test_edit_makes_a_new_current_version_of_the_same_submission(collect, plot_survey, db):
    first = new_id()
    collect.submit(plot_xml(first), {"1790000000001.jpg": jpeg(1)})

    edited = new_id()
    responses = collect.submit(
        plot_xml(edited, owner="นางสมศรี ใจงาม", deprecated_id=first), {"1790000000001.jpg": jpeg(1)}
    )

    assert [r.status_code for r in responses] == [201]
    versions = rows(db, "SELECT instance_id, current, submission_id FROM submission_versions ORDER BY id")
    assert [(v.instance_id, v.current) for v in versions] == [(first, False), (edited, True)]
    assert versions[0].submission_id == versions[1].submission_id
    assert scalar(db, "SELECT count(*) FROM submissions") == 1


def test_a_new_submission_is_received_and_placed_in_the_tambon_of_its_plot(collect, plot_survey, db):
    collect.submit(plot_xml(new_id(), tambon="400201"), {"1790000000001.jpg": jpeg(1)})

    assert tuple(rows(db, "SELECT review_state, area_code FROM submissions")[0]) == ("received", "400201")


def test_an_edit_stays_in_the_tambon_of_its_plot(collect, plot_survey, db):
    first = new_id()
    collect.submit(plot_xml(first, tambon="400201"), {"1790000000001.jpg": jpeg(1)})

    collect.submit(plot_xml(new_id(), tambon="400201", deprecated_id=first))

    assert scalar(db, "SELECT area_code FROM submissions") == "400201"


def test_a_resurvey_of_a_plot_moved_to_another_tambon_is_placed_in_the_new_tambon(collect, plot_survey, db):
    collect.submit(plot_xml(new_id(), tambon="400201"), {"1790000000001.jpg": jpeg(1)})

    collect.submit(plot_xml(new_id(), tambon="400114", resurvey_of_version=1), {"1790000000001.jpg": jpeg(1)})

    assert [r.area_code for r in rows(db, "SELECT area_code FROM submissions ORDER BY id")] == ["400201", "400114"]


def test_an_edit_puts_the_submission_in_the_review_state_edited(collect, plot_survey, db):
    first = new_id()
    collect.submit(plot_xml(first), {"1790000000001.jpg": jpeg(1)})

    collect.submit(plot_xml(new_id(), owner="นางสมศรี ใจงาม", deprecated_id=first))

    assert scalar(db, "SELECT review_state FROM submissions") == "edited"


def test_edit_carries_over_photos_it_does_not_send_again(collect, plot_survey, db):
    first = new_id()
    collect.submit(plot_xml(first), {"1790000000001.jpg": jpeg(1)})

    collect.submit(plot_xml(new_id(), deprecated_id=first))

    kept = rows(db, "SELECT blob_sha256 FROM submission_attachments ORDER BY submission_version_id")
    assert [k.blob_sha256 for k in kept] == [hashlib.sha256(jpeg(1)).hexdigest()] * 2


def test_editing_a_version_that_was_already_edited_is_refused_with_409(collect, plot_survey, db):
    first = new_id()
    collect.submit(plot_xml(first), {"1790000000001.jpg": jpeg(1)})
    collect.submit(plot_xml(new_id(), deprecated_id=first))

    response = collect.submit(plot_xml(new_id(), owner="อีกคน", deprecated_id=first))[0]

    assert response.status_code == 409
    assert scalar(db, "SELECT count(*) FROM submission_versions") == 2


def test_an_edit_of_a_submission_the_server_never_got_is_404(collect, plot_survey, db):
    response = collect.submit(plot_xml(new_id(), deprecated_id=new_id()))[0]

    assert response.status_code == 404
    assert scalar(db, "SELECT count(*) FROM submissions") == 0


def test_the_same_post_arriving_twice_at_once_makes_one_submission(app, collector, plot_survey, db):
    xml = plot_xml(new_id())
    results: list[int] = []

    def send() -> None:
        phone = CollectClient(app.test_client(), *collector)
        results.extend(r.status_code for r in phone.submit(xml, {"1790000000001.jpg": jpeg(1)}))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results == [201] * 6
    assert scalar(db, "SELECT count(*) FROM submission_versions") == 1
    assert scalar(db, "SELECT count(*) FROM submission_geometries") == 5


# --- what the XML does not name, and bad values --------------------------------------------------------


def test_parts_the_xml_does_not_name_are_ignored(app, collect, plot_survey, db):
    stray = b"an old photo that was replaced"
    collect.submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(1), "1789999999999.jpg": stray})

    assert [r.name for r in rows(db, "SELECT name FROM submission_attachments")] == ["1790000000001.jpg"]
    assert not app.extensions["knn"].blobs.exists(hashlib.sha256(stray).hexdigest())


def test_an_attachment_with_a_thai_file_name_is_matched(collect, plot_survey, db):
    name = "ภาพรวมแปลง 1.jpg"
    collect.submit(plot_xml(new_id(), overview=name), {name: jpeg(1)})

    assert rows(db, "SELECT name, blob_sha256 IS NOT NULL FROM submission_attachments")[0] == (name, True)


@pytest.mark.parametrize(
    ("boundary", "problem"),
    [
        ("16.44 102.83 0 5;16.45 102.83 0 5", "at least 4 points"),
        ("16.44 102.83;16.45 102.83;16.45 102.84;16.46 102.84", "not closed"),
        ("91 102.83 0 5;16.45 102.83 0 5;16.45 102.84 0 5;91 102.83 0 5", "latitude 91"),
        ("abc def;ghi", "not made of numbers"),
        ("NaN 102 0 5;16 102 0 5;16 103 0 5;NaN 102 0 5", "NaN"),
    ],
)
def test_a_bad_geo_value_is_kept_as_text_with_its_problem_and_the_submission_accepted(
    collect, plot_survey, db, boundary, problem
):
    responses = collect.submit(plot_xml(new_id(), boundary=boundary), {"1790000000001.jpg": jpeg(1)})

    assert [r.status_code for r in responses] == [201]
    stored = rows(db, "SELECT geom, raw_value, problem FROM submission_geometries WHERE field_path = 'boundary'")[0]
    assert stored.geom is None
    assert stored.raw_value == boundary
    assert problem in stored.problem


# --- errors: each a clear OpenRosa message, nothing stored ---------------------------------------------


def post_raw(collect: CollectClient, body: bytes, content_type: str):
    return collect.request("POST", "/submission", data=body, content_type=content_type)


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    out = io.BytesIO()
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.write(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode())
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def assert_refused(response, status: int, words: str, db: Engine) -> None:
    assert response.status_code == status
    assert "text/xml" in response.headers["Content-Type"]
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert words.lower() in message(response).lower()
    assert scalar(db, "SELECT count(*) FROM submissions") == 0


def test_a_body_that_is_not_multipart_is_400(collect, plot_survey, db):
    assert_refused(post_raw(collect, plot_xml(new_id()), "text/xml"), 400, "multipart/form-data", db)


def test_a_multipart_body_without_boundary_is_400(collect, plot_survey, db):
    assert_refused(post_raw(collect, b"--x\r\n", "multipart/form-data"), 400, "boundary", db)


def test_a_truncated_upload_is_400(collect, plot_survey, db):
    body = multipart([("xml_submission_file", "s.xml", plot_xml(new_id()))])
    assert_refused(post_raw(collect, body[:-40], "multipart/form-data; boundary=b0undary"), 400, "ended", db)


def test_a_post_without_xml_submission_file_is_400(collect, plot_survey, db):
    body = multipart([("1790000000001.jpg", "1790000000001.jpg", jpeg(1))])
    assert_refused(post_raw(collect, body, "multipart/form-data; boundary=b0undary"), 400, "xml_submission_file", db)


def test_xml_that_cannot_be_read_is_400(collect, plot_survey, db):
    assert_refused(collect.submit(b"<data id='plot_survey'><unclosed></data>")[0], 400, "could not be read", db)


def test_xml_with_a_dtd_is_400_and_not_expanded(collect, plot_survey, db):
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><data id="plot_survey">&x;</data>'
    )
    assert_refused(collect.submit(hostile)[0], 400, "DTD", db)


def test_xml_without_a_form_id_is_400(collect, plot_survey, db):
    assert_refused(collect.submit(plot_xml(new_id(), form_id=""))[0], 400, "form id", db)


def test_a_submission_for_an_unknown_form_is_404_naming_it(collect, plot_survey, db):
    assert_refused(collect.submit(plot_xml(new_id(), form_id="no_such_form"))[0], 404, "no_such_form", db)


def test_a_submission_for_an_unknown_version_is_404_asking_to_download_again(collect, plot_survey, db):
    assert_refused(collect.submit(plot_xml(new_id(), version="1999010101"))[0], 404, "download the form again", db)


def test_a_body_larger_than_the_limit_is_413(settings, db, collector, plot_survey):
    app = create_app(settings.model_copy(update={"max_request_bytes": 100_000}), engine=db)
    phone = CollectClient(app.test_client(), *collector)

    response = phone.submit(plot_xml(new_id()), {"1790000000001.jpg": big_jpeg(200_000)})[0]

    assert_refused(response, 413, "larger than", db)


def test_too_many_parts_is_413(settings, db, collector, plot_survey):
    app = create_app(settings.model_copy(update={"max_form_parts": 10}), engine=db)
    phone = CollectClient(app.test_client(), *collector)
    files = {f"{i}.jpg": b"x" for i in range(20)}

    assert_refused(phone.submit(plot_xml(new_id()), files, limit=10**9)[0], 413, "larger than", db)


def test_no_credentials_is_401_with_a_challenge_and_nothing_stored(app, plot_survey, db):
    anonymous = CollectClient(app.test_client())
    response = anonymous.submit(plot_xml(new_id()), {"1790000000001.jpg": jpeg(1)})[0]

    assert_refused(response, 401, "sign in", db)
    assert response.headers["WWW-Authenticate"].startswith("Digest ")


def test_when_a_photo_cannot_be_stored_the_answer_is_503_and_no_row_refers_to_it(app, collect, plot_survey, db):
    photo = jpeg(1)
    key = hashlib.sha256(photo).hexdigest()
    blobs_root = app.extensions["knn"].blobs.root
    (blobs_root / key[:2]).write_bytes(b"a file where the blob folder must go")

    response = collect.submit(plot_xml(new_id()), {"1790000000001.jpg": photo})[0]

    assert response.status_code == 503
    assert "send it again later" in message(response)
    assert scalar(db, "SELECT count(*) FROM submissions") == 0
    assert scalar(db, "SELECT count(*) FROM submission_attachments") == 0
