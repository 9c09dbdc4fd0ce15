"""What the database benchmarks share: a private PostGIS cluster for one run, and the printing of its figures.

The scripts beside this file import it by name (``from common import ...``): each is run as
``.venv/bin/python bench/<name>.py``, so this folder is first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
