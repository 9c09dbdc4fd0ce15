"""``gis`` and ``db``: PostGIS views and a read-only role for GIS staff, and the database schema."""

from __future__ import annotations

from pathlib import Path

import click

from khoknongna.publishing import fill_definition_nodes
from khoknongna.server.commands.common import (
    data_dir_option,
    database,
    in_transaction,
    load_settings,
    ready,
    transaction,
)
from khoknongna.storage import gis_views
from khoknongna.storage.migrations import current_revision


@click.group()
def gis() -> None:
    """PostGIS for GIS staff: the typed views of the schema forms, and a read-only role to read them."""


@gis.command("grant")
@click.argument("role")
@click.option("--password", help="Set this password for the role (default: keep it; none for a new role).")
@click.option("--ask-password", is_flag=True, help="Ask for the password instead of taking it on the command line.")
@data_dir_option
def gis_grant(role: str, password: str | None, ask_password: bool, data_dir: Path) -> None:
    """Create or update the read-only LOGIN role ROLE: it can read the views of the schema forms, nothing else."""
    if ask_password:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    settings = load_settings(data_dir)
    with transaction(settings) as conn:
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
@data_dir_option
def gis_refresh(data_dir: Path) -> None:
    """Create the views of every form again (publishing does this for the form it publishes)."""
    names = in_transaction(data_dir, gis_views.refresh_all_form_views)
    click.echo(f"{len(names)} views in schema forms: {', '.join(names) or 'none'}")


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@data_dir_option
def db_upgrade(data_dir: Path) -> None:
    """Apply any pending migrations (every command also does this first), then fill in what older versions did
    not store: the instance elements of form versions published before they were kept (``serve`` does it too)."""
    settings = load_settings(data_dir)
    with database(settings) as (_, engine, blobs):
        click.echo(f"database is at revision {current_revision(engine)}")
        click.echo(f"blobs in {ready(blobs).describe()}")
        fill_definition_nodes(engine, blobs, progress=click.echo)
