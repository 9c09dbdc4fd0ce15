#!/usr/bin/env python3
"""How fast and in how much memory do the Central-shaped feeds run: the OData feed of a form and Central's CSV
zip (``submissions.csv.zip``)?

The synthetic form and its ``-n`` submissions (default 100,000) are generated in SQL as ``bench/export.py``
makes them, in a private PostGIS cluster. Then the whole feed ``….svc/Submissions`` (no ``$top``: every row
in one response) and the CSV zip are read through the real WSGI app (Flask's test client, the body read
chunk by chunk), signed in with a bearer token of ``POST /v1/sessions``, timed, with the resident memory of
this process sampled every 50 ms. PostgreSQL's own memory is not counted.

::

    .venv/bin/python bench/odata.py              # 100,000 submissions
    .venv/bin/python bench/odata.py -n 1000000 --json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from export import FORM, PeakMemory, generate  # bench/export.py

from khoknongna.accounts import create_user
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from khoknongna.storage.db import make_engine
from khoknongna.storage.embedded import running_cluster
from khoknongna.storage.migrations import upgrade

FEEDS = {
    "odata": f"/v1/projects/1/forms/{FORM.form_id}.svc/Submissions",
    "csv_zip": f"/v1/projects/1/forms/{FORM.form_id}/submissions.csv.zip?attachments=false",
}


def measure(client, path: str, token: str, rows: int) -> dict[str, float]:
    """Read one response to the end, chunk by chunk; its time, bytes and peak memory."""
    with PeakMemory() as memory:
        t0 = time.perf_counter()
        response = client.get(path, headers={"Authorization": f"Bearer {token}"}, buffered=False)
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        seconds = time.perf_counter() - t0
    assert response.status_code == 200, response.status_code
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "mib": round(size / 2**20, 1),
        "peak_rss_above_start_mib": round(memory.above_base_mib, 1),
        "peak_rss_mib": round(memory.peak / 2**20, 1),
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    base = Path(tempfile.mkdtemp(prefix="knn-bench-odata-"))
    base.chmod(0o755)  # the cluster runs as ``postgres`` when started by root
    try:
        with running_cluster(base / "pg", database="bench") as cluster:
            engine = make_engine(cluster.url, pool_size=4)
            upgrade(engine)
            _, generate_s = generate(engine, args.n)
            settings = Settings(data_dir=base / "data", database_url=cluster.url, secret_key="bench-secret")  # noqa: S106 - a throwaway cluster
            with engine.begin() as conn:
                create_user(conn, "bench", "bench-pass-2026", "department", settings.realm)
            client = create_app(settings, engine=engine).test_client()
            token = client.post("/v1/sessions", json={"email": "bench", "password": "bench-pass-2026"}).json["token"]
            figures: dict[str, object] = {"submissions": args.n, "generate_s": round(generate_s, 1)}
            for name in args.feeds:
                figures[name] = measure(client, FEEDS[name], token, args.n)
            engine.dispose()
            return figures
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="submissions to generate")
    parser.add_argument("--feeds", nargs="+", default=list(FEEDS), choices=list(FEEDS))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run(args)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{args.n:,} submissions generated in {figures['generate_s']} s")
    for name in args.feeds:
        f = figures[name]
        print(
            f"{name:<8} {f['rows']:>10,} rows in {f['seconds']:>7} s = {f['rows_per_s']:>8,} rows/s; {f['mib']} MiB; "
            f"peak RSS {f['peak_rss_mib']} MiB (+{f['peak_rss_above_start_mib']} MiB while reading)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
