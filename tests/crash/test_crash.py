"""Crash safety: nothing answered with 201 is lost when the server and its database are killed.

The real thing, end to end: ``khoknongna serve`` (private PostGIS cluster, gunicorn with two workers) as a
subprocess; 300 plot surveys with three photos each sent by 16 phones at once (HEAD, then the multipart POST
with Digest, as Collect); when 100 have their 201, every gunicorn process and every PostgreSQL process of
the cluster is killed with SIGKILL (no shutdown of any kind); ``serve`` is started again on the same data
folder (PostgreSQL recovers from its WAL); every submission that did not get a 201 is sent again, as Collect
does with what is still "ready to send". Then, straight from the database and the blob folder:

* every submission is there exactly once, with the XML that was sent;
* every photo of it is stored, and the file under its key has exactly that SHA-256;
* no row refers to a blob that is not in the folder, and ``khoknongna blobs verify`` says so too; orphan
  blobs (written before a commit that never happened) may exist, and ``khoknongna blobs cleanup`` removes them;
* the checks worker killed with the rest leaves no job ``doing``: once the new worker has seen it is dead,
  its jobs run again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import requests
from requests.auth import HTTPDigestAuth

from khoknongna.jobs import STALLED_AFTER
from tests.clusters import data_folder, postgres_processes
from tests.instances import jpeg
from tests.plots import plot_xml
from tests.test_serve import COLLECTOR, COLLECTOR_PASSWORD, Server, free_port, knn, query

pytestmark = pytest.mark.slow

SUBMISSIONS = 300
PHONES = 16
KILL_AFTER = 100  # 201s received before the kill
PHOTOS_PER_SUBMISSION = 3


@dataclass
class Submission:
    instance_id: str
    xml: bytes
    photos: dict[str, bytes]
    statuses: list[int | str] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return 201 in self.statuses


def make_submissions(count: int = SUBMISSIONS) -> list[Submission]:
    """``count`` plot surveys, each with its own photos (``PHOTOS_PER_SUBMISSION``, a few KB each)."""
    out = []
    for i in range(count):
        names = [f"17900{i:05d}{k}.jpg" for k in range(PHOTOS_PER_SUBMISSION)]
        photos = {name: jpeg(i % 50) + os.urandom(4000 + 97 * k) for k, name in enumerate(names)}
        instance_id = f"uuid:{hashlib.md5(os.urandom(16)).hexdigest()[:8]}-0000-4000-8000-{i:012d}"
        xml = plot_xml(instance_id, overview=names[0], photos=tuple(names[1:]))
        out.append(Submission(instance_id, xml, photos))
    return out


_local = threading.local()


def session() -> requests.Session:
    """One session per phone (thread): keep-alive and a Digest nonce of its own, as a phone has."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
        _local.session.trust_env = False
        _local.session.headers["X-OpenRosa-Version"] = "1.0"
        _local.session.auth = HTTPDigestAuth(COLLECTOR, COLLECTOR_PASSWORD)
    return _local.session


def send(server_url: str, submission: Submission) -> int | str:
    """HEAD then POST, as Collect; the status, or the name of the error when no answer came."""
    try:
        http = session()
        http.head(f"{server_url}/submission", timeout=30)
        files = {"xml_submission_file": ("Plot survey.xml", submission.xml, "text/xml")}
        files |= {name: (name, content, "image/jpeg") for name, content in submission.photos.items()}
        status: int | str = http.post(f"{server_url}/submission", files=files, timeout=30).status_code
    except requests.RequestException as exc:
        del _local.session  # the connection is gone; a phone would connect again
        status = type(exc).__name__
    submission.statuses.append(status)
    return status


def kill_everything(server: Server, pgdata: Path) -> list[psutil.Process]:
    """SIGKILL the serve process (the gunicorn master) and its workers, and the postmaster of ``pgdata`` with
    every backend; wait until all are gone."""
    assert server.process is not None
    roots = [psutil.Process(server.process.pid), *postgres_processes(pgdata)]
    victims = [*roots, *(child for root in roots for child in root.children(recursive=True))]
    for process in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    server.process.wait(timeout=30)
    _, alive = psutil.wait_procs(victims, timeout=30)
    assert alive == [], alive
    return victims


def wait_for_the_checks_worker(pgdata: Path) -> None:
    """Wait until serve's checks worker (started at a lower CPU priority) has registered in the database."""
    deadline = time.monotonic() + 300  # generous: at nice 10 on a busy machine it starts last
    while not query(pgdata, "SELECT id FROM procrastinate_workers"):
        assert time.monotonic() < deadline, "the checks worker did not start within 300 s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with data_folder("knn-crash-") as data:
        yield data


@pytest.fixture(scope="module")
def killed_workers() -> list[int]:
    """Ids of the job workers registered in the database just before the kill (filled by the story)."""
    return []


@pytest.fixture(scope="module")
def crashed_and_resent(folder: Path, killed_workers: list[int]) -> Iterator[tuple[list[Submission], int, Server]]:
    """The whole story; yields the submissions, how many had a 201 before the kill, and the restarted server."""
    added = knn("user", "add", COLLECTOR, "--password", COLLECTOR_PASSWORD, "--data-dir", str(folder))
    assert added.returncode == 0, added.stdout + added.stderr
    submissions = make_submissions()
    servers: list[Server] = []
    try:
        first = Server(folder, free_port(), ("--workers", "2"))
        servers.append(first)
        first.start().wait_until_answering()
        wait_for_the_checks_worker(folder / "pg")

        with ThreadPoolExecutor(PHONES) as pool:
            futures = [pool.submit(send, first.url, s) for s in submissions]
            while sum(s.acknowledged for s in submissions) < KILL_AFTER:
                if all(f.done() for f in futures):
                    pytest.fail("every submission was sent before the kill: nothing was cut off")
                time.sleep(0.005)
            killed_workers += [
                worker_id for (worker_id,) in query(folder / "pg", "SELECT id FROM procrastinate_workers")
            ]
            kill_everything(first, folder / "pg")
            acknowledged_before = sum(s.acknowledged for s in submissions)
            for f in futures:
                f.result()

        second = Server(folder, free_port(), ("--workers", "2"))
        servers.append(second)
        second.start().wait_until_answering()
        with ThreadPoolExecutor(PHONES) as pool:
            list(pool.map(lambda s: send(second.url, s), [s for s in submissions if not s.acknowledged]))
        yield submissions, acknowledged_before, second
    finally:
        for server in servers:
            server.kill()


def test_the_kill_came_in_the_middle_of_the_uploads(crashed_and_resent) -> None:
    submissions, acknowledged_before, _ = crashed_and_resent

    cut_off = [s for s in submissions if s.statuses[0] != 201]
    assert acknowledged_before >= KILL_AFTER
    assert len(cut_off) >= PHONES // 2, "uploads were still running when everything was killed"
    assert any(isinstance(s.statuses[0], str) for s in cut_off), "some uploads lost their connection"


def test_every_submission_resent_after_the_restart_gets_201(crashed_and_resent) -> None:
    submissions, _, _ = crashed_and_resent

    assert [s.instance_id for s in submissions if s.statuses[-1] != 201] == []


def test_every_submission_is_stored_once_with_the_xml_that_was_sent(crashed_and_resent, folder: Path) -> None:
    submissions, _, _ = crashed_and_resent

    rows = query(folder / "pg", "SELECT instance_id, count(*), min(xml_sha256) FROM submission_versions GROUP BY 1")
    stored = {instance_id: (n, sha) for instance_id, n, sha in rows}

    assert len(stored) == SUBMISSIONS
    for s in submissions:
        assert stored[s.instance_id] == (1, hashlib.sha256(s.xml).hexdigest()), s.instance_id
    assert query(folder / "pg", "SELECT count(*) FROM submissions") == [(SUBMISSIONS,)]


def test_every_photo_is_stored_intact_under_its_sha256(crashed_and_resent, folder: Path) -> None:
    submissions, _, _ = crashed_and_resent
    rows = query(
        folder / "pg",
        "SELECT v.instance_id, a.name, a.blob_sha256, a.size FROM submission_attachments a "
        "JOIN submission_versions v ON v.id = a.submission_version_id",
    )
    stored = {(instance_id, name): (sha, size) for instance_id, name, sha, size in rows}

    assert len(stored) == SUBMISSIONS * PHOTOS_PER_SUBMISSION
    for s in submissions:
        for name, content in s.photos.items():
            sha, size = stored[(s.instance_id, name)]
            assert (sha, size) == (hashlib.sha256(content).hexdigest(), len(content)), (s.instance_id, name)
            blob = folder / "blobs" / sha[:2] / sha[2:4] / sha
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == sha, blob


def test_no_row_refers_to_a_missing_blob(crashed_and_resent, folder: Path) -> None:
    keys = [key for (key,) in query(folder / "pg", "SELECT blob_sha256 FROM submission_attachments")]
    keys += [key for (key,) in query(folder / "pg", "SELECT xform_sha256 FROM form_versions")]

    missing = [k for k in keys if k is None or not (folder / "blobs" / k[:2] / k[2:4] / k).is_file()]

    assert missing == []


def test_blobs_verify_finds_every_referenced_blob_intact(crashed_and_resent, folder: Path) -> None:
    verified = knn("blobs", "verify", "--data-dir", str(folder))

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "missing " not in verified.stdout and "corrupt " not in verified.stdout


def test_blobs_cleanup_leaves_every_referenced_blob(crashed_and_resent, folder: Path) -> None:
    cleaned = knn("blobs", "cleanup", "--older-than-hours", "1", "--data-dir", str(folder))

    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert knn("blobs", "verify", "--data-dir", str(folder)).returncode == 0


def test_the_restarted_server_still_takes_new_submissions(crashed_and_resent) -> None:
    _, _, server = crashed_and_resent
    fresh = make_submissions()[0]

    assert send(server.url, fresh) == 201


def test_no_job_is_left_doing_by_the_killed_worker(crashed_and_resent, killed_workers: list[int], folder: Path) -> None:
    assert killed_workers, "a checks worker ran before the kill"
    killed = {"killed": killed_workers}
    doing = (
        "SELECT id, task_name, worker_id, attempts FROM procrastinate_jobs "
        "WHERE status = 'doing' AND coalesce(worker_id = ANY(%(killed)s), true)"
    )
    workers = "SELECT id FROM procrastinate_workers WHERE id = ANY(%(killed)s)"

    deadline = time.monotonic() + STALLED_AFTER + 60 + 60  # seen dead, the next minute's recovery, the job itself
    while time.monotonic() < deadline:
        left_doing, left_workers = query(folder / "pg", doing, killed), query(folder / "pg", workers, killed)
        if not left_doing and not left_workers:
            break
        time.sleep(1)

    assert left_doing == [], "jobs of the killed worker are run again"
    assert left_workers == [], "the killed worker's row is removed"
