"""Hostile and broken multipart bodies through the real app: a clear 4xx (or a 201 where the protocol says
the part is simply ignored), nothing half stored, no staged file left behind, no file written anywhere but
under its SHA-256 in the blob store.

Already covered in tests/server/test_submission.py and not repeated here: a body that is not multipart, one
without a boundary, one truncated after the instance, one without ``xml_submission_file``, a body over the
request limit with a Content-Length, too many parts with a low limit, and Thai part names.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from khoknongna.server.app import create_app
from khoknongna.server.uploads import MAX_FIELD_BYTES
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.hostile.support import (
    BOUNDARY,
    MULTIPART,
    PHOTO,
    assert_nothing_stored,
    assert_openrosa_error,
    assert_refused_unharmed,
    assert_still_serving,
    count,
    multipart,
    new_id,
    post,
)
from tests.instances import jpeg
from tests.plots import plot_xml

pytestmark = pytest.mark.usefixtures("plot_survey")

XML_PART = b"xml_submission_file"


def staged_files(app: Flask) -> list[Path]:
    """Files left in the blob store's staging folder (every refused upload must leave none)."""
    return list(app.extensions["knn"].blobs.staging.iterdir())


def blob_files(app: Flask) -> set[Path]:
    root = app.extensions["knn"].blobs.root
    return {p for p in root.rglob("*") if p.is_file() and ".staging" not in p.parts}


def attachment(db: Engine, name: str):
    with db.connect() as conn:
        return conn.execute(
            text("SELECT blob_sha256, content_type FROM submission_attachments WHERE name = :name"), {"name": name}
        ).one()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- broken bodies --------------------------------------------------------------------------------------


def test_a_body_that_never_contains_its_boundary_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    response = post(collect, b"just some bytes, no boundary line at all\r\n" * 100)

    assert_refused_unharmed(response, 400, "multipart", db, collect)


def test_a_body_cut_in_the_middle_of_a_photo_is_refused_and_the_staged_photo_removed(
    app: Flask, collect: CollectClient, db: Engine
) -> None:
    body = multipart([(XML_PART, b"s.xml", plot_xml(new_id())), (PHOTO.encode(), PHOTO.encode(), jpeg(1) * 50)])

    response = post(collect, body[: len(body) // 2])

    assert_openrosa_error(response, 400, "ended")
    assert_nothing_stored(db)
    assert staged_files(app) == []
    assert_still_serving(collect)


def test_a_part_with_more_headers_than_allowed_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    headers = b"".join(b"X-Filler-%d: x\r\n" % i for i in range(50))
    body = (
        b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="xml_submission_file"; '
        b'filename="s.xml"\r\n' + headers + b"\r\n" + plot_xml(new_id()) + b"\r\n--" + BOUNDARY.encode() + b"--\r\n"
    )

    assert_refused_unharmed(post(collect, body), 400, "multipart", db, collect)


# --- sizes and counts -----------------------------------------------------------------------------------


def test_a_photo_larger_than_the_advertised_accept_content_length_is_refused_with_413_and_not_staged(
    settings: Settings, db: Engine, collector: tuple[str, str]
) -> None:
    app = create_app(settings.model_copy(update={"accept_content_length": 100_000}), engine=db)
    phone = CollectClient(app.test_client(), *collector)
    photo = jpeg(1) + b"\0" * 300_000

    response = phone.submit(plot_xml(new_id()), {PHOTO: photo})[-1]

    assert_openrosa_error(response, 413, f"'{PHOTO}' is larger than this server accepts for one file (100000 bytes)")
    assert_nothing_stored(db)
    assert staged_files(app) == []
    assert_still_serving(phone)


def test_a_photo_of_exactly_the_advertised_accept_content_length_is_accepted(
    settings: Settings, db: Engine, collector: tuple[str, str]
) -> None:
    app = create_app(settings.model_copy(update={"accept_content_length": 100_000}), engine=db)
    phone = CollectClient(app.test_client(), *collector)
    photo = jpeg(1) + b"\0" * (100_000 - len(jpeg(1)))

    responses = phone.submit(plot_xml(new_id()), {PHOTO: photo}, limit=10**9)

    assert [r.status_code for r in responses] == [201]
    assert attachment(db, PHOTO).blob_sha256 == sha256(photo)


def test_a_chunked_body_without_content_length_over_the_limit_is_refused_with_413(
    settings: Settings, db: Engine, collector: tuple[str, str]
) -> None:
    limited = settings.model_copy(update={"max_request_bytes": 200_000})
    app = create_app(limited, engine=db)
    phone = CollectClient(app.test_client(), *collector)
    body = multipart([(XML_PART, b"s.xml", plot_xml(new_id())), (PHOTO.encode(), PHOTO.encode(), b"\0" * 400_000)])
    phone.request("HEAD", "/submission")

    response = phone.request(
        "POST",
        "/submission",
        input_stream=io.BytesIO(body),
        content_type=MULTIPART,
        environ_overrides={"wsgi.input_terminated": True},  # what gunicorn sets for Transfer-Encoding: chunked
    )

    assert_openrosa_error(response, 413, "larger than")
    assert_nothing_stored(db)
    assert staged_files(app) == []
    assert_still_serving(phone)


def test_a_plain_field_larger_than_64_kb_is_refused_with_413(collect: CollectClient, db: Engine) -> None:
    body = multipart(
        [(XML_PART, b"s.xml", plot_xml(new_id())), (b"*isIncomplete*", None, b"y" * (MAX_FIELD_BYTES + 1))]
    )

    assert_refused_unharmed(post(collect, body), 413, "larger than", db, collect)


def test_five_thousand_parts_are_refused_with_413_and_no_staged_file_is_left(
    app: Flask, collect: CollectClient, db: Engine
) -> None:
    parts: list = [(XML_PART, b"s.xml", plot_xml(new_id()))]
    parts += [(f"{i}.jpg".encode(), f"{i}.jpg".encode(), b"x") for i in range(5000)]

    response = post(collect, multipart(parts))

    assert_openrosa_error(response, 413, "1000 parts")
    assert_nothing_stored(db)
    assert staged_files(app) == []
    assert_still_serving(collect)


def test_a_thousand_parts_within_the_limit_are_accepted_and_unnamed_ones_not_kept(
    app: Flask, collect: CollectClient, db: Engine
) -> None:
    parts: list = [(XML_PART, b"s.xml", plot_xml(new_id())), (PHOTO.encode(), PHOTO.encode(), jpeg(1))]
    parts += [(f"{i}.jpg".encode(), f"{i}.jpg".encode(), b"%d" % i) for i in range(998)]

    response = post(collect, multipart(parts))

    assert response.status_code == 201, response.data
    assert count(db, "submission_attachments") == 1
    assert staged_files(app) == []
    assert len(blob_files(app)) == 1 + 2  # the photo, and the form's XLSForm and XForm


# --- names ----------------------------------------------------------------------------------------------


# Names that are paths (``..``, absolute, backslashes, control characters) are refused: test_file_names.py.


def test_a_content_type_with_a_nul_byte_is_stored_without_it(collect: CollectClient, db: Engine) -> None:
    body = multipart(
        [(XML_PART, b"s.xml", plot_xml(new_id())), (PHOTO.encode(), PHOTO.encode(), jpeg(1), b"image/jpeg\x00; x=1")]
    )

    response = post(collect, body)

    assert response.status_code == 201, response.data
    assert attachment(db, PHOTO).content_type == "image/jpeg; x=1"
    assert_still_serving(collect)


def test_a_device_id_with_a_nul_byte_and_100_kb_long_is_stored_cut_and_without_it(
    collect: CollectClient, db: Engine
) -> None:
    body = multipart([(XML_PART, b"s.xml", plot_xml(new_id())), (PHOTO.encode(), PHOTO.encode(), jpeg(1))])

    response = post(collect, body, query="?deviceID=collect%3A%00" + "x" * 100_000)

    assert response.status_code == 201, response.data
    with db.connect() as conn:
        device_id = conn.execute(text("SELECT device_id FROM submission_versions")).scalar_one()
    assert device_id == "collect:" + "x" * 247


def test_a_part_name_longer_than_a_header_line_may_be_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    long_name = b"n" * 10_000
    body = multipart([(XML_PART, b"s.xml", plot_xml(new_id())), (long_name, long_name, b"x")])

    assert_refused_unharmed(post(collect, body), 400, "header", db, collect)


def test_a_part_name_of_2000_characters_is_ignored_when_the_xml_does_not_name_it(
    app: Flask, collect: CollectClient, db: Engine
) -> None:
    long_name = b"n" * 2000 + b".jpg"
    body = multipart(
        [
            (XML_PART, b"s.xml", plot_xml(new_id())),
            (long_name, long_name, b"x"),
            (PHOTO.encode(), PHOTO.encode(), jpeg(1)),
        ]
    )

    response = post(collect, body)

    assert response.status_code == 201, response.data
    assert count(db, "submission_attachments") == 1
    assert staged_files(app) == []


def test_a_part_name_that_is_not_utf8_is_read_as_latin1_and_ignored(collect: CollectClient, db: Engine) -> None:
    body = multipart(
        [
            (XML_PART, b"s.xml", plot_xml(new_id())),
            (b"\xff\xfe.jpg", b"\xff\xfe.jpg", b"x"),
            (PHOTO.encode(), PHOTO.encode(), jpeg(1)),
        ]
    )

    response = post(collect, body)

    assert response.status_code == 201, response.data
    assert count(db, "submission_attachments") == 1


def test_when_a_photo_part_comes_twice_the_last_one_is_kept(collect: CollectClient, db: Engine) -> None:
    body = multipart(
        [
            (XML_PART, b"s.xml", plot_xml(new_id())),
            (PHOTO.encode(), PHOTO.encode(), jpeg(1)),
            (PHOTO.encode(), PHOTO.encode(), jpeg(2)),
        ]
    )

    response = post(collect, body)

    assert response.status_code == 201, response.data
    assert attachment(db, PHOTO).blob_sha256 == sha256(jpeg(2))


def test_when_the_instance_part_comes_twice_the_upload_is_refused_with_400_and_nothing_stored(
    app: Flask, collect: CollectClient, db: Engine
) -> None:
    body = multipart(
        [
            (XML_PART, b"a.xml", plot_xml(new_id())),
            (PHOTO.encode(), PHOTO.encode(), jpeg(1)),
            (XML_PART, b"b.xml", plot_xml(new_id())),
        ]
    )

    response = post(collect, body)

    assert_openrosa_error(response, 400, "more than one xml_submission_file")
    assert_nothing_stored(db)
    assert staged_files(app) == []
    assert_still_serving(collect)
