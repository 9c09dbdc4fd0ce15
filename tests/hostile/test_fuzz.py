"""A bounded fuzz run (hypothesis) of the submission entry point through the WSGI app: multipart bodies and
instance XML mutated byte by byte, Content-Type headers of any text. Whatever arrives, the answer is never a
5xx and always an OpenRosa envelope; a valid submission still gets its 201 afterwards.

Bounded by ``max_examples`` (a few seconds each); hypothesis keeps failing examples in ``.hypothesis/`` and
tries them first on the next run.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from khoknongna.accounts import create_app_user
from tests.hostile.support import BOUNDARY, MULTIPART, PHOTO, multipart, new_id, openrosa_message
from tests.instances import jpeg
from tests.plots import plot_xml

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

XML = plot_xml("uuid:6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e")
BODY = multipart([(b"xml_submission_file", b"s.xml", XML, b"text/xml"), (PHOTO.encode(), PHOTO.encode(), jpeg(1))])


@pytest.fixture
def phone(app: Flask, db: Engine, plot_survey: None) -> tuple[FlaskClient, str]:
    """A client and the submission URL of an app user (no Digest round trips: more examples per second)."""
    with db.begin() as conn:
        _, token = create_app_user(conn, 1, "fuzz")
    return app.test_client(), f"/v1/key/{token}/projects/1/submission?deviceID=collect%3AFUZZ"


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply ``(position, bytes removed, bytes inserted)`` edits, positions taken modulo the length."""
    out = bytearray(data)
    for position, removed, inserted in edits:
        at = position % (len(out) + 1)
        out[at : at + removed] = inserted
    return bytes(out)


edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 64), st.binary(max_size=16)), min_size=1, max_size=6)


def assert_answered_well(response) -> None:
    assert response.status_code < 500, (response.status_code, response.data[:500])
    if response.status_code >= 400:
        assert "text/xml" in response.headers["Content-Type"]
        assert openrosa_message(response)


def still_accepts(client: FlaskClient, url: str) -> None:
    body = multipart(
        [(b"xml_submission_file", b"s.xml", plot_xml(new_id())), (PHOTO.encode(), PHOTO.encode(), jpeg(2))]
    )
    assert client.post(url, data=body, content_type=MULTIPART).status_code == 201


@FUZZ
@given(edits=edits)
def test_a_mutated_multipart_body_is_never_a_5xx(phone: tuple[FlaskClient, str], edits) -> None:
    client, url = phone

    assert_answered_well(client.post(url, data=mutate(BODY, edits), content_type=MULTIPART))


@FUZZ
@given(edits=edits)
def test_mutated_instance_xml_is_never_a_5xx(phone: tuple[FlaskClient, str], edits) -> None:
    client, url = phone
    body = multipart([(b"xml_submission_file", b"s.xml", mutate(XML, edits)), (PHOTO.encode(), PHOTO.encode(), b"x")])

    assert_answered_well(client.post(url, data=body, content_type=MULTIPART))


@FUZZ
@given(content_type=st.text(max_size=120).filter(lambda t: "\n" not in t and "\r" not in t))
def test_any_content_type_header_is_never_a_5xx(phone: tuple[FlaskClient, str], content_type: str) -> None:
    client, url = phone

    response = client.post(url, data=BODY, headers={"Content-Type": content_type.encode().decode("latin-1")})

    assert_answered_well(response)


@FUZZ
@given(body=st.binary(max_size=2000), boundary=st.sampled_from([BOUNDARY, "x", "-" * 70, "ก"]))
def test_random_bytes_as_a_body_are_never_a_5xx(phone: tuple[FlaskClient, str], body: bytes, boundary: str) -> None:
    client, url = phone
    content_type = f"multipart/form-data; boundary={boundary}".encode().decode("latin-1")

    assert_answered_well(client.post(url, data=body, headers={"Content-Type": content_type}))


def test_after_the_fuzzing_a_real_submission_is_still_accepted(phone: tuple[FlaskClient, str]) -> None:
    client, url = phone
    for i in range(20):
        client.post(url, data=mutate(BODY, [(i * 97, 5, b"\xff\x00")]), content_type=MULTIPART)

    still_accepts(client, url)
