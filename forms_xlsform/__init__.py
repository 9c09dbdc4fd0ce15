"""The Khok Nong Na XLSForms bundled with the server (the spreadsheets in this folder are the source)."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from khoknongna.forms_xlsform.areas import area_csvs

#: Forms that create the entity lists the others read: published first, so that the lists exist when the
#: follow-up forms naming ``plots.csv`` are published.
REGISTERS = ("plot_survey.xlsx",)


def bundled_forms() -> list[Traversable]:
    """The XLSForm files of the form pack: the registers first, then the others in name order."""
    forms = (p for p in files(__name__).iterdir() if p.name.endswith((".xlsx", ".xls")))
    return sorted(forms, key=lambda p: (p.name not in REGISTERS, p.name))


def bundled_media() -> dict[str, bytes]:
    """``{file name: bytes}`` of the media files any bundled form may name.

    Today these are the address lists ``provinces.csv``, ``amphoes.csv`` and ``tambons.csv``, generated
    from ``geothai`` (see :mod:`khoknongna.forms_xlsform.areas`). A form gets only the files it names.
    """
    return area_csvs()
