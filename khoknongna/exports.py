"""Exports of a form's submissions: CSV (zipped, one file per repeat), XLSX, GeoJSON, GeoPackage, and the
photos of a selection as a zip.

Every format reads the form's typed views (``storage/gis_views.py``) through a server-side cursor
(``storage/exports.py``) and writes as it reads, so memory stays flat however many submissions there are:
CSV rows go straight into a deflated zip member, XLSX through openpyxl's write-only mode, GeoJSON feature by
feature, GeoPackage in batches appended with pyogrio (GDAL), photos blob by blob from the blob store.

=========== ============================================================================================
format      content
=========== ============================================================================================
``csv``     zip: ``<formID>.csv`` (one row per submission), ``<formID>__<repeat>.csv`` per repeat with the
            ``submission_id`` and ``repeat_position`` (``1.2``) of its row; geometries as WKT
``xlsx``    one sheet per view (the same columns as the CSV); at most 1,048,575 rows a sheet (Excel's limit)
``geojson`` the submissions as a FeatureCollection (RFC 7946, WGS84) on their first geo field; other geo
            fields as WKT properties
``gpkg``    one layer per view and geo field (``<view>`` for the first, ``<view>__<field>`` for others),
            typed Point / LineString / Polygon in EPSG:4326; views without geometry as attribute tables
``photos``  zip of the photos and other files: ``<instanceID>/<file name>``, both as safe names
            (``khoknongna.file_names``: one path segment, no control characters, unique in their folder)
=========== ============================================================================================

Dates and times are ISO 8601; times in Asia/Bangkok.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from khoknongna.file_names import UniqueNames
from khoknongna.periods import month_text
from khoknongna.problems import FORM_NOT_FOUND, Problem
from khoknongna.storage import exports as queries
from khoknongna.storage.blobs import BlobStore
from khoknongna.storage.exports import ExportView, Filters
from khoknongna.storage.gis_views import quote

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx", "geojson", "gpkg", "photos")
MEDIA_TYPES = {
    "csv": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "photos": "application/zip",
}
FILE_SUFFIX = {"csv": ".csv.zip", "xlsx": ".xlsx", "geojson": ".geojson", "gpkg": ".gpkg", "photos": ".photos.zip"}
BANGKOK = ZoneInfo("Asia/Bangkok")
XLSX_MAX_ROWS = 1_048_575
GPKG_BATCH = 50_000

Progress = Callable[[int], None]


def parse_month(value: str) -> tuple[int, int]:
    """``"2026-11"`` -> ``(2026, 11)``; raises ``ValueError`` for anything else."""
    found = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", value or "")
    if found is None:
        raise ValueError(f"a month is YYYY-MM, not '{value}'")
    return int(found[1]), int(found[2])


def month_filters(month: tuple[int, int] | None, area: str | None = None, review_state: str | None = None) -> Filters:
    """Filters for the submissions belonging to a month ``(year, month)`` (:mod:`khoknongna.periods`), an area
    code and a review state."""
    return Filters(month=month_text(month) if month else None, area=area or None, review_state=review_state or None)


class ExportTooLarge(ValueError):
    """The selection does not fit the format (more rows than an XLSX sheet holds)."""


@dataclass
class ExportResult:
    """What was written: rows per view (submissions, repeat instances) or files (photos)."""

    rows: dict[str, int]


def _views(conn: Connection, project_id: int, xml_form_id: str) -> tuple[int, list[ExportView]]:
    found = queries.form_views(conn, project_id, xml_form_id)
    if found is None or not found[1]:
        raise Problem(FORM_NOT_FOUND, form_id=xml_form_id)
    return found


@dataclass(frozen=True)
class _Selection:
    """What every writer reads: the form's views (the first one is the submissions), the filters, the progress."""

    conn: Connection
    xml_form_id: str
    form_pk: int
    views: list[ExportView]
    filters: Filters
    progress: Progress | None

    @property
    def main(self) -> ExportView:
        return self.views[0]

    def rows(self, view: ExportView, expressions: dict[str, str] | None = None) -> Iterator[Any]:
        """The rows of ``view``, columns read through ``expressions`` (default: as text where a format needs
        text); progress counts the submissions (the main view's rows)."""
        if expressions is None:
            expressions = _text_expressions(view)
        for row in queries.stream_rows(self.conn, self.form_pk, self.main, view, self.filters, expressions):
            yield row
            if self.progress and view.repeat is None:
                self.progress(1)


def count(conn: Connection, project_id: int, xml_form_id: str, filters: Filters) -> int:
    """How many submissions an export with these filters holds."""
    form_pk, views = _views(conn, project_id, xml_form_id)
    return queries.count_rows(conn, form_pk, views[0], filters)


def _plain(value: Any) -> Any:
    """A value as text-friendly Python: datetimes in Bangkok time, arrays joined, JSON as text."""
    if isinstance(value, datetime):
        return value.astimezone(BANGKOK).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _text_expressions(view: ExportView) -> dict[str, str]:
    out = {}
    for column, kind in view.columns.items():
        ref = "t." + quote(column)
        if kind.startswith("geometry"):
            out[column] = f"ST_AsText({ref})"
        elif kind == "integer[]":
            out[column] = f"array_to_string({ref}, '.')"
        elif kind == "text[]":
            out[column] = f"array_to_string({ref}, ' ')"
    return out


def write_csv_zip(selection: _Selection, out: BinaryIO) -> ExportResult:
    """A zip with one CSV (UTF-8 with BOM, for Excel) per view into ``out`` (need not be seekable)."""
    rows: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for view in selection.views:
            with archive.open(f"{view.name}.csv", "w", force_zip64=True) as member:
                writer_io = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
                writer = csv.writer(writer_io)
                writer.writerow(view.columns)
                n = 0
                for row in selection.rows(view):
                    writer.writerow([_plain(v) for v in row])
                    n += 1
                writer_io.flush()
                writer_io.detach()
            rows[view.name] = n
    return ExportResult(rows)


def write_xlsx(selection: _Selection, out: BinaryIO) -> ExportResult:
    """An XLSX workbook with one sheet per view (openpyxl write-only: rows are not kept in memory)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    rows: dict[str, int] = {}
    titles: set[str] = set()
    for view in selection.views:
        title = re.sub(r"[\[\]:*?/\\]", "_", view.repeat or selection.xml_form_id)[:31]
        while title in titles:
            title = f"{title[:28]}~{len(titles)}"
        titles.add(title)
        sheet = workbook.create_sheet(title=title)
        sheet.append(list(view.columns))
        n = 0
        for row in selection.rows(view):
            if n >= XLSX_MAX_ROWS:
                raise ExportTooLarge(f"{view.name} has more than {XLSX_MAX_ROWS:,} rows, Excel's limit: use CSV")
            sheet.append([_xlsx_value(v) for v in row])
            n += 1
        rows[view.name] = n
    workbook.save(out)
    return ExportResult(rows)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(BANGKOK).replace(tzinfo=None)
    if isinstance(value, date | int | float | bool | str) or value is None:
        return value
    return _plain(value)


def write_geojson(selection: _Selection, out: BinaryIO) -> ExportResult:
    """The submissions as a GeoJSON FeatureCollection, written feature by feature."""
    main = selection.main
    geometries = main.geometry_columns()
    expressions = _text_expressions(main)
    expressions.pop(next(iter(geometries), ""), None)
    if geometries:
        expressions[geometries[0]] = f"ST_AsGeoJSON(t.{quote(geometries[0])}, 8)"
    out.write(b'{"type":"FeatureCollection","features":[\n')
    n = 0
    for row in selection.rows(main, expressions):
        values = dict(row._mapping)
        geometry = values.pop(geometries[0]) if geometries else None
        feature = {
            "type": "Feature",
            "id": values["submission_id"],
            "geometry": json.loads(geometry) if geometry else None,
            "properties": {k: _plain(v) for k, v in values.items()},
        }
        out.write((b",\n" if n else b"") + json.dumps(feature, ensure_ascii=False).encode())
        n += 1
    out.write(b"\n]}\n")
    return ExportResult({main.name: n})


_GPKG_TYPES = {"Point": "Point", "LineString": "LineString", "Polygon": "Polygon"}


def write_gpkg(selection: _Selection, path: Path) -> ExportResult:
    """A GeoPackage at ``path`` (a file GDAL writes: not a stream), appended ``GPKG_BATCH`` rows at a time."""
    path.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    for view in selection.views:
        geometries = view.geometry_columns() or [None]
        for position, geometry in enumerate(geometries):
            layer = view.name if position == 0 else f"{view.name}__{geometry}"
            # the submissions are counted once: on the main view's first layer
            counted = selection if position == 0 else replace(selection, progress=None)
            rows[layer] = _gpkg_layer(counted, view, geometry, layer, path)
    return ExportResult(rows)


def _gpkg_layer(selection: _Selection, view: ExportView, geometry: str | None, layer: str, path: Path) -> int:
    import numpy as np
    from pyogrio.raw import write

    others = [c for c, t in view.columns.items() if c != geometry]
    expressions = _text_expressions(view)
    if geometry is not None:
        expressions[geometry] = f"ST_AsBinary(t.{quote(geometry)})"
    kinds = {c: view.columns[c] for c in others}
    geometry_type = view.columns[geometry].split("(")[1].split(",")[0] if geometry else None

    def flush(batch: list[Any], first: bool) -> None:
        fields, masks = [], []
        for i, column in enumerate(others):
            values = [r[i + 1] for r in batch]
            array, mask = _numpy_column(np, values, kinds[column])
            fields.append(array)
            masks.append(mask)
        geometries = np.array([r[0] for r in batch], dtype=object) if geometry else None
        write(
            str(path),
            geometries,
            fields,
            others,
            field_mask=masks,
            layer=layer,
            driver="GPKG",
            geometry_type=_GPKG_TYPES[geometry_type] if geometry_type else None,
            crs="EPSG:4326" if geometry else None,
            encoding="UTF-8",
            append=not first,  # the first batch adds the layer to the file (GPKG holds many)
        )

    ordered = ExportView(
        view.name, view.repeat, {**({geometry: view.columns[geometry]} if geometry else {"__none": "text"}), **kinds}
    )
    if geometry is None:
        expressions["__none"] = "NULL"
    batch: list[Any] = []
    n = 0
    first = True
    for row in selection.rows(ordered, expressions):
        batch.append(row)
        n += 1
        if len(batch) >= GPKG_BATCH:
            flush(batch, first)
            batch, first = [], False
    if batch or first:
        flush(batch, first)
    return n


def _numpy_column(np: Any, values: list[Any], kind: str) -> tuple[Any, Any]:
    mask = np.array([v is None for v in values], dtype=bool)
    if kind == "bigint" or kind == "integer":
        return np.array([0 if v is None else v for v in values], dtype=np.int64), mask
    if kind == "numeric":
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64), mask
    if kind == "boolean":
        return np.array([bool(v) for v in values], dtype=bool), mask
    return np.array([None if v is None else str(_plain(v)) for v in values], dtype=object), mask


def write_photos_zip(selection: _Selection, out: BinaryIO, blobs: BlobStore) -> ExportResult:
    """A zip (stored, photos are compressed already) of the files of the selected submissions, streamed.

    Entries are ``<instanceID>/<file name>`` made of safe names, whatever was stored (names kept by older
    versions were not checked): extracting the zip writes inside its folder only.
    """
    n = 0
    folders = UniqueNames()
    folder, names, instance_id = "", UniqueNames(), None
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for row in queries.photo_rows(selection.conn, selection.form_pk, selection.main, selection.filters):
            if row.instance_id != instance_id:  # rows come ordered by submission
                instance_id, names = row.instance_id, UniqueNames()
                folder = folders.name(row.instance_id.replace(":", "_"))
            name = f"{folder}/{names.name(row.name)}"
            with blobs.open(row.blob_sha256) as source, archive.open(name, "w", force_zip64=True) as member:
                for chunk in iter(lambda s=source: s.read(1 << 20), b""):
                    member.write(chunk)
            n += 1
            if selection.progress:
                selection.progress(1)
    return ExportResult({"files": n})


def export(
    conn: Connection,
    blobs: BlobStore,
    project_id: int,
    xml_form_id: str,
    fmt: str,
    path: Path,
    filters: Filters,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the export of ``fmt`` (one of :data:`FORMATS`) to the file ``path``.

    Raises :class:`Problem` ``FORM_NOT_FOUND`` for a form without views; ``ValueError`` for an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}'; one of {', '.join(FORMATS)}")
    form_pk, views = _views(conn, project_id, xml_form_id)
    selection = _Selection(conn, xml_form_id, form_pk, views, filters, progress)
    if fmt == "gpkg":
        return write_gpkg(selection, path)
    writers = {"csv": write_csv_zip, "xlsx": write_xlsx, "geojson": write_geojson}
    with path.open("wb") as out:
        if fmt == "photos":
            return write_photos_zip(selection, out, blobs)
        return writers[fmt](selection, out)


def chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of ``path`` in chunks (to stream a finished export over HTTP)."""
    with path.open("rb") as source:
        yield from iter(lambda: source.read(size), b"")
