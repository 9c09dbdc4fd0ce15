"""Converting an XLSForm to an XForm with pyxform, and checking XForms with ODK Validate.

pyxform takes the form ID from the file name when the ``settings`` sheet has no ``form_id`` (as the
``xls2xform`` command does), so the upload is converted from a file carrying the upload's name. The file
type is read from the content, not the extension: real forms circulate as old ``.xls`` files saved with
a ``.xlsx`` name.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pyxform.errors import PyXFormError
from pyxform.validators.odk_validate import ODKValidateError, check_xform
from pyxform.xls2xform import convert

from khoknongna.problems import FORM_INVALID, Problem

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
#: An .xlsx is a zip; refuse ones that would expand beyond this (zip bombs).
MAX_XLSX_EXPANDED_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Conversion:
    """Result of converting an XLSForm: the XForm bytes, pyxform's warnings, generated media files."""

    xform: bytes
    warnings: tuple[str, ...]
    media: dict[str, bytes]


def spreadsheet_type(data: bytes) -> str | None:
    """``".xls"`` or ``".xlsx"`` from the file's first bytes, ``None`` for anything else."""
    if data.startswith(_OLE_MAGIC):
        return ".xls"
    if data.startswith(_ZIP_MAGIC):
        return ".xlsx"
    return None


def _check_zip_size(data: bytes) -> None:
    """Refuse an .xlsx that would expand beyond :data:`MAX_XLSX_EXPANDED_BYTES`, or whose zip is damaged.

    The sizes in the zip's directory are checked first, then proven: every member is read in 1 MB chunks,
    which ``zipfile`` stops at the declared size and checks against the member's CRC. A directory that
    understates a member's size would otherwise let openpyxl inflate it in one piece, up to about a
    thousand times the upload's size, before the CRC check fails.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            expanded = sum(info.file_size for info in zf.infolist())
            if expanded > MAX_XLSX_EXPANDED_BYTES:
                raise Problem(FORM_INVALID, detail=f"the .xlsx file expands to {expanded} bytes, more than allowed")
            for info in zf.infolist():
                with zf.open(info) as member:
                    while member.read(1024 * 1024):
                        pass
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise Problem(FORM_INVALID, detail=f"the .xlsx file is damaged ({exc})") from None


def convert_xlsform(data: bytes, file_name: str, *, validate: bool) -> Conversion:
    """Convert XLSForm bytes (.xls or .xlsx) named ``file_name`` to an XForm.

    ``media`` holds files pyxform generates for the form (``itemsets.csv`` for ``select_one_external``).
    Raises :class:`Problem` ``FORM_INVALID`` with pyxform's or ODK Validate's own message when the
    form is rejected, or when the bytes are not a spreadsheet.
    """
    kind = spreadsheet_type(data)
    if kind is None:
        raise Problem(FORM_INVALID, detail=f"'{file_name}' is not an XLSForm spreadsheet (.xls or .xlsx)")
    if kind == ".xlsx":
        _check_zip_size(data)
    stem = Path(file_name).stem.strip() or "form"
    with tempfile.TemporaryDirectory(prefix="knn-xlsform-") as tmp:
        path = Path(tmp) / f"{Path(stem).name}{kind}"
        path.write_bytes(data)
        try:
            result = convert(str(path), validate=validate, file_type=kind)
        except (PyXFormError, ODKValidateError) as exc:
            raise Problem(FORM_INVALID, detail=str(exc).strip()) from None
        except Exception as exc:
            raise Problem(FORM_INVALID, detail=f"'{file_name}' could not be read: {exc}") from None
    media = {"itemsets.csv": result.itemsets.encode("utf-8")} if result.itemsets is not None else {}
    return Conversion(xform=result.xform.encode("utf-8"), warnings=tuple(result.warnings), media=media)


def validate_xform(xform: bytes) -> tuple[str, ...]:
    """Run ODK Validate (the JavaRosa jar shipped with pyxform) on XForm bytes; return its warnings.

    Raises :class:`Problem` ``FORM_INVALID`` with Validate's message when the form is invalid.
    """
    with tempfile.NamedTemporaryFile(suffix=".xml", prefix="knn-xform-") as tmp:
        tmp.write(xform)
        tmp.flush()
        try:
            return tuple(check_xform(tmp.name))
        except ODKValidateError as exc:
            raise Problem(FORM_INVALID, detail=str(exc).strip()) from None
