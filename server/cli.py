"""The ``khoknongna`` command: serve, users and app users, forms, database, blob store.

Every command takes ``--data-dir`` (environment ``KNN_DATA_DIR``, default ``./var``). Without
``KNN_DATABASE_URL`` the commands work on the private PostGIS cluster of that folder, starting it if
needed and stopping it afterwards unless another command (such as ``serve``) still uses it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection, Engine

from khoknongna import accounts, audit, exports, monthly_report, plot_checks, weekly_log
from khoknongna import jobs as job_queue
from khoknongna.areas import area_name
from khoknongna.collect_settings import collect_settings, encode_settings, save_png, settings_qr
from khoknongna.forms_xlsform import bundled_media
from khoknongna.plot_checks import CheckRules
from khoknongna.problems import Problem
from khoknongna.publishing import publish_bundled_forms, publish_form
from khoknongna.server import serve as serving
from khoknongna.settings import Settings
from khoknongna.storage import audit as audit_queries
from khoknongna.storage import checks as check_queries
from khoknongna.storage import forms as form_queries
from khoknongna.storage import gis_views
from khoknongna.storage import users as user_queries
from khoknongna.storage.blob_references import referenced_blobs
from khoknongna.storage.blobs import BlobStore, BlobStoreError, maintenance, open_blob_store
from khoknongna.storage.db import database_url, make_engine, yield_to_others
from khoknongna.storage.embedded import EmbeddedPostgresError
from khoknongna.storage.migrations import current_revision, upgrade
from khoknongna.storage.projects import DEFAULT_PROJECT_ID, ensure_default_project, project_name


def _data_dir_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="KNN_DATA_DIR",
        default="var",
        show_default=True,
        help="Folder of the private PostGIS cluster, the blobs and the secret key.",
    )(f)


def _settings(data_dir: Path) -> Settings:
    try:
        return Settings(data_dir=data_dir.resolve())
    except ValueError as exc:
        raise click.ClickException(f"bad KNN_* setting: {exc}") from None


def _blob_store(settings: Settings, url: str | None = None) -> BlobStore:
    try:
        return open_blob_store(settings, url)
    except ValueError as exc:
        raise click.ClickException(f"bad blob store URL: {exc}") from None


def _ready(store: BlobStore) -> BlobStore:
    """``store`` after ``prepare()`` (bucket created if missing)."""
    try:
        store.prepare()
    except BlobStoreError as exc:
        raise click.ClickException(f"blob store {store.describe()}: {exc}") from None
    return store


@contextmanager
def _database(settings: Settings) -> Iterator[tuple[str, Engine, BlobStore]]:
    """The database (migrated, with project 1) and the blob store, for the duration of a command."""
    try:
        with database_url(settings) as url:
            engine = make_engine(url, pool_size=2)
            try:
                upgrade(engine)
                with engine.begin() as conn:
                    ensure_default_project(conn, settings.default_project_name)
                yield url, engine, _blob_store(settings)
            finally:
                engine.dispose()
    except EmbeddedPostgresError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _transaction(settings: Settings) -> Iterator[Connection]:
    """A connection to the migrated database, in a transaction committed when the block ends."""
    with _database(settings) as (_, engine, _blobs), engine.begin() as conn:
        yield conn


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Show what the server does in more detail.")
def main(verbose: bool) -> None:
    """Khok Nong Na field data server: an ODK-compatible server on PostGIS."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")  # noqa: S104
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per CPU core).")
@click.option("--threads", type=int, default=8, show_default=True, help="App threads per worker process.")
@click.option(
    "--worker-class",
    type=click.Choice(list(serving.WORKER_CLASSES)),
    default="waitress",
    show_default=True,
    help="waitress reads uploads whole before a thread runs them (slow phones hold no thread); "
    "gthread and sync only behind a reverse proxy that buffers uploads.",
)
@click.option("--create-admin", metavar="NAME", help="Create this admin account if none exists; prints its password.")
@_data_dir_option
def serve(
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    worker_class: str,
    create_admin: str | None,
    data_dir: Path,
) -> None:
    """Run the server: database, bundled forms, then HTTP for ODK Collect until Ctrl-C."""
    settings = _settings(data_dir)
    try:
        serving.check_port_free(host, port)
    except (serving.PortInUse, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    with _database(settings) as (url, engine, blobs):
        where = "KNN_DATABASE_URL" if settings.database_url else f"private PostGIS in {settings.pg_path}"
        click.echo(f"database ready ({where})")
        click.echo(f"blobs in {_ready(blobs).describe()}")
        if create_admin:
            _create_first_admin(engine, settings, create_admin)
        if settings.publish_bundled_forms:
            try:
                publish_bundled_forms(engine, blobs, settings, progress=click.echo)
            except Problem as exc:
                raise click.ClickException(f"a bundled form could not be published: {exc.message_en}") from None
        with engine.connect() as conn:
            name = project_name(conn, DEFAULT_PROJECT_ID) or settings.default_project_name
            forms = form_queries.current_versions(conn, DEFAULT_PROJECT_ID)
        engine.dispose()  # the workers open their own connections
        server_url = serving.collect_url(settings, host, port)
        click.echo("")
        click.echo(f"ODK Collect server URL: {server_url}")
        click.echo("In Collect: Settings > Project settings > Server (user name and password of a collector),")
        click.echo("or scan this QR code with 'Configure with QR code':")
        click.echo(serving.terminal_qr(collect_settings(server_url, name)))
        click.echo("Forms: " + (", ".join(f"{f.xml_form_id} ({f.version or 'no version'})" for f in forms) or "none"))
        click.echo(f"Listening on {host}:{port}. Stop with Ctrl-C.")
        sys.stdout.flush()
        checks = _start_checks_worker(settings, url) if settings.checks_worker else None
        try:
            serving.run_gunicorn(
                settings.model_copy(update={"database_url": url}),
                host,
                port,
                workers or serving.default_workers(worker_class),
                threads,
                worker_class,
            )
        finally:
            if checks is not None:
                checks.terminate()
                checks.wait(timeout=30)


def _start_checks_worker(settings: Settings, url: str) -> subprocess.Popen:
    """``khoknongna worker`` on the same database, beside gunicorn (stopped when serve stops). It runs at a lower
    CPU priority (nice 10): on a small machine, answering phones comes before checking their plots."""
    env = {**os.environ, "KNN_DATABASE_URL": url, "KNN_DATA_DIR": str(settings.data_dir)}
    command = [sys.executable, "-m", "khoknongna.server.cli", "worker"]
    click.echo("spatial checks worker started (lower CPU priority)")
    return subprocess.Popen(command, env=env, preexec_fn=lambda: os.nice(10))  # noqa: S603 - our own command


def _create_first_admin(engine: Engine, settings: Settings, name: str) -> None:
    with engine.begin() as conn:
        if user_queries.count_users(conn, "admin"):
            return
        password = accounts.new_password()
        accounts.create_user(conn, name, password, "admin", settings.realm)
    click.echo(f"created admin account '{name}' with password: {password}")
    click.echo("  (shown once; change it with 'khoknongna user password')")


@main.command()
@_data_dir_option
def worker(data_dir: Path) -> None:
    """Run the spatial checks and audit signals queued by ingest until Ctrl-C (serve starts one itself)."""
    settings = _settings(data_dir)
    with _database(settings) as (url, engine, _blobs):
        engine.dispose()  # the connections opened to migrate; those of the worker give way to ingest's
        yield_to_others(engine)
        click.echo("spatial checks worker waiting for jobs; stop with Ctrl-C")
        job_queue.run_worker(settings, engine, url)


# --- jobs: the queue of checks and audit signals ----------------------------------------------------------------


@main.group("jobs")
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
@_data_dir_option
def jobs_list(status: str | None, data_dir: Path) -> None:
    """List the jobs in the queue, oldest first: id, status, attempts so far, task and arguments."""
    settings = _settings(data_dir)
    with _database(settings) as (url, _engine, _blobs):
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
@_data_dir_option
def jobs_retry(job_ids: tuple[int, ...], all_failed: bool, data_dir: Path) -> None:
    """Run failed jobs again (by ID, or all with --failed). Running jobs are retried on their own when their
    worker stopped; exits with 1 when a job ID does not exist."""
    if bool(job_ids) == all_failed:
        raise click.UsageError("give the IDs of the jobs to retry, or --failed for all failed jobs")
    settings = _settings(data_dir)
    with _database(settings) as (url, _engine, _blobs):
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


@main.group()
def check() -> None:
    """Run the spatial checks now: plots of an area, coverage of a month."""


@check.command("plots")
@click.option("--area", "area_code", help="Only plots of this province, amphoe or tambon code.")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@_data_dir_option
def check_plots(area_code: str | None, project_id: int, data_dir: Path) -> None:
    """Check every registered plot (of an area): area, validity, overlaps, parts. Results are stored."""
    settings = _settings(data_dir)
    rules = CheckRules.from_settings(settings)
    statuses: Counter[tuple[str, str]] = Counter()
    with _database(settings) as (_, engine, _blobs):
        with engine.connect() as conn:
            ids = check_queries.plot_ids(conn, project_id, area_code)
        with click.progressbar(ids, label=f"checking {len(ids)} plot(s)", show_pos=True) as bar:
            for entity_id in bar:
                with engine.begin() as conn:
                    statuses.update((r.rule, r.status) for r in plot_checks.check_plot(conn, entity_id, rules))
    for (rule, status), count in sorted(statuses.items()):
        click.echo(f"{rule:<16} {status:<12} {count:>7}")


@check.command("coverage")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.option("--area", "area_code", help="A province, amphoe or tambon code (default: the whole project).")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@_data_dir_option
def check_coverage(month: str, area_code: str | None, project_id: int, data_dir: Path) -> None:
    """Which plots had their monthly activity report (on time by the 20th or late), a socio-geographic
    survey and daily logs, per district."""
    try:
        year, number = exports.parse_month(month)
    except ValueError:
        raise click.ClickException(f"--month must be YYYY-MM, not '{month}'") from None
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        report = plot_checks.coverage(conn, project_id, year, number, area_code, CheckRules.from_settings(settings))
    for code in sorted(report.districts):
        click.echo(f"{code} {area_name(code) or ''}: {report.result(code).message_en}")
    total = report.result()
    click.echo(total.message_th)
    click.echo(total.message_en)


@main.group("audit")
def audit_group() -> None:
    """Audit signals now: recompute them, explain one."""


@audit_group.command("run")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only submissions received on or after this day.")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@_data_dir_option
def audit_run(since: datetime | None, project_id: int, data_dir: Path) -> None:
    """Recompute the audit signals of every submission (received since a day), oldest first, and print how many
    of each were raised. Photos already hashed are not read again."""
    settings = _settings(data_dir)
    rules = audit.AuditRules.from_settings(settings)
    statuses: Counter[tuple[str, str]] = Counter()
    start = since.replace(tzinfo=audit.BANGKOK) if since is not None else None
    with _database(settings) as (_, engine, blobs):
        with engine.connect() as conn:
            ids = audit_queries.submission_ids(conn, project_id, start)
        with click.progressbar(ids, label=f"auditing {len(ids)} submission(s)", show_pos=True) as bar:
            for submission_id in bar:
                with engine.begin() as conn:
                    results, _ = audit.audit_submission(conn, blobs, submission_id, rules)
                statuses.update((r.rule, r.status) for r in results)
    for (rule, status), count in sorted(statuses.items()):
        click.echo(f"{rule:<22} {status:<7} {count:>7}")


@audit_group.command("explain")
@click.argument("form_id")
@click.argument("instance_id")
@click.argument("rule")
@click.option("--reason", required=True, help="Why the signal does not point at a problem.")
@click.option("--user", "username", required=True, help="The supervisor explaining it (a user account).")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@_data_dir_option
def audit_explain(
    form_id: str, instance_id: str, rule: str, reason: str, username: str, project_id: int, data_dir: Path
) -> None:
    """Mark the signal RULE of a submission as explained (it stops counting); the change is kept in the trail."""
    settings = _settings(data_dir)
    with _database(settings) as (_, engine, _blobs), engine.connect() as conn:
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


@main.group()
def user() -> None:
    """Accounts that sign in with a user name and password (Collect with Digest, admins)."""


@user.command("add")
@click.argument("name")
@click.option("--password", help="Password (default: a random one, printed once).")
@click.option("--role", type=click.Choice(accounts.ROLES), default="collector", show_default=True)
@click.option("--area", "area_code", help="Province (2 digits) or amphoe (4) code of a province or district role.")
@_data_dir_option
def user_add(name: str, password: str | None, role: str, area_code: str | None, data_dir: Path) -> None:
    """Create the account NAME."""
    settings = _settings(data_dir)
    shown = password is None
    password = password or accounts.new_password()
    with _transaction(settings) as conn:
        try:
            accounts.create_user(conn, name, password, role, settings.realm, area_code)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    where = f" of {area_name(area_code)}" if area_code else ""
    click.echo(f"created {role} '{name}'{where}" + (f" with password: {password}" if shown else ""))


@user.command("password")
@click.argument("name")
@click.option("--password", help="New password (default: a random one, printed once).")
@_data_dir_option
def user_password(name: str, password: str | None, data_dir: Path) -> None:
    """Give the account NAME a new password."""
    settings = _settings(data_dir)
    shown = password is None
    password = password or accounts.new_password()
    with _transaction(settings) as conn:
        if not accounts.set_password(conn, name, password, settings.realm):
            raise click.ClickException(f"there is no user named '{name}'")
    click.echo(f"password of '{name}' changed" + (f" to: {password}" if shown else ""))


@user.command("deactivate")
@click.argument("name")
@_data_dir_option
def user_deactivate(name: str, data_dir: Path) -> None:
    """Stop the account NAME from signing in anywhere and end its web sessions (its records stay)."""
    _set_active(name, False, data_dir)
    click.echo(f"'{name}' deactivated: it can no longer sign in")


@user.command("activate")
@click.argument("name")
@_data_dir_option
def user_activate(name: str, data_dir: Path) -> None:
    """Let the deactivated account NAME sign in again (with its old password)."""
    _set_active(name, True, data_dir)
    click.echo(f"'{name}' active again")


def _set_active(name: str, active: bool, data_dir: Path) -> None:
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        if not user_queries.set_active(conn, name, active):
            state = "an active" if active else "a deactivated"
            raise click.ClickException(f"there is no user named '{name}', or it is already {state} account")


@main.group()
def appuser() -> None:
    """App users: phones configured by a QR code whose URL holds a secret token."""


@appuser.command("add")
@click.argument("name")
@click.option(
    "--area",
    "area_code",
    help="Province (2 digits), amphoe (4) or tambon (6) code: the phone gets only that area's plots.",
)
@click.option("--out", "png", type=click.Path(dir_okay=False, path_type=Path), help="Also save the QR code as PNG.")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@click.option("--server-url", help="Public URL of the server (default: KNN_PUBLIC_URL or http://<this machine>:8000).")
@_data_dir_option
def appuser_add(
    name: str, area_code: str | None, png: Path | None, project_id: int, server_url: str | None, data_dir: Path
) -> None:
    """Create the app user NAME and print its URL and QR code (shown once; `appuser qr` issues a new one)."""
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        project = _project(conn, project_id)
        try:
            app_user_id, token = accounts.create_app_user(conn, project_id, name, area_code)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    where = f", area {area_code} {area_name(area_code)}" if area_code else ""
    click.echo(f"created app user {app_user_id} '{name}' in project {project_id} ({project}){where}")
    _show_app_user_link(settings, server_url, token, project_id, project, png)


@appuser.command("qr")
@click.argument("app_user")
@click.option("--out", "png", type=click.Path(dir_okay=False, path_type=Path), help="Also save the QR code as PNG.")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@click.option("--server-url", help="Public URL of the server (default: KNN_PUBLIC_URL or http://<this machine>:8000).")
@_data_dir_option
def appuser_qr(app_user: str, png: Path | None, project_id: int, server_url: str | None, data_dir: Path) -> None:
    """Issue a new link and QR code for APP_USER (its id or name); the old ones stop working at once."""
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        project = _project(conn, project_id)
        live = [r for r in user_queries.list_app_users(conn, project_id) if r.revoked_at is None]
        found = [r for r in live if str(r.id) == app_user or r.display_name == app_user]
        if len(found) != 1:
            problem = "no active app user" if not found else f"{len(found)} active app users (use the id)"
            raise click.ClickException(f"there is {problem} called '{app_user}' in project {project_id}")
        token = accounts.reissue_app_user_token(conn, found[0].id)
    click.echo(f"new link for app user {found[0].id} '{found[0].display_name}'; the previous QR code no longer works")
    _show_app_user_link(settings, server_url, token, project_id, project, png)


def _project(conn: Connection, project_id: int) -> str:
    project = project_name(conn, project_id)
    if project is None:
        raise click.ClickException(f"there is no project {project_id}")
    return project


def _show_app_user_link(
    settings: Settings, server_url: str | None, token: str, project_id: int, project: str, png: Path | None
) -> None:
    base = (server_url or serving.collect_url(settings, "0.0.0.0", 8000)).rstrip("/")  # noqa: S104
    url = f"{base}/v1/key/{token}/projects/{project_id}"
    collect = collect_settings(url, project, app_user=True)
    click.echo(f"ODK Collect server URL: {url}")
    click.echo("Scan this QR code in Collect ('Configure with QR code'); anyone holding it can submit:")
    click.echo(serving.terminal_qr(collect))
    click.echo(f"settings payload: {encode_settings(collect)}")
    if png is not None:
        save_png(settings_qr(collect), png)
        click.echo(f"QR code saved to {png}")


@appuser.command("list")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@_data_dir_option
def appuser_list(project_id: int, data_dir: Path) -> None:
    """List the project's app users (their links are never shown again)."""
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        rows = user_queries.list_app_users(conn, project_id)
    if not rows:
        click.echo("no app users")
    for r in rows:
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        area = f"  area {r.area_code}" if r.area_code else ""
        click.echo(f"{r.id:>5}  {r.display_name}{area}  (created {r.created_at:%Y-%m-%d %H:%M}, {state})")


@appuser.command("revoke")
@click.argument("app_user_id", type=int)
@_data_dir_option
def appuser_revoke(app_user_id: int, data_dir: Path) -> None:
    """Revoke the app user APP_USER_ID: its link and QR code stop working at once."""
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        if not user_queries.revoke_app_user(conn, app_user_id):
            raise click.ClickException(f"there is no active app user {app_user_id}")
    click.echo(f"app user {app_user_id} revoked; its link no longer works")


@main.group()
def forms() -> None:
    """Publish and list forms."""


@forms.command("publish")
@click.argument("form_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("media_files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@click.option("--no-validate", is_flag=True, help="Skip ODK Validate (needs Java) for this form.")
@_data_dir_option
def forms_publish(
    form_file: Path, media_files: tuple[Path, ...], project_id: int, no_validate: bool, data_dir: Path
) -> None:
    """Publish FORM_FILE (XLSForm .xlsx/.xls or XForm .xml) with its MEDIA_FILES."""
    settings = _settings(data_dir)
    if no_validate:
        settings = settings.model_copy(update={"validate_forms": False})
    media = {p.name: p.read_bytes() for p in media_files}
    with _database(settings) as (_, engine, blobs):
        click.echo(f"publishing {form_file.name} …")
        try:
            result = publish_form(
                engine,
                blobs,
                settings,
                form_file.name,
                form_file.read_bytes(),
                media,
                project_id=project_id,
                offered_media=bundled_media(),  # the address lists, for forms that name them
            )
        except Problem as exc:
            raise click.ClickException(exc.message_en) from None
    state = "published new version" if result.created else "already published, version"
    click.echo(f"{state} {result.version or '(none)'} of {result.xml_form_id}: {result.title}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


@forms.command("publish-bundled")
@_data_dir_option
def forms_publish_bundled(data_dir: Path) -> None:
    """Publish the Khok Nong Na forms shipped with the server where new or changed (serve does this at start)."""
    settings = _settings(data_dir)
    with _database(settings) as (_, engine, blobs):
        try:
            publish_bundled_forms(engine, _ready(blobs), settings, progress=click.echo)
        except Problem as exc:
            raise click.ClickException(f"a bundled form could not be published: {exc.message_en}") from None


@forms.command("list")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@_data_dir_option
def forms_list(project_id: int, data_dir: Path) -> None:
    """List the forms with their current version, submissions and missing media."""
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        rows = form_queries.form_summaries(conn, project_id)
    if not rows:
        click.echo("no forms published")
        return
    click.echo(f"{'formID':<32} {'version':<16} {'versions':>8} {'submissions':>11}  title")
    for r in rows:
        click.echo(
            f"{r['xml_form_id']:<32} {r['version'] or '-':<16} {r['versions']:>8} {r['submissions']:>11}  {r['title']}"
        )
        if r["missing_media"]:
            click.echo(f"{'':<32} missing media: {r['missing_media']}")


@main.command("export")
@click.argument("form_id")
@click.option("--format", "fmt", type=click.Choice(exports.FORMATS), default="csv", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--month", help="Only submissions of this month (YYYY-MM; report_month, else today, else received).")
@click.option("--area", "area_code", help="Only submissions about plots of this province, amphoe or tambon code.")
@click.option("--review-state", help="Only submissions in this review state (received, hasIssues, approved, …).")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@_data_dir_option
def export_form(
    form_id: str,
    fmt: str,
    out: Path,
    month: str | None,
    area_code: str | None,
    review_state: str | None,
    project_id: int,
    data_dir: Path,
) -> None:
    """Export the submissions of FORM_ID: csv (zip, one file per repeat), xlsx, geojson, gpkg, or photos (zip)."""
    try:
        filters = exports.month_filters(exports.parse_month(month) if month else None, area_code, review_state)
    except ValueError as exc:
        raise click.ClickException(f"--month: {exc}") from None
    settings = _settings(data_dir)
    with _database(settings) as (_, engine, blobs), engine.connect() as conn:
        try:
            total = exports.count(conn, project_id, form_id, filters)
            label = f"exporting {total} submission(s) of {form_id} as {fmt}"
            with _progress(total, label) as bar:
                result = exports.export(conn, blobs, project_id, form_id, fmt, out, filters, bar.update)
        except (Problem, exports.ExportTooLarge) as exc:
            raise click.ClickException(getattr(exc, "message_en", str(exc))) from None
    for name, rows in result.rows.items():
        click.echo(f"{name:<48} {rows:>9}")
    click.echo(f"written to {out}")


@main.group()
def report() -> None:
    """Reports for the province: the monthly district report of seed 002."""


@report.command("monthly")
@click.option("--district", "district", required=True, help="The amphoe code (4 digits).")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx"]), default="pdf", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@_data_dir_option
def report_monthly(district: str, month: str, fmt: str, out: Path, project_id: int, data_dir: Path) -> None:
    """The monthly report of every plot of a district, with the coverage and the 20th-of-the-month deadline."""
    try:
        year, number = exports.parse_month(month)
    except ValueError as exc:
        raise click.ClickException(f"--month: {exc}") from None
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        try:
            built = monthly_report.build_report(
                conn, project_id, district, year, number, CheckRules.from_settings(settings)
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        if fmt == "pdf":
            monthly_report.write_pdf(built, out, _blob_store(settings))
        else:
            monthly_report.write_xlsx(built, out)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    state = "met" if built.deadline_met else "not met"
    click.echo(
        f"{built.district_name} {month}: {built.reported}/{built.plots_total} plots reported, "
        f"{built.on_time} on time; deadline {state}; written to {out}"
    )


@report.command("weekly")
@click.option("--collector", required=True, help="The field developer: an app user's display name or a user name.")
@click.option("--week", required=True, help="The ISO week, YYYY-Www (Monday to Sunday, Thai time).")
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx"]), default="pdf", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--project", "project_id", type=int, default=DEFAULT_PROJECT_ID, show_default=True)
@_data_dir_option
def report_weekly(collector: str, week: str, fmt: str, out: Path, project_id: int, data_dir: Path) -> None:
    """A field developer's daily logs of one week with the owners' certifications (seed 004 ๔.๒)."""
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        try:
            bundle = weekly_log.build_weekly(conn, project_id, collector, week)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    if fmt == "pdf":
        weekly_log.write_pdf(bundle, out, _blob_store(settings))
    else:
        weekly_log.write_xlsx(bundle, out)
    logs = sum(len(v) for v in bundle.logs.values())
    click.echo(
        f"{collector} {week}: {logs} log(s), {len(bundle.days_without_log)} day(s) without one, "
        f"{bundle.uncertified} not certified; written to {out}"
    )


@main.group()
def gis() -> None:
    """PostGIS for GIS staff: the typed views of the schema forms, and a read-only role to read them."""


@gis.command("grant")
@click.argument("role")
@click.option("--password", help="Set this password for the role (default: keep it; none for a new role).")
@click.option("--ask-password", is_flag=True, help="Ask for the password instead of taking it on the command line.")
@_data_dir_option
def gis_grant(role: str, password: str | None, ask_password: bool, data_dir: Path) -> None:
    """Create or update the read-only LOGIN role ROLE: it can read the views of the schema forms, nothing else."""
    if ask_password:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        try:
            created = gis_views.grant_read_only(conn, role, password)
        except gis_views.RoleError as exc:
            raise click.ClickException(str(exc)) from None
        views = len(gis_views.view_names(conn))
    click.echo(
        f"{'created' if created else 'updated'} read-only role '{role}': it may read the {views} views of schema forms"
    )
    if created and password is None:
        click.echo("the role has no password yet: set one with --password or --ask-password", err=True)


@gis.command("refresh")
@_data_dir_option
def gis_refresh(data_dir: Path) -> None:
    """Create the views of every form again (publishing does this for the form it publishes)."""
    settings = _settings(data_dir)
    with _transaction(settings) as conn:
        names = gis_views.refresh_all_form_views(conn)
    click.echo(f"{len(names)} views in schema forms: {', '.join(names) or 'none'}")


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@_data_dir_option
def db_upgrade(data_dir: Path) -> None:
    """Apply any pending migrations (every command also does this first)."""
    settings = _settings(data_dir)
    with _database(settings) as (_, engine, blobs):
        click.echo(f"database is at revision {current_revision(engine)}")
        click.echo(f"blobs in {_ready(blobs).describe()}")


@main.group()
def blobs() -> None:
    """The blob store (photos, forms, media): verify it, clean it, move it to S3."""


def _progress(length: int, label: str):  # type: ignore[no-untyped-def]
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=False, show_percent=True)


@blobs.command("verify")
@click.option("--quick", is_flag=True, help="Check presence and recorded sizes only, without reading every blob.")
@_data_dir_option
def blobs_verify(quick: bool, data_dir: Path) -> None:
    """Check every blob the database refers to: present, and with its SHA-256. Exit status 1 if any is not."""
    settings = _settings(data_dir)
    with _database(settings) as (_, engine, store):
        with engine.connect() as conn:
            refs = referenced_blobs(conn)
        try:
            with _progress(len(refs), "verifying") as bar:
                report = maintenance.verify(store, refs, quick=quick, advance=bar.update)
        except BlobStoreError as exc:
            raise click.ClickException(f"blob store {store.describe()}: {exc}") from None
    for sha256, ref in report.missing:
        click.echo(f"missing  {sha256}  {ref.where}")
    for sha256, ref, reason in report.corrupt:
        click.echo(f"corrupt  {sha256}  {ref.where}: {reason}")
    orphan_bytes = sum(o.size for o in report.orphans)
    click.echo(
        f"{report.checked} referenced blobs in {store.describe()}: {len(report.missing)} missing, "
        f"{len(report.corrupt)} corrupt; {len(report.orphans)} unreferenced ({orphan_bytes} bytes"
        + (", remove with 'khoknongna blobs cleanup')" if report.orphans else ")")
    )
    if not report.ok:
        sys.exit(1)


@blobs.command("cleanup")
@click.option(
    "--older-than-hours",
    type=click.FloatRange(min=1),
    default=24,
    show_default=True,
    help="Only remove unreferenced blobs last written longer ago than this.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
@_data_dir_option
def blobs_cleanup(older_than_hours: float, dry_run: bool, data_dir: Path) -> None:
    """Remove blobs no row refers to (left by crashes or refused uploads), once they are old enough."""
    settings = _settings(data_dir)
    with _database(settings) as (_, engine, store):
        try:
            listed = list(store.list_blobs())  # the store first, then the references: see maintenance
            with engine.connect() as conn:
                refs = referenced_blobs(conn)
            candidates = maintenance.unreferenced(listed, refs)
            cutoff = maintenance.grace_cutoff(datetime.now(UTC), older_than_hours)
            removed = maintenance.cleanup(store, candidates, older_than=cutoff, dry_run=dry_run)
        except BlobStoreError as exc:
            raise click.ClickException(f"blob store {store.describe()}: {exc}") from None
    verb = "would remove" if dry_run else "removed"
    for info in removed:
        click.echo(f"{verb}  {info.sha256}  {info.size} bytes, written {info.modified:%Y-%m-%d %H:%M}")
    click.echo(
        f"{verb} {len(removed)} unreferenced blobs ({sum(i.size for i in removed)} bytes); "
        f"{len(candidates) - len(removed)} newer ones kept"
    )


@blobs.command("migrate")
@click.option(
    "--to",
    "target_url",
    required=True,
    metavar="URL",
    help="Target store: s3://bucket?endpoint=host:port…, or 'local' for the data folder's blobs.",
)
@_data_dir_option
def blobs_migrate(target_url: str, data_dir: Path) -> None:
    """Copy every blob of the configured store (KNN_BLOB_URL) to the store at URL, verifying each.

    From the local folder to a bucket, or back with ``--to local``. Blobs already in the target are
    skipped, so an interrupted run can be started again. Credentials come from KNN_S3_ACCESS_KEY and
    KNN_S3_SECRET_KEY. Afterwards set KNN_BLOB_URL to URL (unset it for ``local``).
    """
    settings = _settings(data_dir)
    source = _blob_store(settings)
    target = _ready(_blob_store(settings, "" if target_url == "local" else target_url))
    if source.describe() == target.describe():
        raise click.ClickException("source and target are the same store")
    try:
        listed = list(source.list_blobs())
        with _progress(sum(i.size for i in listed), f"copying {len(listed)} blobs") as bar:
            report = maintenance.migrate(source, target, listed, advance=bar.update)
    except BlobStoreError as exc:
        raise click.ClickException(str(exc)) from None
    for sha256, reason in report.failed:
        click.echo(f"failed   {sha256}  {reason}")
    click.echo(
        f"{report.copied} blobs copied ({report.copied_bytes} bytes), {report.skipped} already in the target, "
        f"{len(report.failed)} failed: {source.describe()} -> {target.describe()}"
    )
    if report.failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
