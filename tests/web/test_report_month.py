"""One meaning of "the month": a November activity report sent on 2 December belongs to November everywhere —
the monthly report (cover and plot page), coverage, exports, the list and map filters and the downloads page —
and appears once, counted late (khoknongna/periods.py, storage/periods.py)."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from khoknongna.periods import month_being_reported, report_period
from tests.activity import activity_report
from tests.collect import CollectClient
from tests.web.conftest import Plot

BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.fixture
def late_report(two_districts: dict[str, Plot], supervise: CollectClient, db: Engine) -> int:
    """The plot of district 4001 reported for November on 2 December; returns the submission id."""
    instance_id = activity_report(
        supervise, db, two_districts["mine"].uuid, datetime(2026, 12, 2, 9, tzinfo=BANGKOK), 0, month="2026-11"
    )
    with db.connect() as conn:
        return conn.execute(
            text("SELECT submission_id FROM submission_versions WHERE instance_id = :i"), {"i": instance_id}
        ).scalar_one()


def report_rows(client: FlaskClient, month: str) -> tuple[dict, list[tuple]]:
    """The cover (label -> value) and the activity rows of the district 4001 report of ``month`` as XLSX."""
    response = client.get(f"/v1/projects/1/reports/monthly.xlsx?district=4001&month={month}")
    assert response.status_code == 200, response.data[:300]
    workbook = load_workbook(io.BytesIO(response.data))
    cover = {row[0]: row[1] for row in workbook["ปก"].iter_rows(min_row=2, values_only=True)}
    rows = list(workbook["รายงาน"].iter_rows(values_only=True))
    name = rows[0].index("๔. ชื่อกิจกรรม")
    return cover, [row for row in rows[1:] if row[name] != "ไม่มีรายงาน"]


def test_a_late_report_is_on_its_month_s_report_counted_late_and_not_on_the_next(late_report, signed_in) -> None:
    client = signed_in("somchai", "district", "4001")

    november_cover, november = report_rows(client, "2026-11")
    december_cover, december = report_rows(client, "2026-12")

    assert len(november) == 1 and november_cover["ทันกำหนด / หลังกำหนด / ไม่รายงาน"] == "๐ / ๑ / ๐ แปลง"
    assert december == [] and december_cover["แปลงที่รายงาน / แปลงทั้งหมด"].startswith("๐ / ๑")


def test_coverage_counts_the_late_report_for_its_month_only(late_report, supervise: CollectClient) -> None:
    november = supervise.get("/v1/projects/1/coverage?month=2026-11&area=4001").get_json()
    december = supervise.get("/v1/projects/1/coverage?month=2026-12&area=4001").get_json()

    assert (november["total"]["numbers"]["late"], november["total"]["numbers"]["with_activity_report"]) == (1, 1)
    assert december["total"]["numbers"]["with_activity_report"] == 0


def test_exports_select_the_late_report_by_its_month(late_report, supervise: CollectClient) -> None:
    def features(month: str) -> list:
        response = supervise.get(f"/v1/projects/1/forms/activity_report/export.geojson?month={month}")
        assert response.status_code == 200
        return json.loads(response.data)["features"]

    assert [f["id"] for f in features("2026-11")] == [late_report]
    assert features("2026-12") == []


def test_the_list_filter_shows_the_late_report_under_its_month(late_report, signed_in) -> None:
    client = signed_in("somsri", "department")

    november = client.get("/submissions?month=2026-11&form=activity_report").get_data(as_text=True)
    december = client.get("/submissions?month=2026-12&form=activity_report").get_data(as_text=True)

    assert f'data-id="{late_report}"' in november
    assert f'data-id="{late_report}"' not in december


def test_the_downloads_page_counts_the_late_report_under_its_month(late_report, signed_in) -> None:
    client = signed_in("somchai", "district", "4001")

    def count(month: str) -> str:
        page = client.get(f"/downloads?month={month}").get_data(as_text=True)
        row = re.search(r"<code>activity_report</code></td>\s*<td class=\"number\">(\d+)</td>", page)
        assert row is not None
        return row.group(1)

    assert (count("2026-11"), count("2026-12")) == ("1", "0")


def test_the_month_is_the_report_month_else_today_else_when_received() -> None:
    received = datetime(2026, 12, 2, 9, tzinfo=BANGKOK)

    assert report_period({"report_month": "2026-11-01", "today": "2026-12-02"}, received) == (2026, 11)
    assert report_period({"today": "2026-11-30"}, received) == (2026, 11)
    assert report_period({"start": "2026-11-30T23:50:00.000+07:00"}, received) == (2026, 11)
    assert report_period({}, datetime(2026, 11, 30, 17, 30, tzinfo=ZoneInfo("UTC"))) == (2026, 12)


def test_the_month_being_reported_is_the_previous_one_until_the_20th() -> None:
    assert month_being_reported(datetime(2026, 12, 20, 23, 0, tzinfo=BANGKOK)) == (2026, 11)
    assert month_being_reported(datetime(2026, 12, 21, 0, 0, tzinfo=BANGKOK)) == (2026, 12)
    assert month_being_reported(datetime(2027, 1, 5, tzinfo=BANGKOK)) == (2026, 12)
