"""What the benchmarks share: a private PostGIS cluster for one run, the options that choose the server a load
benchmark talks to, the resident memory of a process (this one or a server's) sampled while it works, and the
printing of the figures.

The scripts beside this file import it by name (``from common import ...``): each is run as
``.venv/bin/python bench/<name>.py``, so this folder is first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Engine

from khoknongna.storage.db import make_engine
from khoknongna.storage.embedded import running_cluster


@dataclass(frozen=True)
class ScratchDatabase:
    """An empty ``bench`` database in a cluster started for one run.

    ``engine`` holds two pooled connections; ``url`` is the cluster's SQLAlchemy URL; ``base`` is the run's
    temporary folder (the cluster's data is in ``base / "pg"``; the rest is free for the benchmark's files).
    """

    engine: Engine
    url: str
    base: Path


@contextmanager
def scratch_database(name: str) -> Iterator[ScratchDatabase]:
    """Start a private PostGIS cluster under a new temporary folder, yield its empty database, then remove it all.

    ``name`` goes into the folder's name (``knn-bench-<name>-…``). The schema is not migrated: a benchmark that
    times its load migrates inside the timing. The engine is disposed and the folder removed even on an error.
    """
    base = Path(tempfile.mkdtemp(prefix=f"knn-bench-{name}-"))
    base.chmod(0o755)  # the cluster runs as ``postgres`` when started by root
    try:
        with running_cluster(base / "pg", database="bench") as cluster:
            engine = make_engine(cluster.url, pool_size=2)
            try:
                yield ScratchDatabase(engine, cluster.url, base)
            finally:
                engine.dispose()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def benchmark_parser(description: str, seed: int) -> argparse.ArgumentParser:
    """A parser offering what every benchmark takes: ``--seed`` (default ``seed``) and ``--json``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser


def add_server_options(
    parser: argparse.ArgumentParser,
    server_help: str = "server URL as typed into Collect",
    blob_help: str = "start a server of our own with this blob store: local, moto, s3://…",
    database_help: str = "the server's database (with --server)",
) -> None:
    """The server a load benchmark talks to: ``--server`` (one already running) or ``--blob-url`` (one of our own,
    ``ingest.own_server``), and ``--serve-args`` for the latter; ``--user`` and ``--password`` to sign in to it,
    ``--database-url`` for its database (``database_help`` says what the benchmark reads there) and
    ``--timeout``, seconds per request (default 60)."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--server", help=server_help)
    target.add_argument("--blob-url", help=blob_help)
    parser.add_argument("--serve-args", default="", help="extra options for 'khoknongna serve' with --blob-url")
    parser.add_argument("--user", help="user of --server (with --blob-url: the server's own bench user)")
    parser.add_argument("--password")
    parser.add_argument("--database-url", help=database_help)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request (60)")


def run_benchmark(
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace], dict[str, object]],
    argv: list[str] | None,
    width: int = 24,
) -> int:
    """Parse ``argv`` with ``parser`` (one from :func:`benchmark_parser`), run the benchmark, print its figures.

    With ``--json`` the figures are one JSON object on stdout; otherwise one ``name value`` line each, names
    padded to ``width`` characters. Returns the exit status, 0.
    """
    args = parser.parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:{width}} {value}")
    return 0


class PeakMemory:
    """The peak of a resident memory, in bytes, above its level at the start, sampled every 50 ms.

    ``sample`` gives the bytes to watch: by default this process's resident memory (for a server's, see
    :func:`http_workers_rss`).
    """

    def __init__(self, sample: Callable[[], int] | None = None) -> None:
        process = psutil.Process()
        self.sample = sample or (lambda: process.memory_info().rss)
        self.base = self.peak = self.sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.sample())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def above_base_mib(self) -> float:
        return (self.peak - self.base) / 2**20


def server_rss_mib(pid: int) -> dict[str, float]:
    """Resident memory of ``pid`` and each of its descendants, MiB, by process (PostgreSQL is not counted):
    ``serve`` (gunicorn's arbiter), ``gunicorn <pid>`` for each HTTP worker, ``worker`` for the checks worker."""
    root = psutil.Process(pid)
    memory = {}
    for process in [root, *root.children(recursive=True)]:
        try:
            if "postgres" in process.name():
                continue
            label = (
                "serve"
                if process.pid == pid
                else "worker"
                if "worker" in process.cmdline()
                else f"gunicorn {process.pid}"
            )
            memory[label] = process.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return memory


class ServerCpu:
    """CPU time (user + system, seconds) that a server of our own on the data folder ``data_dir`` spends, by part:
    ``http`` (``khoknongna serve``: gunicorn and its HTTP workers), ``worker`` (the checks and audit worker),
    ``postgres`` (the sessions at nice 0: the HTTP workers'), ``postgres, niced`` (the worker's sessions, which it
    renices to 10) and ``postgres, own`` (WAL writer, checkpointer and the rest of the cluster).

    :meth:`snapshot` before and after, then :meth:`spent`. A process that started meanwhile counts whole; one that
    ended meanwhile is not counted.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = str(data_dir)
        self.postmaster = int((Path(data_dir) / "pg" / "postmaster.pid").read_text().split()[0])

    def _part(self, process: psutil.Process) -> str | None:
        if process.pid == self.postmaster:
            return "postgres, own"
        if "postgres" in process.name():
            if process.ppid() != self.postmaster:
                return None
            client = " ".join(process.cmdline())  # a session's title names its client: [local] or host(port)
            if " [local] " not in client and "(" not in client:
                return "postgres, own"
            return "postgres, niced" if process.nice() >= 10 else "postgres"
        if process.environ().get("KNN_DATA_DIR") != self.data_dir:
            return None
        return "worker" if "worker" in process.cmdline() else "http"

    def snapshot(self) -> dict[int, tuple[str, float]]:
        """``pid -> (part, CPU seconds so far)`` of the server's processes."""
        found = {}
        for process in psutil.process_iter():
            try:
                part = self._part(process)
                if part is not None:
                    times = process.cpu_times()
                    found[process.pid] = (part, times.user + times.system)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    @staticmethod
    def spent(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
        """CPU seconds per part between two snapshots."""
        parts: dict[str, float] = {}
        for pid, (part, seconds) in after.items():
            parts[part] = parts.get(part, 0.0) + seconds - before.get(pid, (part, 0.0))[1]
        return parts


def http_workers_rss(pid: int) -> int:
    """The resident memory, bytes, of the HTTP workers of the ``khoknongna serve`` process ``pid``, summed."""
    return int(sum(mib for label, mib in server_rss_mib(pid).items() if label.startswith("gunicorn")) * 2**20)


def rate_figures(rows: int, seconds: float, memory: PeakMemory) -> dict[str, Any]:
    """The figures of one timed read or write of ``rows`` rows: time, rate and the memory watched meanwhile."""
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "peak_rss_above_start_mib": round(memory.above_base_mib, 1),
        "peak_rss_mib": round(memory.peak / 2**20, 1),
    }


def print_generated_figures(
    figures: dict[str, Any], names: list[str], as_json: bool, detail: Callable[[dict[str, Any]], str]
) -> int:
    """Print the figures of a benchmark over generated submissions (``bench/export.py``, ``bench/odata.py``).

    ``figures`` holds ``submissions``, ``generate_s`` and, under each of ``names``, one :func:`rate_figures`
    dict, which ``detail`` may extend. With ``as_json`` it is one JSON object on stdout; otherwise a line on the
    generation, then one line per name: rows, time, rate and memory, then ``detail`` of its figures.
    Returns the exit status, 0.
    """
    if as_json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{figures['submissions']:,} submissions generated in {figures['generate_s']} s")
    for name in names:
        f = figures[name]
        print(
            f"{name:<8} {f['rows']:>10,} rows in {f['seconds']:>7} s = {f['rows_per_s']:>8,} rows/s; "
            f"peak RSS {f['peak_rss_mib']} MiB (+{f['peak_rss_above_start_mib']} MiB meanwhile); {detail(f)}"
        )
    return 0
