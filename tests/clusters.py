"""Helpers for tests that start private PostGIS clusters and servers as separate processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil


def world_searchable_folder(prefix: str) -> Path:
    """A new temporary folder the ``postgres`` user can enter (pytest's tmp_path lives under a 0700 one)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


@contextmanager
def data_folder(prefix: str) -> Iterator[Path]:
    """A ``data`` folder (not made yet) in a new world-searchable folder; at the end the cluster a server made in
    ``data/pg`` is stopped and the whole folder removed."""
    base = world_searchable_folder(prefix)
    try:
        yield base / "data"
    finally:
        stop_cluster(base / "data" / "pg")
        shutil.rmtree(base, ignore_errors=True)


def stop_cluster(pgdata: Path) -> None:
    """Stop a cluster left running in ``pgdata`` with ``pg_ctl`` (as ``postgres`` when root), without the
    code under test."""
    if not (pgdata / "postmaster.pid").exists():
        return
    pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
    command = [str(pg_ctl), "stop", "-D", str(pgdata), "-m", "immediate", "-w"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, capture_output=True, check=False, timeout=60)


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """The postgres server processes started for ``pgdata``."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = process.info["cmdline"] or []
        except psutil.Error:
            continue
        if "postgres" in (process.info["name"] or "") and str(pgdata) in cmdline:
            found.append(process)
    return found
