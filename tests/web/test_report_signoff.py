"""A district supervisor submits the district's monthly report: the files are frozen as revision 1, a report
received later shows as "after sign-off" until the district submits again (revision 2), both revisions stay
downloadable, each submission is in the audit log, and nobody else may submit (khoknongna/signoff.py)."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.activity import activity_report
from tests.collect import CollectClient
from tests.sql import one, rows
from tests.web.conftest import Plot, page_token

BANGKOK = ZoneInfo("Asia/Bangkok")
MONTH = "2026-11"


@pytest.fixture
def reported(two_districts: dict[str, Plot], supervise: CollectClient, db: Engine) -> dict[str, Plot]:
    """District 4001's plot reported for November on the 10th."""
    activity_report(supervise, db, two_districts["mine"].uuid, datetime(2026, 11, 10, 9, tzinfo=BANGKOK), 1)
    return two_districts


def submit(client: FlaskClient, district_code: str = "4001"):
    token = page_token(client, f"/downloads?month={MONTH}")
    return client.post("/downloads/signoff", data={"csrf_token": token, "district": district_code, "month": MONTH})


def report_another_activity(supervise: CollectClient, db: Engine, plot: Plot) -> None:
    """A second November activity of ``plot``, received now."""
    activity_report(
        supervise, db, plot.uuid, datetime.now(BANGKOK), 1, activity="ปลูกป่าสามอย่าง", report_date="2026-11-30"
    )


def report_column(data: bytes, header: str) -> list[str]:
    """The cells under ``header`` in the XLSX report's sheet, one a report row."""
    table = list(load_workbook(io.BytesIO(data))["รายงาน"].iter_rows(values_only=True))
    return [row[table[0].index(header)] for row in table[1:]]


def activity_names(data: bytes) -> list[str]:
    return report_column(data, "๔. ชื่อกิจกรรม")


def sent_column(data: bytes) -> list[str]:
    return report_column(data, "ส่งเมื่อ")


def frozen(client: FlaskClient, revision: int, fmt: str) -> bytes:
    response = client.get(f"/v1/projects/1/reports/monthly/signoffs/{revision}.{fmt}?district=4001&month={MONTH}")
    assert response.status_code == 200, response.data[:200]
    return response.data


def test_submitting_freezes_the_files_as_revision_1(reported, district: FlaskClient, db: Engine) -> None:
    response = submit(district)

    assert response.status_code == 302
    page = district.get(f"/downloads?month={MONTH}").get_data(as_text=True)
    assert re.findall(r'data-revision="(\d+)"', page) == ["1"]
    pdf_key, xlsx_key = one(db, "SELECT pdf_sha256, xlsx_sha256 FROM report_signoffs")
    assert hashlib.sha256(frozen(district, 1, "pdf")).hexdigest() == pdf_key
    assert hashlib.sha256(frozen(district, 1, "xlsx")).hexdigest() == xlsx_key


def test_a_report_received_after_sign_off_is_marked_until_the_district_submits_again(
    reported, district: FlaskClient, supervise: CollectClient, db: Engine
) -> None:
    submit(district)
    report_another_activity(supervise, db, reported["mine"])

    live = district.get(f"/v1/projects/1/reports/monthly.xlsx?district=4001&month={MONTH}").data
    assert [s.endswith("(ส่งหลังอำเภอรับรองรายงาน)") for s in sent_column(live)] == [False, True]
    submit(district)
    again = district.get(f"/v1/projects/1/reports/monthly.xlsx?district=4001&month={MONTH}").data
    assert not any(s.endswith("(ส่งหลังอำเภอรับรองรายงาน)") for s in sent_column(again))


def test_resubmitting_makes_revision_2_and_keeps_revision_1(
    reported, district: FlaskClient, supervise: CollectClient, db: Engine
) -> None:
    submit(district)
    report_another_activity(supervise, db, reported["mine"])

    submit(district)

    assert activity_names(frozen(district, 1, "xlsx")) == ["เอามื้อสามัคคีขุดคลองไส้ไก่"]
    assert activity_names(frozen(district, 2, "xlsx")) == ["เอามื้อสามัคคีขุดคลองไส้ไก่", "ปลูกป่าสามอย่าง"]
    listed = district.get(f"/v1/projects/1/reports/monthly/signoffs?month={MONTH}").get_json()
    assert [s["revision"] for s in listed["signoffs"]] == [2, 1]
    assert district.get(f"/v1/projects/1/reports/monthly/signoffs/3.pdf?district=4001&month={MONTH}").status_code == 404


def test_every_submission_is_in_the_audit_log(reported, district: FlaskClient, db: Engine) -> None:
    submit(district)
    submit(district)

    entries = rows(
        db, "SELECT action, area_code, after->>'revision' FROM audit_log WHERE subject_type = 'report_signoff'"
    )
    assert sorted(tuple(e) for e in entries) == [("report.submit", "4001", "1"), ("report.submit", "4001", "2")]


def test_a_district_supervisor_cannot_submit_another_district_s_report(reported, district: FlaskClient) -> None:
    assert submit(district, "4002").status_code == 403
    assert district.get("/v1/projects/1/reports/monthly/signoffs/1.pdf?district=4002&month=2026-11").status_code == 403


def test_only_a_district_supervisor_submits(reported, supervise: CollectClient) -> None:
    response = supervise.request("POST", f"/v1/projects/1/reports/monthly/signoffs?district=4001&month={MONTH}")

    assert response.status_code == 403
    assert response.get_json()["code"] == "403.3"
