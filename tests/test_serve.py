"""``khoknongna serve`` for real: the installed command as a subprocess, over real HTTP, then stopped.

The steps follow one data folder through its life: a collector is added with ``khoknongna user add``, the
server starts (private PostGIS cluster, bundled forms, gunicorn), ODK Collect's requests are made with
``requests`` and HTTP Digest, SIGTERM stops it all, and a second start finds the same cluster and data.
Every server process group is killed and every cluster stopped (``pg_ctl`` as ``postgres`` when root) at the
end, whatever happened in the tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests
from lxml import etree
from requests.auth import HTTPDigestAuth

from khoknongna.forms_xlsform import bundled_forms
from tests.clusters import data_folder, postgres_processes, stop_cluster, world_searchable_folder
from tests.instances import BuiltInstance, build_instance

pytestmark = pytest.mark.slow

KHOKNONGNA = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "khoknongna"
XFORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
RESPONSE_NS = "http://openrosa.org/http/response"
QR_CHARACTERS = set("█▀▄ ")
COLLECTOR, COLLECTOR_PASSWORD = "nopparat", "field-pass-2026"
START_TIMEOUT_S = 120


# --- processes ----------------------------------------------------------------------------------------------


def environment() -> dict[str, str]:
    """This environment without KNN_* settings, with unbuffered Python output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNN_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def knn(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed ``khoknongna`` command to completion."""
    return subprocess.run(
        [str(KHOKNONGNA), *args], capture_output=True, text=True, env=environment(), timeout=timeout, check=False
    )


@dataclass
class Server:
    """A ``khoknongna serve`` process in its own process group, its output collected as it comes."""

    data_dir: Path
    port: int
    extra: tuple[str, ...] = ()
    process: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def start(self) -> Server:
        command = [str(KHOKNONGNA), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), "--workers", "1", *self.extra]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment(),
            start_new_session=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()
        return self

    def _collect(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_until_answering(self) -> Server:
        """Wait until ``GET /`` answers 200 and the start-up text is read; fail if the process ends or time runs out."""
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        with requests.Session() as http:
            http.trust_env = False
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"serve exited with {self.process.returncode}:\n{self.output}")
                try:
                    answering = http.get(self.url + "/", timeout=2).status_code == 200
                except (requests.ConnectionError, requests.Timeout):  # not listening yet, or workers still starting
                    answering = False
                if answering and "Listening on" in self.output:  # what serve prints before gunicorn starts
                    return self
                time.sleep(0.2)
        pytest.fail(f"serve did not answer within {START_TIMEOUT_S} s:\n{self.output}")

    def terminate(self, timeout: float) -> float | None:
        """SIGTERM to the serve process; seconds until it exited, ``None`` if it still runs after ``timeout``."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - started

    def kill(self) -> None:
        """Make sure nothing of this server is left: the process group, then the cluster."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        stop_cluster(self.data_dir / "pg")


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    with data_folder("knn-serve-") as data:
        yield data


@pytest.fixture(scope="module")
def servers(data_dir: Path) -> Iterator[list[Server]]:
    """Every server started in this module; all are killed (and their clusters stopped) at the end.

    It needs ``data_dir`` so that the servers are stopped before that folder is removed.
    """
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def serve(servers: list[Server], data_dir: Path, *extra: str) -> Server:
    server = Server(data_dir, free_port(), extra)
    servers.append(server)
    return server.start().wait_until_answering()


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy between the test and 127.0.0.1
    session.headers["X-OpenRosa-Version"] = "1.0"
    return session


def form_ids(form_list: bytes) -> list[str]:
    root = etree.fromstring(form_list)
    return [x.findtext(f"{{{XFORMS_LIST_NS}}}formID") for x in root.findall(f"{{{XFORMS_LIST_NS}}}xform")]


def qr_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line and set(line) <= QR_CHARACTERS and "█" in line]


def system_identifier(pgdata: Path) -> bytes:
    """The cluster's identity, set by initdb (the first bytes of ``global/pg_control``)."""
    return (pgdata / "global" / "pg_control").read_bytes()[:8]


def query(pgdata: Path, sql: str, params: dict[str, object] | None = None) -> list[tuple]:
    """Rows of ``sql`` (with ``params``) in the server's database, over the running cluster's socket."""
    with psycopg.connect(host=str(pgdata), port=5432, user="postgres", dbname="khoknongna") as conn:
        return conn.execute(sql, params).fetchall()


# --- the life of one data folder ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def collector(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return knn("user", "add", COLLECTOR, "--password", COLLECTOR_PASSWORD, "--data-dir", str(data_dir))


@pytest.fixture(scope="module")
def first_run(servers: list[Server], data_dir: Path, collector: subprocess.CompletedProcess[str]) -> Server:
    assert collector.returncode == 0, collector.stdout + collector.stderr
    return serve(servers, data_dir)


@pytest.fixture(scope="module")
def submitted(first_run: Server) -> tuple[requests.Response, BuiltInstance]:
    """A plot survey submission, built from the downloaded XForm, POSTed with its photos."""
    auth = HTTPDigestAuth(COLLECTOR, COLLECTOR_PASSWORD)
    with http() as session:
        xform = session.get(f"{first_run.url}/forms/plot_survey.xml", auth=auth, timeout=30)
        assert xform.status_code == 200, xform.text
        built = build_instance(xform.content)
        files = {"xml_submission_file": ("submission.xml", built.xml, "text/xml")}
        files |= {name: (name, content, "image/jpeg") for name, content in built.attachments.items()}
        response = session.post(f"{first_run.url}/submission", files=files, auth=auth, timeout=60)
    return response, built


@pytest.fixture(scope="module")
def first_run_stopped(first_run: Server, submitted: tuple[requests.Response, BuiltInstance]) -> float | None:
    """SIGTERM after the submission; seconds the server took to exit (``None``: not within 5 s)."""
    elapsed = first_run.terminate(timeout=5)
    if elapsed is None:
        first_run.kill()
    return elapsed


@pytest.fixture(scope="module")
def second_run(
    servers: list[Server], data_dir: Path, first_run_stopped: float | None
) -> Iterator[tuple[Server, bytes]]:
    """The server started again on the same folder, and the cluster identity from before the restart."""
    identity = system_identifier(data_dir / "pg")
    yield serve(servers, data_dir), identity


def test_serve_prints_the_collect_server_url(first_run: Server) -> None:
    assert f"ODK Collect server URL: http://127.0.0.1:{first_run.port}\n" in first_run.output


def test_serve_prints_a_qr_code(first_run: Server) -> None:
    lines = qr_lines(first_run.output)

    assert len(lines) >= 12
    assert len({len(line) for line in lines}) == 1, "a QR code is a rectangle of modules"


def test_serve_lists_the_bundled_plot_survey(first_run: Server) -> None:
    forms_line = next(line for line in first_run.output.splitlines() if line.startswith("Forms: "))

    assert re.search(r"\bplot_survey \(\d+\)", forms_line), forms_line


def test_form_list_over_http_with_digest_lists_the_plot_survey(first_run: Server) -> None:
    with http() as session:
        anonymous = session.get(f"{first_run.url}/formList", timeout=30)
        response = session.get(f"{first_run.url}/formList", auth=HTTPDigestAuth(COLLECTOR, COLLECTOR_PASSWORD))

    assert anonymous.status_code == 401
    assert "Digest" in anonymous.headers["WWW-Authenticate"]
    assert response.status_code == 200
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert "plot_survey" in form_ids(response.content)


def test_a_submission_over_http_with_digest_is_created(submitted: tuple[requests.Response, BuiltInstance]) -> None:
    response, built = submitted

    assert response.status_code == 201, response.text
    assert etree.fromstring(response.content).tag == f"{{{RESPONSE_NS}}}OpenRosaResponse"
    assert built.attachments, "the plot survey's overview photo went with it"


def test_sigterm_stops_the_server_within_5_seconds(first_run: Server, first_run_stopped: float | None) -> None:
    assert first_run_stopped is not None, f"serve still ran 5 s after SIGTERM:\n{first_run.output}"
    assert first_run.process is not None
    assert first_run.process.poll() is not None


def test_sigterm_stops_the_private_cluster(data_dir: Path, first_run_stopped: float | None) -> None:
    assert (data_dir / "pg" / "PG_VERSION").exists()
    assert not (data_dir / "pg" / "postmaster.pid").exists()
    assert postgres_processes(data_dir / "pg") == []


def test_a_second_start_reuses_the_same_cluster(data_dir: Path, second_run: tuple[Server, bytes]) -> None:
    _, identity_before = second_run

    assert system_identifier(data_dir / "pg") == identity_before


def test_a_second_start_keeps_the_submission_and_its_photos(
    data_dir: Path, second_run: tuple[Server, bytes], submitted: tuple[requests.Response, BuiltInstance]
) -> None:
    _, built = submitted

    stored = query(data_dir / "pg", "SELECT instance_id FROM submission_versions")
    photos = query(data_dir / "pg", "SELECT name, blob_sha256 FROM submission_attachments")

    assert stored == [(built.instance_id,)]
    assert {name for name, _ in photos} == set(built.attachments)
    for _, sha256 in photos:
        assert (data_dir / "blobs" / sha256[:2] / sha256[2:4] / sha256).is_file()


def test_a_second_start_does_not_publish_the_unchanged_form_again(
    data_dir: Path, second_run: tuple[Server, bytes]
) -> None:
    server, _ = second_run

    assert re.search(r"form plot_survey \(\d+\) is up to date", server.output), server.output
    assert "publishing plot_survey.xlsx" not in server.output
    assert query(data_dir / "pg", "SELECT count(*) FROM form_versions") == [(len(bundled_forms()),)]


def test_a_second_start_still_signs_in_the_collector(second_run: tuple[Server, bytes]) -> None:
    server, _ = second_run

    with http() as session:
        response = session.get(f"{server.url}/formList", auth=HTTPDigestAuth(COLLECTOR, COLLECTOR_PASSWORD))

    assert response.status_code == 200
    assert "plot_survey" in form_ids(response.content)


def test_user_add_beside_a_running_server_creates_the_account(data_dir: Path, second_run: tuple[Server, bytes]) -> None:
    server, _ = second_run
    process = subprocess.Popen(
        [str(KHOKNONGNA), "user", "add", "somsri", "--password", "pass-of-somsri", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(),
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
        pytest.fail("'khoknongna user add' beside the running server did not finish within 10 s")

    assert process.returncode == 0, output
    with http() as session:
        response = session.get(f"{server.url}/formList", auth=HTTPDigestAuth("somsri", "pass-of-somsri"))
    assert response.status_code == 200
    assert server.process is not None and server.process.poll() is None, "the server keeps running"


# --- other starts -------------------------------------------------------------------------------------------


def test_create_admin_prints_the_password_on_the_first_start_only(servers: list[Server]) -> None:
    base = world_searchable_folder("knn-serve-admin-")
    try:
        first = serve(servers, base / "data", "--create-admin", "admin")
        found = re.search(r"created admin account 'admin' with password: (\S+)", first.output)
        assert found, first.output
        assert first.terminate(timeout=30) is not None

        second = serve(servers, base / "data", "--create-admin", "admin")
        with http() as session:
            signed_in = session.get(f"{second.url}/formList", auth=HTTPDigestAuth("admin", found.group(1)))
        assert second.terminate(timeout=30) is not None
    finally:
        for server in servers:
            if server.data_dir == base / "data":
                server.kill()
        shutil.rmtree(base, ignore_errors=True)

    assert first.output.count("with password:") == 1
    assert "created admin account" not in second.output
    assert "with password:" not in second.output
    assert signed_in.status_code == 200


def test_a_port_already_in_use_gives_a_clear_error_and_a_failure_exit_code() -> None:
    with data_folder("knn-serve-port-") as data, socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = knn("serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data), timeout=60)

    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in result.stdout + result.stderr
    assert "--port" in result.stdout + result.stderr
