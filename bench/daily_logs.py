#!/usr/bin/env python3
"""Daily logs at the same plots, day after day: does the work after the 201 keep up? (issue 16)

What it does
------------
``--developers`` field developers (20; one Collect device, thread and keep-alive connection each, Digest) work in
one district (about 26 x 26 km around Khon Kaen):

1. **Register** (untimed): each registers ``--plots`` plots with plot surveys (XML only), walking 0.5-2 km from
   plot to plot (``soak.FieldDeveloper`` with a district's region), dated a week before the month. The benchmark
   then waits until their checks and audit jobs are done, so the timed part starts from an empty queue.
2. **Daily logs** (timed, ``--minutes``): each sends ``daily_log`` instances about its own plots, every working
   day (Monday to Friday; public holidays are not left out) of ``--month`` (default: last month) and, if the
   traffic lasts longer, of the months after. One day it visits its plots in the order it registered them, from
   08:30, at most ten minutes apart (``work_date``, ``today``, ``start`` and ``end`` say so); the next working day
   it visits them again. So every plot gets a log a day, and the number of earlier logs at each plot grows all
   run. Each log's ``start_location`` is inside the plot's boundary, jittered ``--jitter-m`` metres (standard
   deviation, 5) as a phone's GPS is; ``--jitter-m 0`` puts every log of a plot on exactly the same coordinates
   (the worst case for the audit's same-spot lookups). Each log has one photo and the owner's signature
   (``--photo-kb`` each, a different picture each time). Together the devices send ``--rate`` logs a second (40).
   The default ``--plots`` makes the run's logs cover the month's working days once at that rate.

Every ``--every`` seconds it prints the interval's logs/s, p95 latency (HEAD + POST) and failures, and the checks
and audit jobs not yet done: ``checks`` (``check_plot``, ``check_follow_up``) and ``audits``
(``audit_submission``) waiting or running, ``reaudits`` (``reaudit_submission``) waiting, running or scheduled
for later (they wait ``KNN_AUDIT_REAUDIT_WINDOW_S``), and their ``total``. When the traffic stops it prints the
queue every ``--drain-every`` seconds (5) until it is empty, and the drain time: seconds from the end of the
traffic to an empty queue. The exit status is 1 when it did not drain within ``--drain`` seconds (60), a job
failed, or a log was refused.

It then prints, per minute of the run (by when the job started) and for the drain, how many checks, audit and
re-audit jobs ran and their mean and 95th percentile duration, and the mean audit job of the first and the last
minute: a cost per job that grows with the earlier logs at a plot shows as a last minute dearer than the first.
The worker deletes each job it finishes (with its rows in ``procrastinate_events``, and without a ``succeeded``
event), so the benchmark notes when each job starts and ends itself: the table ``bench_job_events``, filled by a
trigger on ``procrastinate_jobs`` that it creates in the server's database at the start and drops at the end.

::

    .venv/bin/python bench/daily_logs.py --blob-url local --minutes 10 --rate 40 --every 30
    .venv/bin/python bench/daily_logs.py --blob-url local --minutes 1 --rate 10 --jitter-m 0
    .venv/bin/python bench/daily_logs.py --server http://127.0.0.1:8000 --user bench --password benchpass \\
        --database-url postgresql://…
"""

from __future__ import annotations

import argparse
import math
import random
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from types import SimpleNamespace
from typing import Any
from urllib.parse import SplitResult, urlsplit

import psycopg
from common import add_server_options  # bench/common.py, beside this file
from ingest import (
    BANGKOK,
    LAT,
    Device,
    Submission,
    Tally,
    XForm,
    against_server,
    conninfo,
    fetch_form,
)
from lxml import etree
from soak import ENTITY_ID, FieldDeveloper, Window, add_run_options, intervals, p95_ms, relocated

#: Half the side of the district, degrees (0.12: about 26 x 26 km, a district of 300-1,000 km²).
DISTRICT = 0.12
#: Where a log is taken, from the plot's registered point: inside the boundary ``ingest.answer`` draws for the plot
#: survey (the triangle of offsets (0, 0), (0.0006, 0), (0.0006, 0.0007) in latitude and longitude), at its centre.
INSIDE = (0.0004, 0.00023)
#: The first visit of a working day, and the longest time between two visits.
DAY_STARTS, MOST_APART, WORKING_HOURS = clock_time(8, 30), timedelta(minutes=10), timedelta(hours=8)
#: A 36-character stand-in for the plot's UUID in the pre-built log, replaced per log (the length stays).
PLOT_STAND_IN = "00000000-0000-4000-8000-000000000000"
CHECKS, AUDIT, REAUDIT = ("check_plot", "check_follow_up"), "audit_submission", "reaudit_submission"
QUEUE_COLUMNS = ("checks", "audits", "reaudits", "total")
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Plot:
    """A registered plot: its entity UUID and its point's offset from ``ingest.LAT``/``LON``, degrees."""

    uuid: str
    dlat: float
    dlon: float


def working_days(first: date) -> Iterator[date]:
    """Monday to Friday from ``first`` on, for ever."""
    day = first
    while True:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def last_month(today: date) -> date:
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_working_days(first: date) -> int:
    """How many working days the month starting on ``first`` has."""
    days = (first + timedelta(days=n) for n in range(31))
    return sum(1 for day in days if day.month == first.month and day.weekday() < 5)


_DATE = re.compile(rb">\d{4}-\d{2}-\d{2}<")  # a date answer: work_date, today


class DailyLog:
    """The ``daily_log`` instance, pre-built once (``ingest.Submission``), placed per log at a plot on a day."""

    def __init__(self, xform: bytes, photo_kb: int, jitter_m: float) -> None:
        form = XForm(xform)
        plot = next(el for el in form.root if isinstance(el.tag, str) and etree.QName(el).localname == "plot")
        plot.text = PLOT_STAND_IN  # taken as the form's default answer, so the instance has a slot of the right size
        self.sub = Submission(form, "daily_log", photo_kb, photos=2)  # the photo and the owner's signature
        if PLOT_STAND_IN.encode() not in self.sub.body():
            sys.exit("the daily_log form has no top-level 'plot' question")
        self.content_type = self.sub.content_type
        self.jitter_m = jitter_m

    def at(self, plot: Plot, stamp: datetime, rng: random.Random) -> bytes:
        """A log about ``plot``, opened and finished at ``stamp`` (its ``work_date`` and ``today`` that day), taken
        inside the plot, jittered."""
        north = east = 0.0
        if self.jitter_m:
            north = rng.gauss(0.0, self.jitter_m) / METRES_PER_DEGREE
            east = rng.gauss(0.0, self.jitter_m) / (METRES_PER_DEGREE * math.cos(math.radians(LAT)))
        body = self.sub.body().replace(PLOT_STAND_IN.encode(), plot.uuid.encode())
        body = relocated(body, plot.dlat + INSIDE[0] + north, plot.dlon + INSIDE[1] + east, stamp)
        return _DATE.sub(b">%s<" % stamp.date().isoformat().encode(), body)


def register(
    args: argparse.Namespace, device: Device, survey: Submission, first_day: date, seed: int
) -> tuple[list[Plot], Tally]:
    """One developer's ``--plots`` plot surveys from its ``device``, a week before ``first_day``: its plots (in the
    order registered, which is its route) and the tally of the surveys."""
    rng = random.Random(seed)
    registered = datetime.combine(first_day - timedelta(days=7), DAY_STARTS, BANGKOK)
    walker = FieldDeveloper(rng, (datetime.now(BANGKOK) - registered) / timedelta(days=1), region=DISTRICT)
    plots: list[Plot] = []
    tally = Tally()
    for _ in range(args.plots):
        body = walker.visit(survey.body())
        before = tally.ok
        device.submit(SimpleNamespace(body=lambda body=body: body, content_type=survey.content_type), tally)
        found = ENTITY_ID.search(body)
        if tally.ok > before and found:
            plots.append(Plot(found.group(1).decode(), *walker.offset))
    device.client.close()
    return plots, tally


def send_logs(
    args: argparse.Namespace,
    device: Device,
    log: DailyLog,
    plots: list[Plot],
    first_day: date,
    stop: float,
    window: Window,
    tally: Tally,
    seed: int,
) -> None:
    """One developer's daily logs from its ``device`` until ``stop`` (``time.monotonic``): its plots in route order,
    every working day from ``first_day`` on, at its share of ``--rate``."""
    rng = random.Random(seed)
    interval = args.developers / args.rate
    apart = min(MOST_APART, WORKING_HOURS / max(1, len(plots)))
    next_at = time.monotonic()
    for day in working_days(first_day):
        opened = datetime.combine(day, DAY_STARTS, BANGKOK)
        for k, plot in enumerate(plots):
            time.sleep(max(0.0, next_at - time.monotonic()))
            if time.monotonic() >= stop:
                device.client.close()
                return
            next_at = max(next_at + interval, time.monotonic())
            body = log.at(plot, opened + k * apart, rng)
            before, started = tally.ok, time.perf_counter()
            device.submit(SimpleNamespace(body=lambda body=body: body, content_type=log.content_type), tally)
            window.add("submit", time.perf_counter() - started, tally.ok > before)


QUEUE_SQL = """
SELECT task_name, count(*) AS waiting, count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now()) AS later
FROM procrastinate_jobs WHERE status IN ('todo', 'doing') AND task_name = ANY(%(tasks)s) GROUP BY task_name
"""
FAILED_SQL = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed' AND task_name = ANY(%(tasks)s)"
TASKS = [*CHECKS, AUDIT, REAUDIT]


def queue(conn: psycopg.Connection) -> dict[str, int]:
    """The checks and audit jobs not yet done, by ``QUEUE_COLUMNS``, and ``later``: re-audits scheduled after
    their window."""
    rows = conn.execute(QUEUE_SQL, {"tasks": TASKS}).fetchall()
    waiting = {task: n for task, n, _ in rows}
    return {
        "checks": sum(waiting.get(task, 0) for task in CHECKS),
        "audits": waiting.get(AUDIT, 0),
        "reaudits": waiting.get(REAUDIT, 0),
        "total": sum(waiting.values()),
        "later": sum(later for _, _, later in rows),
    }


def queue_text(jobs: dict[str, int]) -> str:
    reaudits = f"{jobs['reaudits']} ({jobs['later']} later)"
    return f"{jobs['checks']:>7} {jobs['audits']:>7} {reaudits:>16} {jobs['total']:>7}"


QUEUE_HEADER = f"{'checks':>7} {'audits':>7} {'reaudits':>16} {'total':>7}"


def drain(conn: psycopg.Connection, give_up: float, every: float | None) -> float | None:
    """Seconds until no checks or audit job is left (polled twice a second), or ``None`` after ``give_up``
    seconds; prints the queue every ``every`` seconds (never with ``None``)."""
    start, shown = time.monotonic(), None
    while True:
        jobs = queue(conn)
        now = time.monotonic()
        if every is not None and (shown is None or now - shown >= every or not jobs["total"]):
            print(f"{now - start:6.1f} s after   {'':21} {queue_text(jobs)}", flush=True)
            shown = now
        if not jobs["total"]:
            return round(now - start, 1)
        if now - start > give_up:
            return None
        time.sleep(0.5)


CAPTURE_SQL = """
CREATE TABLE bench_job_events (job_id bigint NOT NULL, task_name text NOT NULL, type text NOT NULL,
                               at timestamptz NOT NULL);
CREATE FUNCTION bench_copy_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'doing' THEN  -- the worker deletes each job it finished
            INSERT INTO bench_job_events VALUES (OLD.id, OLD.task_name, 'finished', clock_timestamp());
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('doing', 'succeeded', 'failed') THEN
        INSERT INTO bench_job_events VALUES (NEW.id, NEW.task_name,
            CASE NEW.status WHEN 'doing' THEN 'started' ELSE 'finished' END, clock_timestamp());
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bench_copy_job_event AFTER UPDATE OF status OR DELETE ON procrastinate_jobs
    FOR EACH ROW EXECUTE FUNCTION bench_copy_job_event();
"""
UNCAPTURE_SQL = """
DROP TRIGGER IF EXISTS bench_copy_job_event ON procrastinate_jobs;
DROP FUNCTION IF EXISTS bench_copy_job_event();
DROP TABLE IF EXISTS bench_job_events;
"""
#: Per task and minute of the run by when the job (last) started (``NULL``: after the traffic; the seconds the
#: last requests take past the last whole minute count in it): jobs, mean and p95 ms.
DURATIONS_SQL = """
WITH runs AS (
    SELECT job_id, task_name, max(at) FILTER (WHERE type = 'started') AS began,
           max(at) FILTER (WHERE type = 'finished') AS ended
    FROM bench_job_events GROUP BY job_id, task_name)
SELECT CASE WHEN began < %(end)s THEN least(floor(extract(epoch FROM began - %(start)s) / 60)::int, %(last)s) END
       AS minute,
       task_name, count(*), avg(extract(epoch FROM ended - began)) * 1000,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM ended - began)) * 1000
FROM runs WHERE began >= %(start)s AND ended IS NOT NULL GROUP BY 1, 2
"""


def print_durations(
    conn: psycopg.Connection, start: datetime, end: datetime, minutes: float
) -> tuple[float, float] | None:
    """Print the jobs that ran per minute and task, with their mean and p95 duration, for the traffic from
    ``start`` to ``end`` (database clock), meant to last ``minutes``; returns the mean audit job (ms) of the
    first and the last minute of the traffic, if any ran then."""
    last = max(0, math.ceil(minutes) - 1)
    rows = conn.execute(DURATIONS_SQL, {"start": start, "end": end, "last": last}).fetchall()
    tasks = [task for task in TASKS if any(r[1] == task for r in rows)]
    by = {(minute, task): (n, mean, p95) for minute, task, n, mean, p95 in rows}
    minutes = sorted({m for m, _ in by if m is not None})
    print("jobs by when they started: count, mean ms, p95 ms")
    print(f"{'minute':>6} " + " ".join(f"{task:>26}" for task in tasks))
    for minute in [*minutes, None]:
        cells = [by.get((minute, task)) for task in tasks]
        line = " ".join(f"{c[0]:>8} {c[1]:8.1f} {c[2]:8.1f}" if c else f"{'-':>26}" for c in cells)
        print(f"{'drain' if minute is None else minute:>6} {line}")
    first_audit, last_audit = by.get((0, AUDIT)), by.get((last, AUDIT))
    if not (first_audit and last_audit):
        return None
    print(
        f"mean audit job: first minute {first_audit[1]:.1f} ms ({first_audit[0]} jobs),"
        f" last minute {last_audit[1]:.1f} ms ({last_audit[0]} jobs)"
    )
    return first_audit[1], last_audit[1]


def run(args: argparse.Namespace) -> int:
    server = urlsplit(args.server.rstrip("/"))
    first_day = date.fromisoformat(args.month + "-01") if args.month else last_month(datetime.now(BANGKOK).date())
    days = month_working_days(first_day)
    if args.plots is None:
        args.plots = max(1, math.ceil(args.rate * args.minutes * 60 / (args.developers * days)))
    survey_entry, survey_xform = fetch_form(server, argparse.Namespace(**{**vars(args), "form": "plot_survey"}))
    _, log_xform = fetch_form(server, argparse.Namespace(**{**vars(args), "form": "daily_log"}))
    survey = Submission(XForm(survey_xform), survey_entry.get("name") or "plot_survey", 0)
    log = DailyLog(log_xform, args.photo_kb, args.jitter_m)
    conn = psycopg.connect(conninfo(args.database_url), autocommit=True)
    print(
        f"{args.developers} field developers, {args.plots} plots each in one district; daily logs of"
        f" {first_day:%Y-%m} ({days} working days) and on; jitter {args.jitter_m} m; {args.photo_kb} KiB photo"
        f" and signature; {args.rate:g} logs/s for {args.minutes:g} min",
        flush=True,
    )
    try:
        conn.execute(UNCAPTURE_SQL)
        conn.execute(CAPTURE_SQL)
        return _run(args, server, survey, log, first_day, conn)
    finally:
        conn.execute(UNCAPTURE_SQL)
        conn.close()


def _run(
    args: argparse.Namespace,
    server: SplitResult,
    survey: Submission,
    log: DailyLog,
    first_day: date,
    conn: psycopg.Connection,
) -> int:
    t0 = time.monotonic()
    devices = [Device(server, args.user, args.password, args.timeout) for _ in range(args.developers)]
    routes: list[Any] = [None] * args.developers

    def registering(i: int) -> None:
        routes[i] = register(args, devices[i], survey, first_day, args.seed + i)

    threads = [threading.Thread(target=registering, args=(i,), daemon=True) for i in range(args.developers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    registered = sum(len(plots) for plots, _ in routes)
    refused = sum(sum(tally.errors.values()) for _, tally in routes)
    print(f"registered {registered} plots in {time.monotonic() - t0:.1f} s ({refused} refused)", flush=True)
    if refused or not registered:
        for _, tally in routes:
            for key, count in tally.errors.items():
                print(f"  {key}: {count} e.g. {tally.examples[key]!r}")
        return 1
    settled = drain(conn, args.give_up, None)
    print(f"their checks and audits done {settled} s later" if settled is not None else "their jobs never finished")
    failed_before = conn.execute(FAILED_SQL, {"tasks": TASKS}).fetchone()[0]

    window, tallies = Window(), [Tally() for _ in routes]
    start_db = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    stop = time.monotonic() + args.minutes * 60
    threads = [
        threading.Thread(
            target=send_logs,
            args=(args, devices[i], log, plots, first_day, stop, window, tallies[i], args.seed + 1000 + i),
            daemon=True,
        )
        for i, (plots, _) in enumerate(routes)
    ]
    print(f"{'t (s)':>6} {'logs/s':>7} {'p95 ms':>7} {'failed':>6} {QUEUE_HEADER}")
    for elapsed, seconds, (sent, failed_kinds, latencies) in intervals(threads, window, args.every, stop):
        print(
            f"{elapsed:6.0f} {sent / seconds:7.1f} {p95_ms(latencies.get('submit', [])):7.1f}"
            f" {sum(failed_kinds.values()):6d} {queue_text(queue(conn))}",
            flush=True,
        )
    end_db = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    per_plot = total.ok / registered
    print(f"traffic stopped: {total.ok} logs sent, {per_plot:.1f} per plot; draining")
    drained = drain(conn, args.give_up, args.drain_every)
    failed_jobs = conn.execute(FAILED_SQL, {"tasks": TASKS}).fetchone()[0] - failed_before
    print_durations(conn, start_db, end_db, args.minutes)
    status = 0
    if drained is None or drained > args.drain:
        after = f"{drained} s" if drained is not None else f"more than {args.give_up:g} s"
        print(f"NOT DRAINED: the queue took {after}, more than --drain {args.drain:g} s", file=sys.stderr)
        status = 1
    else:
        print(f"drained {drained} s after the traffic stopped (limit {args.drain:g} s)")
    if failed_jobs:
        print(f"FAILED JOBS: {failed_jobs} (khoknongna jobs list --status failed)", file=sys.stderr)
        status = 1
    if total.errors:
        for key, count in total.errors.most_common():
            print(f"REFUSED LOGS: {key}: {count} e.g. {total.examples[key]!r}", file=sys.stderr)
        status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Daily logs at the same plots; watch the checks and audit queue drain.")
    add_server_options(
        p,
        server_help="server URL as typed into Collect (with --user, --password, --database-url)",
        database_help="the server's database (with --server): its job queue",
    )
    add_run_options(p)
    p.add_argument("--developers", type=int, default=20, help="field developers, one device each (20)")
    p.add_argument("--plots", type=int, help="plots per developer (default: the run's logs cover one month)")
    p.add_argument("--month", help="YYYY-MM of the first working day logged (default: last month)")
    p.add_argument("--rate", type=float, default=40.0, help="daily logs per second, all developers together (40)")
    p.add_argument("--jitter-m", type=float, default=5.0, help="GPS jitter of a log, metres (5; 0: the same point)")
    p.add_argument("--photo-kb", type=int, default=50, help="KiB of the photo and of the signature (50)")
    p.add_argument("--drain", type=float, default=60.0, help="seconds the queue may take to empty (60)")
    p.add_argument("--drain-every", type=float, default=5.0, help="seconds between queue lines while draining (5)")
    p.add_argument("--give-up", type=float, default=600.0, help="seconds to wait for an empty queue at all (600)")
    p.add_argument("--seed", type=int, default=20261205)
    args = p.parse_args(argv)
    if args.server and not (args.database_url and args.user):
        p.error("--server needs --user, --password and --database-url")
    if args.rate <= 0 or args.developers < 1 or args.photo_kb < 4:
        p.error("--rate must be > 0, --developers >= 1 and --photo-kb >= 4")
    return against_server(args, run)


if __name__ == "__main__":
    sys.exit(main())
