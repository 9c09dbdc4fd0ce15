"""The list of packages for setuptools; everything else is in pyproject.toml.

The package ``khoknongna`` is mapped from top-level folders ([tool.setuptools.package-dir] in pyproject.toml:
``khoknongna.storage`` lives in ``storage/``), which ``[tool.setuptools.packages.find]`` cannot express: it names
what it finds after the folder it searched. So every folder under each mapped folder is found here and named
under its package, and a new subpackage (or a folder of templates or static files) is installed without being
listed anywhere.
"""

import tomllib
import warnings
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.warnings import InformationOnly

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"][
    "package-dir"
]

# An editable install of a package mapped from other folders always gets setuptools' notice "Editable
# installation ... folders with the same name as your package may take precedence": the mapping is this project's
# layout, so the notice (information, not a warning; setuptools' deprecations still show) is left out.
warnings.filterwarnings("ignore", category=InformationOnly)

setup(
    packages=[
        *PACKAGE_DIR,
        *(
            f"{package}.{sub}"
            for package, folder in PACKAGE_DIR.items()
            for sub in find_namespace_packages(where=str(ROOT / folder), exclude=["__pycache__", "*.__pycache__"])
        ),
    ]
)
