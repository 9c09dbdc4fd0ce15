"""An answer given before the body is read reaches the client: a real gunicorn (sync worker, as behind nginx)
and ``requests`` over a real socket, where an unread body turns the answer into a broken pipe.

The Flask test client cannot show this: it hands the app the whole body and never closes a socket.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests
from requests.auth import HTTPDigestAuth

from khoknongna.settings import Settings
from tests.hostile.support import MULTIPART, PHOTO, multipart, new_id
from tests.instances import jpeg
from tests.plots import plot_xml

pytestmark = pytest.mark.usefixtures("plot_survey")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(settings: Settings, collector: tuple[str, str]) -> Iterator[str]:
    """The app under gunicorn, one sync worker, on the test database and data folder; its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNN_")}
    env.update(
        KNN_DATABASE_URL=settings.database_url,
        KNN_DATA_DIR=str(settings.data_dir),
        KNN_SECRET_KEY=settings.secret_key,
        KNN_VALIDATE_FORMS="false",
    )
    command = [sys.executable, "-m", "gunicorn", "--worker-class", "sync", "--workers", "1", "--bind"]
    process = subprocess.Popen(
        [*command, f"127.0.0.1:{port}", "khoknongna.server.wsgi:application()"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(url + "/healthz", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def submission_body(size: int) -> bytes:
    photo = jpeg(1) + b"\0" * size
    return multipart([(b"xml_submission_file", b"s.xml", plot_xml(new_id())), (PHOTO.encode(), PHOTO.encode(), photo)])


def post_like_okhttp(base_url: str, body: bytes) -> bytes:
    """POST ``body`` to ``/submission`` without credentials as OkHttp (ODK Collect) does: the whole body is
    written before the answer is read, and a write that fails ends the call (no answer is read then)."""
    host, port = base_url.removeprefix("http://").split(":")
    head = (
        f"POST /submission HTTP/1.1\r\nHost: {host}:{port}\r\nX-OpenRosa-Version: 1.0\r\n"
        f"Content-Type: {MULTIPART}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head + body)  # BrokenPipeError / ConnectionResetError: what Collect reports
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("size", [1_000_000, 30_000_000], ids=["1 MB", "30 MB"])
def test_a_submission_posted_without_credentials_receives_the_401_challenge(gunicorn: str, size: int) -> None:
    answer = post_like_okhttp(gunicorn, submission_body(size))

    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"WWW-Authenticate: Digest" in answer


def test_a_client_that_signs_in_after_the_challenge_has_its_submission_accepted(
    gunicorn: str, collector: tuple[str, str]
) -> None:
    response = requests.post(
        gunicorn + "/submission",
        data=submission_body(30_000_000),
        headers={"Content-Type": MULTIPART, "X-OpenRosa-Version": "1.0"},
        auth=HTTPDigestAuth(*collector),
        timeout=60,
    )

    assert response.status_code == 201, response.text
