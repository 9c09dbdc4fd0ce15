"""The monthly district report of seed 002 ("แบบรายงานโครงการพัฒนาพื้นที่ต้นแบบ…"), for every plot of a district,
as XLSX and PDF.

A cover page gives the coverage of the month (plots with an activity report / all registered plots of the
district, on time by the 20th, late, missing, not visited) and whether the district met the deadline (every
plot reported by the 20th, Asia/Bangkok), and the publicity rule (at least one publicity link in the district
in the month, seed 002) and the district's learning centres (plots the register designates, at least one per
district, seed 003 ข้อ ๑). Then one section per plot: its register entry (items ๑–๓ of the seed's form, flagged
when a report names another owner or size than the register), and **every activity of the month** in date
order, each with items ๔–๖ of the form, the 5P strategy and its sub-strategy, the sectors that took part, the
reporter's name, position, date and signature image, and its photos in a grid with their captions (at least
six, item ๕; fewer are marked). A plot without a report in the month says "ไม่มีรายงาน".

A follow-up belongs to the month its ``report_month`` names (:mod:`khoknongna.periods`), so a November report
sent on 2 December is on the November report, counted late, and not on December's.

Photos are scaled to :data:`PRINT_PHOTO_PX` pixels on the longest side (JPEG) before they are embedded, so a
district of a hundred plots stays a file that can be mailed (README, bench figures).

Dates are in the Buddhist Era with Thai month names and numbers in Thai digits, as in the seed letters
(``pythainlp.util.thai_strftime``, ``arabic_digit_to_thai_digit``). The PDF embeds the TLWG font Laksaman (a
Sarabun derivative, Debian package ``fonts-tlwg-laksaman-ttf``) and shapes Thai with HarfBuzz (fpdf2 +
uharfbuzz), so tone marks and vowels sit where they belong.

Source: seed 002 (สิ่งที่ส่งมาด้วย ๒ and item ๓ of the letter: report by the 20th, every plot of the district).
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import Connection

from khoknongna.areas import area_name
from khoknongna.periods import BANGKOK, month_text
from khoknongna.plot_checks import CheckRules, coverage
from khoknongna.spatial.coverage import report_deadline
from khoknongna.storage import province as province_queries
from khoknongna.storage import reports as queries
from khoknongna.storage import signoffs as signoff_queries

if TYPE_CHECKING:
    from khoknongna.storage.blobs import BlobStore

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
#: The longest side of a photo in the PDF, in pixels: 3 photos across an A4 page at about 200 dpi.
PRINT_PHOTO_PX = 480
#: Photos per row of the PDF's grid.
PHOTO_COLUMNS = 3


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
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(BANGKOK)  # the day in Thailand
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


@functools.cache
def choice_labels(form: str = "activity_report") -> dict[str, dict[str, str]]:
    """``list name -> value -> Thai label`` of the choices of a bundled form (the form is the one source of
    the labels of the 5P strategies, their sub-strategies, the sectors and the field developer's duties)."""
    from importlib.resources import files

    from openpyxl import load_workbook

    with (files("khoknongna.forms_xlsform") / f"{form}.xlsx").open("rb") as source:
        workbook = load_workbook(source, read_only=True)
        rows = workbook["choices"].iter_rows(values_only=True)
        header = list(next(rows))
        label = next(i for i, name in enumerate(header) if str(name).startswith("label"))
        labels: dict[str, dict[str, str]] = {}
        for row in rows:
            if row[0] and row[1] is not None:
                labels.setdefault(str(row[0]), {})[str(row[1])] = str(row[label] or row[1])
        workbook.close()
    return labels


def choice_text(list_name: str, value: Any, form: str = "activity_report") -> str:
    """The Thai label(s) of a choice answer: a value, a space-separated ``select_multiple`` answer or a list."""
    if value in (None, ""):
        return ""
    values = value if isinstance(value, list) else str(value).split()
    known = choice_labels(form).get(list_name, {})
    return ", ".join(known.get(str(v), str(v)) for v in values)


def _same(a: Any, b: Any) -> bool:
    return " ".join(str(a or "").split()) == " ".join(str(b or "").split())


@dataclass
class Activity:
    """One activity report of the month: its answers, photos (``name``, ``caption``, ``sha256``), the blob of
    the reporter's signature, when it was received and whether that was by the deadline."""

    answers: dict[str, Any]
    status: str  # on_time, late
    after_signoff: bool = False

    @property
    def photos(self) -> list[dict[str, Any]]:
        """The photos of item ๕ in the order taken."""
        return list(self.answers.get("photos") or [])

    @property
    def submission_id(self) -> int:
        """The submission's id (links to its photos: ``/submissions/<id>/files/<name>``)."""
        return int(self.answers["submission_id"])

    @property
    def received_at(self) -> datetime | None:
        """When the server first received it (aware)."""
        return _received(self.answers)

    @property
    def links(self) -> list[str]:
        """The publicity links of item ๖."""
        return [
            self.answers[k]
            for k in ("link_website", "link_facebook", "link_video", "link_other")
            if self.answers.get(k)
        ]

    def items(self) -> list[tuple[str, str]]:
        """(label, value) of items ๔–๖ of the seed 002 form, the 5P strategy, sectors and the reporter."""
        r = self.answers
        count = len(self.photos)
        photo_text = thai(f"{count} ภาพ") + ("" if count >= MIN_PHOTOS else " (น้อยกว่า ๖ ภาพ)")
        sent = thai_date(self.received_at) + {"on_time": " (ทันกำหนด)", "late": " (หลังกำหนด)"}.get(self.status, "")
        if self.after_signoff:
            sent += " (ส่งหลังอำเภอรับรองรายงาน)"
        return [
            ("๔. ชื่อกิจกรรม", str(r.get("activity_name") or "")),
            ("รายละเอียดกิจกรรม", str(r.get("activity_details") or "")),
            ("กลยุทธ์การพัฒนา (5P)", choice_text("strategy", r.get("strategy_5p"))),
            ("แนวทางภายใต้กลยุทธ์", choice_text("sub_strategy", r.get("sub_strategy"))),
            ("ภาคีที่ร่วมกิจกรรม", choice_text("sector", r.get("sectors"))),
            ("๕. ภาพกิจกรรม (อย่างน้อย ๖ ภาพ)", photo_text),
            ("๖. ช่องทางประชาสัมพันธ์", "\n".join(self.links)),
            ("ผู้รายงาน", str(r.get("reporter_name") or "")),
            ("ตำแหน่ง", str(r.get("reporter_position") or "")),
            ("ลายมือชื่อ", "มี" if r.get("signature_sha256") else "ไม่มี"),
            ("วันที่", thai_date(r.get("report_date"))),
            ("ส่งเมื่อ", sent),
        ]


@dataclass
class PlotEntry:
    """One plot of the district with its activity reports of the month (none when it has none)."""

    plot: dict[str, Any]
    activities: list[Activity]
    status: str  # on_time, late, missing
    visited: bool = True

    @property
    def report(self) -> dict[str, Any] | None:
        """The answers of the plot's first activity report of the month, ``None`` without one."""
        return self.activities[0].answers if self.activities else None

    def answer(self, key: str) -> Any:
        """The first report's answer, else the register's value."""
        if self.report is not None and self.report.get(key) not in (None, ""):
            return self.report[key]
        return self.plot.get(key)

    def mismatches(self) -> list[str]:
        """What a report of the month names differently from the register (owner, size class), in Thai."""
        found = []
        for activity in self.activities:
            r = activity.answers
            if (
                r.get("owner_name")
                and self.plot.get("owner_name")
                and not _same(r["owner_name"], self.plot["owner_name"])
            ):
                found.append(f"ชื่อเจ้าของแปลงในรายงาน “{r['owner_name']}” ไม่ตรงกับทะเบียน “{self.plot['owner_name']}”")
            if r.get("size_class") and self.plot.get("size_class") and r["size_class"] != self.plot["size_class"]:
                found.append(
                    f"ขนาดพื้นที่ในรายงาน {size_text(r['size_class'], r.get('other_size_rai'))}"
                    f" ไม่ตรงกับทะเบียน {size_text(self.plot['size_class'])}"
                )
        return list(dict.fromkeys(found))

    def items(self) -> list[tuple[str, str]]:
        """(label, value) of items ๑–๓ of the seed 002 form, in Thai digits."""
        programme = PROGRAMMES.get(str(self.answer("programme") or ""), str(self.answer("programme") or ""))
        model = self.answer("model")
        address = (
            f"บ้านเลขที่ {self.answer('house_no') or '-'} หมู่ที่ {self.answer('village_no') or '-'} "
            f"{area_name(str(self.answer('tambon') or '')) or ''}"
        )
        other_rai = (self.report or {}).get("other_size_rai")
        return [
            ("๑. พื้นที่ที่ดำเนินกิจกรรม", programme + (f" ({model})" if model else "")),
            ("๒. ขนาดพื้นที่ดำเนินการ", size_text(self.answer("size_class"), other_rai)),
            ("๓. สถานที่ดำเนินการ ชื่อเจ้าของแปลง", str(self.answer("owner_name") or "")),
            ("ที่อยู่", thai(address.strip())),
            ("เบอร์โทร", thai(self.answer("owner_phone"))),
        ]


def _received(report: dict[str, Any]) -> datetime | None:
    value = report.get("received_at")
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
    not_visited: int = 0
    entries: list[PlotEntry] = field(default_factory=list)
    #: ``(revision, when)`` of the district's latest sign-off of the month, if any.
    signed_off: tuple[int, datetime] | None = None
    #: The owners (else labels) of the district's plots designated a learning centre (seed 003 ข้อ ๑).
    learning_centres: list[str] = field(default_factory=list)

    @property
    def deadline_met(self) -> bool:
        """Every plot of the district had its activity report by the deadline (seed 002, item ๓)."""
        return self.plots_total > 0 and self.on_time == self.plots_total

    @property
    def activities(self) -> list[tuple[PlotEntry, Activity]]:
        """Every activity of the month with its plot, plot by plot and in date order within a plot."""
        return [(entry, activity) for entry in self.entries for activity in entry.activities]

    @property
    def publicity_links(self) -> int:
        """How many publicity links the district's activities of the month give (item ๖)."""
        return sum(len(activity.links) for _, activity in self.activities)

    @property
    def publicity_met(self) -> bool:
        """At least one publicity link in the district in the month (seed 002: ประชาสัมพันธ์ทุกเดือน)."""
        return self.publicity_links > 0

    def cover_lines(self) -> list[tuple[str, str]]:
        """(label, value) of the cover page, in Thai."""
        pct = 100.0 * self.reported / self.plots_total if self.plots_total else 0.0
        return [
            ("อำเภอ", f"{self.district_name} จังหวัด{self.province_name}"),
            ("ประจำเดือน", thai_month(self.year, self.month)),
            ("กำหนดส่ง", thai_date(self.deadline - timedelta(seconds=1))),  # deadline is the end of the 20th
            ("แปลงที่รายงาน / แปลงทั้งหมด", thai(f"{self.reported} / {self.plots_total} แปลง ({pct:.1f}%)")),
            ("ทันกำหนด / หลังกำหนด / ไม่รายงาน", thai(f"{self.on_time} / {self.late} / {self.missing} แปลง")),
            ("ไม่มีการลงพื้นที่", thai(f"{self.not_visited} แปลง")),
            ("ผลการรายงานภายในวันที่ ๒๐", "ครบทุกแปลงทันกำหนด" if self.deadline_met else "ไม่ครบทุกแปลงภายในกำหนด"),
            ("กิจกรรมที่รายงาน", thai(f"{len(self.activities)} กิจกรรม")),
            (
                "การประชาสัมพันธ์ (อย่างน้อย ๑ ช่องทางต่ออำเภอต่อเดือน)",
                thai(f"{self.publicity_links} ลิงก์ ") + ("ผ่าน" if self.publicity_met else "ไม่ผ่าน"),
            ),
            ("ศูนย์เรียนรู้ของอำเภอ (อย่างน้อยอำเภอละ ๑ แห่ง)", self.centres_text()),
            ("การรับรองรายงานของอำเภอ", self.signoff_text()),
        ]

    def centres_text(self) -> str:
        """How many learning centres the district has, whether that meets seed 003 ข้อ ๑, and which, in Thai."""
        count = len(self.learning_centres)
        text = thai(f"{count} แห่ง ") + ("ผ่าน" if count else "ไม่ผ่าน")
        return text + (": " + ", ".join(self.learning_centres) if count else "")

    def signoff_text(self) -> str:
        """The district's latest sign-off and how many activities came after it, in Thai."""
        if self.signed_off is None:
            return "ยังไม่ได้ส่งรายงาน"
        revision, when = self.signed_off
        after = sum(activity.after_signoff for _, activity in self.activities)
        text = thai(f"ส่งแล้ว ครั้งที่ {revision} เมื่อ ") + thai_date(when)
        return text + (thai(f"; ส่งเข้ามาหลังการรับรอง {after} กิจกรรม") if after else "")


def build_report(
    conn: Connection,
    project_id: int,
    district_code: str,
    year: int,
    month: int,
    rules: CheckRules,
    *,
    since_signoff: bool = True,
) -> MonthlyReport:
    """Gather the report of amphoe ``district_code`` (4 digits) for ``year``-``month``: every activity report
    that belongs to the month (:mod:`khoknongna.periods`). With ``since_signoff`` the activities received after
    the district's latest sign-off of the month (:mod:`khoknongna.signoff`) are marked as such.

    Raises ``ValueError`` when the code is not an amphoe of geothai.
    """
    import geothai

    district = geothai.district(district_code) if len(district_code) == 4 and area_name(district_code) else None
    if district is None:
        raise ValueError(f"'{district_code}' is not an amphoe code (4 digits)")
    province = geothai.province(district_code[:2])
    cover = coverage(conn, project_id, year, month, district_code, rules)
    counts = cover.total
    deadline = report_deadline(year, month, rules.coverage)
    plots = [dict(row._mapping) for row in queries.district_plots(conn, project_id, district_code)]
    signed = signoff_queries.revisions(conn, project_id, district_code, month_text((year, month)))
    signed_off = (signed[0].revision, signed[0].submitted_at) if signed else None
    centres = province_queries.learning_centres(conn, project_id, district_code).get(district_code, [])
    by_plot: dict[str, list[Activity]] = {}
    for answers in queries.month_activities(conn, project_id, [p["uuid"] for p in plots], month_text((year, month))):
        received = _received(answers)
        status = "on_time" if received is not None and received < deadline else "late"
        after = since_signoff and signed_off is not None and received is not None and received > signed_off[1]
        by_plot.setdefault(answers["plot"], []).append(Activity(answers, status, after))
    entries = []
    for p in plots:
        covered = cover.plots.get(p["entity_id"])
        entries.append(
            PlotEntry(
                p,
                by_plot.get(p["uuid"], []),
                covered.report_status if covered else "missing",
                covered.visited if covered else False,
            )
        )
    return MonthlyReport(
        district_code=district_code,
        district_name=district.name_th,
        province_name=province.name_th,
        year=year,
        month=month,
        deadline=deadline,
        plots_total=counts.plots,
        reported=counts.with_activity_report,
        on_time=counts.on_time,
        late=counts.late,
        missing=counts.missing,
        not_visited=len(counts.not_visited),
        entries=entries,
        signed_off=signed_off if since_signoff else None,
        learning_centres=[c.owner_name or c.label or c.uuid for c in centres],
    )


# --- XLSX -----------------------------------------------------------------------------------------------------

#: Where a photo of a submission is served (the review pages' file route), for the XLSX's photo links.
FILE_LINK = "/submissions/{submission_id}/files/{name}"


def write_xlsx(report: MonthlyReport, out: BinaryIO | Path) -> None:
    """A workbook: sheet ``ปก`` (cover) and sheet ``รายงาน`` with one row per activity (a plot without one has
    one row saying "ไม่มีรายงาน"): the plot's items, the activity's, the photo links (one a line,
    :data:`FILE_LINK`, relative to the server's address) and the register mismatches."""
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
    empty = Activity({}, "missing")
    plot_labels = [label for label, _ in PlotEntry({}, [], "missing").items()]
    activity_labels = [label for label, _ in empty.items()]
    sheet.append(["ลำดับแปลง", *plot_labels, *activity_labels, "ลิงก์ภาพกิจกรรม", "ลิงก์ลายมือชื่อ", "ไม่ตรงกับทะเบียน"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for number, entry in enumerate(report.entries, start=1):
        plot_values = [value for _, value in entry.items()]
        flags = "\n".join(entry.mismatches())
        if not entry.activities:
            blank = ["ไม่มีรายงาน"] + [""] * (len(activity_labels) - 1)
            sheet.append([thai(number), *plot_values, *blank, "", "", flags])
        for activity in entry.activities:
            photos = "\n".join(
                FILE_LINK.format(submission_id=activity.submission_id, name=photo["name"]) for photo in activity.photos
            )
            signature = activity.answers.get("reporter_signature") if activity.answers.get("signature_sha256") else None
            sheet.append(
                [
                    thai(number),
                    *plot_values,
                    *(value for _, value in activity.items()),
                    photos,
                    FILE_LINK.format(submission_id=activity.submission_id, name=signature) if signature else "",
                    flags,
                ]
            )
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    workbook.save(out)


# --- PDF ------------------------------------------------------------------------------------------------------


def print_image(blobs: BlobStore | None, sha256: str | None, size: int = PRINT_PHOTO_PX) -> bytes | None:
    """The JPEG of blob ``sha256`` scaled to ``size`` pixels on its longest side, for print; ``None`` when there
    is no store, the file has not arrived or is not an image (the PDF then says so in place of the photo)."""
    from khoknongna.storage.blobs import BlobStoreError
    from khoknongna.thumbnails import NotAnImage, make_thumbnail

    if blobs is None or not sha256:
        return None
    try:
        with blobs.open(sha256) as stream:
            return make_thumbnail(stream.read(), size)
    except (KeyError, BlobStoreError, NotAnImage) as error:
        logger.warning("photo %s left out of the report: %s", sha256, error)
        return None


def thai_font() -> Path:
    """The TTF file of the Thai font. Raises ``FileNotFoundError`` naming the Debian package to install."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError("no Thai font found: install the Debian package fonts-tlwg-laksaman-ttf")


def write_pdf(report: MonthlyReport, out: BinaryIO | Path, blobs: BlobStore | None = None) -> None:
    """An A4 PDF: the cover page, then for each plot its register items and every activity of the month with
    its items, the reporter's signature and its photos in a grid of :data:`PHOTO_COLUMNS` with captions, read
    from ``blobs`` (without a store the photos are listed by name only)."""
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

    def room(height: float) -> None:
        if pdf.get_y() + height > pdf.h - pdf.b_margin:
            pdf.add_page()

    def photo_grid(activity: Activity) -> None:
        gap = 4.0
        cell = (width - gap * (PHOTO_COLUMNS - 1)) / PHOTO_COLUMNS
        box_h, caption_h = cell * 0.75, 12.0
        for start in range(0, len(activity.photos), PHOTO_COLUMNS):
            room(box_h + caption_h + 2)
            top = pdf.get_y()
            for column, photo in enumerate(activity.photos[start : start + PHOTO_COLUMNS]):
                x = pdf.l_margin + column * (cell + gap)
                data = print_image(blobs, photo.get("sha256"))
                if data is not None:
                    pdf.image(io.BytesIO(data), x=x, y=top, w=cell, h=box_h, keep_aspect_ratio=True)
                else:
                    pdf.rect(x, top, cell, box_h)
                    pdf.set_xy(x, top + box_h / 2 - 4)
                    pdf.set_font("thai", size=11)
                    pdf.multi_cell(cell, 6, "ไม่มีไฟล์ภาพ", align="C")
                pdf.set_xy(x, top + box_h + 1)
                pdf.set_font("thai", size=10)
                caption = photo.get("caption") or ""
                pdf.multi_cell(
                    cell,
                    5,
                    thai(f"ภาพที่ {start + column + 1}") + (f" {caption}" if caption else ""),
                    align="C",
                    max_line_height=5,
                )
            pdf.set_xy(pdf.l_margin, top + box_h + caption_h + 2)

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
        count = thai(f" ({len(entry.activities)} กิจกรรม)") if entry.activities else ""
        line(thai(f"{number}."), f"{entry.plot.get('owner_name') or entry.plot.get('label')} – {state}{count}")

    for number, entry in enumerate(report.entries, start=1):
        pdf.add_page()
        heading(TITLE.replace("ตามหลัก", "\nตามหลัก"), 15)
        heading(f"อำเภอ{report.district_name}  ประจำเดือน {thai_month(report.year, report.month)}", 14)
        heading(thai(f"แปลงที่ {number}"), 14)
        pdf.ln(3)
        for label, value in entry.items():
            line(label, value)
        for mismatch in entry.mismatches():
            line("ข้อมูลไม่ตรงกับทะเบียน:", mismatch)
        if not entry.activities:
            line("๔. ชื่อกิจกรรม", "ไม่มีรายงาน")
        for position, activity in enumerate(entry.activities, start=1):
            room(30)
            pdf.ln(2)
            heading(thai(f"กิจกรรมที่ {position} จาก {len(entry.activities)}"), 14)
            for label, value in activity.items():
                line(label, value)
            signature = print_image(blobs, activity.answers.get("signature_sha256"), 300)
            if signature is not None:
                room(22)
                pdf.set_font("thai", size=14)
                pdf.cell(30, 7, "ลงชื่อ")
                pdf.image(io.BytesIO(signature), x=pdf.l_margin + 30, y=pdf.get_y(), h=18, keep_aspect_ratio=True)
                pdf.ln(20)
            if len(activity.photos) < MIN_PHOTOS:
                line("หมายเหตุ:", thai(f"ภาพกิจกรรม {len(activity.photos)} ภาพ น้อยกว่า ๖ ภาพที่แบบรายงานกำหนด"))
            photo_grid(activity)
    data = bytes(pdf.output())
    if isinstance(out, Path):
        out.write_bytes(data)
    else:
        out.write(data)
