"""The installed package: the wheel built from the repository holds every module, template, static file, migration and
form of the mapped folders (pyproject.toml's package-dir; setup.py finds their subpackages), and building it prints
no warnings.

Source: the packaging issue (a quiet install; templates, static files, migrations and forms as package data).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"][
    "package-dir"
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], str]:
    """``(names in the wheel, what pip printed)`` for a wheel of the repository built as ``pip install .`` does.

    ``--verbose``, because older pips show the build's own output only then.
    """
    out = tmp_path_factory.mktemp("wheel")
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    (wheel,) = out.glob("khoknongna-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist()), run.stdout + run.stderr


def shipped_files() -> set[str]:
    """Where each file of the mapped folders lands in the package (docs and bytecode left out)."""
    names = set()
    for package, folder in PACKAGE_DIR.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".md"):
                names.add(f"{package.replace('.', '/')}/{path.relative_to(ROOT / folder).as_posix()}")
    return names


def test_the_wheel_holds_every_module_template_static_file_migration_and_form(built) -> None:
    names, _ = built

    assert shipped_files() - names == set()
    assert {"khoknongna/server/templates/base.html", "khoknongna/server/static/site.css"} <= names
    assert "khoknongna/storage/migrations/script.py.mako" in names
    assert "khoknongna/forms_xlsform/plot_survey.xlsx" in names


def test_building_the_package_prints_no_warnings(built) -> None:
    _, printed = built

    assert re.findall(r"\w+Warning\b.*", printed) == []
