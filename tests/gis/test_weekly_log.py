"""The weekly bundle of a field developer's daily logs (seed 004 ๔.๒): ISO week 2026-W49 runs from Monday 30
November to Sunday 6 December, across two months; a log without the owner's signature and the days without a
log are marked (khoknongna/weekly_log.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pypdfium2
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from khoknongna.server.cli import main
from khoknongna.settings import Settings
from khoknongna.weekly_log import week_days
from tests.activity import daily_log
from tests.collect import CollectClient
from tests.conftest import USER as COLLECTOR
from tests.gis.conftest import survey


@pytest.fixture
def week(form_pack, collect: CollectClient) -> None:
    """Logs of Sunday 29 Nov (the week before), Monday 30 Nov (certified), Tuesday 1 Dec (not certified) and
    Monday 7 Dec (the week after)."""
    plot = survey(collect, owner="นางสมศรี ใจดี")
    daily_log(collect, plot, "2026-11-29", signed=True)
    daily_log(collect, plot, "2026-11-30", signed=True)
    daily_log(collect, plot, "2026-12-01", signed=False)
    daily_log(collect, plot, "2026-12-07", signed=True)


def run(settings: Settings, pg_url: str, fmt: str, out: Path) -> str:
    result = CliRunner().invoke(
        main,
        ["report", "weekly", "--collector", COLLECTOR, "--week", "2026-W49", "--format", fmt, "--out", str(out)],
        env={"KNN_DATABASE_URL": pg_url, "KNN_DATA_DIR": str(settings.data_dir)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_an_iso_week_runs_monday_to_sunday_across_months() -> None:
    days = week_days("2026-W49")

    assert (days[0], days[-1]) == (date(2026, 11, 30), date(2026, 12, 6))


def test_the_bundle_marks_the_missing_certification_and_the_days_without_a_log(
    week, settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "week.xlsx"

    summary = run(settings, pg_url, "xlsx", out)

    assert "2 log(s), 5 day(s) without one, 1 not certified" in summary
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    header = rows[0]
    by_day = {}
    for row in rows[1:]:
        by_day.setdefault(row[0], []).append(row)
    assert list(by_day) == [d.isoformat() for d in week_days("2026-W49")]
    assert by_day["2026-11-30"][0][header.index("การรับรอง")] == "รับรองแล้ว"
    assert by_day["2026-12-01"][0][header.index("การรับรอง")] == "ไม่มีการรับรองของเจ้าของแปลง"
    assert by_day["2026-12-02"][0][2] == "ไม่มีบันทึก"


def test_the_pdf_carries_the_owner_s_signature(week, settings: Settings, pg_url: str, tmp_path: Path) -> None:
    out = tmp_path / "week.pdf"

    run(settings, pg_url, "pdf", out)

    images = [
        item.get_px_size()
        for page in pypdfium2.PdfDocument(out)
        for item in page.get_objects(filter=[pypdfium2.raw.FPDF_PAGEOBJ_IMAGE])
    ]
    assert images == [(300, 113)], "the one certified day of the week"


def test_the_api_serves_the_bundle(week, supervise: CollectClient) -> None:
    response = supervise.get(f"/v1/projects/1/reports/weekly.xlsx?collector={COLLECTOR}&week=2026-W49")

    assert response.status_code == 200, response.data[:200]
    assert supervise.get("/v1/projects/1/reports/weekly.pdf?collector=x&week=2026-49").status_code == 400
