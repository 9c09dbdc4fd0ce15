#!/usr/bin/env python3
"""How fast and in how much memory does a server page through the OData feed of a big form, and write Central's
CSV zip (``submissions.csv.zip``) of it?

The synthetic form of ``bench/export.py`` and its ``-n`` submissions (default 1,000,000) are generated in SQL
(``generate_series``, no HTTP) in a private PostGIS cluster. Then a real ``khoknongna serve`` is started on that
database (``--serve-args`` adds options; one worker by default, so one process answers every page), and a
client signed in with a bearer token of ``POST /v1/sessions`` reads over HTTP:

- ``odata``: ``….svc/Submissions?$top=<page>`` (``--page``, default 10,000), then every ``@odata.nextLink``
  (a ``$skiptoken``) until there is none, counting the rows; the time to the first byte of each page is kept.
  The server sets no page size of its own (nor does ODK Central): a client asks for ``$top``.
- ``csv_zip``: ``submissions.csv.zip?attachments=false`` in one response.

The resident memory of the server's HTTP workers (PostgreSQL and the checks worker not counted) is sampled
every 50 ms: a streamed feed keeps it flat however many rows there are. ::

    .venv/bin/python bench/odata.py                 # 1,000,000 submissions
    .venv/bin/python bench/odata.py -n 20000 --page 1000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import requests
from common import PeakMemory, http_workers_rss, print_generated_figures, rate_figures, scratch_database
from export import FORM, generate  # bench/export.py
from ingest import BENCH_PASSWORD, BENCH_USER, free_port, stop, wait_for  # bench/ingest.py

from khoknongna.storage.migrations import upgrade

FEEDS = {
    "odata": f"/v1/projects/1/forms/{FORM.form_id}.svc/Submissions",
    "csv_zip": f"/v1/projects/1/forms/{FORM.form_id}/submissions.csv.zip?attachments=false",
}


@contextmanager
def serving(database_url: str, data_dir: str, serve_args: list[str]) -> Iterator[tuple[str, int]]:
    """``khoknongna serve`` on ``database_url`` with an account for the benchmark; yields its URL and pid."""
    knn = os.path.join(os.path.dirname(sys.executable), "khoknongna")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNN_")}
    env.update(KNN_DATABASE_URL=database_url, KNN_DATA_DIR=data_dir)
    add_user = [knn, "user", "add", BENCH_USER, "--password", BENCH_PASSWORD, "--role", "department"]
    subprocess.run(add_user, env=env, check=True, capture_output=True)
    port = free_port()
    # stderr to a file, not a pipe nobody reads: a full pipe would stop the server at its next log line
    with open(os.path.join(data_dir, "serve.log"), "wb") as log:
        command = [knn, "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", 180, server)
            yield f"http://127.0.0.1:{port}", server.pid
        finally:
            stop(server)


def read(session: requests.Session, url: str) -> tuple[bytes, float]:
    """One response read to the end: its body and the seconds to its first byte."""
    t0 = time.perf_counter()
    with session.get(url, stream=True, timeout=600) as response:
        assert response.status_code == 200, (response.status_code, response.text[:500])
        chunks = response.iter_content(1 << 16)
        first = next(chunks, b"")
        ttfb = time.perf_counter() - t0
        return first + b"".join(chunks), ttfb


def page_through(
    session: requests.Session, url: str, rss: Callable[[], int]
) -> tuple[int, int, list[float], list[int]]:
    """Follow ``@odata.nextLink`` from ``url`` to the last page: rows, bytes, each page's time to first byte and
    the server's memory (``rss``, bytes) after each page."""
    rows = size = 0
    ttfbs, memory = [], []
    next_url: str | None = url
    while next_url:
        body, ttfb = read(session, next_url)
        page = json.loads(body)
        rows, size = rows + len(page["value"]), size + len(body)
        ttfbs.append(ttfb)
        memory.append(rss())
        next_url = page.get("@odata.nextLink")
    return rows, size, ttfbs, memory


def measure(session: requests.Session, base: str, pid: int, name: str, page: int, n: int) -> dict[str, Any]:
    """Read one feed of ``n`` submissions whole; its figures (:func:`common.rate_figures`, the bytes, the pages'
    first bytes)."""
    rss = partial(http_workers_rss, pid)
    with PeakMemory(rss) as memory:
        t0 = time.perf_counter()
        if name == "odata":
            rows, size, ttfbs, after = page_through(session, f"{base}{FEEDS[name]}?$top={page}", rss)
        else:
            body, ttfb = read(session, base + FEEDS[name])
            rows, size, ttfbs, after = n, len(body), [ttfb], [rss()]
        seconds = time.perf_counter() - t0
    figures = rate_figures(rows, seconds, memory)
    ms = sorted(t * 1000 for t in ttfbs)
    figures.update(
        mib=round(size / 2**20, 1),
        pages=len(ttfbs),
        first_byte_ms={
            "first": round(ttfbs[0] * 1000, 1),
            "median": round(statistics.median(ms), 1),
            "max": round(ms[-1], 1),
            "last": round(ttfbs[-1] * 1000, 1),
        },
        rss_after_first_page_mib=round(after[0] / 2**20, 1),
        rss_after_last_page_mib=round(after[-1] / 2**20, 1),
    )
    return figures


def run(args: argparse.Namespace) -> dict[str, Any]:
    with scratch_database("odata") as db:
        upgrade(db.engine)
        _, generate_s = generate(db.engine, args.n)
        figures: dict[str, Any] = {"submissions": args.n, "generate_s": round(generate_s, 1), "page": args.page}
        data_dir = db.base / "data"
        data_dir.mkdir()
        with serving(db.url, str(data_dir), args.serve_args.split()) as (base, pid), requests.Session() as session:
            login = session.post(f"{base}/v1/sessions", json={"email": BENCH_USER, "password": BENCH_PASSWORD})
            session.headers["Authorization"] = f"Bearer {login.json()['token']}"
            for name in args.feeds:
                figures[name] = measure(session, base, pid, name, args.page, args.n)
        return figures


def detail(f: dict[str, Any]) -> str:
    t = f["first_byte_ms"]
    if f["pages"] == 1:
        return f"{f['mib']} MiB; first byte after {t['first']} ms"
    return (
        f"{f['mib']} MiB in {f['pages']} pages; first byte {t['first']} ms on the first page, "
        f"{t['median']} median, {t['max']} max, {t['last']} on the last; RSS after the first page "
        f"{f['rss_after_first_page_mib']} MiB, after the last {f['rss_after_last_page_mib']} MiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="submissions to generate")
    parser.add_argument("--page", type=int, default=10_000, help="$top of each OData page")
    parser.add_argument("--feeds", nargs="+", default=list(FEEDS), choices=list(FEEDS))
    parser.add_argument("--serve-args", default="--workers 1", help="options for 'khoknongna serve'")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    return print_generated_figures(run(args), args.feeds, args.json, detail)


if __name__ == "__main__":
    sys.exit(main())
