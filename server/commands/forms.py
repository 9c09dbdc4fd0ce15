"""``forms``: publish and list forms."""

from __future__ import annotations

from pathlib import Path

import click

from khoknongna.forms_xlsform import bundled_media
from khoknongna.problems import Problem
from khoknongna.publishing import publish_bundled_forms, publish_form
from khoknongna.server.commands.common import (
    data_dir_option,
    database,
    in_transaction,
    load_settings,
    project_option,
    ready,
)
from khoknongna.storage import forms as form_queries


@click.group()
def forms() -> None:
    """Publish and list forms."""


@forms.command("publish")
@click.argument("form_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("media_files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@project_option
@click.option("--no-validate", is_flag=True, help="Skip ODK Validate (needs Java) for this form.")
@data_dir_option
def forms_publish(
    form_file: Path, media_files: tuple[Path, ...], project_id: int, no_validate: bool, data_dir: Path
) -> None:
    """Publish FORM_FILE (XLSForm .xlsx/.xls or XForm .xml) with its MEDIA_FILES."""
    settings = load_settings(data_dir)
    if no_validate:
        settings = settings.model_copy(update={"validate_forms": False})
    media = {p.name: p.read_bytes() for p in media_files}
    with database(settings) as (_, engine, blobs):
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
@data_dir_option
def forms_publish_bundled(data_dir: Path) -> None:
    """Publish the Khok Nong Na forms shipped with the server where new or changed (serve does this at start)."""
    settings = load_settings(data_dir)
    with database(settings) as (_, engine, blobs):
        try:
            publish_bundled_forms(engine, ready(blobs), settings, progress=click.echo)
        except Problem as exc:
            raise click.ClickException(f"a bundled form could not be published: {exc.message_en}") from None


@forms.command("list")
@project_option
@data_dir_option
def forms_list(project_id: int, data_dir: Path) -> None:
    """List the forms with their current version, submissions and missing media."""
    rows = in_transaction(data_dir, form_queries.form_summaries, project_id)
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
