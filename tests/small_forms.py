"""Small forms the tests publish, one definition each, shared by the modules that use them: a hand-written
XForm with one question, and small XLSForms (built with ``tests.xlsforms``) standing for the form pack.

The plot forms carry labels in Thai and English, Thai first, as the bundled forms do. ``mini_plot_survey``
registers (or updates) plots in the entity list ``plots``; ``activity_report`` and ``daily_log`` are follow-ups
about a plot; ``site_register`` and ``site_update`` register and update sites in the list ``sites``.
"""

from __future__ import annotations

from tests.xlsforms import xlsform

LABELS = ["label::Thai (th)", "label::English (en)"]


def settings_sheet(form_id: str) -> list[list[str]]:
    """The settings sheet of version 1 of ``form_id``, Thai by default."""
    return [["form_id", "version", "default_language"], [form_id, "1", "Thai (th)"]]


def block(kind: str, name: str, labels: tuple[str, str], *rows: list[str]) -> list[list[str]]:
    """The survey rows of a ``group`` or ``repeat`` (``kind``) named ``name``, with Thai and English ``labels``,
    around ``rows``."""
    return [[f"begin {kind}", name, *labels], *rows, [f"end {kind}"]]


MINI_PLOT_SURVEY = xlsform(
    [
        ["type", "name", *LABELS, "save_to"],
        ["text", "is_new", "แปลงใหม่ (yes/no)", "New plot (yes/no)", ""],
        ["text", "plot_id", "แปลงที่ลงทะเบียนแล้ว", "Registered plot", ""],
        ["text", "owner", "ชื่อเจ้าของแปลง", "Owner", "owner_name"],
        ["select_one size", "size_class", "ขนาดแปลง", "Size class", "size_class"],
        ["text", "tambon", "ตำบล", "Tambon", "tambon"],
        ["geoshape", "boundary", "ขอบเขตแปลง", "Boundary", "geometry"],
        *block(
            "repeat",
            "parts",
            ("ส่วนของแปลง", "Parts"),
            ["text", "part_type", "ประเภท", "Type"],
            ["geoshape", "part_shape", "รูปร่าง", "Outline"],
        ),
    ],
    choices=[["list_name", "name", *LABELS], ["size", "1", "1 ไร่", "1 rai"], ["size", "3", "3 ไร่", "3 rai"]],
    settings=settings_sheet("mini_plot_survey"),
    entities=[
        ["list_name", "label", "entity_id", "create_if", "update_if"],
        ["plots", "${owner}", "${plot_id}", "${is_new} = 'yes'", "${is_new} = 'no'"],
    ],
)


def follow_up(form_id: str, day: tuple[str, str, str], *rest: list[str]) -> bytes:
    """A follow-up form about a plot: when it was filled in, the plot, the ``day`` reported on (name, Thai and
    English label; a date), where the collector stood, then the ``rest`` of its survey rows."""
    head = [
        ["type", "name", *LABELS],
        ["start", "start", "", ""],
        ["end", "end", "", ""],
        ["text", "plot", "แปลง", "Plot"],
        ["date", *day],
        ["geopoint", "where", "ตำแหน่งที่ถ่ายรูป", "Where"],
    ]
    return xlsform([*head, *rest], settings=settings_sheet(form_id))


MINI_ACTIVITY_REPORT = follow_up(
    "activity_report",
    ("report_month", "เดือนที่รายงาน", "Month"),
    *block("repeat", "photos", ("รูปถ่าย", "Photos"), ["image", "photo", "รูปกิจกรรม", "Photo"]),
)
MINI_DAILY_LOG = follow_up(
    "daily_log",
    ("work_date", "วันที่ทำงาน", "Day"),
    *block(
        "group",
        "certification",
        ("การรับรอง", "Certification"),
        ["text", "owner_name", "ชื่อเจ้าของแปลง", "Owner"],
        ["image", "owner_signature", "ลายมือชื่อ", "Signature"],
    ),
)


def site_form(form_id: str, *, updates: bool = False) -> bytes:
    """A form of the entity list ``sites`` (properties ``site_name`` and ``tambon``; its note is saved nowhere):
    each submission creates a site, or with ``updates`` updates the one picked from ``sites.csv``."""
    picked = [["select_one_from_file sites.csv", "site", "Site", ""]] if updates else []
    entity_id = [["entity_id"], ["${site}"]] if updates else [[], []]
    return xlsform(
        [
            ["type", "name", "label", "save_to"],
            *picked,
            ["text", "site_name", "Site name", "site_name"],
            ["text", "tambon", "Tambon code", "tambon"],
            ["text", "note_only", "Notes", ""],
        ],
        settings=[["form_id", "version"], [form_id, "1"]],
        entities=[["list_name", "label", *entity_id[0]], ["sites", "${site_name}", *entity_id[1]]],
    )


SITE_REGISTER = site_form("site_register")
SITE_UPDATE = site_form("site_update", updates=True)
