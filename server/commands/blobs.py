"""``blobs``: verify, clean and move the blob store."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from khoknongna.server.commands.common import blob_store, data_dir_option, database, load_settings, progress, ready
from khoknongna.storage.blob_references import referenced_blobs
from khoknongna.storage.blobs import BlobStoreError, maintenance


@click.group()
def blobs() -> None:
    """The blob store (photos, forms, media): verify it, clean it, move it to S3."""


@blobs.command("verify")
@click.option("--quick", is_flag=True, help="Check presence and recorded sizes only, without reading every blob.")
@data_dir_option
def blobs_verify(quick: bool, data_dir: Path) -> None:
    """Check every blob the database refers to: present, and with its SHA-256. Exit status 1 if any is not."""
    settings = load_settings(data_dir)
    with database(settings) as (_, engine, store):
        with engine.connect() as conn:
            refs = referenced_blobs(conn)
        try:
            with progress(len(refs), "verifying") as bar:
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
@data_dir_option
def blobs_cleanup(older_than_hours: float, dry_run: bool, data_dir: Path) -> None:
    """Remove blobs no row refers to (left by crashes or refused uploads), once they are old enough."""
    settings = load_settings(data_dir)
    with database(settings) as (_, engine, store):
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
@data_dir_option
def blobs_migrate(target_url: str, data_dir: Path) -> None:
    """Copy every blob of the configured store (KNN_BLOB_URL) to the store at URL, verifying each.

    From the local folder to a bucket, or back with ``--to local``. Blobs already in the target are
    skipped, so an interrupted run can be started again. Credentials come from KNN_S3_ACCESS_KEY and
    KNN_S3_SECRET_KEY. Afterwards set KNN_BLOB_URL to URL (unset it for ``local``).
    """
    settings = load_settings(data_dir)
    source = blob_store(settings)
    target = ready(blob_store(settings, "" if target_url == "local" else target_url))
    if source.describe() == target.describe():
        raise click.ClickException("source and target are the same store")
    try:
        listed = list(source.list_blobs())
        with progress(sum(i.size for i in listed), f"copying {len(listed)} blobs") as bar:
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
