"""``export`` and ``report``: the submissions of a form as files, and the reports for the province."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from khoknongna import exports, monthly_report, weekly_log
from khoknongna.plot_checks import CheckRules
from khoknongna.problems import Problem
from khoknongna.server.commands.common import (
    blob_store,
    data_dir_option,
    database,
    load_settings,
    progress,
    project_option,
    transaction,
)


@click.command("export")
@click.argument("form_id")
@click.option("--format", "fmt", type=click.Choice(exports.FORMATS), default="csv", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--month", help="Only submissions of this month (YYYY-MM; report_month, else today, else received).")
@click.option("--area", "area_code", help="Only submissions about plots of this province, amphoe or tambon code.")
@click.option("--review-state", help="Only submissions in this review state (received, hasIssues, approved, …).")
@project_option
@data_dir_option
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
    settings = load_settings(data_dir)
    with database(settings) as (_, engine, blobs), engine.connect() as conn:
        try:
            total = exports.count(conn, project_id, form_id, filters)
            label = f"exporting {total} submission(s) of {form_id} as {fmt}"
            with progress(total, label) as bar:
                result = exports.export(conn, blobs, project_id, form_id, fmt, out, filters, bar.update)
        except (Problem, exports.ExportTooLarge) as exc:
            raise click.ClickException(getattr(exc, "message_en", str(exc))) from None
    for name, rows in result.rows.items():
        click.echo(f"{name:<48} {rows:>9}")
    click.echo(f"written to {out}")


def _report_file_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` with what every report takes after its subject: ``--format`` (pdf or xlsx), ``--out``, ``--project``
    and ``--data-dir``, in that order."""
    for option in reversed(
        (
            click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx"]), default="pdf", show_default=True),
            click.option(
                "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write."
            ),
            project_option,
            data_dir_option,
        )
    ):
        f = option(f)
    return f


@click.group()
def report() -> None:
    """Reports for the province: the monthly district report of seed 002."""


@report.command("monthly")
@click.option("--district", "district", required=True, help="The amphoe code (4 digits).")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@_report_file_options
def report_monthly(district: str, month: str, fmt: str, out: Path, project_id: int, data_dir: Path) -> None:
    """The monthly report of every plot of a district, with the coverage and the 20th-of-the-month deadline."""
    try:
        year, number = exports.parse_month(month)
    except ValueError as exc:
        raise click.ClickException(f"--month: {exc}") from None
    settings = load_settings(data_dir)
    with transaction(settings) as conn:
        try:
            built = monthly_report.build_report(
                conn, project_id, district, year, number, CheckRules.from_settings(settings)
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        if fmt == "pdf":
            monthly_report.write_pdf(built, out, blob_store(settings))
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
@_report_file_options
def report_weekly(collector: str, week: str, fmt: str, out: Path, project_id: int, data_dir: Path) -> None:
    """A field developer's daily logs of one week with the owners' certifications (seed 004 ๔.๒)."""
    settings = load_settings(data_dir)
    with transaction(settings) as conn:
        try:
            bundle = weekly_log.build_weekly(conn, project_id, collector, week)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    if fmt == "pdf":
        weekly_log.write_pdf(bundle, out, blob_store(settings))
    else:
        weekly_log.write_xlsx(bundle, out)
    logs = sum(len(v) for v in bundle.logs.values())
    click.echo(
        f"{collector} {week}: {logs} log(s), {len(bundle.days_without_log)} day(s) without one, "
        f"{bundle.uncertified} not certified; written to {out}"
    )
