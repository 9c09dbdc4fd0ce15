"""Writes the six XLSForms of the form pack into ``forms_xlsform/`` with openpyxl.

The spreadsheets are the source of truth and are what the server publishes; this script is how their
sheets were laid out, kept so that a change to many forms at once (a shared choice list, a label
wording) can be made in one place and reviewed as a diff. Whoever edits a spreadsheet by hand instead
must carry the change back here or stop using the script. Run from the repository root:

    .venv/bin/python tools/form_pack.py

Every form is bilingual, Thai first (default) and English second; labels follow the wording of the
provincial circulars in the seeds (see ``docs/forms.md`` for field-by-field sources).
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Font

FORMS_DIR = Path(__file__).resolve().parents[1] / "forms_xlsform"

TH, EN = "ไทย (th)", "English (en)"

SURVEY_COLUMNS = (
    "type",
    "name",
    f"label::{TH}",
    f"label::{EN}",
    f"hint::{TH}",
    f"hint::{EN}",
    "required",
    "relevant",
    "constraint",
    f"constraint_message::{TH}",
    f"constraint_message::{EN}",
    "appearance",
    "parameters",
    "choice_filter",
    "calculation",
    "trigger",
    "default",
    "save_to",
)

Row = dict[str, Any]


def q(
    type_: str,
    name: str | None,
    th: str | None = None,
    en: str | None = None,
    *,
    hint: tuple[str, str] | None = None,
    msg: tuple[str, str] | None = None,
    **columns: Any,
) -> Row:
    """One survey row; ``columns`` use the survey sheet's column names (``required``, ``save_to``, …)."""
    row: Row = {"type": type_, "name": name, f"label::{TH}": th, f"label::{EN}": en, **columns}
    if hint:
        row[f"hint::{TH}"], row[f"hint::{EN}"] = hint
    if msg:
        row[f"constraint_message::{TH}"], row[f"constraint_message::{EN}"] = msg
    unknown = set(row) - set(SURVEY_COLUMNS)
    if unknown:
        raise ValueError(f"unknown survey columns {unknown}")
    return row


def end(kind: str) -> Row:
    return {"type": f"end_{kind}"}


def metadata() -> list[Row]:
    return [q(kind, kind) for kind in ("start", "end", "today", "deviceid", "username")]


def from_plot(prop: str, ref: str = "plot") -> str:
    """XPath of a property of the plot chosen in ``${ref}`` (the ``plots`` entity list)."""
    return f"instance('plots')/root/item[name=${{{ref}}}]/{prop}"


def prefilled(row: Row, prop: str, ref: str = "plot") -> Row:
    """``row`` filled from the chosen plot's property when the plot is chosen (still editable)."""
    return {**row, "trigger": f"${{{ref}}}", "calculation": from_plot(prop, ref)}


def choice(list_name: str, name: str, th: str, en: str, **extra: str) -> Row:
    return {"list_name": list_name, "name": name, f"label::{TH}": th, f"label::{EN}": en, **extra}


# --- shared parts ---------------------------------------------------------------------------------------

PROGRAMME_CHOICES = [
    choice(
        "programme",
        "leader_2563",
        "โครงการเสริมสร้างและพัฒนาผู้นำการเปลี่ยนแปลง ปี ๒๕๖๓",
        "Change leader development project, 2563 (2020)",
    ),
    choice(
        "programme",
        "covid_loan",
        "โครงการภายใต้งบประมาณเงินกู้โควิด-๑๙ เพื่อฟื้นฟูเศรษฐกิจฐานราก",
        "COVID-19 loan-funded project to restore the grassroots economy",
    ),
    choice(
        "programme",
        "sufficiency_village_2564",
        "โครงการพัฒนาหมู่บ้านเศรษฐกิจพอเพียง ปี ๒๕๖๔",
        "Sufficiency economy village development project, 2564 (2021)",
    ),
    choice(
        "programme",
        "sufficiency_village_2565",
        "โครงการพัฒนาหมู่บ้านเศรษฐกิจพอเพียง ปี ๒๕๖๕",
        "Sufficiency economy village development project, 2565 (2022)",
    ),
    choice(
        "programme",
        "sufficiency_village_2566",
        "โครงการพัฒนาหมู่บ้านเศรษฐกิจพอเพียง ปี ๒๕๖๖",
        "Sufficiency economy village development project, 2566 (2023)",
    ),
]
MODEL_CHOICES = [
    choice("model", "HLM", "ครัวเรือนต้นแบบ (HLM)", "Household Lab Model (HLM)"),
    choice("model", "CLM", "พื้นที่เรียนรู้ชุมชนต้นแบบ (CLM)", "Community Lab Model (CLM)"),
]
SIZE_CHOICES = [
    choice("size_class", "1", "๑ ไร่", "1 rai"),
    choice("size_class", "3", "๓ ไร่", "3 rai"),
    choice("size_class", "15", "๑๕ ไร่", "15 rai"),
    choice("size_class", "other", "อื่นๆ (ระบุ)", "Other (specify)"),
]
YES_NO_CHOICES = [choice("yes_no", "yes", "มี", "Yes"), choice("yes_no", "no", "ไม่มี", "No")]

PHONE = {
    "constraint": "regex(., '^0[0-9]{8,9}$')",
    "msg": ("เบอร์โทรต้องเป็นตัวเลข 9–10 หลัก ขึ้นต้นด้วย 0", "The phone number must be 9–10 digits starting with 0"),
    "hint": (
        "ตัวเลข 9–10 หลัก ขึ้นต้นด้วย 0 ไม่ต้องเว้นวรรคหรือใส่ขีด เช่น 0812345678",
        "9–10 digits starting with 0, no spaces or dashes, e.g. 0812345678",
    ),
    "appearance": "numbers",
}


def pick_plot(*, required: bool = True) -> list[Row]:
    """The registered plot (``/data/plot``, an entity of ``plots``) and its label for instance names."""
    return [
        q(
            "select_one_from_file plots.csv",
            "plot",
            "แปลงพื้นที่ต้นแบบ",
            "Plot",
            hint=(
                "เลือกแปลงที่ลงทะเบียนแล้ว (เจ้าของแปลง – หมู่ที่ หมู่บ้าน ตำบล – ขนาด)",
                "Choose a registered plot (owner – village, tambon – size)",
            ),
            required="yes" if required else None,
            appearance="autocomplete",
        ),
        q("calculate", "plot_label", calculation=f"if(${{plot}} != '', {from_plot('label')}, '')"),
    ]


def address(*, required: bool = True, prefill: str | None = None) -> list[Row]:
    """Province → amphoe → tambon as coded cascading selects on the generated area CSVs."""
    req = "yes" if required else None
    rows = [
        q(
            "select_one_from_file provinces.csv",
            "province",
            "จังหวัด",
            "Province",
            required=req,
            appearance="autocomplete",
        ),
        q(
            "select_one_from_file amphoes.csv",
            "amphoe",
            "อำเภอ",
            "District (amphoe)",
            required=req,
            choice_filter="province=${province}",
        ),
        q(
            "select_one_from_file tambons.csv",
            "tambon",
            "ตำบล",
            "Sub-district (tambon)",
            required=req,
            choice_filter="amphoe=${amphoe}",
        ),
    ]
    if prefill:
        rows = [prefilled(r, r["name"], prefill) for r in rows]
    return rows


def area_names() -> list[Row]:
    """Thai names of the chosen province, amphoe and tambon (for labels and instance names)."""
    return [
        q(
            "calculate",
            f"{level}_name",
            calculation=f"if(${{{level}}} != '', instance('{file}')/root/item[name=${{{level}}}]/label, '')",
        )
        for level, file in (("province", "provinces"), ("amphoe", "amphoes"), ("tambon", "tambons"))
    ]


def photo_repeat(gate: str, repeat: str, photo: str, caption: str, th: str, en: str) -> list[Row]:
    """A มี / ไม่มี question, then a repeat of (photo, caption) opened only by มี."""
    return [
        q(
            "select_one yes_no",
            gate,
            "มีภาพถ่ายหรือไม่" if gate != "has_more_photos" else "มีภาพถ่ายเพิ่มเติมหรือไม่",
            "Are there photos to add?" if gate != "has_more_photos" else "Are there more photos to add?",
            required="yes",
        ),
        q(
            "begin_repeat",
            repeat,
            th,
            en,
            hint=("ถ่ายทีละภาพ พร้อมคำอธิบาย", "One photo at a time, with a caption"),
            relevant=f"${{{gate}}} = 'yes'",
        ),
        q("image", photo, "ภาพถ่าย", "Photo", required="yes", parameters="max-pixels=1600"),
        q("text", caption, "คำอธิบายภาพ", "Caption"),
        end("repeat"),
    ]


# --- 1. plot survey -------------------------------------------------------------------------------------


def plot_survey() -> tuple[list[Row], list[Row], list[Row], list[Row] | None]:
    size_text = "if(${size_class} = 'other', concat(${other_rai}, '-', ${other_ngan}, '-', ${other_wa}), ${size_class})"
    survey = [
        *metadata(),
        q(
            "select_one survey_kind",
            "survey_kind",
            "การสำรวจครั้งนี้",
            "This survey is",
            hint=(
                "แปลงที่ลงทะเบียนแล้วให้เลือก สำรวจซ้ำ ข้อมูลของแปลงจะถูกปรับปรุง ไม่เกิดแปลงซ้ำ",
                "For a plot already registered choose re-survey: the plot is updated, not registered twice",
            ),
            required="yes",
        ),
        q(
            "select_one_from_file plots.csv",
            "existing_plot",
            "แปลงที่ลงทะเบียนแล้ว",
            "Registered plot",
            hint=("ข้อมูลเดิมของแปลงจะถูกกรอกให้ แก้ไขได้", "The plot's registered details are filled in; edit them"),
            required="yes",
            relevant="${survey_kind} = 'resurvey'",
            appearance="autocomplete",
        ),
        q("calculate", "new_plot_id", calculation="once(uuid())"),
        q(
            "calculate",
            "plot_id",
            calculation="if(${survey_kind} = 'resurvey', ${existing_plot}, ${new_plot_id})",
        ),
        prefilled(
            q(
                "select_one programme",
                "programme",
                "พื้นที่ที่ดำเนินกิจกรรม (โครงการ)",
                "Programme the plot belongs to",
                hint=("เลือกโครงการที่แปลงนี้ได้รับการสนับสนุน", "Choose the programme that funded this plot"),
                required="yes",
                save_to="programme",
            ),
            "programme",
            "existing_plot",
        ),
        prefilled(
            q(
                "select_one model",
                "model",
                "รูปแบบพื้นที่ต้นแบบ",
                "Model",
                hint=(
                    "HLM ระดับครัวเรือน (๑ ไร่ หรือ ๓ ไร่) / CLM ระดับตำบล (๑๕ ไร่)",
                    "HLM: household plot (1 or 3 rai); CLM: sub-district plot (15 rai)",
                ),
                required="yes",
                save_to="model",
            ),
            "model",
            "existing_plot",
        ),
        prefilled(
            q(
                "select_one size_class",
                "size_class",
                "ขนาดพื้นที่ดำเนินการ",
                "Size of the plot",
                required="yes",
                save_to="size_class",
            ),
            "size_class",
            "existing_plot",
        ),
        q(
            "integer",
            "other_rai",
            "ขนาดพื้นที่ (ระบุ): ไร่",
            "Plot area (specify): rai",
            hint=("ใส่จำนวนไร่ (ใส่ 0 ถ้าไม่ถึง ๑ ไร่)", "Whole rai (enter 0 if less than 1 rai)"),
            required="yes",
            relevant="${size_class} = 'other'",
            constraint=". >= 0",
            msg=("จำนวนไร่ต้องไม่ติดลบ", "Rai cannot be negative"),
        ),
        q(
            "integer",
            "other_ngan",
            "ขนาดพื้นที่ (ระบุ): งาน",
            "Plot area (specify): ngan",
            hint=("๑ ไร่ = ๔ งาน ใส่ 0–3", "1 rai = 4 ngan; enter 0–3"),
            required="yes",
            relevant="${size_class} = 'other'",
            constraint=". >= 0 and . <= 3",
            msg=("งานต้องอยู่ระหว่าง 0 ถึง 3", "Ngan must be between 0 and 3"),
        ),
        q(
            "decimal",
            "other_wa",
            "ขนาดพื้นที่ (ระบุ): ตารางวา",
            "Plot area (specify): square wa",
            hint=("๑ งาน = ๑๐๐ ตารางวา ใส่ 0–99.99", "1 ngan = 100 square wa; enter 0–99.99"),
            required="yes",
            relevant="${size_class} = 'other'",
            constraint=". >= 0 and . <= 99.99 and (${other_rai} > 0 or ${other_ngan} > 0 or . > 0)",
            msg=(
                "ตารางวาต้องอยู่ระหว่าง 0 ถึง 99.99 และขนาดพื้นที่รวมต้องมากกว่า 0",
                "Square wa must be between 0 and 99.99, and the total area must be more than 0",
            ),
        ),
        q("calculate", "size_text", calculation=size_text),
        prefilled(
            q(
                "select_one learning_centre",
                "learning_centre",
                "แปลงนี้เป็นศูนย์เรียนรู้ของอำเภอหรือไม่",
                "Is this plot a learning centre of the district?",
                hint=(
                    "อำเภอคัดเลือกพื้นที่ต้นแบบเป็นศูนย์เรียนรู้ อย่างน้อยอำเภอละ ๑ แห่ง",
                    "The district selects model plots as learning centres, at least one per district",
                ),
                required="yes",
                save_to="learning_centre",
            ),
            "learning_centre",
            "existing_plot",
        ),
        q("begin_group", "owner", "สถานที่ดำเนินการและเจ้าของแปลง", "Plot owner and address"),
        prefilled(
            q(
                "text",
                "owner_name",
                "ชื่อเจ้าของแปลง",
                "Plot owner's name",
                hint=("ชื่อ-นามสกุล", "First name and surname"),
                required="yes",
                save_to="owner_name",
            ),
            "owner_name",
            "existing_plot",
        ),
        prefilled(
            q("text", "owner_phone", "เบอร์โทร", "Phone number", required="yes", save_to="owner_phone", **PHONE),
            "owner_phone",
            "existing_plot",
        ),
        prefilled(
            q(
                "text",
                "house_no",
                "บ้านเลขที่",
                "House number",
                hint=("เช่น 12 หรือ 45/1", "e.g. 12 or 45/1"),
                save_to="house_no",
            ),
            "house_no",
            "existing_plot",
        ),
        prefilled(
            q(
                "integer",
                "village_no",
                "หมู่ที่",
                "Village number (mu)",
                required="yes",
                constraint=". >= 1 and . <= 99",
                msg=("หมู่ที่ต้องอยู่ระหว่าง 1 ถึง 99", "The village number must be between 1 and 99"),
                save_to="village_no",
            ),
            "village_no",
            "existing_plot",
        ),
        prefilled(
            q(
                "text",
                "village_name",
                "ชื่อหมู่บ้าน",
                "Village name",
                hint=("เช่น บ้านหนองแวง", "e.g. Ban Nong Waeng"),
                required="yes",
                save_to="village_name",
            ),
            "village_name",
            "existing_plot",
        ),
        *[{**r, "save_to": r["name"]} for r in address(prefill="existing_plot")],
        *area_names(),
        end("group"),
        q(
            "calculate",
            "plot_label",
            calculation=(
                "concat(${owner_name}, ' – ม.', ${village_no}, ' ', ${village_name}, ' ต.', ${tambon_name}, "
                "' – ', ${size_text}, ' ไร่')"
            ),
        ),
        prefilled(
            q(
                "geoshape",
                "boundary",
                "ขอบเขตแปลง",
                "Plot boundary",
                hint=(
                    "เดินรอบแปลงหรือแตะที่มุมแปลงบนแผนที่ให้ครบทุกมุม (สำรวจซ้ำ: ขอบเขตเดิมแสดงอยู่ แก้ไขได้)",
                    "Walk around the plot, or tap every corner of the plot on the map (re-survey: the registered "
                    "boundary is shown and can be edited)",
                ),
                required="yes",
                save_to="geometry",
            ),
            "geometry",
            "existing_plot",
        ),
        q(
            "geopoint",
            "location",
            "ตำแหน่งแปลง (เช่น ทางเข้าแปลง)",
            "Plot location (e.g. the entrance)",
            hint=("ยืนที่ทางเข้าแปลงแล้วบันทึกพิกัด", "Stand at the plot entrance and record the point"),
            required="yes",
        ),
        q(
            "select_one yes_no",
            "has_parts",
            "ในแปลงมีโคก หนอง หรือนา ที่ทำแล้วหรือไม่",
            "Does the plot already have a khok, pond or paddy?",
            hint=('ตอบ "มี" เพื่อวาดขอบเขตของแต่ละส่วน', 'Answer "Yes" to draw the outline of each part'),
            required="yes",
        ),
        q(
            "begin_repeat",
            "parts",
            "องค์ประกอบของแปลง (โคก หนอง นา)",
            "Parts of the plot (khok, pond, paddy)",
            hint=("วาดทีละส่วน เช่น หนองแต่ละบ่อ", "One part at a time, e.g. each pond separately"),
            relevant="${has_parts} = 'yes'",
        ),
        q("select_one part_type", "part_type", "ประเภท", "Type", required="yes"),
        q("geoshape", "part_shape", "ขอบเขตของส่วนนี้", "Outline of this part", required="yes"),
        end("repeat"),
        q(
            "select_one yes_no",
            "has_swales",
            "ในแปลงมีคลองไส้ไก่หรือไม่",
            "Does the plot have a swale (khlong sai kai)?",
            required="yes",
        ),
        q(
            "begin_repeat",
            "swales",
            "คลองไส้ไก่",
            "Swales (khlong sai kai)",
            hint=("วาดทีละเส้น", "One line at a time"),
            relevant="${has_swales} = 'yes'",
        ),
        q("geotrace", "swale_line", "แนวคลองไส้ไก่", "Swale line", required="yes"),
        end("repeat"),
        q(
            "select_one yes_no",
            "has_bunds",
            "ในแปลงมีคันนาทองคำหรือไม่",
            "Does the plot have a golden bund (khan na thong kham)?",
            required="yes",
        ),
        q(
            "begin_repeat",
            "bunds",
            "คันนาทองคำ",
            "Golden bunds (khan na thong kham)",
            hint=("วาดทีละเส้น", "One line at a time"),
            relevant="${has_bunds} = 'yes'",
        ),
        q("geotrace", "bund_line", "แนวคันนาทองคำ", "Golden bund line", required="yes"),
        end("repeat"),
        q(
            "image",
            "photo_overview",
            "ภาพรวมแปลง",
            "Overview photo of the plot",
            hint=("ถ่ายให้เห็นแปลงทั้งแปลงมากที่สุด", "Show as much of the plot as possible"),
            required="yes",
            parameters="max-pixels=1600",
        ),
        *photo_repeat("has_more_photos", "photos", "photo", "photo_caption", "ภาพถ่ายเพิ่มเติม", "More photos"),
        q("text", "notes", "หมายเหตุ", "Notes", appearance="multiline"),
    ]
    choices = [
        *PROGRAMME_CHOICES,
        *MODEL_CHOICES,
        *SIZE_CHOICES,
        *YES_NO_CHOICES,
        choice("part_type", "khok", "โคก", "Khok (mound)"),
        choice("part_type", "pond", "หนอง", "Nong (pond)"),
        choice("part_type", "paddy", "นา", "Na (rice paddy)"),
        choice("learning_centre", "yes", "เป็นศูนย์เรียนรู้", "Yes, a learning centre"),
        choice("learning_centre", "no", "ไม่เป็นศูนย์เรียนรู้", "No"),
        choice("survey_kind", "new", "ลงทะเบียนแปลงใหม่", "Registering a new plot"),
        choice("survey_kind", "resurvey", "สำรวจซ้ำแปลงที่ลงทะเบียนแล้ว", "A re-survey of a registered plot"),
    ]
    settings = [
        {
            "form_title": "สำรวจและลงทะเบียนแปลง โคก หนอง นา / Khok Nong Na plot survey",
            "form_id": "plot_survey",
            "version": "2026120501",
            "default_language": TH,
            "instance_name": "${plot_label}",
        }
    ]
    entities = [
        {
            "list_name": "plots",
            "entity_id": "${plot_id}",
            "create_if": "${survey_kind} = 'new'",
            "update_if": "${survey_kind} = 'resurvey'",
            "label": "${plot_label}",
        }
    ]
    return survey, choices, settings, entities


# --- 2. socio-geographic change -------------------------------------------------------------------------


def socio_change() -> tuple[list[Row], list[Row], list[Row], None]:
    count = {"constraint": ". >= 0", "msg": ("ต้องไม่ติดลบ", "Cannot be negative")}
    baht = {"constraint": ". >= 0", "msg": ("จำนวนเงินต้องไม่ติดลบ", "The amount cannot be negative")}
    survey = [
        *metadata(),
        *pick_plot(),
        q(
            "date",
            "visit_date",
            "วันที่สำรวจ",
            "Date of the visit",
            required="yes",
            default="today()",
            constraint=". <= today()",
            msg=("วันที่สำรวจต้องไม่เกินวันนี้", "The visit cannot be in the future"),
        ),
        q("begin_group", "water", "น้ำในหนอง", "Water in the ponds"),
        q(
            "select_one water_level",
            "pond_water_level",
            "ระดับน้ำในหนองวันนี้",
            "Water level in the ponds today",
            required="yes",
        ),
        q(
            "integer",
            "water_months",
            "น้ำในหนองพอใช้ได้กี่เดือนต่อปี",
            "For how many months a year does the pond water last?",
            constraint=". >= 0 and . <= 12",
            msg=("ใส่ 0–12 เดือน", "Enter 0–12 months"),
        ),
        q(
            "select_multiple water_use",
            "water_use",
            "ใช้น้ำจากหนองเพื่อ",
            "Pond water is used for",
        ),
        end("group"),
        q("begin_group", "soil", "การดูแลดิน", "Soil care"),
        q(
            "select_multiple soil_care",
            "soil_care",
            "การดูแลดินที่ทำในแปลง",
            "Soil care done on the plot",
            hint=("เลือกได้หลายข้อ", "Choose all that apply"),
        ),
        q(
            "select_one yes_no_use",
            "chemicals_used",
            "ใช้สารเคมี (ปุ๋ยเคมี ยาฆ่าแมลง ยาฆ่าหญ้า) ในแปลงหรือไม่",
            "Are chemicals (fertiliser, insecticide, herbicide) used on the plot?",
            required="yes",
        ),
        end("group"),
        q(
            "begin_group",
            "trees",
            "ป่า ๓ อย่าง ประโยชน์ ๔ อย่าง",
            "Three forests, four benefits",
        ),
        q("integer", "trees_use", "ไม้ใช้สอย (จำนวนต้นโดยประมาณ)", "Trees for use (approximate count)", **count),
        q("integer", "trees_food", "ไม้กิน (จำนวนต้นโดยประมาณ)", "Trees for food (approximate count)", **count),
        q(
            "integer",
            "trees_economic",
            "ไม้เศรษฐกิจ (จำนวนต้นโดยประมาณ)",
            "Trees for income (approximate count)",
            **count,
        ),
        q(
            "select_multiple benefit",
            "tree_benefits",
            "ประโยชน์ ๔ อย่างที่ได้จากแปลง",
            "Which of the four benefits does the plot give?",
        ),
        end("group"),
        q("begin_group", "farming", "พืช สัตว์ และผลผลิต", "Crops, animals and produce"),
        q(
            "text",
            "crops",
            "พืชที่ปลูกในแปลง",
            "Crops grown on the plot",
            hint=("เช่น ข้าว พืชผักสวนครัว ไม้ผล สมุนไพร", "e.g. rice, vegetables, fruit trees, herbs"),
            appearance="multiline",
        ),
        q("select_multiple animal", "animals", "สัตว์ที่เลี้ยง", "Animals raised"),
        q(
            "text",
            "animals_other",
            "สัตว์อื่นๆ (ระบุ)",
            "Other animals (specify)",
            required="yes",
            relevant="selected(${animals}, 'other')",
        ),
        q(
            "text",
            "produce",
            "ผลผลิตที่ได้จากแปลงตั้งแต่การสำรวจครั้งก่อน",
            "Produce from the plot since the last visit",
            appearance="multiline",
        ),
        q("select_multiple produce_use", "produce_use", "นำผลผลิตไปใช้อย่างไร", "What is done with the produce"),
        end("group"),
        q("begin_group", "money", "รายได้และการออม", "Income and savings"),
        q(
            "decimal",
            "income_baht",
            "รายได้จากแปลงในเดือนที่ผ่านมา (บาท)",
            "Income from the plot in the past month (baht)",
            **baht,
        ),
        q(
            "decimal",
            "expense_saved_baht",
            "รายจ่ายที่ลดได้ในเดือนที่ผ่านมา (บาท)",
            "Spending saved in the past month (baht)",
            hint=("เช่น ไม่ต้องซื้ออาหารหรือปุ๋ย", "e.g. food or fertiliser no longer bought"),
            **baht,
        ),
        q("decimal", "savings_baht", "เงินออมในเดือนที่ผ่านมา (บาท)", "Savings in the past month (baht)", **baht),
        end("group"),
        q("begin_group", "people", "คนในแปลงและการเอามื้อสามัคคี", "People and community work days"),
        q(
            "integer",
            "people_living",
            "จำนวนคนที่อยู่อาศัยหรือทำกินในแปลง",
            "People who live or make a living on the plot",
            **count,
        ),
        q(
            "integer",
            "aomue_times",
            "จำนวนครั้งที่จัดเอามื้อสามัคคีตั้งแต่การสำรวจครั้งก่อน",
            "Community work days (เอามื้อสามัคคี) held since the last visit",
            **count,
        ),
        q(
            "integer",
            "aomue_volunteers",
            "จำนวนจิตอาสาที่มาร่วมเอามื้อสามัคคี (คน)",
            "Volunteers who came to the community work days",
            relevant="${aomue_times} > 0",
            **count,
        ),
        end("group"),
        q("text", "problems", "ปัญหาและอุปสรรค", "Problems", appearance="multiline"),
        q("text", "needs", "ความต้องการการสนับสนุน", "Support needed", appearance="multiline"),
        q(
            "begin_repeat",
            "photo_points",
            "จุดถ่ายภาพประจำ",
            "Fixed photo points",
            hint=(
                "ถ่ายจากจุดเดิมและหันไปทิศเดิมทุกครั้ง เพื่อเปรียบเทียบก่อน–หลัง",
                "Stand on the same spot and face the same way every visit, so that before and after compare",
            ),
        ),
        q(
            "integer",
            "point_no",
            "หมายเลขจุดถ่ายภาพ",
            "Photo point number",
            hint=("ใช้หมายเลขเดิมของจุดนี้ทุกครั้ง", "Use this point's number every time"),
            required="yes",
            constraint=". >= 1",
            msg=("หมายเลขจุดเริ่มที่ 1", "Point numbers start at 1"),
        ),
        q("geopoint", "point_location", "ตำแหน่งจุดถ่ายภาพ", "Location of the photo point", required="yes"),
        q(
            "decimal",
            "point_bearing",
            "ทิศที่หันกล้อง (องศาจากทิศเหนือ)",
            "Camera bearing (degrees from north)",
            hint=("หันกล้องไปทิศที่จะถ่ายแล้ววัดทิศ", "Point the phone where the photo looks and record the bearing"),
            required="yes",
            constraint=". >= 0 and . < 360",
            msg=("ทิศต้องอยู่ระหว่าง 0 ถึงน้อยกว่า 360 องศา", "The bearing must be from 0 to less than 360 degrees"),
            appearance="bearing",
        ),
        q(
            "image",
            "point_photo",
            "ภาพถ่ายจากจุดนี้",
            "Photo from this point",
            required="yes",
            parameters="max-pixels=1600",
        ),
        q("text", "point_caption", "คำอธิบายภาพ", "Caption"),
        end("repeat"),
        q("text", "notes", "หมายเหตุ", "Notes", appearance="multiline"),
    ]
    choices = [
        choice("water_level", "dry", "แห้ง", "Dry"),
        choice("water_level", "low", "น้อยกว่าครึ่งหนอง", "Less than half full"),
        choice("water_level", "half", "ประมาณครึ่งหนอง", "About half full"),
        choice("water_level", "full", "เกือบเต็มหรือเต็มหนอง", "Nearly full or full"),
        choice("water_use", "rice", "ทำนา", "Rice"),
        choice("water_use", "crops", "ปลูกพืช", "Crops"),
        choice("water_use", "animals", "เลี้ยงสัตว์", "Animals"),
        choice("water_use", "fish", "เลี้ยงปลา", "Fish"),
        choice("water_use", "household", "ใช้ในครัวเรือน", "Household"),
        choice("soil_care", "mulching", "ห่มดิน", "Mulching (ห่มดิน)"),
        choice("soil_care", "compost", "ทำปุ๋ยหมัก", "Compost"),
        choice("soil_care", "bio_extract", "ทำน้ำหมักชีวภาพ", "Bio-extract (fermented liquid)"),
        choice("soil_care", "manure", "ใช้ปุ๋ยคอก", "Manure"),
        choice("soil_care", "green_manure", "ปลูกพืชบำรุงดิน", "Green manure"),
        choice("yes_no_use", "no", "ไม่ใช้", "No"),
        choice("yes_no_use", "yes", "ใช้", "Yes"),
        choice("benefit", "food", "พอกิน", "Enough to eat"),
        choice("benefit", "use", "พอใช้", "Enough to use"),
        choice("benefit", "shelter", "พออยู่", "Enough to live in"),
        choice("benefit", "ecology", "พอร่มเย็น", "Shade and a healthy environment"),
        choice("animal", "chicken", "ไก่", "Chickens"),
        choice("animal", "duck", "เป็ด", "Ducks"),
        choice("animal", "pig", "หมู", "Pigs"),
        choice("animal", "cattle", "วัวหรือควาย", "Cattle or buffalo"),
        choice("animal", "fish", "ปลา", "Fish"),
        choice("animal", "frog", "กบ", "Frogs"),
        choice("animal", "other", "อื่นๆ", "Other"),
        choice("produce_use", "eat", "กินในครัวเรือน", "Eaten at home"),
        choice("produce_use", "share", "แบ่งปัน", "Shared"),
        choice("produce_use", "sell", "ขาย", "Sold"),
        choice("produce_use", "process", "แปรรูป", "Processed"),
        choice("produce_use", "seed", "เก็บพันธุ์", "Kept as seed"),
    ]
    settings = [
        {
            "form_title": "ข้อมูลการเปลี่ยนแปลงทางด้านภูมิสังคม / Socio-geographic change",
            "form_id": "socio_change",
            "version": "2026112101",
            "default_language": TH,
            "instance_name": "concat(${plot_label}, ' – ', ${visit_date})",
        }
    ]
    return survey, choices, settings, None


# --- 3. monthly activity report -------------------------------------------------------------------------

STRATEGY_CHOICES = [
    choice("strategy", "place", "การพัฒนาพื้นที่ต้นแบบ : Place", "Place: developing the plot"),
    choice("strategy", "people", "การพัฒนากลไกและเครือข่าย : People", "People: mechanisms and networks"),
    choice("strategy", "product", "การพัฒนาผลผลิตและผลิตภัณฑ์ : Product", "Product: produce and products"),
    choice("strategy", "promotion", "การส่งเสริมการตลาด : Promotion", "Promotion: marketing"),
    choice("strategy", "pass_on", "ขยายผลและเผยแพร่ : Pass on Perfect", "Pass on Perfect: extension and dissemination"),
]
SUB_STRATEGY_CHOICES = [
    choice("sub_strategy", "repair", "ซ่อม", "Repair", strategy="place"),
    choice("sub_strategy", "enrich", "เสริม", "Enrich", strategy="place"),
    choice("sub_strategy", "build", "สร้าง", "Build", strategy="place"),
    choice("sub_strategy", "guru", "ครูพาทำ", "Gurus (ครูพาทำ)", strategy="people"),
    choice("sub_strategy", "cluster", "คลัสเตอร์ (Cluster)", "Cluster", strategy="people"),
    choice("sub_strategy", "youth", "เยาวชน คน “โคก หนอง นา” (Start Up)", "Youth start-up", strategy="people"),
    choice("sub_strategy", "safe_produce", "ผลผลิตปลอดภัย", "Safe produce", strategy="product"),
    choice("sub_strategy", "save_share", "ออมและแบ่งปัน", "Saving and sharing", strategy="product"),
    choice(
        "sub_strategy",
        "processing",
        "แปรรูปและพัฒนาผลิตภัณฑ์",
        "Processing and product development",
        strategy="product",
    ),
    choice("sub_strategy", "market_community", "ระดับชุมชน", "Community market", strategy="promotion"),
    choice("sub_strategy", "market_province", "ระดับจังหวัด", "Provincial market", strategy="promotion"),
    choice("sub_strategy", "market_national", "ระดับประเทศ", "National market", strategy="promotion"),
    choice("sub_strategy", "lessons", "ถอดบทเรียน", "Lessons learned", strategy="pass_on"),
    choice("sub_strategy", "dissemination", "เผยแพร่", "Dissemination", strategy="pass_on"),
    choice("sub_strategy", "extension", "ขยายผล", "Extension", strategy="pass_on"),
]
SECTOR_CHOICES = [
    choice("sector", "government", "ภาครัฐ", "Government"),
    choice("sector", "academia", "ภาควิชาการ", "Academia"),
    choice("sector", "religion", "ภาคศาสนา", "Religion"),
    choice("sector", "people", "ภาคประชาชน", "People"),
    choice("sector", "private", "ภาคเอกชน", "Private sector"),
    choice("sector", "civil_society", "ภาคประชาสังคม", "Civil society"),
    choice("sector", "media", "ภาคสื่อมวลชน", "Media"),
]

MIN_ACTIVITY_PHOTOS = 6


def activity_report() -> tuple[list[Row], list[Row], list[Row], None]:
    survey = [
        *metadata(),
        q(
            "date",
            "report_month",
            "ประจำเดือน",
            "Month reported",
            hint=("เดือนและปีที่ดำเนินกิจกรรม", "Month and year of the activity"),
            required="yes",
            default="today()",
            appearance="month-year",
        ),
        *pick_plot(),
        q(
            "note",
            "plot_note",
            "ข้อมูลของแปลงถูกกรอกให้จากทะเบียนแปลง ตรวจสอบและแก้ไขได้",
            "The plot's details are filled in from the plot register; check and correct them",
        ),
        prefilled(
            q(
                "select_one programme",
                "programme",
                "๑. พื้นที่ที่ดำเนินกิจกรรม",
                "1. Programme of the plot",
                required="yes",
            ),
            "programme",
        ),
        prefilled(q("select_one model", "model", "รูปแบบพื้นที่ (HLM / CLM)", "Model (HLM / CLM)", required="yes"), "model"),
        prefilled(
            q("select_one size_class", "size_class", "๒. ขนาดพื้นที่ดำเนินการ", "2. Size of the plot", required="yes"),
            "size_class",
        ),
        q(
            "decimal",
            "other_size_rai",
            "อื่นๆ (ระบุ) ไร่",
            "Other size (specify), rai",
            required="yes",
            relevant="${size_class} = 'other'",
            constraint=". > 0",
            msg=("ขนาดพื้นที่ต้องมากกว่า 0", "The size must be more than 0"),
        ),
        q("begin_group", "place", "๓. สถานที่ดำเนินการ", "3. Place of the activity"),
        prefilled(q("text", "owner_name", "ชื่อเจ้าของแปลง", "Plot owner's name", required="yes"), "owner_name"),
        prefilled(q("text", "house_no", "บ้านเลขที่", "House number"), "house_no"),
        prefilled(
            q(
                "integer",
                "village_no",
                "หมู่ที่",
                "Village number (mu)",
                required="yes",
                constraint=". >= 1 and . <= 99",
                msg=("หมู่ที่ต้องอยู่ระหว่าง 1 ถึง 99", "The village number must be between 1 and 99"),
            ),
            "village_no",
        ),
        *address(prefill="plot"),
        prefilled(q("text", "owner_phone", "เบอร์โทร", "Phone number", required="yes", **PHONE), "owner_phone"),
        end("group"),
        q("begin_group", "activity", "๔. กิจกรรมที่ดำเนินการ", "4. Activity"),
        q("text", "activity_name", "ชื่อกิจกรรม", "Name of the activity", required="yes"),
        q(
            "text",
            "activity_details",
            "รายละเอียดกิจกรรม",
            "Details of the activity",
            hint=(
                "เช่น กิจกรรมการเยี่ยมชม/ศึกษาดูงานศูนย์เรียนรู้ หรือ กิจกรรมอื่นๆ",
                "e.g. a visit or study tour of the learning centre, or another activity",
            ),
            required="yes",
            appearance="multiline",
        ),
        q(
            "select_one strategy",
            "strategy_5p",
            "กลยุทธ์การพัฒนา (5P) ของกิจกรรม",
            "Development strategy (5P) of the activity",
            required="yes",
        ),
        q(
            "select_one sub_strategy",
            "sub_strategy",
            "แนวทางภายใต้กลยุทธ์",
            "Line of work within the strategy",
            required="yes",
            choice_filter="strategy=${strategy_5p}",
        ),
        q(
            "select_multiple sector",
            "sectors",
            "ภาคีที่ร่วมกิจกรรม (๗ ภาคส่วน)",
            "Partners taking part (of the 7 sectors)",
            hint=("เลือกได้หลายข้อ", "Choose all that apply"),
            required="yes",
        ),
        end("group"),
        q(
            "begin_repeat",
            "activity_photos",
            "๕. ภาพกิจกรรม (อย่างน้อย ๖ ภาพ)",
            "5. Photos of the activity (at least 6)",
            hint=("ถ่ายทีละภาพ กด เพิ่ม จนครบอย่างน้อย ๖ ภาพ", "One photo at a time; add until there are at least 6"),
        ),
        q("image", "activity_photo", "ภาพกิจกรรม", "Photo", required="yes", parameters="max-pixels=1600"),
        q("text", "activity_photo_caption", "คำอธิบายภาพ", "Caption"),
        end("repeat"),
        q("calculate", "photo_count", calculation="count(${activity_photo})"),
        q(
            "acknowledge",
            "photos_checked",
            "ภาพกิจกรรม ${photo_count} ภาพ (ต้องมีอย่างน้อย ๖ ภาพ)",
            "${photo_count} photos of the activity (at least 6 are needed)",
            required="yes",
            constraint=f"count(${{activity_photo}}) >= {MIN_ACTIVITY_PHOTOS}",
            msg=(
                "ภาพกิจกรรมต้องมีอย่างน้อย ๖ ภาพ กลับไปเพิ่มภาพในข้อ ๕",
                "At least 6 photos are needed: go back to item 5 and add photos",
            ),
        ),
        q(
            "begin_group",
            "publicity",
            "๖. ช่องทางประชาสัมพันธ์ (Link website, facebook, clip vdo, อื่นๆ)",
            "6. Publicity (links: website, Facebook, video clip, other)",
        ),
        q("text", "link_website", "Link website", "Website link", appearance="url"),
        q("text", "link_facebook", "Link facebook", "Facebook link", appearance="url"),
        q("text", "link_video", "Link clip vdo", "Video clip link", appearance="url"),
        q("text", "link_other", "อื่นๆ", "Other", appearance="multiline"),
        end("group"),
        q("begin_group", "reporter", "ผู้รายงาน", "Reporter"),
        q(
            "image",
            "reporter_signature",
            "ลงชื่อ ผู้รายงาน",
            "Reporter's signature",
            appearance="signature",
            parameters="max-pixels=1600",
        ),
        q("text", "reporter_name", "ชื่อ-นามสกุลผู้รายงาน", "Reporter's name", required="yes"),
        q("text", "reporter_position", "ตำแหน่ง", "Position", required="yes"),
        q("date", "report_date", "วันที่", "Date", required="yes", default="today()"),
        end("group"),
    ]
    choices = [
        *PROGRAMME_CHOICES,
        *MODEL_CHOICES,
        *SIZE_CHOICES,
        *STRATEGY_CHOICES,
        *SUB_STRATEGY_CHOICES,
        *SECTOR_CHOICES,
    ]
    settings = [
        {
            "form_title": "แบบรายงานโครงการพัฒนาพื้นที่ต้นแบบ โคก หนอง นา ประจำเดือน / Monthly activity report",
            "form_id": "activity_report",
            "version": "2026112101",
            "default_language": TH,
            "instance_name": "concat(${plot_label}, ' – ', ${activity_name}, ' – ', substr(${report_month}, 0, 7))",
        }
    ]
    return survey, choices, settings, None


# --- 4. daily work log ----------------------------------------------------------------------------------

DUTY_CHOICES = [
    choice(
        "duty",
        "improve_plot",
        "วางแผน ปรับปรุงสภาพแวดล้อมพื้นที่ตามแบบมาตรฐาน โคก หนอง นา โมเดล",
        "Plan and improve the plot to the Khok Nong Na standard design",
    ),
    choice(
        "duty",
        "natural_farming",
        "ทำงานตามหลักการทำเกษตรแบบพึ่งพิงธรรมชาติ (ปรับปรุงดิน ดูแลระบบน้ำ ปลูกพืช เลี้ยงสัตว์) โดยไม่ใช้สารเคมี",
        "Natural farming (soil, water, crops, animals) without chemicals",
    ),
    choice(
        "duty",
        "learning_centre",
        "พัฒนาศูนย์การเรียนรู้เพื่อการพึ่งตนเอง และจัดทำสื่อเรียนรู้ประจำฐาน",
        "Develop the self-reliance learning centre and the media of its learning bases",
    ),
    choice(
        "duty",
        "teach_base",
        "เป็นวิทยากรประจำฐานการเรียนรู้เพื่อการพึ่งตนเอง",
        "Teach at a learning base",
    ),
    choice(
        "duty",
        "socio_survey",
        "สำรวจและจัดเก็บข้อมูลการเปลี่ยนแปลงทางด้านภูมิสังคม ผ่านระบบ Digital Platform",
        "Survey and record socio-geographic change on the digital platform",
    ),
    choice(
        "duty",
        "coordinate",
        "ประสานงานการดำเนินงานโครงการร่วมกับภาคีเครือข่าย",
        "Coordinate the project with partner networks",
    ),
    choice(
        "duty",
        "social_media",
        "สื่อสารสังคมให้ทราบถึงการดำเนินงานโครงการ ผ่านสื่อสังคมออนไลน์",
        "Tell the public about the project on social media",
    ),
    choice(
        "duty",
        "hlm_aomue",
        "หมุนเวียนไปร่วมเอามื้อกับครัวเรือนต้นแบบ เรียนรู้การเป็นครูพาทำ",
        "Join community work days (เอามื้อ) at household model plots; learn to be a guru",
    ),
    choice(
        "duty",
        "hlm_support",
        "สนับสนุนองค์ความรู้ แนะนำ ส่งเสริมครัวเรือนต้นแบบในการพัฒนาพื้นที่แปลงต้นแบบ",
        "Advise and support household model plots",
    ),
    choice(
        "duty",
        "publicity",
        "สื่อสารและประชาสัมพันธ์การดำเนินงานโครงการให้กับผู้สนใจ",
        "Inform interested people about the project",
    ),
    choice(
        "duty",
        "reporting",
        "จัดทำแผนการปฏิบัติงานและรายงานผลการดำเนินงาน",
        "Work plans and reports",
    ),
    choice(
        "duty",
        "other",
        "ปฏิบัติงานในหน้าที่อื่น ๆ ตามที่ได้รับมอบหมาย",
        "Other duties as assigned",
    ),
]


def daily_log() -> tuple[list[Row], list[Row], list[Row], None]:
    survey = [
        *metadata(),
        q("start-geopoint", "start_location"),
        q(
            "date",
            "work_date",
            "วันที่ปฏิบัติงาน",
            "Working day",
            required="yes",
            default="today()",
            constraint=". <= today()",
            msg=("วันที่ต้องไม่เกินวันนี้", "The date cannot be in the future"),
        ),
        q(
            "text",
            "developer_name",
            "ชื่อนักพัฒนาพื้นที่ต้นแบบ (นพต.)",
            "Field developer's name",
            required="yes",
        ),
        *pick_plot(),
        q(
            "select_multiple duty",
            "duties",
            "งานที่ปฏิบัติวันนี้",
            "Duties done today",
            hint=(
                "เรียงตามลำดับความสำคัญของแนวทางการปฏิบัติงานของ นพต. เลือกได้หลายข้อ",
                "In the order of priority of the field developer's duties; choose all that apply",
            ),
            required="yes",
        ),
        q(
            "text",
            "duty_other",
            "งานอื่นที่ได้รับมอบหมาย (ระบุ)",
            "Other duty (specify)",
            required="yes",
            relevant="selected(${duties}, 'other')",
        ),
        q(
            "text",
            "work_details",
            "รายละเอียดการปฏิบัติงาน",
            "What was done",
            required="yes",
            appearance="multiline",
        ),
        q(
            "decimal",
            "hours",
            "จำนวนชั่วโมงปฏิบัติงาน",
            "Hours worked",
            required="yes",
            constraint=". > 0 and . <= 24",
            msg=("ชั่วโมงต้องมากกว่า 0 และไม่เกิน 24", "Hours must be more than 0 and at most 24"),
        ),
        q("text", "problems", "ปัญหาอุปสรรค", "Problems", appearance="multiline"),
        *photo_repeat("has_photos", "photos", "photo", "photo_caption", "ภาพการปฏิบัติงาน", "Photos of the work"),
        q("text", "notes", "หมายเหตุ", "Notes", appearance="multiline"),
        q(
            "begin_group",
            "certification",
            "การรับรองของเจ้าของแปลง",
            "Certification by the plot owner",
        ),
        q(
            "note",
            "certification_note",
            "เจ้าของพื้นที่เป็นผู้รับรองข้อมูลทุกวันที่ปฏิบัติงาน",
            "The plot owner certifies the record on every working day",
        ),
        prefilled(
            q("text", "owner_name", "ชื่อเจ้าของแปลงผู้รับรอง", "Name of the certifying plot owner", required="yes"),
            "owner_name",
        ),
        q(
            "image",
            "owner_signature",
            "ลายมือชื่อเจ้าของแปลง",
            "Plot owner's signature",
            hint=("ให้เจ้าของแปลงลงชื่อบนหน้าจอ", "Hand the phone to the plot owner to sign"),
            required="yes",
            appearance="signature",
            parameters="max-pixels=1600",
        ),
        end("group"),
    ]
    settings = [
        {
            "form_title": "บันทึกการปฏิบัติงานประจำวัน นพต. / Field developer's daily work log",
            "form_id": "daily_log",
            "version": "2026112101",
            "default_language": TH,
            "instance_name": "concat(${work_date}, ' – ', ${developer_name}, ' – ', ${plot_label})",
        }
    ]
    return survey, [*DUTY_CHOICES, *YES_NO_CHOICES], settings, None


# --- 5. potential assessment ----------------------------------------------------------------------------

#: (name, Thai label, English label) of the scored items, 1–5 each, grouped by the 5P strategy.
ASSESSMENT_ITEMS: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "place": (
        "การพัฒนาพื้นที่ต้นแบบ : Place",
        "Place",
        [
            (
                "place_repair",
                "ซ่อม: องค์ประกอบทางกายภาพ โคก หนอง นา คลองไส้ไก่ คันนาทองคำ สมบูรณ์ เป็นรูปเป็นร่างชัดเจน",
                "Repair: khok, nong, na, swale and golden bund complete and clearly shaped",
            ),
            (
                "place_enrich",
                "เสริม: ความรู้และนวัตกรรม ความร่มรื่น และสื่อการเรียนรู้ในพื้นที่",
                "Enrich: knowledge and innovation, shade and diversity, learning media",
            ),
            (
                "place_build",
                "สร้าง: โครงสร้างพื้นฐานที่เอื้อต่อการเรียนรู้ (เส้นทางเดิน ป้าย ฐานเรียนรู้ โรงเรือน จุดพักผ่อน)",
                "Build: small infrastructure for learning (paths, signs, learning bases, sheds, rest places)",
            ),
        ],
    ),
    "people": (
        "การพัฒนากลไกและเครือข่าย : People",
        "People",
        [
            (
                "people_guru",
                "ครูพาทำ: เจ้าของแปลงถ่ายทอดความรู้ เป็นวิทยากรได้",
                "Guru: the owner can pass on knowledge and teach",
            ),
            (
                "people_network",
                "คลัสเตอร์และเยาวชน: การรวมกลุ่มและเครือข่ายของแปลง",
                "Cluster and youth: groups and networks around the plot",
            ),
        ],
    ),
    "product": (
        "การพัฒนาผลผลิตและผลิตภัณฑ์ : Product",
        "Product",
        [
            (
                "product_safe",
                "ผลผลิตปลอดภัย: เกษตรปลอดภัย/อินทรีย์ พึ่งตนเองด้านอาหาร",
                "Safe produce: safe or organic farming, food self-reliance",
            ),
            (
                "product_share_process",
                "ออมและแบ่งปัน แปรรูปและพัฒนาผลิตภัณฑ์",
                "Saving and sharing; processing and product development",
            ),
        ],
    ),
    "promotion": (
        "การส่งเสริมการตลาด : Promotion",
        "Promotion",
        [
            (
                "promotion_market",
                "ช่องทางการตลาดและจัดจำหน่ายผลผลิต (ชุมชน จังหวัด ประเทศ)",
                "Markets for the produce (community, province, nation)",
            ),
        ],
    ),
    "pass_on": (
        "ขยายผลและเผยแพร่ : Pass on Perfect",
        "Pass on Perfect",
        [
            (
                "pass_on_learning",
                "จัดกิจกรรมการเรียนรู้ในพื้นที่ อย่างน้อยเดือนละ ๑ ครั้ง",
                "Learning activities on the plot, at least once a month",
            ),
            (
                "pass_on_dissemination",
                "ถอดบทเรียน เผยแพร่ และขยายผลสู่พื้นที่โดยรอบ",
                "Lessons learned, dissemination and extension to the surroundings",
            ),
        ],
    ),
}
#: Grade thresholds, percent of the maximum score. Not given by the seeds: a programme decision to confirm.
THRESHOLD_A, THRESHOLD_B = 80, 60


def potential_assessment() -> tuple[list[Row], list[Row], list[Row], None]:
    items = [name for _, _, group in ASSESSMENT_ITEMS.values() for name, _, _ in group]
    scored: list[Row] = []
    for key, (th, en, group) in ASSESSMENT_ITEMS.items():
        scored.append(q("begin_group", key, th, en))
        scored += [q("select_one score", name, i_th, i_en, required="yes") for name, i_th, i_en in group]
        scored.append(end("group"))
    total = " + ".join(f"${{{name}}}" for name in items)
    survey = [
        *metadata(),
        q("calculate", "threshold_a", calculation=str(THRESHOLD_A)),
        q("calculate", "threshold_b", calculation=str(THRESHOLD_B)),
        q("calculate", "score_max", calculation=str(5 * len(items))),
        q(
            "note",
            "thresholds_note",
            (
                "เกณฑ์การจัดระดับ: ระดับ A ต้นแบบศูนย์เรียนรู้ คะแนนร้อยละ ${threshold_a} ขึ้นไป; "
                "ระดับ B เสริมสร้างสู่ต้นแบบ ร้อยละ ${threshold_b} ขึ้นไป; ระดับ C ปรับตัวสู่การพัฒนา "
                "ต่ำกว่าร้อยละ ${threshold_b} ของคะแนนเต็ม ${score_max} คะแนน. ที่มา: หนังสือจังหวัด "
                "(แบบประเมินศักยภาพฯ; แนวทางข้อ ๒.๒) กำหนดระดับ A B C แต่ไม่ได้กำหนดคะแนน ตัวเลขนี้เป็นค่าตั้งต้น"
                "ที่โครงการต้องยืนยัน และข้อประเมินจัดตามกลยุทธ์ 5P จนกว่าจะได้แบบประเมินของกรมฯ"
            ),
            (
                "Grading: A (model learning centre) from ${threshold_a} percent; B (strengthening towards a model) "
                "from ${threshold_b} percent; C (adapting for development) below ${threshold_b} percent of the "
                "maximum ${score_max} points. Source: the provincial circulars (the potential assessment form; "
                "guideline 2.2) name grades A, B and C but give no scores: these numbers are defaults for the "
                "programme to confirm, and the items follow the 5P strategy until the department's form is at hand."
            ),
        ),
        *pick_plot(),
        q(
            "date",
            "assessment_date",
            "วันที่ประเมิน",
            "Date of the assessment",
            required="yes",
            default="today()",
        ),
        q(
            "integer",
            "assessment_round",
            "รอบการประเมิน (รอบที่)",
            "Assessment round",
            required="yes",
            default="1",
            constraint=". >= 1",
            msg=("รอบที่เริ่มที่ 1", "Rounds start at 1"),
        ),
        q(
            "text",
            "assessors",
            "ผู้ประเมิน (กลไกขับเคลื่อนระดับอำเภอ)",
            "Assessors (district working group)",
            required="yes",
            appearance="multiline",
        ),
        q(
            "note",
            "scale_note",
            "ให้คะแนนแต่ละข้อ ๑–๕ (๑ น้อยที่สุด ๕ มากที่สุด)",
            "Score each item 1–5 (1 lowest, 5 highest)",
        ),
        *scored,
        q("calculate", "score_total", calculation=total),
        q("calculate", "score_percent", calculation="${score_total} * 100 div ${score_max}"),
        q(
            "calculate",
            "grade",
            calculation=(
                "if(${score_percent} >= ${threshold_a}, 'A', if(${score_percent} >= ${threshold_b}, 'B', 'C'))"
            ),
        ),
        q(
            "note",
            "grade_note",
            (
                "คะแนนรวม ${score_total} จาก ${score_max} คะแนน: ระดับ ${grade} "
                "(A ต้นแบบศูนย์เรียนรู้ / B เสริมสร้างสู่ต้นแบบ / C ปรับตัวสู่การพัฒนา)"
            ),
            (
                "Total ${score_total} of ${score_max} points: grade ${grade} "
                "(A model learning centre / B strengthening towards a model / C adapting for development)"
            ),
        ),
        q(
            "text",
            "problems_needs",
            "ปัญหาและความต้องการเพื่อการพัฒนา",
            "Problems and needs for development",
            appearance="multiline",
        ),
        q(
            "select_multiple strategy",
            "plan_strategies",
            "กลยุทธ์การพัฒนา (5P) ที่จะใช้ในแผนพัฒนาศักยภาพ",
            "Strategies (5P) for the development plan",
        ),
        q("text", "plan", "แผนการพัฒนาศักยภาพ", "Development plan", appearance="multiline"),
    ]
    choices = [
        choice("score", "1", "๑ – น้อยที่สุด", "1 – lowest"),
        choice("score", "2", "๒ – น้อย", "2 – low"),
        choice("score", "3", "๓ – ปานกลาง", "3 – medium"),
        choice("score", "4", "๔ – มาก", "4 – high"),
        choice("score", "5", "๕ – มากที่สุด", "5 – highest"),
        *STRATEGY_CHOICES,
    ]
    settings = [
        {
            "form_title": "แบบประเมินศักยภาพศูนย์เรียนรู้ โคก หนอง นา / Potential assessment",
            "form_id": "potential_assessment",
            "version": "2026112101",
            "default_language": TH,
            "instance_name": "concat(${plot_label}, ' – ระดับ ', ${grade}, ' – ', ${assessment_date})",
        }
    ]
    return survey, choices, settings, None


# --- 6. guru register -----------------------------------------------------------------------------------


def guru_register() -> tuple[list[Row], list[Row], list[Row], None]:
    survey = [
        *metadata(),
        q(
            "select_multiple guru_type",
            "guru_type",
            "ประเภท",
            "Kind",
            hint=("เลือกได้ทั้งสองข้อ", "Both may apply"),
            required="yes",
        ),
        q("text", "guru_name", "ชื่อ-นามสกุล", "First name and surname", required="yes"),
        q(
            "integer",
            "birth_year_be",
            "ปีเกิด (พ.ศ.)",
            "Year of birth (Buddhist Era)",
            hint=("เช่น 2510", "e.g. 2510 (1967)"),
            constraint=". >= 2400 and . <= 2600",
            msg=("ใส่ปี พ.ศ. 4 หลัก", "Enter the four-digit Buddhist Era year"),
        ),
        q(
            "select_multiple expertise",
            "expertise",
            "ความเชี่ยวชาญ",
            "Expertise",
            hint=("เลือกได้หลายข้อ", "Choose all that apply"),
            required="yes",
        ),
        q(
            "text",
            "expertise_other",
            "ความเชี่ยวชาญอื่นๆ (ระบุ)",
            "Other expertise (specify)",
            required="yes",
            relevant="selected(${expertise}, 'other')",
        ),
        q(
            "text",
            "expertise_details",
            "รายละเอียดความรู้และประสบการณ์",
            "Knowledge and experience",
            appearance="multiline",
        ),
        q(
            "text",
            "teaching_bases",
            "ฐานการเรียนรู้ที่เป็นวิทยากร",
            "Learning bases where the person teaches",
            appearance="multiline",
        ),
        *pick_plot(required=False),
        q("begin_group", "contact", "การติดต่อ", "Contact"),
        q("text", "phone", "เบอร์โทร", "Phone number", required="yes", **PHONE),
        q("text", "line_id", "ไอดีไลน์", "LINE ID"),
        q("text", "house_no", "บ้านเลขที่", "House number", hint=("เช่น 12 หรือ 45/1", "e.g. 12 or 45/1")),
        q(
            "integer",
            "village_no",
            "หมู่ที่",
            "Village number (mu)",
            required="yes",
            constraint=". >= 1 and . <= 99",
            msg=("หมู่ที่ต้องอยู่ระหว่าง 1 ถึง 99", "The village number must be between 1 and 99"),
        ),
        q("text", "village_name", "ชื่อหมู่บ้าน", "Village name", required="yes"),
        *address(),
        *area_names(),
        end("group"),
        q(
            "geopoint",
            "location",
            "ตำแหน่ง (บ้านหรือแหล่งเรียนรู้)",
            "Location (home or place of learning)",
            required="yes",
        ),
        q("image", "photo", "ภาพถ่าย", "Photo", parameters="max-pixels=1600"),
        q(
            "select_one consent",
            "consent",
            "ยินยอมให้เผยแพร่ชื่อ ความเชี่ยวชาญ และการติดต่อ ในเครือข่ายปราชญ์ชุมชน/ครูพาทำ",
            "Agrees that name, expertise and contact are shared in the guru network",
            required="yes",
        ),
        q("text", "notes", "หมายเหตุ", "Notes", appearance="multiline"),
    ]
    choices = [
        choice("guru_type", "sage", "ปราชญ์ชุมชน", "Community sage (ปราชญ์ชุมชน)"),
        choice("guru_type", "guru", "ครูพาทำ", "Guru who teaches by doing (ครูพาทำ)"),
        choice("expertise", "khok_nong_na_design", "การออกแบบพื้นที่ โคก หนอง นา", "Khok Nong Na plot design"),
        choice("expertise", "soil", "การปรับปรุงดิน ห่มดิน ปุ๋ยหมัก", "Soil care, mulching, compost"),
        choice("expertise", "water", "การบริหารจัดการน้ำ", "Water management"),
        choice("expertise", "natural_farming", "เกษตรธรรมชาติ/เกษตรอินทรีย์", "Natural or organic farming"),
        choice("expertise", "rice", "การทำนา", "Rice farming"),
        choice("expertise", "forest", "ป่า ๓ อย่าง ประโยชน์ ๔ อย่าง", "Three forests, four benefits"),
        choice("expertise", "livestock", "การเลี้ยงสัตว์", "Livestock"),
        choice("expertise", "fish", "การเลี้ยงปลา", "Fish farming"),
        choice("expertise", "herbs", "สมุนไพร", "Herbs"),
        choice("expertise", "processing", "การแปรรูปผลผลิต", "Processing produce"),
        choice("expertise", "marketing", "การตลาด", "Marketing"),
        choice("expertise", "energy", "พลังงานทดแทน", "Renewable energy"),
        choice("expertise", "handicraft", "หัตถกรรม/ภูมิปัญญาท้องถิ่น", "Handicraft and local wisdom"),
        choice("expertise", "other", "อื่นๆ", "Other"),
        choice("consent", "yes", "ยินยอม", "Agrees"),
        choice("consent", "no", "ไม่ยินยอม (ใช้ภายในสำนักงานเท่านั้น)", "Does not agree (office use only)"),
    ]
    settings = [
        {
            "form_title": "ทะเบียนปราชญ์ชุมชน/ครูพาทำ / Guru register",
            "form_id": "guru_register",
            "version": "2026112101",
            "default_language": TH,
            "instance_name": "concat(${guru_name}, ' – อ.', ${amphoe_name}, ' จ.', ${province_name})",
        }
    ]
    return survey, choices, settings, None


FORMS = {
    "plot_survey.xlsx": plot_survey,
    "socio_change.xlsx": socio_change,
    "activity_report.xlsx": activity_report,
    "daily_log.xlsx": daily_log,
    "potential_assessment.xlsx": potential_assessment,
    "guru_register.xlsx": guru_register,
}


def _sheet(book: openpyxl.Workbook, title: str, rows: Sequence[Row], columns: Sequence[str]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    previous_list = None
    for row in rows:
        if title == "choices" and previous_list is not None and row["list_name"] != previous_list:
            sheet.append([None] * len(columns))
        previous_list = row.get("list_name")
        sheet.append([row.get(c) for c in columns])
    sheet.freeze_panes = "A2"


def _used(rows: Sequence[Row], order: Sequence[str]) -> list[str]:
    present = {k for r in rows for k, v in r.items() if v is not None}
    return [c for c in order if c in present] + sorted(present - set(order))


def write(path: Path, survey: list[Row], choices: list[Row], settings: list[Row], entities: list[Row] | None) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    book.properties.creator = "khoknongna form pack"
    _sheet(book, "survey", survey, _used(survey, SURVEY_COLUMNS))
    choice_order = ("list_name", "name", f"label::{TH}", f"label::{EN}")
    _sheet(book, "choices", choices, _used(choices, choice_order))
    _sheet(book, "settings", settings, list(settings[0]))
    if entities:
        _sheet(book, "entities", entities, list(entities[0]))
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(_reproducible(out.getvalue()))


def _reproducible(xlsx: bytes) -> bytes:
    """The same .xlsx with fixed times (zip entries, document properties), so unchanged forms keep their bytes.

    The server skips a bundled XLSForm whose exact bytes it has published before.
    """
    fixed = "2026-01-01T00:00:00Z"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rf"\g<1>{fixed}", text)
                content = text.encode("utf-8")
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0)), content)
    return out.getvalue()


def main() -> int:
    for file_name, build in FORMS.items():
        write(FORMS_DIR / file_name, *build())
        print(f"wrote {FORMS_DIR / file_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
