"""Small forms the tests publish, one definition each, shared by the modules that use them: hand-written
XForms (one question; the household of the Central API tests) and small XLSForms (built with
``tests.xlsforms``) standing for the form pack.

The plot forms carry labels in Thai and English, Thai first, as the bundled forms do. ``mini_plot_survey``
registers (or updates) plots in the entity list ``plots``; ``activity_report`` and ``daily_log`` are follow-ups
about a plot; ``site_register`` and ``site_update`` register and update sites in the list ``sites``.
"""

from __future__ import annotations

import uuid

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


def xform(form_id: str = "simple", title: str = "Simple", version: str | None = "1", media: tuple = ()) -> bytes:
    """A small XForm with one text question whose label shows the given ``jr://images/`` media files."""
    images = "".join(f'<value form="image">jr://images/{name}</value>' for name in media)
    version_attr = f' version="{version}"' if version is not None else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
        xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">
  <h:head>
    <h:title>{title}</h:title>
    <model>
      <itext><translation lang="default" default="true()">
        <text id="/data/q:label"><value>Question</value>{images}</text>
      </translation></itext>
      <instance><data id="{form_id}"{version_attr}><q/><meta><instanceID/></meta></data></instance>
      <bind nodeset="/data/q" type="string"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body><input ref="/data/q"><label ref="jr:itext('/data/q:label')"/></input></h:body>
</h:html>
""".encode()


#: ``household``, the corpus of the Central API tests: a group, a repeat, an integer, a date-time and a geopoint.
HOUSEHOLD = b"""<?xml version="1.0" encoding="UTF-8"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
        xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">
  <h:head>
    <h:title>Household</h:title>
    <model>
      <instance><data id="household" version="3">
        <head><name/><age/></head><when/><where/>
        <member jr:template=""><member_name/></member>
        <meta><instanceID/></meta>
      </data></instance>
      <bind nodeset="/data/head/name" type="string"/>
      <bind nodeset="/data/head/age" type="int"/>
      <bind nodeset="/data/when" type="dateTime"/>
      <bind nodeset="/data/where" type="geopoint"/>
      <bind nodeset="/data/member/member_name" type="string"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <group ref="/data/head"><input ref="/data/head/name"/><input ref="/data/head/age"/></group>
    <input ref="/data/when"/><input ref="/data/where"/>
    <repeat nodeset="/data/member"><input ref="/data/member/member_name"/></repeat>
  </h:body>
</h:html>
"""


def household(name: str, age: int, members: list[str], instance_id: str | None = None) -> str:
    """The XML of one submission of the household form."""
    rows = "".join(f"<member><member_name>{m}</member_name></member>" for m in members)
    return (
        f'<data id="household" version="3"><head><name>{name}</name><age>{age}</age></head>'
        "<when>2026-11-02T09:30:00.000+07</when><where>16.43 102.83 180 4.5</where>"
        f"{rows}<meta><instanceID>{instance_id or f'uuid:{uuid.uuid4()}'}</instanceID></meta></data>"
    )
