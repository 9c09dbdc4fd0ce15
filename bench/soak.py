#!/usr/bin/env python3
"""A bounded soak: mixed Collect and supervisor traffic for some minutes, watching throughput, latency and the
server's memory.

What it does
------------
``-c`` devices (threads, one keep-alive connection each, Digest) loop until ``--minutes`` have passed,
choosing each time among:

* 45 %  a plot survey with one photo (``--photo-kb``, a different picture each time): HEAD then the multipart
  POST, as Collect sends it; each device is a field developer going from plot to plot across the north-east,
  ten minutes apart in the instance's start and end times (class ``FieldDeveloper``), so the spatial checks, the
  tiles and the audit signals see a register of realistic density;
* 20 %  ``formList``;  10 %  the plot survey's manifest;  10 %  ``HEAD /submission`` alone;
* 12 %  a supervisor on the web map, signed in with a session cookie: one vector tile (plots or submissions)
  at zoom 12, 13 or 14 around a plot registered in this run, as MapLibre asks when someone zooms into a district;
*  3 %  the JSON API's checks of a plot registered in this run (Digest).

Every request's cost is bounded by what is near one plot, not by the size of the register, so throughput and
memory should stay flat as the data grows; a whole-country map or a month's coverage would not be (``bench/map.py``
measures those).

With ``--rate R`` the devices together send about R requests a second (about 0.45 R submissions), a load the
server should carry for ever: then the queued jobs must stay flat too. Without it they send as fast as the server
answers, and the checks worker (at nice 10) falls behind ingest until the traffic stops.

Every ``--every`` seconds it prints requests/s, submissions/s, p95 latency of that interval, failures, and the
resident memory of the whole server (``serve``, its gunicorn workers and the checks worker, summed), and the jobs
queued for the checks worker and not yet done (with ``--blob-url``, or ``--database-url``): a queue that keeps
growing means the worker falls behind ingest. At the end it prints the memory of the first and last intervals: it
must stay flat.

::

    .venv/bin/python bench/soak.py --blob-url local --minutes 10 -c 8 --photo-kb 200
    .venv/bin/python bench/soak.py --blob-url local --minutes 10 -c 8 --photo-kb 200 --rate 20
    .venv/bin/python bench/soak.py --server http://127.0.0.1:8000 --user bench --password benchpass --pid <serve pid> \\
        --database-url postgresql+psycopg://…
"""

from __future__ import annotations

import argparse
import math
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import SplitResult, urlsplit

import psutil
import requests
from common import add_server_options, server_rss_mib  # bench/common.py, beside this file
from ingest import (
    BANGKOK,
    NETWORK_ERRORS,
    Client,
    Device,
    Submission,
    Tally,
    XForm,
    against_server,
    fetch_form,
    percentile,
    with_device_id,
)
from map import tile_of  # bench/map.py, beside this file
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

MIX = (("submit", 45), ("form_list", 20), ("manifest", 10), ("head", 10), ("tile", 12), ("checks", 3))
TILE_ZOOMS = (12, 13, 14)


class Window:
    """What happened in one reporting interval (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.submissions = 0
        self.latencies: dict[str, list[float]] = {}
        self.failed_kinds: Counter[str] = Counter()

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.submissions += kind == "submit" and ok
            self.failed_kinds[kind] += not ok

    def take(self) -> tuple[int, Counter[str], dict[str, list[float]]]:
        """Submissions, failures by kind and the latencies (s) by kind of the interval; starts a new one."""
        with self.lock:
            taken = (self.submissions, self.failed_kinds, self.latencies)
            self.reset()
            return taken


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--minutes`` the devices send for (default 10) and ``--every``, the seconds of each printed interval
    (default 30): the ``stop`` and ``every`` of :func:`intervals`."""
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes the devices send for (10)")
    parser.add_argument("--every", type=float, default=30.0, help="seconds per printed interval (30)")


def intervals(
    threads: list[threading.Thread], window: Window, every: float, stop: float
) -> Iterator[tuple[float, float, tuple[int, Counter[str], dict[str, list[float]]]]]:
    """Start ``threads``, then every ``every`` seconds until they have all ended yield the seconds since they started,
    the interval's length (s) and what ``window`` took in it. The interval that reaches ``stop`` (monotonic) ends
    when every thread has finished its last request."""
    for t in threads:
        t.start()
    began = last = time.monotonic()
    while any(t.is_alive() for t in threads):
        tick = min(last + every, stop)
        time.sleep(max(0.0, tick - time.monotonic()))
        if tick >= stop:
            for t in threads:
                t.join()
        now = time.monotonic()
        yield now - began, now - last, window.take()
        last = now


def p95_ms(latencies: list[float]) -> float:
    return percentile(sorted(latencies), 95) * 1000 if latencies else 0.0


def queued_jobs(database_url: str | None) -> str:
    """How many checks and audit jobs wait or run now, or ``-`` without a database to ask."""
    if database_url is None:
        return "-"
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            waiting = conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"))
            return str(waiting.scalar_one())
    finally:
        engine.dispose()


def serve_pid(port: int) -> int:
    """The ``khoknongna serve`` process listening on ``port``."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "serve" in cmdline and str(port) in cmdline:
            return process.pid
    sys.exit(f"no 'khoknongna serve' process for port {port}; give --pid")


_POINT = re.compile(rb"(\d+\.\d{6}) (\d+\.\d{6}) 172\.0 4\.5")


_TIME = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+07:00")

#: The id of the entity a plot survey's instance creates (the new plot's UUID).
ENTITY_ID = re.compile(rb'<entity[^>]* id="([0-9a-f-]{36})"')


def relocated(body: bytes, dlat: float, dlon: float, stamp: datetime) -> bytes:
    """``body`` (an instance from ``ingest.Submission``) with every geo point moved ``dlat``, ``dlon`` degrees and
    every instance time (``start``, ``end``, dateTime answers) set to ``stamp``. The body keeps its length while
    the moved coordinates keep their number of digits, so the multipart part's Content-Length stays true."""
    stamped = stamp.isoformat(timespec="milliseconds").encode()
    moved = _POINT.sub(
        lambda m: b"%.6f %.6f 172.0 4.5" % (float(m.group(1)) + dlat, float(m.group(2)) + dlon),
        body,
    )
    return _TIME.sub(stamped, moved)


class FieldDeveloper:
    """One device's field developer and a working clock. Each plot is drawn 0.5-2 km from the previous one, ``STEP``
    later in the instance's start and end times (so 3-12 km/h, never impossible travel), all within ``region``
    degrees of the benchmark's plot (by default ``REGION``, about the north-east of Thailand), starting ``days``
    ago. The benchmark's instances all draw the same plot at the same time; thousands of plots on one spot, or one
    collector everywhere at once, would measure the worst case of the overlap checks, tiles and audit signals, not
    a programme."""

    STEP = timedelta(minutes=10)
    REGION = 1.5

    def __init__(self, rng: random.Random, days: float, region: float = REGION) -> None:
        self.rng = rng
        self.region = region
        self.offset = (rng.uniform(-region, region), rng.uniform(-region, region))
        self.clock = datetime.now(BANGKOK) - timedelta(days=days)

    def visit(self, body: bytes) -> bytes:
        """``body`` moved to the next plot and the next time slot; :attr:`offset` is then that plot's."""
        bearing, km = self.rng.uniform(0, 2 * math.pi), self.rng.uniform(0.5, 2.0)
        self.offset = tuple(
            max(-self.region, min(self.region, shifted + km / 111 * step))
            for shifted, step in zip(self.offset, (math.cos(bearing), math.sin(bearing)), strict=True)
        )
        self.clock += self.STEP
        return relocated(body, *self.offset, self.clock)


class Supervisor:
    """A supervisor's browser on ``/map``: signed in through ``/signin`` (CSRF token from the page), then tile
    requests carrying the session cookie, as MapLibre sends them."""

    def __init__(self, server: SplitResult, user: str, password: str, timeout: float) -> None:
        self.origin = f"{server.scheme}://{server.netloc}"
        self.timeout = timeout
        self.session = requests.Session()
        page = self.session.get(f"{self.origin}/signin", timeout=timeout)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        if not token:
            sys.exit(f"no CSRF token on {self.origin}/signin (HTTP {page.status_code})")
        reply = self.session.post(
            f"{self.origin}/signin",
            data={"username": user, "password": password, "csrf_token": token.group(1)},
            timeout=timeout,
            allow_redirects=False,
        )
        if not reply.is_redirect or "knn_session" not in self.session.cookies:
            sys.exit(f"signing in as {user!r} failed: HTTP {reply.status_code}")

    def tile(self, layer: str, z: int, x: int, y: int) -> tuple[str, int, bytes]:
        """The path, HTTP status and body of one tile request (204: nothing in that tile)."""
        path = f"/tiles/{layer}/{z}/{x}/{y}.mvt"
        reply = self.session.get(self.origin + path, timeout=self.timeout)
        return path, reply.status_code, reply.content

    def close(self) -> None:
        self.session.close()


def device_loop(args: argparse.Namespace, server, sub: Submission, window: Window, stop: float, seed: int) -> None:
    rng = random.Random(seed)
    developer = FieldDeveloper(rng, args.days)
    device = Device(server, args.user, args.password, args.timeout)
    reader = Client(server, device.client.auth, args.timeout)
    supervisor = Supervisor(server, args.user, args.password, args.timeout)
    base = server.path.rstrip("/")
    kinds, weights = zip(*MIX, strict=True)
    plots: list[tuple[str, float, float]] = []  # (entity id, longitude, latitude) of the plots registered
    interval = args.c / args.rate if args.rate else 0.0  # each device's share of --rate
    next_at = time.monotonic()
    while time.monotonic() < stop:
        if interval:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at + interval, time.monotonic())
        kind = rng.choices(kinds, weights)[0]
        start = time.perf_counter()
        try:
            if kind == "submit":
                tally = Tally()
                body = developer.visit(sub.body())  # fresh IDs, place and time; sent as it is, so the plot is known
                device.submit(SimpleNamespace(body=lambda body=body: body, content_type=sub.content_type), tally)
                ok = tally.ok == 1
                found = ENTITY_ID.search(body)
                point = _POINT.search(body)
                if ok and found and point:
                    lat, lon = float(point.group(1)), float(point.group(2))
                    plots.append((found.group(1).decode(), lon, lat))
            elif kind == "head":
                reply = device.head()
                target, status, answer = device.target, reply.status, reply.body
                ok = status == 204
            elif kind == "tile":
                _, lon, lat = rng.choice(plots) if plots else ("", 102.8, 16.4)
                layer = rng.choice(("plots", "submissions"))
                target, status, answer = supervisor.tile(layer, *tile_of(lon, lat, rng.choice(TILE_ZOOMS)))
                ok = status in (200, 204)
            else:
                target = {
                    "form_list": f"{base}/formList",
                    "manifest": f"{base}/forms/plot_survey/manifest",
                    "checks": f"/v1/projects/1/plots/{rng.choice(plots)[0]}/checks" if plots else f"{base}/formList",
                }[kind]
                reply = reader.request("GET", with_device_id(target, "soak"))
                status, answer = reply.status, reply.body
                ok = status == 200
            if not ok and kind != "submit" and args.verbose:
                print(f"{kind} {target}: HTTP {status} {answer[:200]!r}", file=sys.stderr)
        except NETWORK_ERRORS:  # requests' errors are OSErrors too
            device.client.close()
            reader.close()
            ok = False
        window.add(kind, time.perf_counter() - start, ok)
    device.client.close()
    reader.close()
    supervisor.close()


def soak(args: argparse.Namespace) -> int:
    server = urlsplit(args.server.rstrip("/"))
    pid = args.pid or serve_pid(server.port or 80)
    entry, xform = fetch_form(server, args)
    sub = Submission(XForm(xform), entry.get("name") or "plot_survey", args.photo_kb, 1)
    window = Window()
    stop = time.monotonic() + args.minutes * 60
    threads = [
        threading.Thread(target=device_loop, args=(args, server, sub, window, stop, i), daemon=True)
        for i in range(args.c)
    ]
    print(f"{'t (s)':>6} {'req/s':>7} {'subm/s':>7} {'p95 ms':>7} {'failed':>6} {'server MiB':>10} {'jobs':>6}")
    memory: list[dict[str, float]] = []
    kinds: list[dict[str, list[float]]] = []
    total_failed: Counter[str] = Counter()
    for elapsed, seconds, (submissions, failed_kinds, by_kind) in intervals(threads, window, args.every, stop):
        latencies = [t for times in by_kind.values() for t in times]
        failed = sum(failed_kinds.values())
        total_failed.update(failed_kinds)
        memory.append(server_rss_mib(pid))
        kinds.append(by_kind)
        resident = sum(memory[-1].values())
        print(
            f"{elapsed:6.0f} {len(latencies) / seconds:7.1f} {submissions / seconds:7.1f}"
            f" {p95_ms(latencies):7.1f} {failed:6d} {resident:10.1f} {queued_jobs(args.database_url):>6}",
            flush=True,
        )
    if len(memory) >= 2:
        first, final = sum(memory[0].values()), sum(memory[-1].values())
        print(f"server memory: first interval {first:.1f} MiB, last {final:.1f} MiB ({final - first:+.1f} MiB)")
        for label in sorted(memory[0].keys() | memory[-1].keys()):
            print(f"  {label:16} {memory[0].get(label, 0.0):7.1f} {memory[-1].get(label, 0.0):7.1f}")
        print("p95 ms by request, first and last interval:")
        for kind, _ in MIX:
            print(f"  {kind:10} {p95_ms(kinds[0].get(kind, [])):7.1f} {p95_ms(kinds[-1].get(kind, [])):7.1f}")
    print(f"failed requests: {sum(total_failed.values())} {dict(total_failed)}")
    return 0 if not total_failed else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Soak the server with mixed traffic and watch its memory.")
    add_server_options(p, database_help="the server's database, to count its queued jobs (with --server)")
    p.add_argument("--pid", type=int, help="pid of 'khoknongna serve' (default: found by the server's port)")
    add_run_options(p)
    p.add_argument("--form", default="plot_survey")
    p.add_argument("-c", type=int, default=8, help="concurrent devices")
    p.add_argument("--rate", type=float, default=0.0, help="requests/s of all devices (0: as fast as they can)")
    p.add_argument("--photo-kb", type=int, default=200)
    p.add_argument("--days", type=float, default=40.0, help="each device's first plot is this many days ago")
    p.add_argument("--verbose", action="store_true", help="print every failed read")
    args = p.parse_args(argv)
    return against_server(args, soak)


if __name__ == "__main__":
    sys.exit(main())
