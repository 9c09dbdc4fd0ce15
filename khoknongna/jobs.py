"""Work done after the 201: the spatial checks and the audit signals, queued in PostgreSQL with procrastinate.

Ingest only *defers* a job: one insert into procrastinate's job table, in the submission's own transaction,
so the job exists exactly when the submission does. A worker process (``khoknongna worker``, started by
``serve``) runs it. A sweep every five minutes checks every plot whose results are older than its current
version (a job that failed, or results from before an upgrade); ``khoknongna check plots`` does the same on
demand. Every new or edited submission that is not encrypted (and a resend that brings files) queues its
audit signals (``khoknongna/audit.py``); ``khoknongna audit run`` recomputes them on demand. The submissions an
audit names (the other side of a shared photo, copied position or journey) are audited again by a
``reaudit_submission`` job, at a lower priority and after a window (docs/audit.md). Each plot or submission has at
most one job of a kind waiting (a queueing lock), so a burst of edits, or of submissions at one spot, does not
pile up work. While ingest keeps the CPUs busy, a job waits a little before it starts (:func:`give_way_to_ingest`).

A worker that dies (killed, out of memory, power cut) leaves its job ``doing``. Every worker updates a
heartbeat in procrastinate's worker table; a job whose worker has been silent for :data:`STALLED_AFTER` is
retried when a worker starts and every minute after (procrastinate's stalled-job recovery). A job that fails
on a transient database error is retried too, with backoff; after :data:`MAX_ATTEMPTS` it stays ``failed``
for an admin to see and retry (``khoknongna jobs list`` / ``jobs retry``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
import psycopg
import sqlalchemy.exc
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException, UniqueViolation
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager
from procrastinate.middleware import WorkerMiddleware
from sqlalchemy import Connection, Engine, make_url

from khoknongna.audit import AuditRules, audit_submission
from khoknongna.cpu_pressure import CpuPressure
from khoknongna.plot_checks import CheckRules, check_follow_up, check_plot_and_neighbours
from khoknongna.settings import Settings
from khoknongna.storage import audit as audit_queries
from khoknongna.storage import checks as check_queries
from khoknongna.storage.blobs import open_blob_store
from khoknongna.storage.submissions import JobRow

logger = logging.getLogger(__name__)

QUEUE = "checks"

#: Tasks are declared on this app. Jobs are deferred on the caller's connection; :func:`run_worker` gives the
#: app an asynchronous connector of its own while the worker runs.
tasks = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())
#: Defers jobs on a caller's (synchronous) connection, also inside the worker, where ``tasks`` is asynchronous.
_queuer = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())

#: Seconds between two heartbeats of a worker.
HEARTBEAT_INTERVAL = 5.0
#: Seconds without a heartbeat after which a worker is taken for dead and its ``doing`` jobs are retried.
STALLED_AFTER = 20.0
#: Runs of a job (failures and stalls together) after which it stays ``failed`` until an admin retries it.
MAX_ATTEMPTS = 5

#: Errors worth another try: the database went away or restarted, a deadlock or serialization failure.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
#: Retry policy of the checks and audit jobs: transient errors only, after 2, 4, 8, 16 seconds.
RETRY = procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS, exponential_wait=2, retry_exceptions=TRANSIENT_ERRORS)


def conninfo(database_url: str) -> str:
    """A libpq connection string for the SQLAlchemy ``database_url`` (``postgresql+psycopg://…``)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _context(context: procrastinate.JobContext) -> tuple[Engine, CheckRules]:
    extra = context.additional_context
    return extra["engine"], extra["rules"]


@tasks.task(name="check_plot", queue=QUEUE, pass_context=True, retry=RETRY)
def check_plot_job(context: procrastinate.JobContext, entity_id: int) -> None:
    engine, rules = _context(context)
    with engine.begin() as conn:
        check_plot_and_neighbours(conn, entity_id, rules)


@tasks.task(name="check_follow_up", queue=QUEUE, pass_context=True, retry=RETRY)
def check_follow_up_job(context: procrastinate.JobContext, submission_id: int) -> None:
    engine, rules = _context(context)
    with engine.begin() as conn:
        check_follow_up(conn, submission_id, rules)


@tasks.task(name="audit_submission", queue=QUEUE, pass_context=True, retry=RETRY)
def audit_submission_job(context: procrastinate.JobContext, submission_id: int) -> None:
    _audit(context.additional_context, submission_id)


@tasks.task(name="reaudit_submission", queue=QUEUE, pass_context=True, priority=-1, retry=RETRY)
def reaudit_submission_job(context: procrastinate.JobContext, submission_id: int) -> None:
    """Audit again a submission a newer one named (``audit_submission(again=True)``)."""
    _audit(context.additional_context, submission_id, again=True)


def _audit(extra: dict[str, Any], submission_id: int, *, again: bool = False) -> None:
    """Audit a submission and queue, in the transaction of its signals, the re-audit of the submissions it names."""
    with extra["engine"].connect() as conn:
        _, related = audit_submission(conn, extra["blobs"], submission_id, extra["audit"], again=again)
        defer_reaudits(conn, related, extra["reaudit_window"])
        conn.commit()


#: How long a submission may wait for its audit job before the sweep computes its signals itself.
AUDIT_GRACE = timedelta(minutes=10)


@tasks.periodic(cron="*/5 * * * *", periodic_id="sweep")
@tasks.task(name="sweep_unchecked_plots", queue=QUEUE, pass_context=True)
def sweep_job(context: procrastinate.JobContext, timestamp: int) -> None:
    """Catch up on lost jobs: plots whose checks are missing or out of date, and submissions whose audit
    signals were not computed within :data:`AUDIT_GRACE`."""
    engine, rules = _context(context)
    with engine.connect() as conn:
        stale = check_queries.plots_not_checked(conn, "plot_validity")
        unaudited = audit_queries.submissions_not_audited(conn, AUDIT_GRACE)
    for entity_id in stale:
        with engine.begin() as conn:
            check_plot_and_neighbours(conn, entity_id, rules)
    if stale:
        logger.info("checked %d plot(s) whose checks were missing or out of date", len(stale))
    extra = context.additional_context
    for submission_id in unaudited:
        _audit(extra, submission_id)
    if unaudited:
        logger.info("computed the audit signals of %d submission(s) whose job was lost", len(unaudited))


async def retry_stalled_jobs(job_manager: JobManager) -> list[int]:
    """Queue again the ``doing`` jobs of workers silent for :data:`STALLED_AFTER` seconds (dead ones; their rows
    are removed), and return their ids. A job that has had :data:`MAX_ATTEMPTS` runs is marked ``failed``
    instead (it may be what kills its worker); one whose plot or submission already has a job waiting is
    dropped, as that job does the same work. Source: procrastinate's "retry stalled jobs" how-to."""
    await job_manager.prune_stalled_workers(STALLED_AFTER)
    retried = []
    for job in await job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER):
        assert job.id is not None
        try:
            if job.attempts + 1 >= MAX_ATTEMPTS:
                logger.error("job %d (%s) stalled on its last attempt; it stays failed", job.id, job.call_string)
                await job_manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
                continue
            await job_manager.retry_job(job)
        except UniqueViolation:
            await job_manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=True)
            logger.info("dropped stalled job %d (%s): the same work is already waiting", job.id, job.call_string)
        except ConnectorException:
            logger.info("stalled job %d was already taken care of", job.id)  # by another worker at the same time
        else:
            logger.warning("retrying job %d (%s): its worker stopped without finishing it", job.id, job.call_string)
            retried.append(job.id)
    return retried


#: Jobs of higher priority run first: the recovery must not wait behind a backlog of checks.
RECOVERY_PRIORITY = 10


@tasks.periodic(cron="* * * * *", periodic_id="stalled")
@tasks.task(
    name="retry_stalled_jobs",
    queue=QUEUE,
    queueing_lock="retry_stalled_jobs",
    priority=RECOVERY_PRIORITY,
    pass_context=True,
)
async def retry_stalled_job(context: procrastinate.JobContext, timestamp: int) -> None:
    """Every minute: :func:`retry_stalled_jobs` (jobs of workers that died while the server kept running)."""
    await retry_stalled_jobs(context.app.job_manager)


#: Queueing locks of the ingest jobs: these prefixes and the plot's (entity) or submission's id.
PLOT_LOCK, FOLLOW_UP_LOCK, AUDIT_LOCK = "plot-", "submission-", "audit-"


def defer_ingest_jobs(
    conn: Connection,
    *,
    plots: Sequence[int] = (),
    follow_up: int | None = None,
    audit: int | None = None,
    fresh: bool = False,
) -> None:
    """Queue, in one statement in the submission's transaction, the checks of the changed ``plots`` (entity ids),
    of the ``follow_up`` submission that names a plot, and the ``audit`` signals of a submission.

    Each plot or submission has at most one job of a kind waiting (a queueing lock): one already waiting will see
    this change too. ``fresh`` says every plot and submission named was created in this transaction, so no job can
    be waiting for any of them: the jobs are queued without a savepoint (two round trips fewer), and a failure
    fails the submission. Otherwise they are queued in a savepoint, one by one when a job is already waiting,
    and a failure to queue never fails the submission (the sweep, or ``khoknongna check``, catches up).
    """
    jobs: list[tuple[Any, dict[str, int], str]] = [(check_plot_job, {"entity_id": p}, f"{PLOT_LOCK}{p}") for p in plots]
    if follow_up is not None:
        jobs.append((check_follow_up_job, {"submission_id": follow_up}, f"{FOLLOW_UP_LOCK}{follow_up}"))
    if audit is not None:
        jobs.append((audit_submission_job, {"submission_id": audit}, f"{AUDIT_LOCK}{audit}"))
    _defer(conn, jobs, fresh=fresh)


def new_submission_jobs(*, follow_up: bool) -> list[JobRow]:
    """The jobs :func:`defer_ingest_jobs` queues for a new submission, as rows its own statement inserts
    (``storage.submissions.register_submission``): the checks of each plot it creates, its own checks when it names
    a plot (``follow_up``), its audit. Same tasks, arguments and queueing locks."""

    def row(task: Any, argument: str, target: str, lock_prefix: str) -> JobRow:
        return JobRow(task.name, task.queue, task.priority, argument, target, lock_prefix)

    rows = [row(check_plot_job, "entity_id", "plot", PLOT_LOCK)]
    if follow_up:
        rows.append(row(check_follow_up_job, "submission_id", "submission", FOLLOW_UP_LOCK))
    rows.append(row(audit_submission_job, "submission_id", "submission", AUDIT_LOCK))
    return rows


def defer_reaudits(conn: Connection, submission_ids: list[int], window: timedelta) -> None:
    """Queue the audit of each submission again in ``window`` (after the waiting first audits: lower priority).
    One re-audit waits per submission (queueing lock ``reaudit-<id>``), so every newer submission naming it
    within the window shares that one."""
    jobs = [(reaudit_submission_job, {"submission_id": s}, f"reaudit-{s}") for s in submission_ids]
    _defer(conn, jobs, schedule_in={"seconds": window.total_seconds()})


def _defer(
    conn: Connection, jobs: list[tuple[Any, dict[str, int], str]], *, fresh: bool = False, **options: Any
) -> None:
    """Queue ``jobs`` (task, arguments, queueing lock) on the caller's connection, as :func:`defer_ingest_jobs`
    says; ``options`` go to every job (``schedule_in``)."""
    if not jobs:
        return
    raw = conn.connection.driver_connection

    def batch(some: list[tuple[Any, dict[str, int], str]]) -> None:
        made = [
            _queuer.configure_task(
                task.name, queue=task.queue, priority=task.priority, queueing_lock=lock, **options
            ).make_new_job(**args)
            for task, args, lock in some
        ]
        _queuer.job_manager.batch_defer_jobs(made, connection=raw)

    if fresh:
        batch(jobs)
        return
    try:
        with conn.begin_nested():
            batch(jobs)
        return
    except AlreadyEnqueued:
        pass
    except Exception:
        logger.exception("could not queue %s; the sweep will catch up", [args for _, args, _ in jobs])
        return
    for job in jobs:  # one of them is already waiting: queue the others
        try:
            with conn.begin_nested():
                batch([job])
        except AlreadyEnqueued:
            pass
        except Exception:
            logger.exception("could not queue %s %s; the sweep will catch up", job[0].name, job[1])


#: The jobs that give way to ingest (the stalled-job recovery and the sweep do not).
GIVE_WAY_TASKS = frozenset(
    task.name for task in (check_plot_job, check_follow_up_job, audit_submission_job, reaudit_submission_job)
)
#: Seconds a job waits at most for the CPUs to ease before it runs anyway, and seconds between two looks.
GIVE_WAY_MAX_S = 5.0
GIVE_WAY_STEP_S = 0.25


def give_way_to_ingest(pressure: CpuPressure, limit: float) -> WorkerMiddleware:
    """A procrastinate worker middleware: before a checks or audit job (:data:`GIVE_WAY_TASKS`) runs, wait while
    runnable tasks waited for a CPU at least ``limit`` (0–1) of the last moments (:mod:`khoknongna.cpu_pressure`),
    at most :data:`GIVE_WAY_MAX_S` seconds. Answering phones comes first in a rush (issue 16); the job, already
    taken, waits on the event loop and holds nothing in the database."""

    async def middleware(call_next: Callable[[], Awaitable[Any]], context: procrastinate.JobContext, _: Any) -> Any:
        if context.job.task_name in GIVE_WAY_TASKS:
            waited = 0.0
            while waited < GIVE_WAY_MAX_S and (pressure.share() or 0.0) >= limit:
                await asyncio.sleep(GIVE_WAY_STEP_S)
                waited += GIVE_WAY_STEP_S
        return await call_next()

    return middleware


async def _runnable_jobs(job_manager: JobManager) -> bool:
    """Whether a job of the queue waits that may run now (not one scheduled for later)."""
    now = datetime.now(UTC)
    waiting = await job_manager.list_jobs_async(queue=QUEUE, status="todo")
    return any(job.scheduled_at is None or job.scheduled_at <= now for job in waiting)


def run_worker(settings: Settings, engine: Engine, database_url: str, *, wait: bool = True) -> None:
    """Run the checks and audit worker until SIGINT/SIGTERM (or, with ``wait=False``, until the queue is empty).
    Waiting for jobs, it gives way to ingest (:func:`give_way_to_ingest`, ``settings.worker_give_way_pressure``);
    working the queue off once, it does not."""
    context = {
        "engine": engine,
        "rules": CheckRules.from_settings(settings),
        "audit": AuditRules.from_settings(settings),
        "blobs": open_blob_store(settings),
        "reaudit_window": timedelta(seconds=settings.audit_reaudit_window_s),
    }

    limit = settings.worker_give_way_pressure
    middleware = [give_way_to_ingest(CpuPressure(), limit)] if wait and limit > 0 else []

    async def work(app: procrastinate.App) -> None:
        async with app.open_async():
            await retry_stalled_jobs(app.job_manager)  # those of workers that died before this one started
            while True:
                await app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=settings.worker_concurrency,
                    wait=wait,
                    additional_context=context,
                    install_signal_handlers=wait,
                    delete_jobs="successful",
                    update_heartbeat_interval=HEARTBEAT_INTERVAL,
                    stalled_worker_timeout=STALLED_AFTER,
                    worker_middleware=middleware,
                )
                # Without waiting, procrastinate stops once a free slot finds nothing to take, even while another
                # slot's job is queueing more (a re-audit): go on until nothing runnable is left.
                if wait or not await _runnable_jobs(app.job_manager):
                    return

    with tasks.replace_connector(procrastinate.PsycopgConnector(conninfo=conninfo(database_url))) as app:
        asyncio.run(work(app))


@dataclass(frozen=True)
class RetryOutcome:
    """What :func:`retry_failed_jobs` did with each job asked for: ``queued`` (will run again), ``waiting`` (the
    same work is already queued), ``not_failed`` (its status) or ``missing`` (no such job)."""

    queued: list[Job]
    waiting: list[Job]
    not_failed: list[Job]
    missing: list[int]


@contextmanager
def _job_manager(database_url: str) -> Iterator[JobManager]:
    connector = procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url))
    with tasks.replace_connector(connector) as app:
        app.open()
        try:
            yield app.job_manager
        finally:
            app.close()


def list_jobs(database_url: str, status: Status | None = None) -> list[Job]:
    """The jobs in the queue (with ``status``), oldest first. Succeeded jobs are deleted, so this shows the ones
    waiting (``todo``), running (``doing``) and failed for good (``failed``)."""
    with _job_manager(database_url) as manager:
        return manager.list_jobs(queue=QUEUE, status=status.value if status else None)


def retry_failed_jobs(database_url: str, job_ids: Iterable[int] | None = None) -> RetryOutcome:
    """Queue the failed jobs ``job_ids`` (all failed jobs when None) to run again at once. Jobs in another
    status are left alone: ``doing`` ones are retried on their own when their worker died."""
    queued: list[Job] = []
    waiting: list[Job] = []
    not_failed: list[Job] = []
    missing: list[int] = []
    with _job_manager(database_url) as manager:
        if job_ids is None:
            found = manager.list_jobs(queue=QUEUE, status=Status.FAILED.value)
        else:
            found = []
            for job_id in job_ids:
                jobs = manager.list_jobs(id=job_id, queue=QUEUE)
                found += jobs
                missing += [] if jobs else [job_id]
        for job in found:
            assert job.id is not None
            if job.status != Status.FAILED.value:
                not_failed.append(job)
                continue
            try:
                manager.retry_job_by_id(job.id, retry_at=datetime.now(UTC))
            except UniqueViolation:
                waiting.append(job)
            except ConnectorException:
                not_failed.append(job)  # its status changed meanwhile
            else:
                queued.append(job)
    return RetryOutcome(queued, waiting, not_failed, missing)
