#!/usr/bin/env python3
"""How fast are the map's vector tiles with 50,000 plots?

What is measured
----------------
``N`` synthetic plots (default 50,000, the plots of ``bench/spatial.py``: squares of 1, 3 and 15 rai spread over
Thailand's bounding box, lon 97.5–105.5° E, lat 6–20° N) are loaded with ``COPY`` as entities of the list
``plots`` into a private PostGIS cluster started for the run and removed after. A third of them get check
results (one in ten of those a problem). Each plot also gets one submission of a plot survey with a geopoint
and its boundary as a geoshape (``submission_geometries`` of current versions), so the submissions tiles hold
as many features as the plots tiles.

Timed: tile requests through the real app (``create_app``, Flask's test client, a signed-in department
supervisor: every area, the heaviest case), ``--requests`` per zoom level and tile set, for zoom 6, 10 and
14, each at a tile chosen at random among those holding a plot (the same tiles for both sets). The figures
include the HTTP handling, the session and the query; p50 and p95 in milliseconds, and the mean tile size.

Target on a 2-core machine: p95 < 150 ms at every zoom level.

::

    .venv/bin/python bench/map.py              # 50,000 plots
    .venv/bin/python bench/map.py -n 5000 --json
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

from khoknongna.accounts import create_user
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from khoknongna.storage.migrations import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import benchmark_parser, run_benchmark, scratch_database  # bench/common.py, beside this file

from spatial import make_plots, register_plots  # bench/spatial.py, beside this file

ZOOMS = (6, 10, 14)


def load(engine: Engine, plots: list, seed: int) -> float:
    """Migrate, register ``plots``, give a third of them check results, and one plot survey submission each."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    upgrade(engine)
    with engine.begin() as conn:
        register_plots(conn, plots)
        checked = [p.entity_id for p in plots if rng.random() < 1 / 3]
        conn.execute(
            text(
                "INSERT INTO check_results (subject, entity_id, rule, rule_version, status, result, checked_version)"
                " SELECT 'plot', id, 'plot_area', 1, CASE WHEN id % 10 = 0 THEN 'oversized' ELSE 'ok' END, '{}', 1"
                " FROM unnest(CAST(:ids AS bigint[])) id"
            ),
            {"ids": checked},
        )
        form_id = conn.execute(
            text("INSERT INTO forms (project_id, xml_form_id) VALUES (1, 'plot_survey') RETURNING id")
        ).scalar_one()
        version_id = conn.execute(
            text(
                "INSERT INTO form_versions (form_id, version, title, xform_sha256, xform_md5, encrypted, definition)"
                " VALUES (:f, '1', 'Plot survey', 'x', 'x', false, '{}') RETURNING id"
            ),
            {"f": form_id},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO submissions (id, form_id, instance_id, area_code) OVERRIDING SYSTEM VALUE"
                " SELECT id, :f, 'uuid:' || id, tambon FROM staged"
            ),
            {"f": form_id},
        )
        conn.execute(
            text(
                "INSERT INTO submission_versions (id, submission_id, form_id, form_version_id, instance_id, current,"
                " encrypted, xml, xml_sha256, data) OVERRIDING SYSTEM VALUE"
                " SELECT id, id, :f, :v, 'uuid:' || id, true, false, '', '', '{}' FROM staged"
            ),
            {"f": form_id, "v": version_id},
        )
        conn.execute(
            text(
                "INSERT INTO submission_geometries (submission_version_id, field_path, geo_type, geom, raw_value)"
                " SELECT id, 'boundary', 'geoshape', ST_Force4D(ST_GeomFromEWKT(boundary)), '' FROM staged"
                " UNION ALL"
                " SELECT id, 'location', 'geopoint', ST_Force4D(ST_PointOnSurface(ST_GeomFromEWKT(boundary))), ''"
                " FROM staged"
            )
        )
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, y


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))]


def run(args: argparse.Namespace) -> dict[str, object]:
    plots = make_plots(args.n, 0.0, args.seed)
    rng = random.Random(args.seed + 3)
    result: dict[str, object] = {"plots": len(plots)}
    with scratch_database("map") as db:
        engine = db.engine
        result["load_s"] = round(load(engine, plots, args.seed), 1)
        settings = Settings(
            data_dir=db.base / "data",
            database_url=db.url,
            secret_key="bench-only",  # noqa: S106
            validate_forms=False,
        )
        with engine.begin() as conn:
            create_user(conn, "bench", "bench-pass", "department", settings.realm)
        app = create_app(settings, engine=engine)
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        assert client.post("/signin", data={"username": "bench", "password": "bench-pass"}).status_code == 302
        for z in ZOOMS:
            sample = [rng.choice(plots).corners[0] for _ in range(args.requests)]
            tiles_zxy = [tile_of(lon, lat, z) for lon, lat in sample]
            for kind in ("plots", "submissions"):
                times, sizes = [], []
                for tz, tx, ty in tiles_zxy:
                    t0 = time.perf_counter()
                    response = client.get(f"/tiles/{kind}/{tz}/{tx}/{ty}.mvt")
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code in (200, 204), response.status_code
                    sizes.append(len(response.data))
                result[f"{kind}_z{z}_ms_p50"] = round(statistics.median(times), 1)
                result[f"{kind}_z{z}_ms_p95"] = round(percentile(times, 0.95), 1)
                result[f"{kind}_z{z}_kb_mean"] = round(statistics.mean(sizes) / 1024, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    p = benchmark_parser("Benchmark the map's vector tiles on synthetic national data.", seed=20261121)
    p.add_argument("-n", type=int, default=50_000, help="plots (50000)")
    p.add_argument("--requests", type=int, default=100, help="tile requests per zoom level and tile set (100)")
    return run_benchmark(p, run, argv, width=28)


if __name__ == "__main__":
    sys.exit(main())
