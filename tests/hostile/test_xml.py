"""Hostile and broken submission XML through the real app: each refused with a clear 4xx, nothing stored,
nothing read from disk or the network, and the server still taking the next real submission.

The parser itself is tested in tests/openrosa/test_xml.py; here the whole POST is attacked.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from khoknongna.openrosa.instance import MAX_ID_CHARS
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.hostile.support import (
    PHOTO,
    assert_nothing_stored,
    assert_openrosa_error,
    assert_refused_unharmed,
    assert_still_serving,
    new_id,
    post_xml,
)
from tests.instances import jpeg
from tests.plots import plot_xml
from tests.sql import rows

pytestmark = pytest.mark.usefixtures("plot_survey")

HEAD = b'<?xml version="1.0"?>'
OPEN = b'<data id="plot_survey" version="2026112101">'
SECRET = "knn-secret-4f1c9b2e-never-to-be-read"


def with_doctype(doctype: bytes, body: bytes = b"<notes>&x;</notes>") -> bytes:
    return HEAD + doctype + OPEN + body + b"<meta><instanceID>" + new_id().encode() + b"</instanceID></meta></data>"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP port on 127.0.0.1 that records what anyone sends to it (the server must send nothing)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                received.append(conn.recv(4096))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join(timeout=2)
    server.close()


def stored_text(db: Engine) -> str:
    """Every stored submission row, with its XML, answers and geometries, as one text."""
    stored = rows(
        db,
        "SELECT v::text FROM submission_versions v UNION ALL SELECT a::text FROM submission_attachments a "
        "UNION ALL SELECT g::text FROM submission_geometries g",
    )
    return "\n".join(value for (value,) in stored)


# --- entities and DTDs ----------------------------------------------------------------------------------


BILLION_LAUGHS = with_doctype(
    b'<!DOCTYPE data [<!ENTITY x0 "lol">'
    + b"".join(b'<!ENTITY x%d "%s">' % (i, b"&x%d;" % (i - 1) * 10) for i in range(1, 10))
    + b'<!ENTITY x "&x9;">]>'
)
# one 50 kB entity referenced 20,000 times would expand to 1 GB without any nesting
QUADRATIC_BLOWUP = with_doctype(
    b'<!DOCTYPE data [<!ENTITY x "' + b"a" * 50_000 + b'">]>', b"<notes>" + b"&x;" * 20_000 + b"</notes>"
)


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, QUADRATIC_BLOWUP], ids=["billion laughs", "quadratic blowup"])
def test_an_entity_expansion_bomb_is_refused_with_400_within_a_second(
    hostile: bytes, collect: CollectClient, db: Engine
) -> None:
    started = time.perf_counter()
    response = post_xml(collect, hostile)

    assert time.perf_counter() - started < 1.0
    assert_refused_unharmed(response, 400, "DTD", db, collect)


def test_external_file_entity_is_refused_and_the_file_never_reaches_the_answer_or_the_database(
    collect: CollectClient, db: Engine, secret_file: Path
) -> None:
    hostile = with_doctype(f'<!DOCTYPE data [<!ENTITY x SYSTEM "file://{secret_file}">]>'.encode())

    response = post_xml(collect, hostile)

    assert_openrosa_error(response, 400, "DTD")
    assert SECRET not in response.get_data(as_text=True)
    assert_nothing_stored(db)
    assert_still_serving(collect)
    assert SECRET not in stored_text(db)


def test_xinclude_of_a_local_file_is_kept_as_an_element_and_the_file_is_never_read(
    collect: CollectClient, db: Engine, secret_file: Path
) -> None:
    include = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{secret_file}" parse="text"/>'
    xml = plot_xml(new_id()).replace(b"<notes/>", f"<notes>{include}</notes>".encode())

    response = post_xml(collect, xml, (PHOTO.encode(), jpeg(1)))

    assert response.status_code == 201, response.data
    stored = stored_text(db)
    assert "XInclude" in stored, "the element is kept as it came"
    assert SECRET not in stored


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE data [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/entity">]>',
        b'<!DOCTYPE data [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/dtd"> %p;]>',
        b'<!DOCTYPE data SYSTEM "http://127.0.0.1:{port}/data.dtd">',
    ],
    ids=["external entity", "external parameter entity", "external DTD"],
)
def test_an_http_entity_or_dtd_is_refused_and_never_fetched(
    collect: CollectClient, db: Engine, listener: tuple[int, list[bytes]], doctype: bytes
) -> None:
    port, received = listener

    response = post_xml(collect, with_doctype(doctype.replace(b"{port}", str(port).encode())))
    time.sleep(0.2)  # a fetch, had one started, would have arrived by now

    assert_openrosa_error(response, 400, "DTD")
    assert received == []
    assert_nothing_stored(db)
    assert_still_serving(collect)


def test_an_internal_dtd_without_entities_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    hostile = with_doctype(b"<!DOCTYPE data [<!ELEMENT data ANY>]>", b"<notes>plain</notes>")

    assert_refused_unharmed(post_xml(collect, hostile), 400, "DTD", db, collect)


# --- structure ------------------------------------------------------------------------------------------


def test_elements_nested_100000_deep_are_refused_with_400(collect: CollectClient, db: Engine) -> None:
    depth = 100_000
    hostile = OPEN + b"<a>" * depth + b"</a>" * depth + b"</data>"

    assert_refused_unharmed(post_xml(collect, hostile), 400, "could not be read", db, collect)


def test_elements_nested_just_under_the_parser_limit_are_kept(collect: CollectClient, db: Engine) -> None:
    depth = 250  # libxml2 refuses documents deeper than 256 levels without its "huge" option
    xml = plot_xml(new_id()).replace(b"<notes/>", b"<notes>" + b"<a>" * depth + b"x" + b"</a>" * depth + b"</notes>")

    response = post_xml(collect, xml, (PHOTO.encode(), jpeg(1)))

    assert response.status_code == 201, response.data
    with db.connect() as conn:
        assert conn.execute(text("SELECT data #>> '{notes,a,a,a}' IS NOT NULL FROM submission_versions")).scalar()


def test_invalid_utf8_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    hostile = plot_xml(new_id()).replace("นางสมศรี".encode(), b"\xff\xfe\xc3\x28")

    assert_refused_unharmed(post_xml(collect, hostile), 400, "could not be read", db, collect)


def test_an_encoding_the_parser_does_not_know_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    hostile = b'<?xml version="1.0" encoding="EBCDIC-US"?>' + plot_xml(new_id())

    assert_openrosa_error(post_xml(collect, hostile), 400, "Unsupported encoding")
    assert_nothing_stored(db)


def test_an_instance_in_utf16_is_read_as_text(collect: CollectClient, db: Engine) -> None:
    xml = '<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16") + plot_xml(new_id()).decode().encode("utf-16")[2:]

    response = post_xml(collect, xml, (PHOTO.encode(), jpeg(1)))

    assert response.status_code == 201, response.data
    with db.connect() as conn:
        assert conn.execute(text("SELECT data #>> '{owner,owner_name}' FROM submission_versions")).scalar() == (
            "นางสมศรี ใจดี"
        )


def test_the_xform_sent_instead_of_an_instance_is_refused_naming_its_root(collect: CollectClient, db: Engine) -> None:
    xform = collect.get("/forms/plot_survey.xml").data

    assert_refused_unharmed(post_xml(collect, xform), 400, "<html>", db, collect)


def test_a_server_response_sent_as_a_submission_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    wrong = b'<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message>hi</message></OpenRosaResponse>'

    assert_openrosa_error(post_xml(collect, wrong), 400, "<OpenRosaResponse>")
    assert_nothing_stored(db)


def test_a_renamed_root_with_the_forms_id_is_accepted_as_central_does(collect: CollectClient, db: Engine) -> None:
    # Older pyxform releases named the root after the form (tests/corpus: <nested_repeats id=...>); a phone
    # holding such an XForm must not lose its data when the form was converted again with a newer pyxform.
    xml = plot_xml(new_id()).replace(b"<data ", b"<plot_survey ").replace(b"</data>", b"</plot_survey>")

    response = post_xml(collect, xml, (PHOTO.encode(), jpeg(1)))

    assert response.status_code == 201, response.data
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submission_geometries WHERE geom IS NOT NULL")).scalar() == 5


@pytest.mark.parametrize(
    "root", [b'<data version="2026112101">', b'<data id="   " version="2026112101">'], ids=["missing", "blank"]
)
def test_a_missing_or_blank_form_id_is_refused_with_400(collect: CollectClient, db: Engine, root: bytes) -> None:
    hostile = root + b"<notes/><meta><instanceID>" + new_id().encode() + b"</instanceID></meta></data>"

    assert_refused_unharmed(post_xml(collect, hostile), 400, "form id", db, collect)


def test_an_instance_id_longer_than_the_limit_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    long_id = "uuid:" + "ก" * MAX_ID_CHARS

    assert_refused_unharmed(post_xml(collect, plot_xml(long_id)), 400, "instanceID", db, collect)


def test_a_deprecated_id_longer_than_the_limit_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    hostile = plot_xml(new_id(), deprecated_id="uuid:" + "9" * MAX_ID_CHARS)

    assert_openrosa_error(post_xml(collect, hostile), 400, "deprecatedID")
    assert_nothing_stored(db)


def test_an_attachment_name_longer_than_the_limit_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    name = "ภาพ" * MAX_ID_CHARS + ".jpg"

    assert_refused_unharmed(post_xml(collect, plot_xml(new_id(), overview=name)), 400, "file name", db, collect)


def test_an_instance_id_of_500_thai_characters_is_accepted(collect: CollectClient, db: Engine) -> None:
    long_id = "uuid:" + "ก" * (MAX_ID_CHARS - 5)

    response = post_xml(collect, plot_xml(long_id), (PHOTO.encode(), jpeg(1)))

    assert response.status_code == 201, response.data


# --- size -----------------------------------------------------------------------------------------------


def test_an_instance_larger_than_the_limit_is_refused_with_413(
    settings: Settings, db: Engine, collector: tuple[str, str]
) -> None:
    app = create_app(settings, engine=db)
    phone = CollectClient(app.test_client(), *collector)
    padding = b"x" * (settings.max_instance_bytes + 1)
    huge = plot_xml(new_id()).replace(b"<notes/>", b"<notes>" + padding + b"</notes>")

    assert_refused_unharmed(post_xml(phone, huge), 413, "larger than", db, phone)


def test_an_instance_of_200000_sibling_elements_is_accepted_within_seconds(collect: CollectClient, db: Engine) -> None:
    # 1.6 MB of <n>1</n>: reading it once took 33 s of a worker (siblings were counted per child)
    xml = plot_xml(new_id()).replace(b"<notes/>", b"<notes>" + b"<n>1</n>" * 200_000 + b"</notes>")

    started = time.perf_counter()
    response = post_xml(collect, xml, (PHOTO.encode(), jpeg(1)))

    assert response.status_code == 201, response.data
    assert time.perf_counter() - started < 10
    with db.connect() as conn:
        stored = conn.execute(text("SELECT jsonb_array_length(data #> '{notes,n}') FROM submission_versions")).scalar()
    assert stored == 200_000
