"""A 100 MB attachment streams through the server: it is never held in memory whole.

The body is read from a file on disk as the request's input stream, and Python's allocations are traced
while the app receives it. (``bench/upload_memory.py`` measures the same on a running server's RSS.)
"""

from __future__ import annotations

import hashlib
import tracemalloc
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from khoknongna.settings import Settings
from tests.plots import plot_xml

MB = 1024 * 1024
BOUNDARY = "streaming-upload-boundary"


def write_body(path: Path, xml: bytes, name: str, size: int) -> str:
    """A multipart body with the XML and one ``size``-byte photo, written to ``path``; returns its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        out.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="xml_submission_file"; filename="s.xml"\r\n'
            f"Content-Type: text/xml\r\n\r\n".encode()
            + xml
            + f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n".encode()
        )
        chunk = bytes(range(256)) * 4096  # 1 MiB
        for i in range(size // MB):
            block = chunk[i % 256 :] + chunk[: i % 256]
            out.write(block)
            digest.update(block)
        out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return digest.hexdigest()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A server that tells Collect it takes 128 MB in one POST: a 100 MB photo is then a file it accepts."""
    return settings.model_copy(update={"accept_content_length": 128 * MB})


def test_a_100_mb_photo_is_stored_while_the_server_allocates_less_than_50_mb(collect, plot_survey, db, tmp_path):
    name = "1790000000001.jpg"
    body = tmp_path / "body.bin"
    sha256 = write_body(body, plot_xml(f"uuid:{uuid.uuid4()}", overview=name), name, 100 * MB)
    collect.request("HEAD", "/submission")  # sign in first, as Collect does

    tracemalloc.start()
    try:
        with body.open("rb") as stream:
            response = collect.request(
                "POST",
                "/submission",
                input_stream=stream,
                content_length=body.stat().st_size,
                content_type=f"multipart/form-data; boundary={BOUNDARY}",
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 201
    assert peak < 50 * MB
    with db.connect() as conn:
        stored = conn.execute(text("SELECT blob_sha256, size FROM submission_attachments")).one()
    assert tuple(stored) == (sha256, 100 * MB)
