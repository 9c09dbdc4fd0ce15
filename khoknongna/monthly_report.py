"""The monthly district report of seed 002 ("แบบรายงานโครงการพัฒนาพื้นที่ต้นแบบ…"), for every plot of a district,
as XLSX and PDF.

A cover page gives the coverage of the month (plots with an activity report / all registered plots of the
district, on time by the 20th, late, missing) and whether the district met the deadline (every plot reported
by the 20th, Asia/Bangkok). Then one section per plot with the items of the seed's report form: ๑ programme
(HLM/CLM), ๒ size class, ๓ plot, owner, address and phone, ๔ activity name and details, ๕ number of photos
(at least ๖), ๖ publicity links, and the reporter's name, position and date. A plot without a report in the
month keeps its register entry and says "ไม่มีรายงาน".

Dates are in the Buddhist Era with Thai month names and numbers in Thai digits, as in the seed letters
(``pythainlp.util.thai_strftime``, ``arabic_digit_to_thai_digit``). The PDF embeds the TLWG font Laksaman (a
Sarabun derivative, Debian package ``fonts-tlwg-laksaman-ttf``) and shapes Thai with HarfBuzz (fpdf2 +
uharfbuzz), so tone marks and vowels sit where they belong.

Source: seed 002 (สิ่งที่ส่งมาด้วย ๒ and item ๓ of the letter: report by the 20th, every plot of the district).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection

from khoknongna.areas import area_name
from khoknongna.plot_checks import CheckRules, coverage
from khoknongna.spatial.coverage import report_deadline
from khoknongna.storage import reports as queries

logger = logging.getLogger(__name__)

TITLE = "แบบรายงานโครงการพัฒนาพื้นที่ต้นแบบการพัฒนาคุณภาพชีวิตตามหลักทฤษฎีใหม่ ประยุกต์สู่ “โคก หนอง นา”"
PROGRAMMES = {
    "leader_2563": "โครงการเสริมสร้างและพัฒนาผู้นำการเปลี่ยนแปลง ปี ๒๕๖๓",
    "covid_loan": "โครงการภายใต้งบประมาณเงินกู้โควิด-๑๙ เพื่อฟื้นฟูเศรษฐกิจฐานราก",
    "sufficiency_village_2564": "โครงการพัฒนาหมู่บ้านเศรษฐกิจพอเพียง ปี ๒๕๖๔",
    "sufficiency_village_2565": "โครงการพัฒนาหมู่บ้านเศรษฐกิจพอเพียง ปี ๒๕๖๕",
    "sufficiency_village_2566": "โครงการพัฒนาหมู่บ้านเศรษฐกิจพอเพียง ปี ๒๕๖๖",
}
#: Where the Thai font is looked for: Debian's fonts-tlwg-laksaman-ttf, then other TLWG fonts.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/tlwg/Laksaman.ttf",
    "/usr/share/fonts/truetype/tlwg/Garuda.ttf",
    "/usr/share/fonts/truetype/tlwg/Loma.ttf",
)
MIN_PHOTOS = 6


def thai(value: Any) -> str:
    """Text with Thai digits (``12`` -> ``๑๒``); ``None`` -> ``""``."""
    from pythainlp.util import arabic_digit_to_thai_digit

    text = "" if value is None else str(value)
    return arabic_digit_to_thai_digit(text) if text else ""


def thai_date(value: date | datetime | str | None) -> str:
    """``2026-11-20`` -> ``๒๐ พฤศจิกายน ๒๕๖๙`` (Buddhist Era, Thai digits)."""
    from pythainlp.util import thai_strftime

    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return thai_strftime(moment, "%-d %B %Y", thaidigit=True)


def thai_month(year: int, month: int) -> str:
    """``(2026, 11)`` -> ``พฤศจิกายน พ.ศ. ๒๕๖๙``."""
    from pythainlp.util import thai_strftime

    return thai_strftime(datetime(year, month, 1), "%B พ.ศ. %Y", thaidigit=True)


def size_text(size_class: str | None, other_rai: Any = None) -> str:
    """Item ๒: ``๑ ไร่`` / ``๓ ไร่`` / ``๑๕ ไร่`` / ``อื่นๆ (ระบุ) … ไร่``."""
    if size_class in ("1", "3", "15"):
        return thai(f"{size_class} ไร่")
    if size_class == "other":
        return thai(f"อื่นๆ (ระบุ) {other_rai if other_rai is not None else '…'} ไร่")
    return ""


@dataclass
class PlotEntry:
    """One plot of the district with its report of the month (``None`` when it has none)."""

    plot: dict[str, Any]
    report: dict[str, Any] | None
    status: str  # on_time, late, missing

    def answer(self, key: str) -> Any:
        """The report's answer, else the register's value."""
        if self.report is not None and self.report.get(key) not in (None, ""):
            return self.report[key]
        return self.plot.get(key)

    def items(self) -> list[tuple[str, str]]:
        """(label, value) of the seed 002 items, in order, values in Thai digits and Buddhist-era dates."""
        r = self.report or {}
        programme = PROGRAMMES.get(str(self.answer("programme") or ""), str(self.answer("programme") or ""))
        model = self.answer("model")
        address = (
            f"บ้านเลขที่ {self.answer('house_no') or '-'} หมู่ที่ {self.answer('village_no') or '-'} "
            f"{area_name(str(self.answer('tambon') or '')) or ''}"
        )
        links = [r.get(k) for k in ("link_website", "link_facebook", "link_video", "link_other") if r.get(k)]
        photos = r.get("photos")
        photo_text = (
            "" if self.report is None else thai(f"{photos} ภาพ") + ("" if photos >= MIN_PHOTOS else " (น้อยกว่า ๖ ภาพ)")
        )
        return [
            ("๑. พื้นที่ที่ดำเนินกิจกรรม", programme + (f" ({model})" if model else "")),
            ("๒. ขนาดพื้นที่ดำเนินการ", size_text(self.answer("size_class"), r.get("other_size_rai"))),
            ("๓. สถานที่ดำเนินการ ชื่อเจ้าของแปลง", str(self.answer("owner_name") or "")),
            ("ที่อยู่", thai(address.strip())),
            ("เบอร์โทร", thai(self.answer("owner_phone"))),
            ("๔. ชื่อกิจกรรม", str(r.get("activity_name") or "ไม่มีรายงาน")),
            ("รายละเอียดกิจกรรม", str(r.get("activity_details") or "")),
            ("๕. ภาพกิจกรรม (อย่างน้อย ๖ ภาพ)", photo_text),
            ("๖. ช่องทางประชาสัมพันธ์", "\n".join(links)),
            ("ผู้รายงาน", str(r.get("reporter_name") or "")),
            ("ตำแหน่ง", str(r.get("reporter_position") or "")),
            ("วันที่", thai_date(r.get("report_date"))),
            ("ส่งเมื่อ", thai_date(_received(r)) + {"on_time": " (ทันกำหนด)", "late": " (หลังกำหนด)"}.get(self.status, "")),
        ]


def _received(report: dict[str, Any]) -> datetime | None:
    value = report.get("submitted_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@dataclass
class MonthlyReport:
    """The report of one district and month: its names, the deadline, the coverage and every plot."""

    district_code: str
    district_name: str
    province_name: str
    year: int
    month: int
    deadline: datetime
    plots_total: int
    reported: int
    on_time: int
    late: int
    missing: int
    entries: list[PlotEntry] = field(default_factory=list)

    @property
    def deadline_met(self) -> bool:
        """Every plot of the district had its activity report by the deadline (seed 002, item ๓)."""
        return self.plots_total > 0 and self.on_time == self.plots_total

    def cover_lines(self) -> list[tuple[str, str]]:
        """(label, value) of the cover page, in Thai."""
        pct = 100.0 * self.reported / self.plots_total if self.plots_total else 0.0
        return [
            ("อำเภอ", f"{self.district_name} จังหวัด{self.province_name}"),
            ("ประจำเดือน", thai_month(self.year, self.month)),
            ("กำหนดส่ง", thai_date(self.deadline - timedelta(seconds=1))),  # deadline is the end of the 20th
            ("แปลงที่รายงาน / แปลงทั้งหมด", thai(f"{self.reported} / {self.plots_total} แปลง ({pct:.1f}%)")),
            ("ทันกำหนด / หลังกำหนด / ไม่รายงาน", thai(f"{self.on_time} / {self.late} / {self.missing} แปลง")),
            ("ผลการรายงานภายในวันที่ ๒๐", "ครบทุกแปลงทันกำหนด" if self.deadline_met else "ไม่ครบทุกแปลงภายในกำหนด"),
        ]


def build_report(
    conn: Connection, project_id: int, district_code: str, year: int, month: int, rules: CheckRules
) -> MonthlyReport:
    """Gather the report of amphoe ``district_code`` (4 digits) for ``year``-``month``.

    Raises ``ValueError`` when the code is not an amphoe of geothai.
    """
    import geothai

    district = geothai.district(district_code) if len(district_code) == 4 and area_name(district_code) else None
    if district is None:
        raise ValueError(f"'{district_code}' is not an amphoe code (4 digits)")
    province = geothai.province(district_code[:2])
    cover = coverage(conn, project_id, year, month, district_code, rules)
    counts = cover.total
    plots = [dict(row._mapping) for row in queries.district_plots(conn, project_id, district_code)]
    reports = queries.month_reports(
        conn, project_id, [p["uuid"] for p in plots], *_month_bounds(cover.deadline, year, month)
    )
    entries = [
        PlotEntry(
            p,
            reports.get(p["uuid"]),
            cover.plots[p["entity_id"]].report_status if p["entity_id"] in cover.plots else "missing",
        )
        for p in plots
    ]
    return MonthlyReport(
        district_code=district_code,
        district_name=district.name_th,
        province_name=province.name_th,
        year=year,
        month=month,
        deadline=report_deadline(year, month, rules.coverage),
        plots_total=counts.plots,
        reported=counts.with_activity_report,
        on_time=counts.on_time,
        late=counts.late,
        missing=counts.missing,
        entries=entries,
    )


def _month_bounds(deadline: datetime, year: int, month: int) -> tuple[datetime, datetime]:
    tz = deadline.tzinfo
    start = datetime(year, month, 1, tzinfo=tz)
    return start, datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)


# --- XLSX -----------------------------------------------------------------------------------------------------


def write_xlsx(report: MonthlyReport, out: BinaryIO | Path) -> None:
    """A workbook: sheet ``ปก`` (cover) and sheet ``รายงาน`` with one row per plot and one column per item."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    cover = workbook.active
    cover.title = "ปก"
    cover.append([TITLE])
    cover["A1"].font = Font(bold=True, size=14)
    for label, value in report.cover_lines():
        cover.append([label, value])
    cover.column_dimensions["A"].width = 34
    cover.column_dimensions["B"].width = 60
    sheet = workbook.create_sheet("รายงาน")
    labels = [label for label, _ in report.entries[0].items()] if report.entries else []
    sheet.append(["ลำดับ", *labels])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for number, entry in enumerate(report.entries, start=1):
        sheet.append([thai(number), *(value for _, value in entry.items())])
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    workbook.save(out)


# --- PDF ------------------------------------------------------------------------------------------------------


def thai_font() -> Path:
    """The TTF file of the Thai font. Raises ``FileNotFoundError`` naming the Debian package to install."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError("no Thai font found: install the Debian package fonts-tlwg-laksaman-ttf")


def write_pdf(report: MonthlyReport, out: BinaryIO | Path) -> None:
    """An A4 PDF: the cover page, then one page per plot in the layout of the seed 002 report form."""
    from fpdf import FPDF

    font = thai_font()
    pdf = FPDF(format="A4")
    pdf.set_title(f"{TITLE} อำเภอ{report.district_name}")
    pdf.add_font("thai", "", str(font))
    pdf.set_text_shaping(True)
    pdf.set_auto_page_break(True, margin=15)
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str, size: int = 16) -> None:
        pdf.set_font("thai", size=size)
        pdf.multi_cell(width, 8, text, align="C", new_x="LMARGIN", new_y="NEXT")

    def line(label: str, value: str) -> None:
        pdf.set_font("thai", size=14)
        pdf.multi_cell(width, 7, f"{label}  {value}" if value else label, new_x="LMARGIN", new_y="NEXT")

    pdf.add_page()
    heading(TITLE.replace("ตามหลัก", "\nตามหลัก"), 18)
    heading(f"อำเภอ{report.district_name} จังหวัด{report.province_name}")
    heading(f"ประจำเดือน {thai_month(report.year, report.month)}")
    pdf.ln(6)
    for label, value in report.cover_lines():
        line(f"{label}:", value)
    pdf.ln(4)
    heading("รายชื่อแปลง", 15)
    for number, entry in enumerate(report.entries, start=1):
        state = {"on_time": "ทันกำหนด", "late": "หลังกำหนด"}.get(entry.status, "ไม่มีรายงาน")
        line(thai(f"{number}."), f"{entry.plot.get('owner_name') or entry.plot.get('label')} – {state}")

    for number, entry in enumerate(report.entries, start=1):
        pdf.add_page()
        heading(TITLE.replace("ตามหลัก", "\nตามหลัก"), 15)
        heading(f"อำเภอ{report.district_name}  ประจำเดือน {thai_month(report.year, report.month)}", 14)
        heading(thai(f"แปลงที่ {number}"), 14)
        pdf.ln(3)
        for label, value in entry.items():
            line(label, value)
    data = bytes(pdf.output())
    if isinstance(out, Path):
        out.write_bytes(data)
    else:
        out.write(data)
