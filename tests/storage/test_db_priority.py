"""The worker's database sessions give way to ingest: their server processes run at a lower CPU priority."""

from __future__ import annotations

import os

from sqlalchemy import text

from khoknongna.storage.db import make_engine, yield_to_others


def test_a_session_of_an_engine_that_yields_runs_its_server_process_at_niceness_10_or_more(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1)
    yield_to_others(engine)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            name = conn.execute(text("SHOW application_name")).scalar_one()

            assert os.getpriority(os.PRIO_PROCESS, pid) >= 10
            assert name == "khoknongna worker"
    finally:
        engine.dispose()


def test_sessions_of_other_engines_keep_their_priority(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()

            assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0)  # as the server's
    finally:
        engine.dispose()
