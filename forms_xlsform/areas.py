"""Thailand's provinces, districts (amphoe) and sub-districts (tambon) as CSV form attachments.

The forms ask for an address with three cascading selects (``select_one_from_file`` with a
``choice_filter``) on these files. They are generated from the ``geothai`` package at build time,
never typed by hand, so the codes are the official DOPA codes (กรมการปกครอง): 2 digits for a
province, 4 for a district, 6 for a sub-district, each starting with its parent's code.

Files and columns (UTF-8, no BOM, ``\\n`` line ends, rows in code order):

* ``provinces.csv``: ``name`` (code), ``label`` (Thai name), ``label_en`` (English name)
* ``amphoes.csv``: ``name``, ``label``, ``label_en``, ``province`` (the province's code)
* ``tambons.csv``: ``name``, ``label``, ``label_en``, ``amphoe`` (the district's code), ``province``

Collect shows the ``label`` column; pyxform cannot yet take a label per form language from a CSV
(XLSForm/pyxform#593), so the choice labels are Thai in both form languages and ``label_en`` is there
for exports and reports.

Data: GeoThai/data by Pongsakorn Thipayanate, CC-BY-4.0 (https://github.com/GeoThai/data), from the
Department of Provincial Administration's administrative codes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import geothai

PROVINCES_CSV = "provinces.csv"
AMPHOES_CSV = "amphoes.csv"
TAMBONS_CSV = "tambons.csv"

ATTRIBUTION = (
    "Province, district and sub-district codes and names: GeoThai/data "
    f"(version {geothai.DATA_VERSION}) by Pongsakorn Thipayanate, https://github.com/GeoThai/data, "
    "licensed CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/); source: Department of "
    "Provincial Administration (กรมการปกครอง)."
)


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def area_csvs() -> dict[str, bytes]:
    """``{file name: CSV bytes}`` for ``provinces.csv``, ``amphoes.csv`` and ``tambons.csv``.

    Every province, district and sub-district that ``geothai`` lists (77, 928 and 7,436 in its data
    version 2026.10.23), in code order. The bytes are the same on every call with the same ``geothai``.
    """
    provinces = geothai.provinces()
    districts = [d for p in provinces for d in geothai.districts(p.code)]
    subdistricts = [s for d in districts for s in geothai.subdistricts(d.code)]
    return {
        PROVINCES_CSV: _csv(("name", "label", "label_en"), ((p.code, p.name_th, p.name_en) for p in provinces)),
        AMPHOES_CSV: _csv(
            ("name", "label", "label_en", "province"),
            ((d.code, d.name_th, d.name_en, d.province_code) for d in districts),
        ),
        TAMBONS_CSV: _csv(
            ("name", "label", "label_en", "amphoe", "province"),
            ((s.code, s.name_th, s.name_en, s.district_code, s.province_code) for s in subdistricts),
        ),
    }
