"""The spreadsheets in forms_xlsform/ are the only source of the form pack, edited by programme staff in Excel.
These rules keep the six forms consistent with each other and with their documentation: identified and
versioned, Thai and English everywhere, a message for every constraint, the shared choice lists and questions
the same in every form, every field in docs/forms.md. Each rule is also run on a broken copy of the pack, to
show that it catches the mistake it is there for.

Source: forms_xlsform/README.md (editing a form), docs/forms.md.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook import Workbook

from tests.forms.sheets import (
    EN,
    FORMS_DIR,
    FORMS_DOC,
    FORMS_README,
    TH,
    Pack,
    column_problems,
    constraint_message_problems,
    documentation_problems,
    identity_problems,
    language_problems,
    read_pack,
    shared_field_problems,
    shared_list_problems,
    version_table_problems,
)


@pytest.fixture(scope="module")
def pack() -> Pack:
    return read_pack()


def broken(tmp_path: Path, form_id: str, change: Callable[[Workbook], None]) -> Pack:
    """A copy of the pack in ``tmp_path`` with ``change`` made to one form, as if by hand in Excel."""
    for path in FORMS_DIR.glob("*.xlsx"):
        shutil.copy(path, tmp_path)
    path = tmp_path / f"{form_id}.xlsx"
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)
    return read_pack(tmp_path)


def set_cell(sheet: str, where: dict[str, str], column: str, value: str | None) -> Callable[[Workbook], None]:
    """A change that writes ``value`` into ``column`` of the rows of ``sheet`` matching ``where``."""

    def change(book: Workbook) -> None:
        rows = book[sheet].iter_rows()
        header = [c.value for c in next(rows)]
        changed = 0
        for row in rows:
            values = dict(zip(header, (c.value for c in row), strict=False))
            if all(values.get(k) == v for k, v in where.items()):
                row[header.index(column)].value = value
                changed += 1
        assert changed, f"no row of {sheet} matches {where}"

    return change


def rename_column(sheet: str, old: str, new: str) -> Callable[[Workbook], None]:
    def change(book: Workbook) -> None:
        cell = next(c for c in book[sheet][1] if c.value == old)
        cell.value = new

    return change


# --- identity and columns -------------------------------------------------------------------------------------


def test_every_form_is_named_after_its_file_versioned_thai_first_and_records_the_metadata(pack: Pack) -> None:
    assert identity_problems(pack) == []


def test_a_form_id_other_than_the_file_name_is_reported(tmp_path: Path) -> None:
    copy = broken(tmp_path, "daily_log", set_cell("settings", {}, "form_id", "daily_work_log"))

    assert identity_problems(copy) == [
        "daily_log.xlsx settings: form_id is 'daily_work_log', not the file's name 'daily_log'"
    ]


def test_a_version_not_in_the_form_yyyymmddnn_is_reported(tmp_path: Path) -> None:
    copy = broken(tmp_path, "guru_register", set_cell("settings", {}, "version", "2026-12-05"))

    assert identity_problems(copy) == ["guru_register.xlsx settings: version '2026-12-05' is not YYYYMMDDnn"]


def test_a_misspelt_survey_column_is_reported(tmp_path: Path) -> None:
    copy = broken(tmp_path, "socio_change", rename_column("survey", "constraint", "constriant"))

    assert column_problems(copy) == ["socio_change.xlsx survey: unknown column 'constriant'"]


def test_every_survey_column_is_known_and_every_language_is_thai_or_english(pack: Pack) -> None:
    assert column_problems(pack) == []


# --- both languages and constraint messages -------------------------------------------------------------------


def test_every_question_and_choice_is_labelled_in_thai_and_english(pack: Pack) -> None:
    assert language_problems(pack) == []


def test_a_question_without_its_english_label_is_reported(tmp_path: Path) -> None:
    copy = broken(tmp_path, "plot_survey", set_cell("survey", {"name": "boundary"}, f"label::{EN}", None))

    assert language_problems(copy) == [f"plot_survey.xlsx survey 'boundary': no label::{EN}"]


def test_a_choice_without_its_thai_label_is_reported(tmp_path: Path) -> None:
    change = set_cell("choices", {"list_name": "sector", "name": "media"}, f"label::{TH}", "")
    copy = broken(tmp_path, "activity_report", change)

    assert language_problems(copy) == [f"activity_report.xlsx choices 'sector' 'media': no label in {TH}"]


def test_a_hint_in_one_language_only_is_reported(tmp_path: Path) -> None:
    copy = broken(tmp_path, "daily_log", set_cell("survey", {"name": "work_date"}, f"hint::{TH}", "วันที่ทำงาน"))

    assert language_problems(copy) == [f"daily_log.xlsx survey 'work_date': no hint::{EN}"]


def test_every_constraint_has_a_message_in_thai_and_english(pack: Pack) -> None:
    assert constraint_message_problems(pack) == []


def test_a_constraint_without_a_message_is_reported(tmp_path: Path) -> None:
    change = set_cell("survey", {"name": "work_date"}, f"constraint_message::{EN}", None)
    copy = broken(tmp_path, "daily_log", change)

    assert constraint_message_problems(copy) == [
        f"daily_log.xlsx survey 'work_date': a constraint without a constraint_message::{EN}"
    ]


# --- what the forms share -------------------------------------------------------------------------------------


def test_the_shared_choice_lists_are_identical_in_every_form(pack: Pack) -> None:
    assert shared_list_problems(pack) == []


def test_a_shared_choice_changed_in_one_form_only_is_reported(tmp_path: Path) -> None:
    change = set_cell("choices", {"list_name": "programme", "name": "covid_loan"}, f"label::{EN}", "COVID-19 loan")
    copy = broken(tmp_path, "activity_report", change)

    assert shared_list_problems(copy) == ["choice list 'programme' differs between activity_report, plot_survey"]


def test_a_5p_strategy_added_in_one_form_only_is_reported(tmp_path: Path) -> None:
    def add_strategy(book: Workbook) -> None:
        book["choices"].append(["strategy", "planet", "โลก : Planet", "Planet"])

    copy = broken(tmp_path, "potential_assessment", add_strategy)

    assert shared_list_problems(copy) == [
        "choice list 'strategy' differs between activity_report, potential_assessment"
    ]


def test_a_shared_list_renamed_in_one_form_is_reported(tmp_path: Path) -> None:
    def rename(book: Workbook) -> None:
        set_cell("choices", {"list_name": "yes_no"}, "list_name", "has")(book)
        set_cell("survey", {"type": "select_one yes_no"}, "type", "select_one has")(book)

    copy = broken(tmp_path, "daily_log", rename)

    assert shared_list_problems(copy) == ["daily_log.xlsx choices: no list 'yes_no'"]


def test_the_plot_picker_and_the_address_are_asked_the_same_way_in_every_form(pack: Pack) -> None:
    assert shared_field_problems(pack) == []


def test_an_address_filtered_differently_in_one_form_is_reported(tmp_path: Path) -> None:
    copy = broken(tmp_path, "guru_register", set_cell("survey", {"name": "tambon"}, "choice_filter", None))

    assert shared_field_problems(copy) == [
        "field 'tambon' is asked differently in activity_report, guru_register, plot_survey"
    ]


def test_a_phone_number_checked_differently_in_one_form_is_reported(tmp_path: Path) -> None:
    change = set_cell("survey", {"name": "phone"}, "constraint", "string-length(.) = 10")
    copy = broken(tmp_path, "guru_register", change)

    assert shared_field_problems(copy) == [
        "phone numbers are checked differently in activity_report/owner_phone, guru_register/phone, "
        "plot_survey/owner_phone"
    ]


# --- documentation --------------------------------------------------------------------------------------------


def test_every_field_is_documented_in_docs_forms_md(pack: Pack) -> None:
    assert documentation_problems(pack, FORMS_DOC.read_text(encoding="utf-8")) == []


def test_a_field_added_without_documenting_it_is_reported(tmp_path: Path) -> None:
    copy = broken(tmp_path, "socio_change", set_cell("survey", {"name": "notes"}, "name", "remarks"))

    assert documentation_problems(copy, FORMS_DOC.read_text(encoding="utf-8")) == [
        "docs/forms.md: socio_change field 'remarks' is not documented"
    ]


@pytest.mark.parametrize(("doc", "name"), [(FORMS_DOC, "docs/forms.md"), (FORMS_README, "forms_xlsform/README.md")])
def test_the_form_tables_give_each_forms_current_version(pack: Pack, doc: Path, name: str) -> None:
    assert version_table_problems(pack, doc.read_text(encoding="utf-8"), name) == []


def test_a_version_raised_without_updating_the_docs_is_reported(tmp_path: Path) -> None:
    copy = broken(tmp_path, "guru_register", set_cell("settings", {}, "version", "2026120601"))

    assert version_table_problems(copy, FORMS_DOC.read_text(encoding="utf-8"), "docs/forms.md") == [
        "docs/forms.md: guru_register is listed at version 2026112101, the spreadsheet says 2026120601"
    ]
