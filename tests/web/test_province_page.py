"""The province supervisor's page (khoknongna/province_report.py, server/web_province.py): every district of the
province for the month, submitted or not and on time by the 20th, plots covered and missing, learning centres,
publicity and A/B/C grades; the chase list as XLSX; the district's weekly summary; narrowed to the user's
province, closed to district supervisors."""

from __future__ import annotations

import io
import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from khoknongna.province_report import ProvinceMonth
from khoknongna.spatial.coverage import report_deadline
from tests.activity import activity_report, daily_log
from tests.collect import CollectClient
from tests.conftest import SUPERVISOR
from tests.plots import plot_xml
from tests.web.conftest import Plot, page_token

BANGKOK = ZoneInfo("Asia/Bangkok")
MONTH = "2026-11"
ON_TIME, OTHER_PROVINCE_TAMBON = datetime(2026, 11, 15, 10, tzinfo=BANGKOK), "410101"


def register(collect: CollectClient, tambon: str, owner: str, *, centre: bool = False) -> Plot:
    """A plot registered by the pack's plot survey in ``tambon``, a learning centre when ``centre``."""
    plot, instance_id = str(uuid.uuid4()), f"uuid:{uuid.uuid4()}"
    xml = plot_xml(instance_id, plot_id=plot, overview="", tambon=tambon, owner=owner, learning_centre=centre)
    collect.send(xml)
    return Plot(plot, instance_id)


@pytest.fixture
def province(form_pack, supervise: CollectClient, db: Engine, signed_in) -> dict[str, Plot]:
    """Khon Kaen (40): district 4001 has a learning centre that reported on 10 November and a plot that did not,
    and submitted its report on 15 November; district 4002 has one plot, not reported, and did not submit.
    Udon Thani (41) has one plot."""
    plots = {
        "reported": register(supervise, "400114", "นางสมศรี ใจดี", centre=True),
        "missing": register(supervise, "400114", "นายบุญมา ขยันดี"),
        "other_district": register(supervise, "400201", "นายสมหมาย ทองคำ"),
        "other_province": register(supervise, OTHER_PROVINCE_TAMBON, "นางมาลี ศรีสุข"),
    }
    activity_report(supervise, db, plots["reported"].uuid, datetime(2026, 11, 10, 9, tzinfo=BANGKOK), 1)
    district = signed_in("somchai", "district", "4001")
    token = page_token(district, f"/downloads?month={MONTH}")
    response = district.post("/downloads/signoff", data={"csrf_token": token, "district": "4001", "month": MONTH})
    assert response.status_code == 302
    with db.begin() as conn:  # as if signed off on the 15th
        conn.execute(text("UPDATE report_signoffs SET submitted_at = :when"), {"when": ON_TIME})
    return plots


@pytest.fixture
def khon_kaen(signed_in) -> FlaskClient:
    """The province supervisor of Khon Kaen (40)."""
    return signed_in("kanya", "province", "40")


def row(page: str, district: str) -> str:
    found = re.search(rf'<tr data-district="{district}">(.*?)</tr>', page, re.S)
    assert found, f"no row for district {district}"
    return found.group(1)


def cell(page: str, district: str, name: str) -> str:
    found = re.search(rf'<td class="[^"]*\b{name}\b[^"]*">(.*?)</td>', row(page, district), re.S)
    assert found, name
    return " ".join(found.group(1).split())


def chase_rows(data: bytes) -> list[dict[str, str]]:
    rows = list(load_workbook(io.BytesIO(data))["แปลงที่ยังไม่รายงาน"].iter_rows(values_only=True))
    header = rows[1]
    return [dict(zip(header, r, strict=True)) for r in rows[2:]]


def test_the_page_lists_every_district_of_the_province_submitted_on_time_or_not(province, khon_kaen) -> None:
    page = khon_kaen.get(f"/province?month={MONTH}").get_data(as_text=True)

    assert re.findall(r'<tr data-district="(\d+)">', page) == ["4001", "4002"]
    assert "ทันกำหนด" in cell(page, "4001", "submitted")
    assert "๑๕ พฤศจิกายน ๒๕๖๙" in cell(page, "4001", "submitted")
    assert "ยังไม่ส่ง" in cell(page, "4002", "submitted")
    assert cell(page, "4001", "coverage") == "1 / 2"
    assert cell(page, "4002", "missing") == "1"
    assert 'href="/v1/projects/1/reports/monthly/signoffs/1.pdf?district=4001&amp;month=2026-11"' in row(page, "4001")


def test_the_page_counts_learning_centres_and_publicity_per_district(province, khon_kaen) -> None:
    page = khon_kaen.get(f"/province?month={MONTH}").get_data(as_text=True)

    assert cell(page, "4001", "centres").startswith("1 ")
    assert "ไม่ผ่าน" in cell(page, "4002", "centres")
    assert cell(page, "4001", "publicity").startswith("1 ")  # the report's facebook link
    assert "ไม่ผ่าน" in cell(page, "4002", "publicity")


def test_the_monthly_report_cover_counts_the_district_s_learning_centres(province, khon_kaen) -> None:
    data = khon_kaen.get(f"/v1/projects/1/reports/monthly.xlsx?district=4001&month={MONTH}").data

    cover = dict(r[:2] for r in load_workbook(io.BytesIO(data))["ปก"].iter_rows(min_row=2, values_only=True))
    assert cover["ศูนย์เรียนรู้ของอำเภอ (อย่างน้อยอำเภอละ ๑ แห่ง)"] == "๑ แห่ง ผ่าน: นางสมศรี ใจดี"


def test_the_chase_list_names_exactly_the_missing_plots_of_the_province(province, khon_kaen) -> None:
    response = khon_kaen.get(f"/v1/projects/1/reports/missing-plots.xlsx?month={MONTH}")

    assert response.status_code == 200
    rows = chase_rows(response.data)
    assert sorted(r["รหัสแปลง"] for r in rows) == sorted([province["missing"].uuid, province["other_district"].uuid])
    assert {r["นพต. ผู้รับผิดชอบ"] for r in rows} == {SUPERVISOR}  # who sent the plots' surveys


def test_the_missing_plots_are_listed_by_district_and_field_developer(province, khon_kaen) -> None:
    page = khon_kaen.get(f"/province?month={MONTH}").get_data(as_text=True)

    listed = re.findall(r'<li class="missing-plot" data-plot="([^"]+)">', page)
    assert listed == [province["missing"].uuid, province["other_district"].uuid]
    assert f"<strong>{SUPERVISOR}</strong>" in page


def test_a_province_supervisor_cannot_open_another_province(province, khon_kaen) -> None:
    assert khon_kaen.get(f"/province?month={MONTH}&province=41").status_code == 403
    assert khon_kaen.get(f"/v1/projects/1/reports/missing-plots.xlsx?month={MONTH}&area=41").status_code == 403
    assert khon_kaen.get(f"/v1/projects/1/reports/province?month={MONTH}&area=4101").status_code == 403


def test_a_district_supervisor_may_not_open_the_province_page(province, signed_in) -> None:
    response = signed_in("dara", "district", "4002").get(f"/province?month={MONTH}")

    assert response.status_code == 403
    assert "ไม่มีสิทธิ์เปิดหน้าภาพรวมจังหวัด" in response.get_data(as_text=True)


def test_the_navigation_links_the_page_for_province_staff_only(province, khon_kaen, signed_in) -> None:
    assert 'href="/province"' in khon_kaen.get("/downloads").get_data(as_text=True)
    assert 'href="/province"' not in signed_in("dara", "district", "4002").get("/downloads").get_data(as_text=True)


def test_a_department_user_sees_the_roll_up_by_province_and_chooses_one(province, signed_in) -> None:
    department = signed_in("wichai", "department")

    rollup = department.get(f"/province?month={MONTH}").get_data(as_text=True)
    chosen = department.get(f"/province?month={MONTH}&province=41").get_data(as_text=True)

    assert re.findall(r'<tr data-province="(\d+)">', rollup) == ["40", "41"]
    assert re.findall(r'<tr data-district="(\d+)">', chosen) == ["4101"]


def test_the_month_defaults_to_the_month_being_reported(province, khon_kaen) -> None:
    page = khon_kaen.get("/province").get_data(as_text=True)

    assert re.search(r'<input type="month" name="month" value="\d{4}-\d{2}">', page)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 15, 9, tzinfo=BANGKOK), "เหลืออีก ๕ วัน ถึงกำหนดส่งวันที่ ๒๐ ธันวาคม ๒๕๖๙"),
        (datetime(2026, 12, 20, 23, tzinfo=BANGKOK), "วันนี้เป็นวันสุดท้ายของการส่งรายงาน (๒๐ ธันวาคม ๒๕๖๙)"),
        (datetime(2027, 1, 2, 9, tzinfo=BANGKOK), "เลยกำหนดส่งวันที่ ๒๐ ธันวาคม ๒๕๖๙ มาแล้ว ๑๓ วัน"),
    ],
)
def test_the_days_left_before_the_20th_are_told_in_thai_with_buddhist_era_dates(now: datetime, expected: str) -> None:
    deadline = report_deadline(2026, 12)

    assert ProvinceMonth(None, 2026, 12, deadline, now, []).deadline_text() == expected


def test_the_district_weekly_summary_counts_each_field_developer_s_logs(province, supervise, khon_kaen) -> None:
    plot = province["reported"].uuid
    daily_log(supervise, plot, "2026-11-30", signed=True)
    daily_log(supervise, plot, "2026-12-01", signed=False)
    daily_log(supervise, plot, "2026-12-01", signed=True)

    response = khon_kaen.get("/v1/projects/1/reports/weekly-summary.xlsx?district=4001&week=2026-W49")

    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(min_row=2, values_only=True))
    assert rows[0] == ("นพต.", "บันทึก", "วันที่มีบันทึก", "วันที่ไม่มีบันทึก", "รับรองแล้ว", "ไม่มีการรับรอง")
    assert rows[1:] == [(SUPERVISOR, 3, 2, 5, 2, 1)]


def assessment(collect: CollectClient, plot: str, day: str, grade: str) -> None:
    """A potential assessment of ``plot`` on ``day`` with the grade the form computed."""
    xml = (
        f'<data id="potential_assessment" version="2026112101"><plot>{plot}</plot>'
        f"<assessment_date>{day}</assessment_date><grade>{grade}</grade>"
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    ).encode()
    collect.send(xml)


def test_the_grades_count_each_plot_s_latest_assessment(province, supervise: CollectClient, khon_kaen) -> None:
    assessment(supervise, province["reported"].uuid, "2026-06-01", "C")
    assessment(supervise, province["reported"].uuid, "2026-11-01", "A")
    assessment(supervise, province["missing"].uuid, "2026-11-02", "B")

    page = khon_kaen.get(f"/province?month={MONTH}").get_data(as_text=True)

    assert [cell(page, "4001", f"grade-{g}") for g in "ABC"] == ["1", "1", "0"]
