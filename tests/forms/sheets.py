"""Reading the form pack's spreadsheets as programme staff edit them, and the rules every form of the pack keeps.

The spreadsheets in ``forms_xlsform/`` are the only source of the forms. Each rule below is a function that takes
the pack (read with openpyxl, the library pyxform reads ``.xlsx`` with) and returns the problems it finds, one
sentence each, naming the file, the sheet and the field; an empty list means the pack keeps the rule. The tests
run each rule on the bundled pack and on deliberately broken copies of it.

Source: forms_xlsform/README.md (conventions for editing a form) and docs/forms.md (every field documented).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import openpyxl

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms_xlsform"
FORMS_DOC = Path(__file__).resolve().parents[2] / "docs" / "forms.md"
FORMS_README = FORMS_DIR / "README.md"

TH, EN = "ไทย (th)", "English (en)"
LANGUAGES = (TH, EN)
#: Columns that hold text a person reads, one column per language.
TRANSLATED = ("label", "hint", "constraint_message")

#: The survey sheet's columns the pack uses. A misspelt column is silently dropped by pyxform, so a column not
#: listed here is a problem; add a new column here when a form really needs it.
SURVEY_COLUMNS = frozenset(
    {
        "type",
        "name",
        *(f"{column}::{language}" for column in TRANSLATED for language in LANGUAGES),
        "required",
        "relevant",
        "constraint",
        "appearance",
        "parameters",
        "choice_filter",
        "calculation",
        "trigger",
        "default",
        "save_to",
    }
)

#: Metadata every form records; Collect fills them in and they carry no label.
METADATA = ("start", "end", "today", "deviceid", "username")
#: Rows a person never sees (filled in by Collect or computed), so they carry no label.
UNLABELLED_TYPES = frozenset({*METADATA, "start-geopoint", "audit", "calculate", "end_group", "end_repeat"})

#: Choice lists that several forms share, and the forms that use each: they must be identical wherever used.
SHARED_LISTS = {
    "programme": ("plot_survey", "activity_report"),
    "model": ("plot_survey", "activity_report"),
    "size_class": ("plot_survey", "activity_report"),
    "yes_no": ("plot_survey", "daily_log"),
    "strategy": ("activity_report", "potential_assessment"),  # the 5P
}
#: Questions several forms share: the plot picked from the register, the coded address on the area lists
#: (provinces.csv, amphoes.csv, tambons.csv) and the phone number. Wherever one is asked it is asked the same way.
SHARED_FIELDS = ("plot", "plot_label", "province", "amphoe", "tambon", "province_name", "amphoe_name", "tambon_name")
#: What must be the same for a shared question (``required``, ``trigger`` and ``save_to`` may differ by form).
SHARED_COLUMNS = (
    "type",
    *(f"{column}::{language}" for column in TRANSLATED for language in LANGUAGES),
    "constraint",
    "appearance",
    "parameters",
    "choice_filter",
)
#: Phone numbers: a text question whose name ends in ``phone``.
PHONE_COLUMNS = ("constraint", "constraint_message::" + TH, "constraint_message::" + EN, "hint::" + TH, "hint::" + EN)

Row = dict[str, str]


@dataclass(frozen=True)
class Form:
    """One XLSForm: its file name and its sheets as rows of ``{column: text}`` (empty cells and rows left out)."""

    file_name: str
    sheets: dict[str, list[Row]]
    columns: dict[str, tuple[str, ...]]

    @property
    def form_id(self) -> str:
        return Path(self.file_name).stem

    @property
    def survey(self) -> list[Row]:
        return self.sheets.get("survey", [])

    @property
    def choices(self) -> list[Row]:
        return self.sheets.get("choices", [])

    @property
    def settings(self) -> Row:
        rows = self.sheets.get("settings", [])
        return rows[0] if rows else {}

    def field(self, name: str) -> Row | None:
        return next((r for r in self.survey if r.get("name") == name and not is_end(r)), None)

    def choice_list(self, list_name: str) -> list[Row]:
        return [r for r in self.choices if r.get("list_name") == list_name]


Pack = dict[str, Form]


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_form(path: Path) -> Form:
    """The sheets of one ``.xlsx`` XLSForm."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sheets: dict[str, list[Row]] = {}
    columns: dict[str, tuple[str, ...]] = {}
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = tuple(_text(c) or "" for c in next(rows, ()))
            columns[sheet.title] = tuple(c for c in header if c)
            sheets[sheet.title] = [
                row
                for values in rows
                if (row := {c: t for c, v in zip(header, values, strict=False) if c and (t := _text(v))})
            ]
    finally:
        book.close()
    return Form(path.name, sheets, columns)


def read_pack(folder: Path = FORMS_DIR) -> Pack:
    """``{form_id: Form}`` of every ``.xlsx`` in ``folder``."""
    return {form.form_id: form for form in map(read_form, sorted(folder.glob("*.xlsx")))}


def is_end(row: Row) -> bool:
    return row.get("type", "").startswith("end_")


def fields(form: Form) -> Iterable[Row]:
    """Survey rows that define a field, group or repeat (not the ``end_group`` / ``end_repeat`` rows)."""
    return (r for r in form.survey if r.get("name") and not is_end(r))


# --- the rules ------------------------------------------------------------------------------------------------


def identity_problems(pack: Pack) -> list[str]:
    """Each form names itself (``form_id`` = file name), has a ``YYYYMMDDnn`` version, a title, Thai as its default
    language, an instance name, and records the metadata."""
    problems = []
    for form in pack.values():
        where = f"{form.file_name} settings"
        settings = form.settings
        if settings.get("form_id") != form.form_id:
            problems.append(f"{where}: form_id is {settings.get('form_id')!r}, not the file's name {form.form_id!r}")
        version = settings.get("version", "")
        if not re.fullmatch(r"\d{10}", version) or not _is_date(version[:8]):
            problems.append(f"{where}: version {version!r} is not YYYYMMDDnn")
        for column in ("form_title", "instance_name"):
            if not settings.get(column):
                problems.append(f"{where}: no {column}")
        if settings.get("default_language") != TH:
            problems.append(f"{where}: default_language is {settings.get('default_language')!r}, not {TH!r}")
        names = {r.get("name") for r in fields(form)}
        problems += [f"{form.file_name} survey: no {m!r} metadata" for m in METADATA if m not in names]
    return problems


def _is_date(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return False
    return True


def column_problems(pack: Pack) -> list[str]:
    """Every survey column is one the pack knows (a misspelt column would be dropped), and every translated column
    of the choices sheet is in Thai or English."""
    problems = []
    for form in pack.values():
        unknown = [c for c in form.columns.get("survey", ()) if c not in SURVEY_COLUMNS]
        problems += [f"{form.file_name} survey: unknown column {c!r}" for c in unknown]
        for column in form.columns.get("choices", ()):
            base, _, language = column.partition("::")
            if base in TRANSLATED and language not in LANGUAGES:
                problems.append(f"{form.file_name} choices: column {column!r} is in neither {TH!r} nor {EN!r}")
    return problems


def language_problems(pack: Pack) -> list[str]:
    """Every question, note, group and repeat has a label in Thai and in English, every choice too, and a hint or
    constraint message given in one language is given in the other."""
    problems = []
    for form in pack.values():
        for row in fields(form):
            where = f"{form.file_name} survey {row['name']!r}"
            for column in TRANSLATED:
                given = [language for language in LANGUAGES if row.get(f"{column}::{language}")]
                needed = column == "label" and row.get("type") not in UNLABELLED_TYPES
                if (given or needed) and len(given) < len(LANGUAGES):
                    missing = ", ".join(f"{column}::{language}" for language in LANGUAGES if language not in given)
                    problems.append(f"{where}: no {missing}")
        for row in form.choices:
            missing = [language for language in LANGUAGES if not row.get(f"label::{language}")]
            if missing:
                problems.append(
                    f"{form.file_name} choices {row.get('list_name')!r} {row.get('name')!r}: no label in "
                    + ", ".join(missing)
                )
    return problems


def constraint_message_problems(pack: Pack) -> list[str]:
    """Every constraint says, in Thai and in English, what is wrong when it fails."""
    return [
        f"{form.file_name} survey {row['name']!r}: a constraint without a constraint_message::{language}"
        for form in pack.values()
        for row in fields(form)
        if row.get("constraint")
        for language in LANGUAGES
        if not row.get(f"constraint_message::{language}")
    ]


def _differences(rows: dict[str, object]) -> bool:
    return len({repr(r) for r in rows.values()}) > 1


def shared_list_problems(pack: Pack) -> list[str]:
    """The shared choice lists are in the forms that use them, and a list name used by several forms is the same
    list (names, labels, order and filter columns) in all of them."""
    problems = []
    for list_name, form_ids in SHARED_LISTS.items():
        problems += [
            f"{pack[f].file_name} choices: no list {list_name!r}"
            for f in form_ids
            if f in pack and not pack[f].choice_list(list_name)
        ]
    list_names = {r["list_name"] for form in pack.values() for r in form.choices if r.get("list_name")}
    for list_name in sorted(list_names):
        by_form = {f: form.choice_list(list_name) for f, form in pack.items() if form.choice_list(list_name)}
        if _differences(by_form):
            problems.append(f"choice list {list_name!r} differs between {', '.join(sorted(by_form))}")
    return problems


def shared_field_problems(pack: Pack) -> list[str]:
    """The plot picker, the coded address and its names are asked the same way in every form that asks them,
    and every phone number has the same check, message and hint."""
    problems = []
    for name in SHARED_FIELDS:
        by_form = {
            f: {c: row.get(c) for c in SHARED_COLUMNS}
            for f, form in pack.items()
            if (row := form.field(name)) is not None
        }
        if _differences(by_form):
            problems.append(f"field {name!r} is asked differently in {', '.join(sorted(by_form))}")
    phones = {
        f"{f}/{row['name']}": {c: row.get(c) for c in PHONE_COLUMNS}
        for f, form in pack.items()
        for row in fields(form)
        if row["name"].endswith("phone") and row.get("type") == "text"
    }
    if _differences(phones):
        problems.append(f"phone numbers are checked differently in {', '.join(sorted(phones))}")
    return problems


def _doc_sections(doc: str) -> dict[str, str]:
    """``{form_id: text of its section}`` for the ``## Title (`form_id`)`` sections of docs/forms.md, and ``""``
    for the text before the first section."""
    parts = re.split(r"^## ", doc, flags=re.MULTILINE)
    sections = {"": parts[0]}
    for part in parts[1:]:
        heading = part.splitlines()[0]
        if found := re.search(r"\(`(\w+)`\)", heading):
            sections[found.group(1)] = sections.get(found.group(1), "") + part
    return sections


def documentation_problems(pack: Pack, doc: str) -> list[str]:
    """Every field, group and repeat of a form is named in backticks (alone or as ``group/name``) in that form's
    section of docs/forms.md; the metadata are named once, before the first section."""
    sections = _doc_sections(doc)
    problems = []
    for form in pack.values():
        section = sections.get(form.form_id)
        if section is None:
            problems.append(f"docs/forms.md: no section for {form.form_id!r}")
            continue
        for row in fields(form):
            text = sections[""] if row.get("type") in METADATA else section
            if not re.search(rf"`(?:[\w/]+/)?{re.escape(row['name'])}`", text):
                problems.append(f"docs/forms.md: {form.form_id} field {row['name']!r} is not documented")
    return problems


def version_table_problems(pack: Pack, doc: str, doc_name: str) -> list[str]:
    """The form tables of docs/forms.md and forms_xlsform/README.md give each form's current version."""
    listed = dict(re.findall(r"^\|[^|\n]*`(\w+)`[^|\n]*\|.*\|\s*(\d{10})\s*\|", doc, flags=re.MULTILINE))
    listed |= dict(re.findall(r"^\|\s*`\w+\.xlsx`\s*\|\s*`(\w+)`\s*\|\s*(\d{10})\s*\|", doc, flags=re.MULTILINE))
    return [
        f"{doc_name}: {form.form_id} is listed at version {listed.get(form.form_id)}, "
        f"the spreadsheet says {form.settings.get('version')}"
        for form in pack.values()
        if listed.get(form.form_id) != form.settings.get("version")
    ]
