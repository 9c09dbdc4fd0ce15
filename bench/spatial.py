#!/usr/bin/env python3
"""How fast are the spatial checks at national scale?

What is measured
----------------
``N`` synthetic plots (default 50,000) are spread uniformly over Thailand's bounding box (lon 97.5–105.5° E,
lat 6–20° N): 60 % of 1 rai, 35 % of 3 rai, 5 % of 15 rai, each a square whose sides are jittered by ±10 % and
whose corners by ±1 m, with per-corner accuracies of 2–8 m. ``--overlap-pct`` of them (default 3 %) are
placed against an earlier plot so that they overlap it by 2–15 m. The plots are loaded with ``COPY`` as entities
of the list ``plots`` (the schema of the migrations; the ``plots`` view is the register, its boundaries under
the GiST index of ``entities.geometry``), in a private PostGIS cluster started for the run
(``khoknongna.storage.embedded.running_cluster``) and removed after.

Timed:

1. **overlap scan**: :func:`khoknongna.spatial.overlaps.overlap_scan` over all plots (one self-join on the GiST
   index, areas on the spheroid, the rule applied in Python); run ``--repeat`` times, best and first printed.
2. **one plot**: for ``--sample`` plots, :func:`area_check` + :func:`validity_check` on the captured boundary
   (with accuracies) and :func:`overlaps_for_plot` in the database; median and 95th percentile.
3. **coverage**: :func:`khoknongna.spatial.coverage.month_coverage` of one month over all plots and
   ``--follow-ups`` follow-up submissions generated in memory (default 300,000: daily logs, activity reports
   before and after the 20th, socio-geographic surveys), national roll-up by district.

Targets on a 2-core machine: overlap scan < 10 s, one plot < 50 ms, coverage < 1 s.

::

    .venv/bin/python bench/spatial.py            # 50,000 plots
    .venv/bin/python bench/spatial.py -n 5000 --json
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from common import benchmark_parser, run_benchmark, scratch_database
from pyproj import Geod
from sqlalchemy import Connection, Engine, text

from khoknongna.spatial.area import area_check
from khoknongna.spatial.coverage import FollowUp, RegisteredPlot, month_coverage
from khoknongna.spatial.geodesy import Boundary
from khoknongna.spatial.overlaps import overlap_scan, overlaps_for_plot
from khoknongna.spatial.validity import validity_check
from khoknongna.storage.entities import ensure_dataset
from khoknongna.storage.migrations import upgrade
from khoknongna.storage.projects import ensure_default_project

GEOD = Geod(ellps="WGS84")
BANGKOK = ZoneInfo("Asia/Bangkok")
SIZES = ((1, 0.60), (3, 0.35), (15, 0.05))


class Plot:
    """A synthetic plot: id, size class (rai), tambon code, corners (lon, lat) and their accuracies (m)."""

    def __init__(self, entity_id: int, rai: int, tambon: str, corners: list[tuple[float, float]], accs: list[float]):
        self.entity_id, self.rai, self.tambon, self.corners, self.accs = entity_id, rai, tambon, corners, accs

    def ewkt(self) -> str:
        ring = [*self.corners, self.corners[0]]
        return "SRID=4326;POLYGON((" + ",".join(f"{x:.8f} {y:.8f}" for x, y in ring) + "))"


def square(rng: random.Random, lon: float, lat: float, rai: int) -> list[tuple[float, float]]:
    """Corners of a jittered square of ``rai`` with its south-west corner at (lon, lat), anticlockwise."""
    side = math.sqrt(rai * 1600.0)
    w, h = side * rng.uniform(0.9, 1.1), side * rng.uniform(0.9, 1.1)
    m_lon = 1.0 / (111_320.0 * math.cos(math.radians(lat)))
    m_lat = 1.0 / 110_574.0

    def corner(x: float, y: float) -> tuple[float, float]:
        return (lon + (x + rng.uniform(-1, 1)) * m_lon, lat + (y + rng.uniform(-1, 1)) * m_lat)

    return [corner(0, 0), corner(w, 0), corner(w, h), corner(0, h)]


def make_plots(n: int, overlap_pct: float, seed: int) -> list[Plot]:
    rng = random.Random(seed)
    plots: list[Plot] = []
    for i in range(1, n + 1):
        rai = rng.choices([s for s, _ in SIZES], [w for _, w in SIZES])[0]
        tambon = f"{rng.randint(10, 96):02d}{rng.randint(1, 20):02d}{rng.randint(1, 12):02d}"
        if plots and rng.random() < overlap_pct / 100.0:
            other = rng.choice(plots)
            y0, x1 = other.corners[0][1], other.corners[1][0]
            overlap_m = rng.uniform(2, 15)
            lon = x1 - overlap_m / (111_320.0 * math.cos(math.radians(y0)))
            corners = square(rng, lon, y0, rai)
            tambon = other.tambon
        else:
            corners = square(rng, rng.uniform(97.5, 105.5), rng.uniform(6.0, 20.0), rai)
        plots.append(Plot(i, rai, tambon, corners, [round(rng.uniform(2, 8), 1) for _ in corners]))
    return plots


def make_follow_ups(plots: list[Plot], total: int, seed: int) -> list[FollowUp]:
    """About ``total`` follow-ups of November 2026: each plot gets daily logs, most an activity report (two thirds
    by the 20th), some a socio-geographic survey; a few belong to October."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=BANGKOK)
    per_plot = max(1, total // len(plots))
    out: list[FollowUp] = []
    for p in plots:
        for _ in range(per_plot - 1):
            out.append(
                FollowUp(p.entity_id, "daily_log", start + timedelta(minutes=rng.randrange(-3 * 1440, 30 * 1440)))
            )
        if rng.random() < 0.9:
            day = rng.randrange(0, 20 * 1440) if rng.random() < 0.67 else rng.randrange(20 * 1440, 30 * 1440)
            out.append(FollowUp(p.entity_id, "activity_report", start + timedelta(minutes=day)))
        if rng.random() < 0.5:
            out.append(FollowUp(p.entity_id, "socio_geo", start + timedelta(minutes=rng.randrange(0, 30 * 1440))))
    return out


def register_plots(conn: Connection, plots: list[Plot]) -> None:
    """Register ``plots`` as entities of the list ``plots`` of project 1, their ids kept (COPY, then one INSERT)."""
    ensure_default_project(conn, "bench")
    dataset_id = ensure_dataset(conn, 1, "plots", ["size_class", "tambon"])
    conn.execute(text("CREATE TEMP TABLE staged (id bigint, tambon text, rai text, boundary text) ON COMMIT DROP"))
    raw = conn.connection.driver_connection
    with raw.cursor().copy("COPY staged (id, tambon, rai, boundary) FROM STDIN") as copy:
        for p in plots:
            copy.write_row((p.entity_id, p.tambon, str(p.rai), p.ewkt()))
    conn.execute(
        text(
            "INSERT INTO entities (id, dataset_id, uuid, label, version, properties, area_code, geometry)"
            " OVERRIDING SYSTEM VALUE"
            " SELECT id, :dataset_id, gen_random_uuid()::text, 'plot ' || id, 1,"
            "        jsonb_build_object('size_class', rai, 'tambon', tambon), tambon,"
            "        ST_Force4D(ST_GeomFromEWKT(boundary))"
            " FROM staged"
        ),
        {"dataset_id": dataset_id},
    )


def load(engine: Engine, plots: list[Plot]) -> float:
    """Migrate the database and register ``plots`` as entities of the list ``plots`` (the ``plots`` view)."""
    t0 = time.perf_counter()
    upgrade(engine)
    with engine.begin() as conn:
        register_plots(conn, plots)
        conn.execute(text("ANALYZE entities"))
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> dict[str, object]:
    plots = make_plots(args.n, args.overlap_pct, args.seed)
    with scratch_database("spatial") as db:
        engine = db.engine
        load_s = load(engine, plots)
        scans = []
        found: list = []
        for _ in range(args.repeat):
            with engine.connect() as conn:
                t0 = time.perf_counter()
                found = overlap_scan(conn)
                scans.append(time.perf_counter() - t0)
        rng = random.Random(args.seed + 1)
        sample = rng.sample(plots, min(args.sample, len(plots)))
        one = []
        with engine.connect() as conn:
            for p in sample:
                t0 = time.perf_counter()
                boundary = Boundary.from_coords(p.corners, p.accs)
                area_check(boundary, str(p.rai))
                validity_check(boundary)
                overlaps_for_plot(conn, p.entity_id)
                one.append(time.perf_counter() - t0)
    follow_ups = make_follow_ups(plots, args.follow_ups, args.seed + 2)
    registered = [RegisteredPlot(p.entity_id, p.tambon) for p in plots]
    t0 = time.perf_counter()
    report = month_coverage(2026, 11, registered, follow_ups)
    coverage_s = time.perf_counter() - t0
    one.sort()
    return {
        "plots": len(plots),
        "load_s": round(load_s, 2),
        "overlap_scan_s_first": round(scans[0], 3),
        "overlap_scan_s_best": round(min(scans), 3),
        "overlaps_reported": len(found),
        "one_plot_ms_median": round(statistics.median(one) * 1000, 2),
        "one_plot_ms_p95": round(one[int(0.95 * (len(one) - 1))] * 1000, 2),
        "one_plot_samples": len(one),
        "follow_ups": len(follow_ups),
        "coverage_s": round(coverage_s, 3),
        "coverage_national_pct": report.total.coverage_pct,
        "districts": len(report.districts),
    }


def main(argv: list[str] | None = None) -> int:
    p = benchmark_parser("Benchmark the spatial checks on synthetic national data.", seed=20261120)
    p.add_argument("-n", type=int, default=50_000, help="plots (50000)")
    p.add_argument("--overlap-pct", type=float, default=3.0, help="share of plots placed over a neighbour, %% (3)")
    p.add_argument("--follow-ups", type=int, default=300_000, help="follow-up submissions in the month (300000)")
    p.add_argument("--sample", type=int, default=200, help="plots timed one by one (200)")
    p.add_argument("--repeat", type=int, default=3, help="overlap scans (3)")
    return run_benchmark(p, run, argv)


if __name__ == "__main__":
    sys.exit(main())
