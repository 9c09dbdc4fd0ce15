"""The Khok Nong Na XLSForms bundled with the server (the spreadsheets in this folder are the source)."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def bundled_forms() -> list[Traversable]:
    """The XLSForm files of the form pack, in name order."""
    return sorted((p for p in files(__name__).iterdir() if p.name.endswith((".xlsx", ".xls"))), key=lambda p: p.name)
