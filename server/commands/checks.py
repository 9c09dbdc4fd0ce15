"""``jobs``, ``check`` and ``audit``: the queue of checks and audit signals, and running them now."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import Connection, Engine

from khoknongna import audit, exports, plot_checks
from khoknongna import jobs as job_queue
from khoknongna.areas import area_name
from khoknongna.plot_checks import CheckRules
from khoknongna.server.commands.common import data_dir_option, database, load_settings, project_option, transaction
from khoknongna.spatial.results import CheckResult
from khoknongna.storage import audit as audit_queries
from khoknongna.storage import checks as check_queries
from khoknongna.storage import users as user_queries

# --- jobs: the queue of checks and audit signals ----------------------------------------------------------------


@click.group("jobs")
def jobs_group() -> None:
    """The queue of checks and audit signals: list jobs, retry the failed ones."""


def _describe_job(job: job_queue.Job) -> str:
    arguments = ", ".join(f"{k}={v}" for k, v in sorted(job.task_kwargs.items()))
    return f"{job.task_name}({arguments})"


@jobs_group.command("list")
@click.option(
    "--status",
    type=click.Choice(["failed", "doing", "todo"]),
    help="Only jobs failed for good, running, or waiting (default: all; succeeded jobs are not kept).",
)
@data_dir_option
def jobs_list(status: str | None, data_dir: Path) -> None:
    """List the jobs in the queue, oldest first: id, status, attempts so far, task and arguments."""
    settings = load_settings(data_dir)
    with database(settings) as (url, _engine, _blobs):
        found = job_queue.list_jobs(url, job_queue.Status(status) if status else None)
    if not found:
        click.echo(f"no {status} jobs" if status else "no jobs in the queue")
        return
    click.echo(f"{'ID':>8}  {'STATUS':<7} {'ATTEMPTS':>8}  JOB")
    for job in found:
        click.echo(f"{job.id:>8}  {job.status:<7} {job.attempts:>8}  {_describe_job(job)}")
    if any(job.status == "failed" for job in found):
        click.echo("retry failed jobs with: khoknongna jobs retry ID... (or --failed for all of them)")


@jobs_group.command("retry")
@click.argument("job_ids", metavar="[ID]...", nargs=-1, type=int)
@click.option("--failed", "all_failed", is_flag=True, help="Retry every failed job.")
@data_dir_option
def jobs_retry(job_ids: tuple[int, ...], all_failed: bool, data_dir: Path) -> None:
    """Run failed jobs again (by ID, or all with --failed). Running jobs are retried on their own when their
    worker stopped; exits with 1 when a job ID does not exist."""
    if bool(job_ids) == all_failed:
        raise click.UsageError("give the IDs of the jobs to retry, or --failed for all failed jobs")
    settings = load_settings(data_dir)
    with database(settings) as (url, _engine, _blobs):
        outcome = job_queue.retry_failed_jobs(url, None if all_failed else job_ids)
    for job in outcome.queued:
        click.echo(f"job {job.id} {_describe_job(job)}: queued to run again")
    for job in outcome.waiting:
        click.echo(f"job {job.id} {_describe_job(job)}: the same work is already waiting, nothing to do")
    for job in outcome.not_failed:
        click.echo(f"job {job.id} {_describe_job(job)}: not failed ({job.status}), left alone")
    for job_id in outcome.missing:
        click.echo(f"job {job_id}: no such job")
    click.echo(f"{len(outcome.queued)} job(s) queued to run again")
    if outcome.missing:
        sys.exit(1)


@click.group()
def check() -> None:
    """Run the spatial checks now: plots of an area, coverage of a month."""


def _tally_each(
    engine: Engine, ids: list[int], label: str, run_one: Callable[[Connection, int], Iterable[CheckResult]]
) -> Counter[tuple[str, str]]:
    """Run ``run_one`` on each id, committed after each (``run_one`` may commit too), under a progress bar labelled
    ``label``; how many results it gave per ``(rule, status)``."""
    statuses: Counter[tuple[str, str]] = Counter()
    with click.progressbar(ids, label=label, show_pos=True) as bar:
        for one in bar:
            with engine.connect() as conn:
                statuses.update((r.rule, r.status) for r in run_one(conn, one))
                conn.commit()
    return statuses


def _echo_tally(statuses: Counter[tuple[str, str]], rule_width: int, status_width: int) -> None:
    """One line per rule and status, in order: ``rule status count``."""
    for (rule, status), count in sorted(statuses.items()):
        click.echo(f"{rule:<{rule_width}} {status:<{status_width}} {count:>7}")


@check.command("plots")
@click.option("--area", "area_code", help="Only plots of this province, amphoe or tambon code.")
@project_option
@data_dir_option
def check_plots(area_code: str | None, project_id: int, data_dir: Path) -> None:
    """Check every registered plot (of an area): area, validity, overlaps, parts. Results are stored."""
    settings = load_settings(data_dir)
    rules = CheckRules.from_settings(settings)
    with database(settings) as (_, engine, _blobs):
        with engine.connect() as conn:
            ids = check_queries.plot_ids(conn, project_id, area_code)
        statuses = _tally_each(
            engine, ids, f"checking {len(ids)} plot(s)", lambda conn, i: plot_checks.check_plot(conn, i, rules)
        )
    _echo_tally(statuses, 16, 12)


@check.command("coverage")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.option("--area", "area_code", help="A province, amphoe or tambon code (default: the whole project).")
@project_option
@data_dir_option
def check_coverage(month: str, area_code: str | None, project_id: int, data_dir: Path) -> None:
    """Which plots had their monthly activity report (on time by the 20th or late), a socio-geographic
    survey and daily logs, per district."""
    try:
        year, number = exports.parse_month(month)
    except ValueError:
        raise click.ClickException(f"--month must be YYYY-MM, not '{month}'") from None
    settings = load_settings(data_dir)
    with transaction(settings) as conn:
        report = plot_checks.coverage(conn, project_id, year, number, area_code, CheckRules.from_settings(settings))
    for code in sorted(report.districts):
        click.echo(f"{code} {area_name(code) or ''}: {report.result(code).message_en}")
    total = report.result()
    click.echo(total.message_th)
    click.echo(total.message_en)


@click.group("audit")
def audit_group() -> None:
    """Audit signals now: recompute them, explain one."""


@audit_group.command("run")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only submissions received on or after this day.")
@project_option
@data_dir_option
def audit_run(since: datetime | None, project_id: int, data_dir: Path) -> None:
    """Recompute the audit signals of every submission (received since a day), oldest first, and print how many
    of each were raised. Photos already hashed are not read again."""
    settings = load_settings(data_dir)
    rules = audit.AuditRules.from_settings(settings)
    start = since.replace(tzinfo=audit.BANGKOK) if since is not None else None
    with database(settings) as (_, engine, blobs):
        with engine.connect() as conn:
            ids = audit_queries.submission_ids(conn, project_id, start)
        statuses = _tally_each(
            engine,
            ids,
            f"auditing {len(ids)} submission(s)",
            lambda conn, i: audit.audit_submission(conn, blobs, i, rules)[0],
        )
    _echo_tally(statuses, 22, 7)


@audit_group.command("explain")
@click.argument("form_id")
@click.argument("instance_id")
@click.argument("rule")
@click.option("--reason", required=True, help="Why the signal does not point at a problem.")
@click.option("--user", "username", required=True, help="The supervisor explaining it (a user account).")
@project_option
@data_dir_option
def audit_explain(
    form_id: str, instance_id: str, rule: str, reason: str, username: str, project_id: int, data_dir: Path
) -> None:
    """Mark the signal RULE of a submission as explained (it stops counting); the change is kept in the trail."""
    settings = load_settings(data_dir)
    with database(settings) as (_, engine, _blobs), engine.connect() as conn:
        account = user_queries.user_by_name(conn, username)
        found = check_queries.submission_with_area(conn, project_id, form_id, instance_id)
        submission_id = found.id if found is not None else None
        if account is None:
            raise click.ClickException(f"no user '{username}'")
        if submission_id is None:
            raise click.ClickException(f"form '{form_id}' has no submission {instance_id}")
        if audit.explain_signal(conn, submission_id, rule, account.id, reason.strip()) is None:
            raise click.ClickException(f"submission {instance_id} has no raised signal '{rule}'")
    click.echo(f"{rule} of {instance_id} explained by {username}")
