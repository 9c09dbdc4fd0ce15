"""The monthly district report of seed 002 for a fixture district (amphoe 4001, เมืองขอนแก่น): three plots, two
activity reports in November 2026 (one by the 20th, one late), checked for its numbers, as XLSX, and as a PDF
rendered to PNG whose Thai text is extracted again."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine

from khoknongna.monthly_report import PRINT_PHOTO_PX, build_report, thai_date, write_pdf, write_xlsx
from khoknongna.plot_checks import CheckRules
from khoknongna.server.cli import main
from khoknongna.settings import Settings
from khoknongna.storage.blobs import open_blob_store
from tests.activity import activity_report
from tests.collect import CollectClient
from tests.gis.conftest import survey


@pytest.fixture
def collect(supervise: CollectClient) -> CollectClient:
    """Sends forms as Collect does and reads the JSON API, which collectors may not: a department supervisor."""
    return supervise


BANGKOK = ZoneInfo("Asia/Bangkok")
DISTRICT, DISTRICT_TH = "4001", "เมืองขอนแก่น"


@pytest.fixture
def district(form_pack, collect: CollectClient, db: Engine) -> list[str]:
    """Three plots of amphoe 4001: reported on time, reported late (with 4 photos), not reported."""
    plots = [survey(collect, owner=owner) for owner in ("นางสมศรี ใจดี", "นายสมชาย มั่นคง", "นางมาลี สุขใจ")]
    activity_report(collect, db, plots[0], datetime(2026, 11, 18, 10, 0, tzinfo=BANGKOK))
    activity_report(collect, db, plots[1], datetime(2026, 11, 25, 9, 0, tzinfo=BANGKOK), photos=4)
    return plots


def report(db: Engine, settings: Settings):
    with db.connect() as conn:
        return build_report(conn, 1, DISTRICT, 2026, 11, CheckRules.from_settings(settings))


def test_the_report_counts_the_district_s_plots_and_misses_the_deadline(
    district, db: Engine, settings: Settings
) -> None:
    built = report(db, settings)

    assert (built.district_name, built.province_name) == (DISTRICT_TH, "ขอนแก่น")
    assert (built.plots_total, built.reported, built.on_time, built.late, built.missing) == (3, 2, 1, 1, 1)
    assert not built.deadline_met
    cover = dict(built.cover_lines())
    assert cover["แปลงที่รายงาน / แปลงทั้งหมด"].startswith("๒ / ๓ แปลง")
    assert cover["ประจำเดือน"] == "พฤศจิกายน พ.ศ. ๒๕๖๙"
    assert cover["กำหนดส่ง"] == "๒๐ พฤศจิกายน ๒๕๖๙"


def test_each_plot_has_the_items_of_the_seed_002_form(district, db: Engine, settings: Settings) -> None:
    entries = {e.plot["uuid"]: e for e in report(db, settings).entries}

    on_time = dict(entries[district[0]].items()) | dict(entries[district[0]].activities[0].items())
    assert on_time["๑. พื้นที่ที่ดำเนินกิจกรรม"].startswith("โครงการภายใต้งบประมาณเงินกู้โควิด-๑๙")
    assert on_time["๒. ขนาดพื้นที่ดำเนินการ"] == "๑ ไร่"
    assert on_time["๓. สถานที่ดำเนินการ ชื่อเจ้าของแปลง"] == "นางสมศรี ใจดี"
    assert on_time["ที่อยู่"].startswith("บ้านเลขที่ ๔๕/๑ หมู่ที่ ๕ ต.ศิลา")
    assert on_time["เบอร์โทร"] == "๐๘๑๒๓๔๕๖๗๘"
    assert on_time["๔. ชื่อกิจกรรม"] == "เอามื้อสามัคคีขุดคลองไส้ไก่"
    assert on_time["๕. ภาพกิจกรรม (อย่างน้อย ๖ ภาพ)"] == "๖ ภาพ"
    assert on_time["๖. ช่องทางประชาสัมพันธ์"] == "https://facebook.com/knn.kk/posts/1"
    assert on_time["วันที่"] == "๑๘ พฤศจิกายน ๒๕๖๙"
    assert on_time["ส่งเมื่อ"].endswith("(ทันกำหนด)")
    late = dict(entries[district[1]].activities[0].items())
    assert late["๕. ภาพกิจกรรม (อย่างน้อย ๖ ภาพ)"] == "๔ ภาพ (น้อยกว่า ๖ ภาพ)"
    assert late["ส่งเมื่อ"].endswith("(หลังกำหนด)")
    assert entries[district[2]].activities == [] and entries[district[2]].status == "missing"


def test_buddhist_era_dates_with_thai_digits() -> None:
    assert thai_date("2026-11-20") == "๒๐ พฤศจิกายน ๒๕๖๙"


def test_the_xlsx_has_a_cover_and_a_row_per_plot(district, db: Engine, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"

    write_xlsx(report(db, settings), path)

    workbook = load_workbook(path)
    cover = {row[0]: row[1] for row in workbook["ปก"].iter_rows(min_row=2, values_only=True)}
    rows = list(workbook["รายงาน"].iter_rows(values_only=True))
    assert cover["ผลการรายงานภายในวันที่ ๒๐"] == "ไม่ครบทุกแปลงภายในกำหนด"
    assert len(rows) == 4 and rows[1][0] == "๑"
    owners = {row[rows[0].index("๓. สถานที่ดำเนินการ ชื่อเจ้าของแปลง")] for row in rows[1:]}
    assert {"นางสมศรี ใจดี", "นางมาลี สุขใจ"} <= owners


def test_the_pdf_renders_thai_text_that_can_be_read_back(
    district, db: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"

    write_pdf(report(db, settings), path)

    document = pypdfium2.PdfDocument(path)
    assert all(plain(f"แปลงที่ {n}") in pdf_text(path) for n in "๑๒๓"), "a page per plot"
    cover_text = document[0].get_textpage().get_text_range()
    assert DISTRICT_TH in cover_text
    assert "พฤศจิกายน" in cover_text
    image = document[0].render(scale=1.5).to_pil().convert("L")
    image.save(tmp_path / "cover.png")  # kept with the test's files for a person to look at
    dark = sum(image.histogram()[:128])
    assert 0.002 < dark / (image.width * image.height) < 0.5, "text was drawn, the page is not blank"
    fonts = path.read_bytes()
    assert b"/FontFile2" in fonts, "the Thai TrueType font is embedded"


def test_the_report_command_writes_the_pdf(district, pg_url: str, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "cli.pdf"

    result = CliRunner().invoke(
        main,
        ["report", "monthly", "--district", DISTRICT, "--month", "2026-11", "--format", "pdf", "--out", str(out)],
        env={"KNN_DATABASE_URL": pg_url, "KNN_DATA_DIR": str(settings.data_dir)},
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert "2/3 plots reported, 1 on time; deadline not met" in result.output
    assert out.read_bytes().startswith(b"%PDF")


def test_the_api_serves_the_report_as_xlsx(district, collect: CollectClient) -> None:
    response = collect.get(f"/v1/projects/1/reports/monthly.xlsx?district={DISTRICT}&month=2026-11")

    assert response.status_code == 200, response.data
    assert response.headers["Content-Disposition"] == 'attachment; filename="report-4001-2026-11.xlsx"'
    assert collect.get("/v1/projects/1/reports/monthly.pdf?district=99&month=2026-11").status_code == 400


# --- every activity, its photos, signature, 5P and the register --------------------------------------------------


_MARKS = str.maketrans("", "", "\u0e48\u0e49\u0e4a\u0e4b\u0e47\u0e4c. \r\n")


def plain(text: str) -> str:
    """Text without tone marks, dots and spaces: what survives reading shaped Thai back from a PDF, whose
    extraction moves tone marks about."""
    return text.translate(_MARKS)


def pdf_text(path: Path) -> str:
    """The PDF's text, :func:`plain`."""
    return plain("".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(path)))


def pdf_images(path: Path) -> list[tuple[int, int]]:
    """The (width, height) in pixels of every image drawn in the PDF, page by page."""
    sizes = []
    for page in pypdfium2.PdfDocument(path):
        for item in page.get_objects(filter=[pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]):
            sizes.append(tuple(item.get_px_size()))
    return sizes


@pytest.fixture
def busy_plot(form_pack, collect: CollectClient, db: Engine) -> str:
    """One plot of amphoe 4001 with two activities in November: the second (six photos, signed) dated before
    the first, and a report naming another owner than the register."""
    plot = survey(collect, owner="นางสมศรี ใจดี")
    for day, photos, answers in (
        (19, 2, {"activity": "ปลูกป่าสามอย่าง", "report_date": "2026-11-19"}),
        (12, 6, {"activity": "ขุดหนองน้ำ", "report_date": "2026-11-10", "signed": True, "owner": "นางสมศรี ใจงาม"}),
    ):
        activity_report(collect, db, plot, datetime(2026, 11, day, 9, tzinfo=BANGKOK), photos, **answers)
    return plot


def test_a_plot_with_two_activities_shows_both_in_date_order(busy_plot, db: Engine, settings: Settings) -> None:
    (entry,) = report(db, settings).entries

    assert [dict(a.items())["๔. ชื่อกิจกรรม"] for a in entry.activities] == ["ขุดหนองน้ำ", "ปลูกป่าสามอย่าง"]


def test_the_pdf_embeds_every_photo_and_the_signature(
    busy_plot, db: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"

    write_pdf(report(db, settings), path, open_blob_store(settings))

    images = pdf_images(path)
    photos = [size for size in images if max(size) == PRINT_PHOTO_PX]
    assert len(photos) == 8, "six photos of one activity and two of the other, scaled for print"
    assert (300, 113) in images, "the reporter's signature"
    text = pdf_text(path)
    assert plain("ภาพที่ ๖ ภาพที่ถ่าย 5") in text, "captions under the photos"
    assert plain("ภาพกิจกรรม ๒ ภาพ น้อยกว่า ๖ ภาพ") in text, "an activity with fewer than six photos is marked"


def test_the_pdf_shows_the_5p_strategy_and_the_sectors(
    busy_plot, db: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"

    write_pdf(report(db, settings), path)

    text = pdf_text(path)
    assert plain("การพัฒนาพื้นที่ต้นแบบ : Place") in text
    assert plain("ซ่อม") in text
    assert plain("ภาครัฐ, ภาคประชาชน") in text


def test_a_report_naming_another_owner_is_flagged_on_the_plot_s_page(
    busy_plot, db: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"

    write_pdf(report(db, settings), path)

    assert plain("ข้อมูลไม่ตรงกับทะเบียน") in pdf_text(path)
    assert plain("“นางสมศรี ใจงาม” ไม่ตรงกับทะเบียน “นางสมศรี ใจดี”") in pdf_text(path)


def test_the_xlsx_has_one_row_per_activity_with_photo_links(
    busy_plot, db: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "report.xlsx"

    write_xlsx(report(db, settings), path)

    rows = list(load_workbook(path)["รายงาน"].iter_rows(values_only=True))
    header = rows[0]
    assert [row[header.index("๔. ชื่อกิจกรรม")] for row in rows[1:]] == ["ขุดหนองน้ำ", "ปลูกป่าสามอย่าง"]
    links = rows[1][header.index("ลิงก์ภาพกิจกรรม")].splitlines()
    assert len(links) == 6 and all(link.startswith("/submissions/") for link in links)
    assert rows[1][header.index("ลิงก์ลายมือชื่อ")].endswith("-signature.png")
    assert rows[1][header.index("กลยุทธ์การพัฒนา (5P)")] == "การพัฒนาพื้นที่ต้นแบบ : Place"


def test_the_cover_counts_the_publicity_links_of_the_district(busy_plot, db: Engine, settings: Settings) -> None:
    cover = dict(report(db, settings).cover_lines())

    assert cover["การประชาสัมพันธ์ (อย่างน้อย ๑ ช่องทางต่ออำเภอต่อเดือน)"] == "๒ ลิงก์ ผ่าน"
