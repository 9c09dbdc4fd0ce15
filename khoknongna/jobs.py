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
pile up work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Connection, Engine, make_url

from khoknongna.audit import AuditRules, audit_submission
from khoknongna.plot_checks import CheckRules, check_follow_up, check_plot_and_neighbours
from khoknongna.settings import Settings
from khoknongna.storage import audit as audit_queries
from khoknongna.storage import checks as check_queries
from khoknongna.storage.blobs import open_blob_store

logger = logging.getLogger(__name__)

QUEUE = "checks"

#: Tasks are declared on this app. Jobs are deferred on the caller's connection; :func:`run_worker` gives the
#: app an asynchronous connector of its own while the worker runs.
tasks = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())
#: Defers jobs on a caller's (synchronous) connection, also inside the worker, where ``tasks`` is asynchronous.
_queuer = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())


def conninfo(database_url: str) -> str:
    """A libpq connection string for the SQLAlchemy ``database_url`` (``postgresql+psycopg://…``)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _context(context: procrastinate.JobContext) -> tuple[Engine, CheckRules]:
    extra = context.additional_context
    return extra["engine"], extra["rules"]


@tasks.task(name="check_plot", queue=QUEUE, pass_context=True)
def check_plot_job(context: procrastinate.JobContext, entity_id: int) -> None:
    engine, rules = _context(context)
    with engine.begin() as conn:
        check_plot_and_neighbours(conn, entity_id, rules)


@tasks.task(name="check_follow_up", queue=QUEUE, pass_context=True)
def check_follow_up_job(context: procrastinate.JobContext, submission_id: int) -> None:
    engine, rules = _context(context)
    with engine.begin() as conn:
        check_follow_up(conn, submission_id, rules)


@tasks.task(name="audit_submission", queue=QUEUE, pass_context=True)
def audit_submission_job(context: procrastinate.JobContext, submission_id: int) -> None:
    _audit(context.additional_context, submission_id)


@tasks.task(name="reaudit_submission", queue=QUEUE, pass_context=True, priority=-1)
def reaudit_submission_job(context: procrastinate.JobContext, submission_id: int) -> None:
    """Audit again a submission a newer one named (``audit_submission(again=True)``)."""
    _audit(context.additional_context, submission_id, again=True)


def _audit(extra: dict[str, Any], submission_id: int, *, again: bool = False) -> None:
    """Audit a submission and queue, in the same transaction, the re-audit of the submissions it names."""
    with extra["engine"].begin() as conn:
        _, related = audit_submission(conn, extra["blobs"], submission_id, extra["audit"], again=again)
        defer_reaudits(conn, related, extra["reaudit_window"])


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
    jobs: list[tuple[Any, dict[str, int], str]] = [(check_plot_job, {"entity_id": p}, f"plot-{p}") for p in plots]
    if follow_up is not None:
        jobs.append((check_follow_up_job, {"submission_id": follow_up}, f"submission-{follow_up}"))
    if audit is not None:
        jobs.append((audit_submission_job, {"submission_id": audit}, f"audit-{audit}"))
    _defer(conn, jobs, fresh=fresh)


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


def run_worker(settings: Settings, engine: Engine, database_url: str, *, wait: bool = True) -> None:
    """Run the checks and audit worker until SIGINT/SIGTERM (or, with ``wait=False``, until the queue is empty)."""
    context = {
        "engine": engine,
        "rules": CheckRules.from_settings(settings),
        "audit": AuditRules.from_settings(settings),
        "blobs": open_blob_store(settings),
        "reaudit_window": timedelta(seconds=settings.audit_reaudit_window_s),
    }
    with tasks.replace_connector(procrastinate.PsycopgConnector(conninfo=conninfo(database_url))) as app:
        app.run_worker(
            queues=[QUEUE],
            wait=wait,
            additional_context=context,
            install_signal_handlers=wait,
            delete_jobs="successful",
        )
