#!/usr/bin/env python3
"""Slow-client benchmark: does a phone on a good link still get answers while others upload at 1 byte/s?

What is measured
----------------
The benchmark starts its own ``khoknongna serve`` (a fresh data folder, its private PostGIS cluster, the local
blob folder; ``--serve-args`` adds options such as ``"--worker-class gthread"``). For each number of stalled
uploads in ``--stalled`` (default ``0,50,200``) it:

1. opens that many connections, each sending a real, authenticated submission POST (Digest, as Collect): the
   headers and the first KiB of the body at once, then one byte per second, as a phone on a failing rural
   link does (the whole body would take an hour);
2. while they drip, one normal device does ``-n`` rounds of formList + HEAD + POST of a submission, each
   request timed (``--timeout`` seconds, 15 as a phone's patience);
3. prints the p50, p95 and worst of those rounds and how many failed, then closes the stalled connections.

Run it on a quiet machine::

    python bench/slow_clients.py                                   # the default worker (waitress)
    python bench/slow_clients.py --serve-args "--worker-class gthread"
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from argparse import Namespace
from urllib.parse import SplitResult, urlsplit

import ingest  # bench/ingest.py, beside this file
from ingest import BENCH_PASSWORD, BENCH_USER

#: Bytes of the body each stalled upload sends at once, before it slows to a drip.
HEAD_START = 1024


class StalledUploads:
    """``count`` submission POSTs that send their headers and first KiB, then one byte per second each."""

    def __init__(self, server: SplitResult, sub: ingest.Submission, count: int) -> None:
        self.body = sub.body()
        self.sockets: list[socket.socket] = []
        self.sent: list[int] = []
        self._stop = threading.Event()
        auth = ingest.Auth(BENCH_USER, BENCH_PASSWORD)
        target = ingest.with_device_id(ingest.target_of(server) + "/submission", ingest.new_device_id())
        challenger = ingest.Client(server, auth, 30)
        challenger.request("HEAD", target)  # takes the Digest challenge, as a phone does before its POST
        challenger.close()
        for _ in range(count):
            sock = socket.create_connection((server.hostname, server.port), 30)
            head = (
                f"POST {target} HTTP/1.1\r\nHost: {server.netloc}\r\nX-OpenRosa-Version: 1.0\r\n"
                f"Authorization: {auth.header('POST', target)}\r\nContent-Type: {sub.content_type}\r\n"
                f"Content-Length: {len(self.body)}\r\n\r\n"
            ).encode()
            sock.sendall(head + self.body[:HEAD_START])
            self.sockets.append(sock)
            self.sent.append(HEAD_START)
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()

    def _drip(self) -> None:
        while not self._stop.wait(1.0):
            for i, sock in enumerate(self.sockets):
                if self.sent[i] < len(self.body) - 1:  # never the last byte: the upload stays open
                    try:
                        sock.send(self.body[self.sent[i] : self.sent[i] + 1])
                        self.sent[i] += 1
                    except OSError:
                        self.sent[i] = len(self.body)  # the server closed it

    def close(self) -> int:
        """Stop dripping, close every connection; returns how many the server had closed by itself."""
        self._stop.set()
        self._thread.join()
        closed = sum(1 for n in self.sent if n >= len(self.body))
        for sock in self.sockets:
            sock.close()
        return closed


def normal_rounds(
    server: SplitResult, sub: ingest.Submission, n: int, timeout: float
) -> tuple[list[float], ingest.Tally]:
    """``n`` rounds of formList + HEAD + POST by one device; the seconds each round took, and the failures."""
    device = ingest.Device(server, BENCH_USER, BENCH_PASSWORD, timeout)
    form_list = ingest.with_device_id(ingest.target_of(server) + "/formList", ingest.new_device_id())
    tally, rounds = ingest.Tally(), []
    for _ in range(n):
        start = time.perf_counter()
        try:
            reply = device.client.request("GET", form_list)
        except ingest.NETWORK_ERRORS as exc:
            device.client.close()
            tally.fail(f"formList {type(exc).__name__}", str(exc)[:160])
            continue
        if reply.status != 200:
            tally.fail(f"formList {reply.status}", "")
            continue
        before = tally.ok
        device.submit(sub, tally)
        if tally.ok > before:
            rounds.append(time.perf_counter() - start)
    device.client.close()
    return rounds, tally


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Normal traffic's latency while other uploads stall.")
    p.add_argument("--serve-args", default="", help="extra options for 'khoknongna serve'")
    p.add_argument("--stalled", default="0,50,200", help="numbers of stalled uploads, comma-separated")
    p.add_argument("-n", type=int, default=20, help="normal rounds (formList + submission) per stage")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds a normal request may take")
    args = p.parse_args(argv)
    stages = [int(s) for s in args.stalled.split(",")]
    with ingest.own_server("local", args.serve_args) as (url, _):
        server = urlsplit(url)
        entry, xform = ingest.fetch_form(
            server, Namespace(user=BENCH_USER, password=BENCH_PASSWORD, timeout=30, form=None)
        )
        sub = ingest.Submission(ingest.XForm(xform), entry.get("name") or entry["formID"], 0)
        print(f"server: khoknongna serve {args.serve_args or '(defaults)'}; form {sub.form_id}, body {sub.size} B")
        print(f"{'stalled':>8} {'rounds':>7} {'failed':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  closed by server")
        failed_any = False
        for count in stages:
            stalled = StalledUploads(server, sub, count)
            time.sleep(2)  # let the server take them all in
            rounds, tally = normal_rounds(server, sub, args.n, args.timeout)
            closed = stalled.close()
            lat = sorted(rounds)
            failed = sum(tally.errors.values())
            failed_any |= failed > 0
            print(
                f"{count:>8} {len(lat):>7} {failed:>7} {ingest.percentile(lat, 50) * 1000:>8.0f} "
                f"{ingest.percentile(lat, 95) * 1000:>8.0f} {(lat[-1] if lat else 0) * 1000:>8.0f}  {closed}"
            )
            for key, example in tally.examples.items():
                print(f"         {key}: {example}")
            time.sleep(2)
    return 1 if failed_any else 0


if __name__ == "__main__":
    sys.exit(main())
