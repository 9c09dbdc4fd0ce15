#!/usr/bin/env python3
"""A bounded soak: mixed Collect and supervisor traffic for some minutes, watching throughput, latency and the
server's memory.

What it does
------------
``-c`` devices (threads, one keep-alive connection each, Digest) loop until ``--minutes`` have passed,
choosing each time among:

* 45 %  a plot survey with one photo (``--photo-kb``): HEAD then the multipart POST, as Collect sends it,
  each plot at its own random spot within ~50 km (so that the spatial checks see a realistic register);
* 20 %  ``formList``;  10 %  the plot survey's manifest;  10 %  ``HEAD /submission`` alone;
* 15 %  supervisor reads of the JSON API: a month's coverage, or the checks of a plot just registered
  (the web map is not built yet; these are the requests it will make).

Every ``--every`` seconds it prints requests/s, submissions/s, p95 latency of that interval, failures, and the
resident memory of the whole server (``serve``, its gunicorn workers and the checks worker, summed). At the end
it prints the memory of the first and last intervals: it must stay flat.

::

    .venv/bin/python bench/soak.py --blob-url local --minutes 10 -c 8 --photo-kb 200
    .venv/bin/python bench/soak.py --server http://127.0.0.1:8000 --user bench --password benchpass --pid <serve pid>
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import threading
import time
from collections import Counter
from datetime import date
from types import SimpleNamespace
from urllib.parse import urlsplit

import psutil
from ingest import (
    BENCH_PASSWORD,
    BENCH_USER,
    NETWORK_ERRORS,
    Client,
    Device,
    Submission,
    Tally,
    XForm,
    fetch_form,
    own_server,
    percentile,
    with_device_id,
)

MIX = (("submit", 45), ("form_list", 20), ("manifest", 10), ("head", 10), ("api", 15))


class Window:
    """What happened in one reporting interval (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = self.submissions = self.failures = 0
        self.latencies: list[float] = []
        self.failed_kinds: Counter[str] = Counter()

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.requests += 1
            self.latencies.append(seconds)
            self.submissions += kind == "submit" and ok
            self.failures += not ok
            self.failed_kinds[kind] += not ok

    def take(self) -> tuple[int, int, Counter[str], list[float]]:
        with self.lock:
            taken = (self.requests, self.submissions, self.failed_kinds, sorted(self.latencies))
            self.reset()
            return taken


def server_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, MiB (PostgreSQL is not counted)."""
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running() and "postgres" not in p.name()) / 2**20


def serve_pid(port: int) -> int:
    """The ``khoknongna serve`` process listening on ``port``."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "serve" in cmdline and str(port) in cmdline:
            return process.pid
    sys.exit(f"no 'khoknongna serve' process for port {port}; give --pid")


_POINT = re.compile(rb"(\d+\.\d{6}) (\d+\.\d{6}) 172\.0 4\.5")


def elsewhere(body: bytes, rng: random.Random) -> bytes:
    """The submission moved to a random spot up to ~50 km away: the benchmark's instances all draw the same plot,
    and thousands of plots on one spot would measure the overlap checks' worst case, not a programme."""
    dlat, dlon = rng.uniform(-0.45, 0.45), rng.uniform(-0.45, 0.45)
    return _POINT.sub(
        lambda m: b"%.6f %.6f 172.0 4.5" % (float(m.group(1)) + dlat, float(m.group(2)) + dlon),
        body,
    )


def device_loop(args: argparse.Namespace, server, sub: Submission, window: Window, stop: float, seed: int) -> None:
    rng = random.Random(seed)
    device = Device(server, args.user, args.password, args.timeout)
    reader = Client(server, device.client.auth, args.timeout)
    base = server.path.rstrip("/")
    kinds, weights = zip(*MIX, strict=True)
    month = date.today().strftime("%Y-%m")
    plots: list[str] = []
    while time.monotonic() < stop:
        kind = rng.choices(kinds, weights)[0]
        start = time.perf_counter()
        try:
            if kind == "submit":
                tally = Tally()
                body = elsewhere(sub.body(), rng)  # fresh IDs and place; sent as it is, so the plot id is known
                device.submit(SimpleNamespace(body=lambda body=body: body, content_type=sub.content_type), tally)
                ok = tally.ok == 1
                found = re.search(rb'<entity[^>]* id="([0-9a-f-]{36})"', body)
                if ok and found:
                    plots.append(found.group(1).decode())
            elif kind == "head":
                ok = device.head().status == 204
            else:
                target = {
                    "form_list": f"{base}/formList",
                    "manifest": f"{base}/forms/plot_survey/manifest",
                    "api": f"/v1/projects/1/plots/{rng.choice(plots)}/checks"
                    if plots and rng.random() < 0.5
                    else f"/v1/projects/1/coverage?month={month}",
                }[kind]
                reply = reader.request("GET", with_device_id(target, "soak"))
                ok = reply.status == 200
                if not ok and args.verbose:
                    print(f"{kind} {target}: HTTP {reply.status} {reply.body[:200]!r}", file=sys.stderr)
        except NETWORK_ERRORS:
            device.client.close()
            reader.close()
            ok = False
        window.add(kind, time.perf_counter() - start, ok)
    device.client.close()
    reader.close()


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
    for t in threads:
        t.start()
    print(f"{'t (s)':>6} {'req/s':>7} {'subm/s':>7} {'p95 ms':>7} {'failed':>6} {'server MiB':>10}")
    memory: list[float] = []
    began = time.monotonic()
    total_failed: Counter[str] = Counter()
    while any(t.is_alive() for t in threads):
        time.sleep(args.every)
        requests, submissions, failed_kinds, latencies = window.take()
        failed = sum(failed_kinds.values())
        total_failed.update(failed_kinds)
        memory.append(server_rss_mib(pid))
        p95 = percentile(latencies, 95) * 1000
        print(
            f"{time.monotonic() - began:6.0f} {requests / args.every:7.1f} {submissions / args.every:7.1f}"
            f" {p95:7.1f} {failed:6d} {memory[-1]:10.1f}",
            flush=True,
        )
    if len(memory) >= 2:
        growth = memory[-1] - memory[0]
        print(f"server memory: first interval {memory[0]:.1f} MiB, last {memory[-1]:.1f} MiB ({growth:+.1f} MiB)")
    print(f"failed requests: {sum(total_failed.values())} {dict(total_failed)}")
    return 0 if not total_failed else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Soak the server with mixed traffic and watch its memory.")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--server", help="server URL as typed into Collect")
    target.add_argument("--blob-url", help="start a server of our own with this blob store: local, moto, s3://…")
    p.add_argument("--serve-args", default="", help="extra options for 'khoknongna serve' with --blob-url")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--pid", type=int, help="pid of 'khoknongna serve' (default: found by the server's port)")
    p.add_argument("--form", default="plot_survey")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--every", type=float, default=30.0, help="seconds per printed interval")
    p.add_argument("-c", type=int, default=8, help="concurrent devices")
    p.add_argument("--photo-kb", type=int, default=200)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--verbose", action="store_true", help="print every failed read")
    args = p.parse_args(argv)
    if args.blob_url:
        with own_server(args.blob_url, args.serve_args) as url:
            args.server, args.user, args.password = url, BENCH_USER, BENCH_PASSWORD
            return soak(args)
    return soak(args)


if __name__ == "__main__":
    sys.exit(main())
