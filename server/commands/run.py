"""``serve`` and ``worker``: the HTTP server with its checks worker, and the worker alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from sqlalchemy import Engine

from khoknongna import account_log, accounts
from khoknongna import jobs as job_queue
from khoknongna.collect_settings import collect_settings
from khoknongna.problems import Problem
from khoknongna.publishing import fill_definition_nodes, publish_bundled_forms
from khoknongna.server import serve as serving
from khoknongna.server.commands.common import data_dir_option, database, load_settings, ready
from khoknongna.settings import Settings
from khoknongna.storage import forms as form_queries
from khoknongna.storage import users as user_queries
from khoknongna.storage.db import yield_to_others
from khoknongna.storage.projects import DEFAULT_PROJECT_ID, project_name


@click.command()
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
@data_dir_option
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
    settings = load_settings(data_dir)
    try:
        serving.check_port_free(host, port)
    except (serving.PortInUse, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    with database(settings) as (url, engine, blobs):
        where = "KNN_DATABASE_URL" if settings.database_url else f"private PostGIS in {settings.pg_path}"
        click.echo(f"database ready ({where})")
        click.echo(f"blobs in {ready(blobs).describe()}")
        fill_definition_nodes(engine, blobs, progress=click.echo)
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
        admin = accounts.create_user(conn, name, password, "admin", settings.realm)
        account_log.user_created(conn, None, admin)
    click.echo(f"created admin account '{name}' with password: {password}")
    click.echo("  (shown once; change it with 'khoknongna user password')")


@click.command()
@data_dir_option
def worker(data_dir: Path) -> None:
    """Run the spatial checks and audit signals queued by ingest until Ctrl-C (serve starts one itself)."""
    settings = load_settings(data_dir)
    with database(settings, pool_size=max(2, settings.worker_concurrency)) as (url, engine, _blobs):
        engine.dispose()  # the connections opened to migrate; those of the worker give way to ingest's
        yield_to_others(engine)
        click.echo("spatial checks worker waiting for jobs; stop with Ctrl-C")
        job_queue.run_worker(settings, engine, url)
