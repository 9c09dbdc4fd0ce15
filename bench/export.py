#!/usr/bin/env python3
"""How fast and in how much memory do exports run over a million submissions?

What is measured
----------------
A synthetic form ``bench_visit`` (text, integer, decimal, date, dateTime, a yes/no select, a select multiple,
a geopoint and a geoshape) is stored as a form version, its views are made (``storage/gis_views.py``), and
``-n`` submissions (default 1,000,000) are generated in the database with SQL (``generate_series``): one current
version each with its answers in ``data`` and its two geometries in ``submission_geometries``, spread over
Thailand. The database is a private PostGIS cluster started for the run and removed after.

Then the CSV zip and the GeoPackage exports (``khoknongna.exports``) of all submissions are written to a
temporary folder, each timed, with the resident memory of this process sampled every 50 ms (psutil) to report
its peak above the level before the export. PostgreSQL's own memory is not counted.

::

    .venv/bin/python bench/export.py              # 1,000,000 submissions
    .venv/bin/python bench/export.py -n 100000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from common import PeakMemory, print_generated_figures, rate_figures, scratch_database
from sqlalchemy import Engine, text

from khoknongna import exports
from khoknongna.openrosa.xform import FormDefinition
from khoknongna.storage.gis_views import refresh_form_views
from khoknongna.storage.migrations import upgrade
from khoknongna.storage.projects import ensure_default_project

FORM = FormDefinition(
    form_id="bench_visit",
    version="1",
    title="Bench visit",
    root_name="data",
    encrypted=False,
    fields={
        "owner": "string",
        "village_no": "int",
        "income": "decimal",
        "visit_date": "date",
        "start": "dateTime",
        "has_pond": "string",
        "sectors": "string",
        "where": "geopoint",
        "boundary": "geoshape",
        "meta/instanceID": "string",
    },
    selects={"has_pond": "yes_no", "sectors": "multiple"},
)

GENERATE = """
WITH s AS (
    INSERT INTO submissions (form_id, instance_id, created_at)
    SELECT :form_id, 'uuid:bench-' || g, timestamptz '2026-11-01 00:00+07' + (g % 2592000) * interval '1 second'
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g
    RETURNING id, instance_id
), v AS (
    INSERT INTO submission_versions (submission_id, form_id, form_version_id, instance_id, current, encrypted, xml,
                                     xml_sha256, data)
    SELECT s.id, :form_id, :version_id, s.instance_id, true, false, '<data/>', md5(s.instance_id),
           jsonb_build_object(
               'owner', 'นางสมศรี ใจดี ' || s.id, 'village_no', (s.id % 20)::text, 'income', (s.id % 9973)::text || '.50',
               'visit_date', '2026-11-' || lpad((1 + s.id % 28)::text, 2, '0'),
               'start', '2026-11-20T08:01:02.000+07:00', 'has_pond', CASE WHEN s.id % 2 = 0 THEN 'yes' ELSE 'no' END,
               'sectors', 'government people', 'where', '', 'boundary', '')
    FROM s
    RETURNING id, submission_id
)
INSERT INTO submission_geometries (submission_version_id, field_path, geo_type, geom, raw_value)
SELECT v.id, f.path, f.geo_type,
       CASE f.geo_type
           WHEN 'geopoint' THEN ST_SetSRID(ST_MakePoint(x, y, 160, 4), 4326)
           ELSE ST_SetSRID(ST_MakePolygon(ST_MakeLine(ARRAY[
               ST_MakePoint(x, y, 160, 4), ST_MakePoint(x + 0.00037, y, 160, 4),
               ST_MakePoint(x + 0.00037, y + 0.00036, 160, 4), ST_MakePoint(x, y + 0.00036, 160, 4),
               ST_MakePoint(x, y, 160, 4)])), 4326)
       END,
       'synthetic'
FROM v
CROSS JOIN LATERAL (SELECT 97.5 + (v.submission_id * 7919 % 80000) / 10000.0 AS x,
                           6.0 + (v.submission_id * 104729 % 140000) / 10000.0 AS y) c
CROSS JOIN (VALUES ('where', 'geopoint'), ('boundary', 'geoshape')) f(path, geo_type)
"""


def generate(engine: Engine, n: int, batch: int = 100_000) -> tuple[int, float]:
    """Store the form and ``n`` submissions; returns the form's id and the seconds it took."""
    t0 = time.perf_counter()
    with engine.begin() as conn:
        ensure_default_project(conn, "bench")
        form_id = conn.execute(
            text("INSERT INTO forms (project_id, xml_form_id) VALUES (1, :f) RETURNING id"), {"f": FORM.form_id}
        ).scalar_one()
        version_id = conn.execute(
            text(
                "INSERT INTO form_versions (form_id, version, title, xform_sha256, xform_md5, encrypted, definition)"
                " VALUES (:f, '1', 'Bench visit', 'x', 'x', false, CAST(:d AS jsonb)) RETURNING id"
            ),
            {"f": form_id, "d": json.dumps(FORM.to_json())},
        ).scalar_one()
        refresh_form_views(conn, form_id)
    for first in range(1, n + 1, batch):
        with engine.begin() as conn:
            conn.execute(
                text(GENERATE),
                {"form_id": form_id, "version_id": version_id, "first": first, "last": min(n, first + batch - 1)},
            )
    with engine.begin() as conn:
        conn.execute(text("ANALYZE submissions; ANALYZE submission_versions; ANALYZE submission_geometries"))
    return form_id, time.perf_counter() - t0


def run(args: argparse.Namespace) -> dict[str, object]:
    with scratch_database("export") as db:
        engine = db.engine
        upgrade(engine)
        _, generate_s = generate(engine, args.n)
        figures: dict[str, Any] = {"submissions": args.n, "generate_s": round(generate_s, 1)}
        for fmt in args.formats:
            out = db.base / f"export{exports.FILE_SUFFIX[fmt]}"
            with engine.connect() as conn, PeakMemory() as memory:
                t0 = time.perf_counter()
                result = exports.export(conn, None, 1, FORM.form_id, fmt, out, exports.month_filters(None))  # type: ignore[arg-type]
                seconds = time.perf_counter() - t0
            figures[fmt] = rate_figures(sum(result.rows.values()), seconds, memory)
            figures[fmt]["file_mib"] = round(out.stat().st_size / 2**20, 1)
            out.unlink()
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="submissions to generate")
    parser.add_argument("--formats", nargs="+", default=["csv", "gpkg"], choices=["csv", "xlsx", "geojson", "gpkg"])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    return print_generated_figures(run(args), args.formats, args.json, lambda f: f"file {f['file_mib']} MiB")


if __name__ == "__main__":
    sys.exit(main())
