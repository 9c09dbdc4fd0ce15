"""Small XLSForms for tests, written with openpyxl (the first row of each sheet is its header)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import openpyxl


def xlsform(
    survey: Sequence[Sequence[Any]],
    *,
    settings: Sequence[Sequence[Any]] | None = None,
    choices: Sequence[Sequence[Any]] | None = None,
    external_choices: Sequence[Sequence[Any]] | None = None,
    entities: Sequence[Sequence[Any]] | None = None,
) -> bytes:
    """The bytes of an .xlsx XLSForm with these sheets."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in survey:
        sheet.append(list(row))
    for name, rows in (
        ("choices", choices),
        ("settings", settings),
        ("external_choices", external_choices),
        ("entities", entities),
    ):
        if rows:
            extra = book.create_sheet(name)
            for row in rows:
                extra.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
