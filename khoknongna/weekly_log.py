"""The weekly bundle of a field developer's daily logs (seed 004 ๔.๒: the daily record, certified by the plot
owner on every working day, sent to the district office every week), as PDF and XLSX.

A week is an ISO week, Monday to Sunday in Asia/Bangkok (``2026-W48``: 23–29 November 2026; a week may span
two months). Each day lists its logs with the duties, hours, details, problems and the owner's certification
(name and signature image); a day without a log, and a log without the owner's name or signature, is marked.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import Connection

from khoknongna.monthly_report import choice_text, print_image, thai, thai_date, thai_font
from khoknongna.storage import weekly as queries

if TYPE_CHECKING:
    from khoknongna.storage.blobs import BlobStore

TITLE = "บันทึกการปฏิบัติงานประจำวัน นักพัฒนาพื้นที่ต้นแบบ (นพต.) ประจำสัปดาห์"
_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")


def week_days(week: str) -> list[date]:
    """``"2026-W48"`` -> the seven days Monday..Sunday of that ISO week. Raises ``ValueError`` for anything
    else (or week 53 of a year that has 52)."""
    found = _WEEK.match(week or "")
    if found is None:
        raise ValueError(f"a week is YYYY-Www (ISO 8601), not '{week}'")
    monday = date.fromisocalendar(int(found[1]), int(found[2]), 1)
    return [monday + timedelta(days=n) for n in range(7)]


@dataclass
class DayLog:
    """One daily log: its answers, and whether the plot owner certified it (name and signature)."""

    answers: dict[str, Any]

    @property
    def certified(self) -> bool:
        """The owner's name and signature image are both there (seed 004 ๔.๒)."""
        return bool(self.answers.get("owner_name")) and bool(self.answers.get("signature_sha256"))

    def items(self) -> list[tuple[str, str]]:
        """(label, value) of the log, in Thai."""
        a = self.answers
        duties = choice_text("duty", a.get("duties"), "daily_log") if a.get("duties") else ""
        return [
            ("งานที่ปฏิบัติ", duties + (f" ({a['duty_other']})" if a.get("duty_other") else "")),
            ("รายละเอียด", str(a.get("work_details") or "")),
            ("จำนวนชั่วโมง", thai(a.get("hours"))),
            ("ปัญหาอุปสรรค", str(a.get("problems") or "")),
            ("ผู้รับรอง (เจ้าของแปลง)", str(a.get("owner_name") or "")),
            ("การรับรอง", "รับรองแล้ว" if self.certified else "ไม่มีการรับรองของเจ้าของแปลง"),
        ]


@dataclass
class WeeklyBundle:
    """The logs of one field developer for one ISO week, day by day."""

    collector: str
    week: str
    days: list[date]
    logs: dict[date, list[DayLog]] = field(default_factory=dict)

    @property
    def days_without_log(self) -> list[date]:
        """The days of the week with no log."""
        return [d for d in self.days if not self.logs.get(d)]

    @property
    def uncertified(self) -> int:
        """How many logs lack the owner's certification."""
        return sum(not log.certified for logs in self.logs.values() for log in logs)


def build_weekly(conn: Connection, project_id: int, collector: str, week: str, area: str | None = None) -> WeeklyBundle:
    """The bundle of ``collector`` (an app user's or user's name) for ISO ``week``, narrowed to ``area``.
    Raises ``ValueError`` for a malformed week."""
    days = week_days(week)
    bundle = WeeklyBundle(collector, week, days)
    for answers in queries.week_logs(conn, project_id, collector, days[0], days[-1], area):
        bundle.logs.setdefault(date.fromisoformat(answers["day"]), []).append(DayLog(answers))
    return bundle


@dataclass
class DeveloperWeek:
    """One field developer's week in a district's weekly summary: logs, days with a log, certified logs."""

    developer: str
    logs: int = 0
    days_logged: int = 0
    certified: int = 0
    days_in_week: int = 7

    @property
    def uncertified(self) -> int:
        """Logs without the owner's certification (name and signature)."""
        return self.logs - self.certified

    @property
    def days_missing(self) -> int:
        """Days of the week without a log (as the bundle marks them)."""
        return self.days_in_week - self.days_logged


def district_summary(conn: Connection, project_id: int, district: str, week: str) -> list[DeveloperWeek]:
    """Every field developer of ``district`` (an area code; its app users, and anyone who sent a daily log
    there that week) with the counts of ISO ``week``: logs, days with a log, certified logs, days missing
    (seed 004 ๔.๒: the district sends the week's logs on to the province). Raises ``ValueError`` for a
    malformed week."""
    days = week_days(week)
    found = {name: DeveloperWeek(name) for name in queries.field_developers(conn, project_id, district)}
    logged: dict[str, set[str]] = {}
    for answers in queries.week_logs(conn, project_id, None, days[0], days[-1], district):
        row = found.setdefault(answers["sender"], DeveloperWeek(answers["sender"]))
        row.logs += 1
        row.certified += DayLog(answers).certified
        logged.setdefault(answers["sender"], set()).add(answers["day"])
    for name, logged_days in logged.items():
        found[name].days_logged = len(logged_days)
    return [found[name] for name in sorted(found)]


#: The columns of the district's weekly summary.
SUMMARY_COLUMNS = ("นพต.", "บันทึก", "วันที่มีบันทึก", "วันที่ไม่มีบันทึก", "รับรองแล้ว", "ไม่มีการรับรอง")


def write_summary_xlsx(district: str, week: str, rows: list[DeveloperWeek], out: BinaryIO | Path) -> None:
    """The district's weekly summary: a title row, then one row per field developer (:data:`SUMMARY_COLUMNS`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from khoknongna.areas import area_name

    days = week_days(week)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "สรุปประจำสัปดาห์"
    sheet.append([f"สรุปบันทึกการปฏิบัติงาน {area_name(district) or district} สัปดาห์ {week} ({days[0]} – {days[-1]})"])
    sheet.append(list(SUMMARY_COLUMNS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append([r.developer, r.logs, r.days_logged, r.days_missing, r.certified, r.uncertified])
    workbook.save(out)


def _day_heading(day: date, count: int) -> str:
    from datetime import datetime

    from pythainlp.util import thai_strftime

    name = thai_strftime(datetime(day.year, day.month, day.day), "%A", thaidigit=True)
    return f"วัน{name}ที่ {thai_date(day)}" + ("" if count else " — ไม่มีบันทึก")


def write_xlsx(bundle: WeeklyBundle, out: BinaryIO | Path) -> None:
    """One row per log (a day without one has a row saying so): the day, the log's items, the signature."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "บันทึกประจำสัปดาห์"
    labels = [label for label, _ in DayLog({}).items()]
    sheet.append(["วันที่", "แปลง", *labels, "ลายมือชื่อเจ้าของแปลง"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for day in bundle.days:
        logs = bundle.logs.get(day, [])
        if not logs:
            sheet.append([day.isoformat(), "", "ไม่มีบันทึก"])
        for log in logs:
            signature = log.answers.get("owner_signature") if log.answers.get("signature_sha256") else ""
            sheet.append(
                [
                    day.isoformat(),
                    log.answers.get("plot_label") or log.answers.get("plot") or "",
                    *(value for _, value in log.items()),
                    signature,
                ]
            )
    workbook.save(out)


def write_pdf(bundle: WeeklyBundle, out: BinaryIO | Path, blobs: BlobStore | None = None) -> None:
    """An A4 PDF: the week's summary, then each day with its logs and the owner's signature image."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font("thai", "", str(thai_font()))
    pdf.set_text_shaping(True)
    pdf.set_auto_page_break(True, margin=15)
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: int = 14, align: str = "L") -> None:
        pdf.set_font("thai", size=size)
        pdf.multi_cell(width, 7, text, align=align, new_x="LMARGIN", new_y="NEXT")

    pdf.add_page()
    line(TITLE, 16, "C")
    line(
        f"{bundle.collector}  สัปดาห์ {thai(bundle.week)} ({thai_date(bundle.days[0])} – {thai_date(bundle.days[-1])})",
        14,
        "C",
    )
    line(thai(f"วันที่ไม่มีบันทึก {len(bundle.days_without_log)} วัน; บันทึกที่ไม่มีการรับรอง {bundle.uncertified} รายการ"))
    for day in bundle.days:
        logs = bundle.logs.get(day, [])
        pdf.ln(3)
        line(_day_heading(day, len(logs)), 15)
        for log in logs:
            line(f"แปลง: {log.answers.get('plot_label') or log.answers.get('plot') or ''}")
            for label, value in log.items():
                line(f"{label}  {value}")
            signature = print_image(blobs, log.answers.get("signature_sha256"), 300)
            if signature is not None:
                if pdf.get_y() + 20 > pdf.h - pdf.b_margin:
                    pdf.add_page()
                pdf.image(io.BytesIO(signature), x=pdf.l_margin, y=pdf.get_y(), h=18, keep_aspect_ratio=True)
                pdf.ln(20)
    data = bytes(pdf.output())
    if isinstance(out, Path):
        out.write_bytes(data)
    else:
        out.write(data)
