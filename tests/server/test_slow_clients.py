"""Phones on weak links: uploads that stall or crawl never stop the server answering everyone else.

A real ``khoknongna serve`` (one worker process, its default worker class) is started on a fresh data folder. The
stalled uploads are real submission POSTs of an app user (no credentials needed, so the server accepts them
as far as it has read them) that send their headers and first KiB, then one byte per second. The limits are a
phone's patience (15 s a request), not figures of this machine's speed: ``bench/slow_clients.py`` measures.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.clusters import world_searchable_folder
from tests.instances import build_instance
from tests.test_serve import Server, free_port, http, knn

pytestmark = pytest.mark.slow

STALLED = 200
PATIENCE_S = 15


class StalledUploads:
    """``count`` submission POSTs to ``url`` that send their headers and first KiB, then a byte a second."""

    def __init__(self, url: str, body: bytes, content_type: str, count: int) -> None:
        target = urlsplit(url)
        self.body, self.sent, self.sockets = body, [], []
        head = (
            f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\nX-OpenRosa-Version: 1.0\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        for _ in range(count):
            sock = socket.create_connection((target.hostname, target.port), PATIENCE_S)
            sock.sendall(head + body[:1024])
            self.sockets.append(sock)
            self.sent.append(1024)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()

    def _drip(self) -> None:
        while not self._stop.wait(1.0):
            for i, sock in enumerate(self.sockets):
                if self.sent[i] < len(self.body) - 1:
                    sock.send(self.body[self.sent[i] : self.sent[i] + 1])
                    self.sent[i] += 1

    def answered(self) -> int:
        """How many of them the server has already answered or closed."""
        count = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                count += 1 if sock.recv(1, socket.MSG_PEEK) is not None else 0
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
        return count

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


class Crawl:
    """A request body sent ``per_second`` bytes at a time, a second apart, with its Content-Length (as Collect)."""

    def __init__(self, body: bytes, per_second: int) -> None:
        self.body, self.per_second = body, per_second

    def __len__(self) -> int:
        return len(self.body)

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), self.per_second):
            yield self.body[start : start + self.per_second]
            time.sleep(1.0)


def multipart(xml: bytes, files: dict[str, bytes]) -> tuple[bytes, str]:
    """A submission body as Collect writes it, and its Content-Type."""
    prepared = requests.Request(
        "POST",
        "http://x/",
        files={"xml_submission_file": ("submission.xml", xml, "text/xml")}
        | {name: (name, content, "image/jpeg") for name, content in files.items()},
    ).prepare()
    return prepared.body, prepared.headers["Content-Type"]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    base = world_searchable_folder("knn-slow-")
    running = Server(base / "data", free_port())
    try:
        yield running.start().wait_until_answering()
    finally:
        running.kill()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def app_user_url(server: Server) -> str:
    """The Collect URL of an app user of the running server (its token in the path)."""
    added = knn("appuser", "add", "นพต. ทดสอบ", "--server-url", server.url, "--data-dir", str(server.data_dir))
    assert added.returncode == 0, added.stdout + added.stderr
    return re.search(r"ODK Collect server URL: (\S+)", added.stdout).group(1)


@pytest.fixture(scope="module")
def xform(app_user_url: str) -> bytes:
    with http() as session:
        reply = session.get(f"{app_user_url}/forms/plot_survey.xml", timeout=PATIENCE_S)
    assert reply.status_code == 200, reply.text
    return reply.content


def submission(xform: bytes) -> tuple[bytes, str]:
    built = build_instance(xform)
    return multipart(built.xml, built.attachments)


def test_other_phones_are_answered_while_200_uploads_stall(app_user_url: str, xform: bytes) -> None:
    body, content_type = submission(xform)
    stalled = StalledUploads(f"{app_user_url}/submission", body, content_type, STALLED)
    try:
        statuses = []
        with http() as session:
            assert session.get(f"{app_user_url}/formList", timeout=PATIENCE_S).status_code == 200
            for _ in range(20):
                body, content_type = submission(xform)
                reply = session.post(
                    f"{app_user_url}/submission",
                    data=body,
                    headers={"Content-Type": content_type},
                    timeout=PATIENCE_S,
                )
                statuses.append(reply.status_code)
        assert statuses == [201] * 20
        assert stalled.answered() == 0  # still waiting for the rest of their bodies, not cut off
    finally:
        stalled.close()


def test_a_3_mb_photo_sent_at_100_kb_per_second_is_stored(app_user_url: str, xform: bytes) -> None:
    built = build_instance(xform)
    photo_name = next(iter(built.attachments))
    photo = built.attachments[photo_name] + uuid.uuid4().bytes * (3 * 1024 * 1024 // 16)
    body, content_type = multipart(built.xml, built.attachments | {photo_name: photo})

    with http() as session:
        reply = session.post(
            f"{app_user_url}/submission",
            data=Crawl(body, 100 * 1024),
            headers={"Content-Type": content_type},
            timeout=120,
        )
    assert reply.status_code == 201, reply.text


def test_the_head_before_a_submission_keeps_the_phones_connection_open(app_user_url: str, xform: bytes) -> None:
    body, content_type = submission(xform)
    target = urlsplit(f"{app_user_url}/submission")
    head = f"HEAD {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\nX-OpenRosa-Version: 1.0\r\n\r\n"
    post = (
        f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\nX-OpenRosa-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((target.hostname, target.port), PATIENCE_S) as sock, sock.makefile("rb") as replies:
        sock.sendall(head.encode())
        head_status = replies.readline()
        head_headers = [line.lower() for line in iter(replies.readline, b"\r\n")]
        sock.sendall(post)  # on the same connection, as Collect's HTTP client does
        post_status = replies.readline()

    assert head_status.startswith(b"HTTP/1.1 204")
    assert b"connection: close\r\n" not in head_headers
    assert post_status.startswith(b"HTTP/1.1 201")
