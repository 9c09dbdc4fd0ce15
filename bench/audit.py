#!/usr/bin/env python3
"""How fast are the photo audit signals at national scale?

What is measured
----------------
1. **near-duplicate search**: ``N`` photo hashes (default 1,000,000: random 64-bit pHashes, plus a few copies of
   one real photo's hash with 0–9 bits flipped) are loaded with ``COPY`` into ``photo_hashes`` (the schema of the
   migrations, its four band indexes) in a private PostGIS cluster started for the run and removed after.
   :func:`khoknongna.storage.audit.near_photos` (threshold ``--distance``, default the setting's 10 bits) is then
   timed for the real photo and ``--queries`` random new hashes: median and 95th percentile. For comparison, one
   sequential scan computing the distance on every row is timed too.
2. **hashing a photo**: a synthetic 12-megapixel plot photo saved as a JPEG of about 3 MB is read, hashed and its
   EXIF parsed by :func:`khoknongna.photos.read_photo_bytes`, ``--repeat`` times: median.

Targets on a 2-core machine: near-duplicate search < 100 ms.

::

    .venv/bin/python bench/audit.py                 # 1,000,000 hashes
    .venv/bin/python bench/audit.py -n 100000 --json
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time

from common import benchmark_parser, run_benchmark, scratch_database
from PIL import Image, ImageDraw
from sqlalchemy import Engine, text

from khoknongna.photos import PhotoRules, read_photo_bytes, to_signed64
from khoknongna.storage.audit import near_photos
from khoknongna.storage.migrations import upgrade
from khoknongna.storage.projects import ensure_default_project


def big_jpeg(target_bytes: int = 3_000_000, seed: int = 1) -> bytes:
    """A 4000×3000 plot-like photo (sky, trees, pond, sensor noise) as JPEG, quality chosen to be ≈ target size."""
    rng = random.Random(seed)
    img = Image.new("RGB", (4000, 3000), (110, 160, 220))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 1300, 4000, 3000], fill=(100, 140, 60))
    for _ in range(300):
        x, y, r = rng.randrange(4000), rng.randrange(900, 1400), rng.randrange(30, 140)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(20, rng.randrange(80, 140), 20))
    draw.ellipse([600, 1800, 2400, 2600], fill=(60, 110, 150))
    noisy = Image.blend(img, Image.effect_noise((4000, 3000), 40).convert("RGB"), 0.12)
    best = b""
    for quality in (70, 80, 85, 90, 93, 95):
        out = io.BytesIO()
        noisy.save(out, "JPEG", quality=quality)
        best = out.getvalue()
        if len(best) >= target_bytes:
            break
    return best


def load(engine: Engine, n: int, near_of: int, seed: int) -> float:
    """Load ``n`` random hashes and 10 near copies of ``near_of``; returns seconds."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        ensure_default_project(conn, "bench")
        form_id = conn.execute(
            text("INSERT INTO forms (project_id, xml_form_id) VALUES (1, 'bench') RETURNING id")
        ).scalar_one()
        submission_id = conn.execute(
            text("INSERT INTO submissions (form_id, instance_id) VALUES (:f, 'uuid:bench') RETURNING id"),
            {"f": form_id},
        ).scalar_one()
        raw = conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy("COPY photo_hashes (submission_id, attachment_name, blob_sha256, phash) FROM STDIN") as copy,
        ):
            for i in range(n):
                copy.write_row((submission_id, f"p{i}.jpg", f"{i:064x}", to_signed64(rng.getrandbits(64))))
            for flips in range(10):
                value = near_of & 0xFFFF_FFFF_FFFF_FFFF
                for bit in rng.sample(range(64), flips):
                    value ^= 1 << bit
                copy.write_row((submission_id, f"near{flips}.jpg", f"{n + flips:064x}", to_signed64(value)))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE photo_hashes"))  # what autovacuum does after a bulk insert
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> dict[str, object]:
    photo = big_jpeg()
    hashing = []
    info = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        info = read_photo_bytes(photo)
        hashing.append(time.perf_counter() - t0)
    assert info is not None and info.phash is not None
    with scratch_database("audit") as db:
        engine = db.engine
        upgrade(engine)
        load_s = load(engine, args.n, info.phash, args.seed)
        rng = random.Random(args.seed + 1)
        queries = [to_signed64(rng.getrandbits(64)) for _ in range(args.queries)]
        times, found = [], 0
        with engine.connect() as conn:
            near_photos(conn, info.phash, args.distance)  # warm the cache
            photo_times = []
            for _ in range(5):
                t0 = time.perf_counter()
                found = len(near_photos(conn, info.phash, args.distance))
                photo_times.append((time.perf_counter() - t0) * 1000)
            photo_ms = statistics.median(photo_times)
            for q in queries:
                t0 = time.perf_counter()
                near_photos(conn, q, args.distance)
                times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            conn.execute(
                text("SELECT count(*) FROM photo_hashes WHERE bit_count(CAST(phash # :h AS bit(64))) <= :d"),
                {"h": info.phash, "d": args.distance},
            ).scalar_one()
            scan_ms = (time.perf_counter() - t0) * 1000
    times.sort()
    return {
        "hashes": args.n + 10,
        "load_s": round(load_s, 1),
        "distance_bits": args.distance,
        "near_found_for_photo": found,
        "near_search_photo_median_ms": round(photo_ms, 1),
        "near_search_median_ms": round(statistics.median(times), 1),
        "near_search_p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "full_scan_ms": round(scan_ms, 1),
        "jpeg_bytes": len(photo),
        "hash_jpeg_median_ms": round(statistics.median(hashing) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = benchmark_parser("Benchmark the near-duplicate photo search and photo hashing.", seed=20261121)
    p.add_argument("-n", type=int, default=1_000_000, help="photo hashes loaded (1000000)")
    p.add_argument("--distance", type=int, default=PhotoRules.max_distance, help="Hamming threshold, bits (10)")
    p.add_argument("--queries", type=int, default=100, help="random new hashes searched (100)")
    p.add_argument("--repeat", type=int, default=5, help="times the 3 MB JPEG is hashed (5)")
    return run_benchmark(p, run, argv)


if __name__ == "__main__":
    sys.exit(main())
