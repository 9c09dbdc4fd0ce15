"""The job queue when things go wrong: a worker that died with a job in hand, a database that went away during a
job, jobs that failed for good and an admin who runs them again (``khoknongna jobs list`` / ``jobs retry``); and a
backlog worked off several jobs at a time.

A dead worker is what procrastinate's tables hold after a ``kill -9``: a worker row whose heartbeat stopped, and
its job ``doing``. Plots are registered and checked as in ``tests/test_plot_checks.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from khoknongna import jobs
from khoknongna.server.cli import main
from khoknongna.settings import Settings
from khoknongna.storage.db import make_engine
from tests.collect import CollectClient
from tests.test_plot_checks import collect, forms, plot_checks, queued, register, square, work

__all__ = ["collect", "forms"]  # fixtures of the plot checks, used here too


def plot_with_a_job(collect: CollectClient, db: Engine) -> tuple[str, int]:
    """A newly registered plot and the id of its check job, waiting."""
    plot = str(uuid.uuid4())
    register(collect, plot, square(0, 0, 40))
    with db.connect() as conn:
        job_id = conn.execute(
            text("SELECT max(id) FROM procrastinate_jobs WHERE task_name = 'check_plot' AND status = 'todo'")
        ).scalar_one()
    return plot, job_id


def taken_by_a_worker(db: Engine, job_id: int, *, heartbeat_seconds_ago: int, attempts: int = 0) -> int:
    """Mark the job ``doing`` for a new worker row whose last heartbeat is that old, as a worker does when it
    takes a job; returns the worker's id."""
    with db.begin() as conn:
        worker_id = conn.execute(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - make_interval(secs => :ago)) RETURNING id"
            ),
            {"ago": heartbeat_seconds_ago},
        ).scalar_one()
        conn.execute(
            text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w, attempts = :a WHERE id = :id"),
            {"w": worker_id, "a": attempts, "id": job_id},
        )
    return worker_id


def job_status(db: Engine, job_id: int) -> str | None:
    with db.connect() as conn:
        return conn.execute(text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}).scalar()


def knn_jobs(settings: Settings, pg_url: str, *args: str) -> Result:
    return CliRunner().invoke(
        main,
        ["jobs", *args, "--data-dir", str(settings.data_dir)],
        env={"KNN_DATABASE_URL": pg_url, "KNN_DATA_DIR": None},
        catch_exceptions=False,
    )


def failed_for_good(db: Engine, job_id: int) -> None:
    with db.begin() as conn:
        conn.execute(
            text("UPDATE procrastinate_jobs SET status = 'failed', attempts = :a WHERE id = :id"),
            {"a": jobs.MAX_ATTEMPTS, "id": job_id},
        )


# --- stalled jobs -----------------------------------------------------------------------------------------------


def test_a_job_left_doing_by_a_dead_worker_runs_again_when_a_worker_starts(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    plot, job_id = plot_with_a_job(collect, db)
    dead = taken_by_a_worker(db, job_id, heartbeat_seconds_ago=int(jobs.STALLED_AFTER) + 5)

    work(settings, db, pg_url)

    assert plot_checks(collect, plot)["plot_area"]["status"] == "ok"
    assert job_status(db, job_id) is None, "it succeeded (succeeded jobs are deleted)"
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM procrastinate_workers WHERE id = :w"), {"w": dead}).scalar() == 0


@pytest.mark.parametrize(
    ("heartbeat_seconds_ago", "attempts", "status"),
    [(1, 0, "doing"), (60, jobs.MAX_ATTEMPTS - 1, "failed")],
    ids=["its worker's heartbeat is recent: left to that worker", "stalled on its last attempt: stays failed"],
)
def test_a_job_that_may_not_run_again_keeps_its_status(
    heartbeat_seconds_ago: int,
    attempts: int,
    status: str,
    forms,
    collect: CollectClient,
    db: Engine,
    pg_url: str,
    settings: Settings,
) -> None:
    _, job_id = plot_with_a_job(collect, db)
    taken_by_a_worker(db, job_id, heartbeat_seconds_ago=heartbeat_seconds_ago, attempts=attempts)

    work(settings, db, pg_url)

    assert job_status(db, job_id) == status


def test_a_stalled_job_whose_plot_has_another_job_waiting_gives_way_to_it(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    plot, job_id = plot_with_a_job(collect, db)
    taken_by_a_worker(db, job_id, heartbeat_seconds_ago=60)
    register(collect, plot, square(0, 0, 50), create=False, base_version=1)  # queues a job for the same plot

    work(settings, db, pg_url)

    assert job_status(db, job_id) is None
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0
    assert plot_checks(collect, plot)["plot_area"]["numbers"]["area_m2"] == pytest.approx(2500, rel=0.02)


def test_the_worker_looks_for_stalled_jobs_every_minute_ahead_of_waiting_checks() -> None:
    periodic = {p.task.name: p.task for p in jobs.tasks.periodic_registry.periodic_tasks.values()}
    crons = {p.task.name: p.cron for p in jobs.tasks.periodic_registry.periodic_tasks.values()}

    assert crons["retry_stalled_jobs"] == "* * * * *"
    assert periodic["retry_stalled_jobs"].priority > jobs.check_plot_job.priority


# --- transient errors -------------------------------------------------------------------------------------------


def test_a_check_job_that_meets_a_database_gone_away_is_queued_again_and_runs_when_it_is_back(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    plot, job_id = plot_with_a_job(collect, db)
    gone = make_engine("postgresql+psycopg://postgres@/knn_test?host=/nonexistent&port=5432")

    jobs.run_worker(settings, gone, pg_url, wait=False)

    with db.begin() as conn:
        status, attempts = conn.execute(
            text("SELECT status, attempts FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        ).one()
        assert (status, attempts) == ("todo", 1), "queued again, not failed"
        conn.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"), {"id": job_id})
    work(settings, db, pg_url)
    assert plot_checks(collect, plot)["plot_area"]["status"] == "ok"


# --- a backlog ------------------------------------------------------------------------------------------------


def jobs_waiting_on_a_lock(db: Engine) -> int:
    """How many database sessions wait for a lock that another session holds."""
    with db.connect() as conn:
        return conn.execute(text("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")).scalar_one()


@pytest.mark.parametrize("concurrency", [1, 2, 3])
def test_the_worker_runs_as_many_jobs_at_once_as_worker_concurrency_says(
    concurrency: int, forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    for east in range(0, 400, 100):
        register(collect, str(uuid.uuid4()), square(east, 0, 40))
    settings = settings.model_copy(update={"worker_concurrency": concurrency})
    with db.connect() as holder:
        holder.execute(text("LOCK TABLE entities IN ACCESS EXCLUSIVE MODE"))  # every job waits here
        worker = threading.Thread(target=work, args=(settings, db, pg_url))
        worker.start()
        deadline = time.monotonic() + 30
        while jobs_waiting_on_a_lock(db) < concurrency and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # long enough for one job too many to reach the lock
        waiting = jobs_waiting_on_a_lock(db)
        holder.rollback()
    worker.join()

    assert waiting == concurrency
    assert queued(db) == [], "the whole backlog done"


# --- giving way to ingest -------------------------------------------------------------------------------------


class Pressure:
    """CPU pressure as a test sets it (``busy``: 0.9, else 0.1; ``None``: not reported); counts the looks."""

    def __init__(self, busy: bool | None = True, busy_looks: int | None = None) -> None:
        self.busy = busy
        self.busy_looks = busy_looks
        self.looks = 0

    def share(self) -> float | None:
        self.looks += 1
        if self.busy_looks is not None and self.looks > self.busy_looks:
            self.busy = False
        return None if self.busy is None else 0.9 if self.busy else 0.1


def run_job(pressure: Pressure, task_name: str) -> bool:
    """Run one job of ``task_name`` through :func:`jobs.give_way_to_ingest` at a limit of 0.5; whether it ran."""
    ran = []

    async def job() -> None:
        ran.append(True)

    context = SimpleNamespace(job=SimpleNamespace(task_name=task_name))
    asyncio.run(jobs.give_way_to_ingest(pressure, 0.5)(job, context, None))  # type: ignore[arg-type]
    return ran == [True]


@pytest.fixture
def short_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Looks 1 ms apart, and a job held at most 4 of them."""
    monkeypatch.setattr(jobs, "GIVE_WAY_STEP_S", 0.001)
    monkeypatch.setattr(jobs, "GIVE_WAY_MAX_S", 0.004)


def test_a_check_job_waits_while_the_cpus_are_contended_and_runs_when_they_ease(short_steps) -> None:
    pressure = Pressure(busy_looks=2)

    assert run_job(pressure, "check_plot")
    assert pressure.looks == 3, "two looks while contended, the third found the CPUs free"


def test_a_held_job_runs_anyway_once_it_has_waited_the_longest_it_may(short_steps) -> None:
    pressure = Pressure(busy=True)

    assert run_job(pressure, "audit_submission")
    assert pressure.looks == 4


def test_the_stalled_job_recovery_never_gives_way(short_steps) -> None:
    pressure = Pressure(busy=True)

    assert run_job(pressure, "retry_stalled_jobs")
    assert pressure.looks == 0


def test_a_job_does_not_wait_where_the_kernel_reports_no_pressure(short_steps) -> None:
    pressure = Pressure(busy=None)

    assert run_job(pressure, "check_plot")
    assert pressure.looks == 1


def test_the_waiting_worker_holds_a_check_while_the_cpus_are_contended_and_runs_it_when_they_ease(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pressure = Pressure(busy=True)
    monkeypatch.setattr(jobs, "CpuPressure", lambda: pressure)
    monkeypatch.setattr(jobs, "GIVE_WAY_STEP_S", 0.01)
    monkeypatch.setattr(jobs, "GIVE_WAY_MAX_S", 600.0)
    workers = []
    give_way = jobs.give_way_to_ingest

    def give_way_and_note_the_worker(*args):  # type: ignore[no-untyped-def]
        middleware = give_way(*args)

        async def noting(call_next, context, worker):  # type: ignore[no-untyped-def]
            workers.append(worker)
            return await middleware(call_next, context, worker)

        return noting

    monkeypatch.setattr(jobs, "give_way_to_ingest", give_way_and_note_the_worker)
    plot, job_id = plot_with_a_job(collect, db)
    thread = threading.Thread(target=jobs.run_worker, args=(settings, db, pg_url), kwargs={"wait": True}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while pressure.looks < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pressure.looks >= 20
        assert job_status(db, job_id) == "doing", "held while the CPUs are contended"

        pressure.busy = False
        while queued(db) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pressure.busy = False
        if workers:
            workers[0].stop()
        thread.join(30)
    assert plot_checks(collect, plot)["plot_area"]["status"] == "ok"


def test_a_worker_working_off_the_queue_once_does_not_give_way(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pressure = Pressure(busy=True)
    monkeypatch.setattr(jobs, "CpuPressure", lambda: pressure)
    plot, _ = plot_with_a_job(collect, db)

    work(settings, db, pg_url)  # run_worker(wait=False): the queue worked off once, as the tests do

    assert pressure.looks == 0
    assert plot_checks(collect, plot)["plot_area"]["status"] == "ok"


# --- khoknongna jobs list / retry -------------------------------------------------------------------------------


def test_jobs_list_failed_shows_a_failed_job_with_its_plot(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    _, job_id = plot_with_a_job(collect, db)
    failed_for_good(db, job_id)
    entity_id = (
        db.connect().execute(text("SELECT args->>'entity_id' FROM procrastinate_jobs WHERE id = :id"), {"id": job_id})
    ).scalar_one()

    result = knn_jobs(settings, pg_url, "list", "--status", "failed")

    assert result.exit_code == 0, result.output
    header, row, hint = result.output.splitlines()
    assert header.split() == ["ID", "STATUS", "ATTEMPTS", "JOB"]
    assert row.split() == [str(job_id), "failed", str(jobs.MAX_ATTEMPTS), f"check_plot(entity_id={entity_id})"]
    assert "khoknongna jobs retry" in hint


def test_jobs_list_says_so_when_nothing_failed(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    plot_with_a_job(collect, db)

    result = knn_jobs(settings, pg_url, "list", "--status", "failed")

    assert result.exit_code == 0, result.output
    assert result.output == "no failed jobs\n"


def test_jobs_retry_runs_a_failed_job_again(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    plot, job_id = plot_with_a_job(collect, db)
    failed_for_good(db, job_id)

    result = knn_jobs(settings, pg_url, "retry", str(job_id))
    work(settings, db, pg_url)

    assert result.exit_code == 0, result.output
    assert f"job {job_id} check_plot(" in result.output
    assert "queued to run again" in result.output
    assert plot_checks(collect, plot)["plot_area"]["status"] == "ok"
    assert knn_jobs(settings, pg_url, "list").output == "no jobs in the queue\n"


def test_jobs_retry_failed_runs_every_failed_job_again(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    first, first_job = plot_with_a_job(collect, db)
    second, second_job = plot_with_a_job(collect, db)
    failed_for_good(db, first_job)
    failed_for_good(db, second_job)

    result = knn_jobs(settings, pg_url, "retry", "--failed")
    work(settings, db, pg_url)

    assert result.exit_code == 0, result.output
    assert "2 job(s) queued to run again" in result.output
    assert plot_checks(collect, first)["plot_area"]["status"] == "ok"
    assert plot_checks(collect, second)["plot_area"]["status"] == "ok"


def test_jobs_retry_leaves_a_waiting_job_alone_and_says_which_ids_do_not_exist(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    _, job_id = plot_with_a_job(collect, db)

    result = knn_jobs(settings, pg_url, "retry", str(job_id), "999999")

    assert result.exit_code == 1
    assert f"job {job_id} " in result.output and "not failed (todo), left alone" in result.output
    assert "job 999999: no such job" in result.output
    assert job_status(db, job_id) == "todo"


def test_jobs_retry_wants_ids_or_failed(pg_url: str, settings: Settings) -> None:
    result = knn_jobs(settings, pg_url, "retry")

    assert result.exit_code == 2
    assert "--failed" in result.output
