"""The province's view of a month (seed 002 item ๓: every district reports every plot to the province by the
20th): for every district of the area, whether and when the district submitted its report (and whether by
the deadline), the plots covered and missing, the publicity rule (at least one publicity link per district
per month, seed 002), its learning centres (seed 003 ข้อ ๑: at least one per district) and the A/B/C grades of
the plots' latest potential assessments (seed 002 ๒.๒); with the plots still missing, by district and by field
developer, as an XLSX to chase them. A department user sees every province, rolled up by province.

The districts listed are those with registered plots in the area, and any that submitted a report without one.
The days left before the deadline are given in Thai with Buddhist-era dates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection

from khoknongna import signoff
from khoknongna.areas import area_name
from khoknongna.monthly_report import thai, thai_date, thai_month
from khoknongna.periods import BANGKOK, month_text
from khoknongna.plot_checks import CheckRules, coverage
from khoknongna.spatial.coverage import DistrictCoverage, report_deadline
from khoknongna.storage import province as queries
from khoknongna.storage import signoffs as signoff_queries
from khoknongna.storage.selection import districts_with_plots

GRADES = ("A", "B", "C")


@dataclass
class DistrictMonth:
    """One district's month as the province sees it."""

    code: str
    name: str
    #: The district's plots and their activity reports of the month (``with_activity_report``, ``on_time``,
    #: ``late``, ``missing``); all 0 for a district with no registered plot.
    counts: DistrictCoverage
    #: The district's sign-offs of the month (:func:`khoknongna.signoff.describe`), newest revision first.
    signoffs: list[dict[str, Any]] = field(default_factory=list)
    publicity_links: int = 0
    #: ``(entity_id, uuid, label, owner_name)`` of its learning centres.
    learning_centres: list[Any] = field(default_factory=list)
    grades: dict[str, int] = field(default_factory=dict)
    #: The plots without an activity report of the month (:func:`khoknongna.storage.province.plots_to_chase`).
    missing_plots: list[dict[str, Any]] = field(default_factory=list)

    @property
    def province(self) -> str:
        """The province code (2 digits)."""
        return self.code[:2]

    @property
    def first_signoff(self) -> dict[str, Any] | None:
        """The district's first submission of the month (revision 1), ``None`` before it submitted."""
        return self.signoffs[-1] if self.signoffs else None

    @property
    def submitted_on_time(self) -> bool:
        """The district submitted its report by the deadline (its first revision counts)."""
        return bool(self.first_signoff and self.first_signoff["on_time"])

    @property
    def publicity_met(self) -> bool:
        """At least one publicity link in the month (seed 002)."""
        return self.publicity_links > 0

    @property
    def centres_met(self) -> bool:
        """At least one learning centre (seed 003 ข้อ ๑)."""
        return len(self.learning_centres) > 0

    def by_developer(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The missing plots grouped by field developer (``"ไม่ทราบ"`` when none is known), in order."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for plot in self.missing_plots:
            groups.setdefault(plot["developer"] or UNKNOWN_DEVELOPER, []).append(plot)
        return list(groups.items())


UNKNOWN_DEVELOPER = "ไม่ทราบ นพต."


#: What the department's roll-up adds up over a province's districts: name -> one district's part of it.
PROVINCE_SUMS: dict[str, Callable[[DistrictMonth], int]] = {
    "districts": lambda d: 1,
    "submitted": lambda d: bool(d.signoffs),
    "submitted_on_time": lambda d: d.submitted_on_time,
    "plots": lambda d: d.counts.plots,
    "reported": lambda d: d.counts.with_activity_report,
    "missing": lambda d: d.counts.missing,
    "publicity_met": lambda d: d.publicity_met,
    "learning_centres": lambda d: len(d.learning_centres),
    "districts_with_centre": lambda d: d.centres_met,
}


@dataclass
class ProvinceTotals:
    """The districts of one province added up (the department's roll-up): ``sums`` by the names of
    :data:`PROVINCE_SUMS`, and the plots of each grade."""

    code: str
    name: str
    sums: Counter[str] = field(default_factory=Counter)
    grades: Counter[str] = field(default_factory=Counter)

    def add(self, d: DistrictMonth) -> None:
        """Count district ``d`` in this province."""
        self.sums.update({name: part(d) for name, part in PROVINCE_SUMS.items()})
        self.grades.update(d.grades)


@dataclass
class ProvinceMonth:
    """Every district of ``area`` (a province code, ``None`` = the whole project) for one month."""

    area: str | None
    year: int
    month: int
    deadline: datetime
    now: datetime
    districts: list[DistrictMonth]

    @property
    def month_text(self) -> str:
        """``YYYY-MM``."""
        return month_text((self.year, self.month))

    @property
    def last_day(self) -> datetime:
        """The last day to report (the 20th), as the instant just before the deadline."""
        return self.deadline - timedelta(seconds=1)

    def days_left(self) -> int:
        """Days from today (Asia/Bangkok) to the last day to report: 0 on the 20th itself, negative after it."""
        return (self.last_day.astimezone(BANGKOK).date() - self.now.astimezone(BANGKOK).date()).days

    def deadline_text(self) -> str:
        """The days left before the 20th, in Thai with the Buddhist-era date (``เหลืออีก ๕ วัน …``)."""
        day = thai_date(self.last_day)
        left = self.days_left()
        if self.now >= self.deadline:
            return thai(f"เลยกำหนดส่งวันที่ {day} มาแล้ว {-left} วัน") if left < 0 else f"เลยกำหนดส่งวันที่ {day} แล้ว"
        if left == 0:
            return f"วันนี้เป็นวันสุดท้ายของการส่งรายงาน ({day})"
        return thai(f"เหลืออีก {left} วัน ถึงกำหนดส่งวันที่ {day}")

    @property
    def month_name(self) -> str:
        """``พฤศจิกายน พ.ศ. ๒๕๖๙``."""
        return thai_month(self.year, self.month)

    def missing_plots(self) -> list[dict[str, Any]]:
        """Every missing plot of every district, by district then field developer."""
        return [plot for d in self.districts for plot in d.missing_plots]

    def provinces(self) -> list[ProvinceTotals]:
        """The districts added up by province, in code order."""
        totals: dict[str, ProvinceTotals] = {}
        for d in self.districts:
            if d.province not in totals:
                totals[d.province] = ProvinceTotals(d.province, area_name(d.province) or d.province)
            totals[d.province].add(d)
        return [totals[code] for code in sorted(totals)]


def build_province_month(
    conn: Connection,
    project_id: int,
    area: str | None,
    year: int,
    month: int,
    rules: CheckRules,
    now: datetime | None = None,
) -> ProvinceMonth:
    """Gather the month of every district of ``area`` (a code prefix already narrowed to the user's area;
    ``None`` = every district of the project). ``now`` (aware; default the present) decides the days left."""
    period = month_text((year, month))
    cover = coverage(conn, project_id, year, month, area, rules)
    signed = signoff_queries.revisions(conn, project_id, area, period)
    codes = set(districts_with_plots(conn, project_id, area)) | {r.district_code for r in signed}
    links = queries.publicity_links(conn, project_id, area, period)
    centres = queries.learning_centres(conn, project_id, area)
    grades = queries.assessment_grades(conn, project_id, area)
    missing_ids = [p.entity_id for p in cover.plots.values() if p.report_status == "missing"]
    chase = queries.plots_to_chase(conn, project_id, missing_ids)
    districts = []
    for code in sorted(codes):
        name = area_name(code) or code
        districts.append(
            DistrictMonth(
                code=code,
                name=name.split(" จ.")[0],
                counts=cover.districts.get(code) or DistrictCoverage(code),
                signoffs=[signoff.describe(r, rules) for r in signed if r.district_code == code],
                publicity_links=links.get(code, 0),
                learning_centres=centres.get(code, []),
                grades=grades.get(code, {}),
                missing_plots=[p for p in chase if p["district"] == code],
            )
        )
    return ProvinceMonth(
        area=area,
        year=year,
        month=month,
        deadline=report_deadline(year, month, rules.coverage),
        now=now or datetime.now(BANGKOK),
        districts=districts,
    )


CHASE_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("รหัสอำเภอ", lambda p: p["district"]),
    ("อำเภอ", lambda p: (area_name(p["district"]) or "").split(" จ.")[0]),
    ("นพต. ผู้รับผิดชอบ", lambda p: p["developer"] or UNKNOWN_DEVELOPER),
    ("ตำบล", lambda p: (area_name(p["area_code"] or "") or "").split(" อ.")[0]),
    ("หมู่บ้าน", lambda p: p["village_name"] or ""),
    ("เจ้าของแปลง", lambda p: p["owner_name"] or ""),
    ("เบอร์โทร", lambda p: p["owner_phone"] or ""),
    ("แปลง", lambda p: p["label"] or ""),
    ("รหัสแปลง", lambda p: p["uuid"]),
    ("ลงพื้นที่ล่าสุด", lambda p: thai_date(p["last_visit_at"]) if p["last_visit_at"] else "ไม่เคย"),
)


def write_chase_xlsx(view: ProvinceMonth, out: BinaryIO | Path) -> None:
    """The chase list as a workbook: sheet ``แปลงที่ยังไม่รายงาน`` with one row per plot still without an activity
    report of the month (:data:`CHASE_COLUMNS`), sheet ``ตาม นพต.`` with how many each field developer has
    missing, and sheet ``รายอำเภอ`` with each district's month."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    plots = workbook.active
    plots.title = "แปลงที่ยังไม่รายงาน"
    plots.append([f"แปลงที่ยังไม่มีรายงานกิจกรรม ประจำเดือน {view.month_name} — {view.deadline_text()}"])
    plots.append([label for label, _ in CHASE_COLUMNS])
    for plot in view.missing_plots():
        plots.append([value(plot) for _, value in CHASE_COLUMNS])
    developers = workbook.create_sheet("ตาม นพต.")
    developers.append(["รหัสอำเภอ", "อำเภอ", "นพต. ผู้รับผิดชอบ", "แปลงที่ยังไม่รายงาน"])
    for district in view.districts:
        for developer, missing in district.by_developer():
            developers.append([district.code, district.name, developer, len(missing)])
    summary = workbook.create_sheet("รายอำเภอ")
    summary.append(
        [
            "รหัสอำเภอ",
            "อำเภอ",
            "ส่งรายงานแล้ว",
            "ส่งเมื่อ",
            "ทันวันที่ ๒๐",
            "แปลงทั้งหมด",
            "แปลงที่รายงาน",
            "แปลงที่ยังไม่รายงาน",
            "ลิงก์ประชาสัมพันธ์",
            "ศูนย์เรียนรู้",
            *(f"ระดับ {g}" for g in GRADES),
        ]
    )
    for d in view.districts:
        first = d.first_signoff
        summary.append(
            [
                d.code,
                d.name,
                "ส่งแล้ว" if first else "ยังไม่ส่ง",
                thai_date(datetime.fromisoformat(first["submitted_at"])) if first else "",
                ("ทัน" if d.submitted_on_time else "ไม่ทัน") if first else "",
                d.counts.plots,
                d.counts.with_activity_report,
                d.counts.missing,
                d.publicity_links,
                len(d.learning_centres),
                *(d.grades.get(g, 0) for g in GRADES),
            ]
        )
    for sheet, header_row in ((plots, 2), (developers, 1), (summary, 1)):
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
    workbook.save(out)
