"""What every hostile-input test checks: the answer, its OpenRosa envelope, and that the server still serves.

A refused request must get a 4xx (or, for our own failures, a 5xx) in the OpenRosa response envelope with a
message in Thai and English, store nothing, and leave the server able to take the next real submission.
"""

from __future__ import annotations

import io
import re
import uuid

from lxml import etree
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from tests.collect import CollectClient
from tests.instances import jpeg
from tests.plots import plot_xml

RESPONSE_NS = "http://openrosa.org/http/response"
BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
PHOTO = "1790000000001.jpg"
_THAI = re.compile(r"[\u0e00-\u0e7f]")


def new_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def openrosa_message(response: TestResponse) -> str:
    """The text of the envelope's first ``<message>``; fails unless the body is an ``OpenRosaResponse``."""
    root = etree.fromstring(response.data)
    assert root.tag == f"{{{RESPONSE_NS}}}OpenRosaResponse", response.data[:300]
    return root.findtext(f"{{{RESPONSE_NS}}}message") or ""


def assert_openrosa_error(response: TestResponse, status: int, words: str = "") -> str:
    """``status``, ``text/xml``, the OpenRosa header, and a Thai / English message containing ``words``."""
    assert response.status_code == status, (response.status_code, response.data[:500])
    assert "text/xml" in response.headers["Content-Type"]
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    message = openrosa_message(response)
    thai, _, english = message.partition(" / ")
    assert _THAI.search(thai), f"no Thai text in {message!r}"
    assert re.search(r"[A-Za-z]{3,} [A-Za-z]{2,}", english), f"no English text in {message!r}"
    assert words.lower() in message.lower(), f"{words!r} not in {message!r}"
    return message


def count(db: Engine, table: str) -> int:
    with db.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - table names of ours


def assert_nothing_stored(db: Engine) -> None:
    assert count(db, "submissions") == 0
    assert count(db, "submission_versions") == 0
    assert count(db, "submission_attachments") == 0


def assert_still_serving(collect: CollectClient) -> None:
    """A normal plot survey with its photo is accepted afterwards: the attack left the server working."""
    responses = collect.submit(plot_xml(new_id()), {PHOTO: jpeg(7)})
    assert [r.status_code for r in responses] == [201], responses[-1].data[:500]


def assert_refused_unharmed(
    response: TestResponse, status: int, words: str, db: Engine, collect: CollectClient
) -> None:
    """The request is refused as ``assert_openrosa_error`` says, nothing is stored, and the server still serves."""
    assert_openrosa_error(response, status, words)
    assert_nothing_stored(db)
    assert_still_serving(collect)


def multipart(
    parts: list[tuple[bytes, bytes | None, bytes] | tuple[bytes, bytes | None, bytes, bytes]],
    boundary: str = BOUNDARY,
) -> bytes:
    """A multipart body built byte by byte: ``(name, filename or None, content[, content type])`` per part.

    Names are raw bytes so that tests can send what no well-behaved client would (NUL, ``../``, Thai).
    """
    out = io.BytesIO()
    for part in parts:
        name, filename, content = part[:3]
        disposition = b'form-data; name="' + name + b'"' + (b'; filename="' + filename + b'"' if filename else b"")
        out.write(b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disposition + b"\r\n")
        if len(part) > 3:
            out.write(b"Content-Type: " + part[3] + b"\r\n")
        out.write(b"\r\n" + content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def post(collect: CollectClient, body: bytes, content_type: str = MULTIPART, query: str = "") -> TestResponse:
    """A raw POST to ``/submission`` as Collect would send it (signed in, after its HEAD)."""
    collect.request("HEAD", "/submission")
    return collect.request("POST", "/submission" + query, data=body, content_type=content_type)


def post_xml(collect: CollectClient, xml: bytes, *files: tuple[bytes, bytes]) -> TestResponse:
    """A POST of ``xml`` as ``xml_submission_file`` with ``files`` as ``(name, content)`` parts."""
    parts: list = [(b"xml_submission_file", b"submission.xml", xml, b"text/xml")]
    parts += [(name, name, content, b"image/jpeg") for name, content in files]
    return post(collect, multipart(parts))
