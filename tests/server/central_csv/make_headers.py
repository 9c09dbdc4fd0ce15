"""Make ``headers/<form file>.json``: the CSV tables ODK Central's own code writes for each corpus form and
each bundled form, and their header rows (see README.md).

Each form is converted to the XForm this server publishes (pyxform, as ``publish_form`` does), then
``central_briefcase.js`` runs central-backend's ``getFormFields`` and ``streamBriefcaseCsvs`` on it with no
submissions: the zip it writes holds every table with its header alone. Usage, from the worktree root::

    .venv/bin/python -m tests.server.central_csv.make_headers /path/to/central-backend

where ``/path/to/central-backend`` is a checkout of central-backend with the npm packages of README.md
installed in it (``central_briefcase.js`` is copied there, as it loads ``./lib/...``).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from khoknongna.forms_xlsform import bundled_forms
from khoknongna.openrosa.xform import read_xform
from khoknongna.openrosa.xlsform import convert_xlsform, spreadsheet_type
from tests.paths import CORPUS_FORMS

HERE = Path(__file__).parent
HEADERS = HERE / "headers"


def form_files() -> list[tuple[str, bytes]]:
    """``(file name, bytes)`` of every corpus form and every bundled form (the forms the tests export)."""
    corpus = [(p.name, p.read_bytes()) for p in sorted(CORPUS_FORMS.iterdir()) if p.suffix in (".xml", ".xlsx", ".xls")]
    return corpus + [(p.name, p.read_bytes()) for p in bundled_forms()]


def xform_of(name: str, data: bytes) -> bytes:
    """The XForm the server publishes for a form file."""
    return convert_xlsform(data, name, validate=False).xform if spreadsheet_type(data) else data


def central_headers(central: Path, xform: bytes) -> dict[str, list[str]]:
    """``table file name -> header`` as central-backend's code writes them for ``xform``."""
    form_id = read_xform(xform).form_id
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "form.xml", Path(tmp) / "out.zip"
        source.write_bytes(xform)
        subprocess.run(["node", "central_briefcase.js", str(source), form_id, str(out)], cwd=central, check=True)
        archive = zipfile.ZipFile(out)
        return {n: next(csv.reader(io.StringIO(archive.read(n).decode("utf-8")))) for n in archive.namelist()}


def main(central: Path) -> None:
    shutil.copy(HERE / "central_briefcase.js", central / "central_briefcase.js")
    HEADERS.mkdir(exist_ok=True)
    for name, data in form_files():
        headers = central_headers(central, xform_of(name, data))
        text = json.dumps(headers, ensure_ascii=False, indent=1)
        (HEADERS / f"{name}.json").write_text(text + "\n", encoding="utf-8")
        print(name, len(headers), "tables")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
