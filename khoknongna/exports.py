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
from dataclasses import dataclass
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


def _view_rows(
    conn: Connection,
    form_pk: int,
    views: list[ExportView],
    view: ExportView,
    filters: Filters,
    progress: Progress | None,
) -> Iterator[Any]:
    """The rows of one view, as text where a format needs text; progress counts the submissions (main view)."""
    for row in queries.stream_rows(conn, form_pk, views[0], view, filters, _text_expressions(view)):
        yield row
        if progress and view.repeat is None:
            progress(1)


def write_csv_zip(
    conn: Connection,
    project_id: int,
    xml_form_id: str,
    out: BinaryIO,
    filters: Filters,
    progress: Progress | None = None,
) -> ExportResult:
    """A zip with one CSV (UTF-8 with BOM, for Excel) per view into ``out`` (need not be seekable)."""
    form_pk, views = _views(conn, project_id, xml_form_id)
    rows: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for view in views:
            with archive.open(f"{view.name}.csv", "w", force_zip64=True) as member:
                writer_io = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
                writer = csv.writer(writer_io)
                writer.writerow(view.columns)
                n = 0
                for row in _view_rows(conn, form_pk, views, view, filters, progress):
                    writer.writerow([_plain(v) for v in row])
                    n += 1
                writer_io.flush()
                writer_io.detach()
            rows[view.name] = n
    return ExportResult(rows)


def write_xlsx(
    conn: Connection,
    project_id: int,
    xml_form_id: str,
    out: BinaryIO,
    filters: Filters,
    progress: Progress | None = None,
) -> ExportResult:
    """An XLSX workbook with one sheet per view (openpyxl write-only: rows are not kept in memory)."""
    from openpyxl import Workbook

    form_pk, views = _views(conn, project_id, xml_form_id)
    workbook = Workbook(write_only=True)
    rows: dict[str, int] = {}
    titles: set[str] = set()
    for view in views:
        title = re.sub(r"[\[\]:*?/\\]", "_", view.repeat or xml_form_id)[:31]
        while title in titles:
            title = f"{title[:28]}~{len(titles)}"
        titles.add(title)
        sheet = workbook.create_sheet(title=title)
        sheet.append(list(view.columns))
        n = 0
        for row in _view_rows(conn, form_pk, views, view, filters, progress):
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


def write_geojson(
    conn: Connection,
    project_id: int,
    xml_form_id: str,
    out: BinaryIO,
    filters: Filters,
    progress: Progress | None = None,
) -> ExportResult:
    """The submissions as a GeoJSON FeatureCollection, written feature by feature."""
    form_pk, views = _views(conn, project_id, xml_form_id)
    main = views[0]
    geometries = main.geometry_columns()
    expressions = _text_expressions(main)
    expressions.pop(next(iter(geometries), ""), None)
    if geometries:
        expressions[geometries[0]] = f"ST_AsGeoJSON(t.{quote(geometries[0])}, 8)"
    out.write(b'{"type":"FeatureCollection","features":[\n')
    n = 0
    for row in queries.stream_rows(conn, form_pk, main, main, filters, expressions):
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
        if progress:
            progress(1)
    out.write(b"\n]}\n")
    return ExportResult({main.name: n})


_GPKG_TYPES = {"Point": "Point", "LineString": "LineString", "Polygon": "Polygon"}


def write_gpkg(
    conn: Connection, project_id: int, xml_form_id: str, path: Path, filters: Filters, progress: Progress | None = None
) -> ExportResult:
    """A GeoPackage at ``path`` (a file GDAL writes: not a stream), appended ``GPKG_BATCH`` rows at a time."""
    form_pk, views = _views(conn, project_id, xml_form_id)
    path.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    for view in views:
        geometries = view.geometry_columns() or [None]
        for position, geometry in enumerate(geometries):
            layer = view.name if position == 0 else f"{view.name}__{geometry}"
            rows[layer] = _gpkg_layer(
                conn,
                form_pk,
                views[0],
                view,
                geometry,
                layer,
                path,
                filters,
                progress if (view.repeat is None and position == 0) else None,
            )
    return ExportResult(rows)


def _gpkg_layer(
    conn: Connection,
    form_pk: int,
    main: ExportView,
    view: ExportView,
    geometry: str | None,
    layer: str,
    path: Path,
    filters: Filters,
    progress: Progress | None,
) -> int:
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
    for row in queries.stream_rows(conn, form_pk, main, ordered, filters, expressions):
        batch.append(row)
        n += 1
        if progress:
            progress(1)
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


def write_photos_zip(
    conn: Connection,
    project_id: int,
    xml_form_id: str,
    out: BinaryIO,
    filters: Filters,
    blobs: BlobStore,
    progress: Progress | None = None,
) -> ExportResult:
    """A zip (stored, photos are compressed already) of the files of the selected submissions, streamed.

    Entries are ``<instanceID>/<file name>`` made of safe names, whatever was stored (names kept by older
    versions were not checked): extracting the zip writes inside its folder only.
    """
    form_pk, views = _views(conn, project_id, xml_form_id)
    n = 0
    folders = UniqueNames()
    folder, names, instance_id = "", UniqueNames(), None
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for row in queries.photo_rows(conn, form_pk, views[0], filters):
            if row.instance_id != instance_id:  # rows come ordered by submission
                instance_id, names = row.instance_id, UniqueNames()
                folder = folders.name(row.instance_id.replace(":", "_"))
            name = f"{folder}/{names.name(row.name)}"
            with blobs.open(row.blob_sha256) as source, archive.open(name, "w", force_zip64=True) as member:
                for chunk in iter(lambda s=source: s.read(1 << 20), b""):
                    member.write(chunk)
            n += 1
            if progress:
                progress(1)
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
    if fmt == "gpkg":
        return write_gpkg(conn, project_id, xml_form_id, path, filters, progress)
    writers = {"csv": write_csv_zip, "xlsx": write_xlsx, "geojson": write_geojson}
    with path.open("wb") as out:
        if fmt == "photos":
            return write_photos_zip(conn, project_id, xml_form_id, out, filters, blobs, progress)
        if fmt not in writers:
            raise ValueError(f"unknown export format '{fmt}'; one of {', '.join(FORMATS)}")
        return writers[fmt](conn, project_id, xml_form_id, out, filters, progress)


def chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of ``path`` in chunks (to stream a finished export over HTTP)."""
    with path.open("rb") as source:
        yield from iter(lambda: source.read(size), b"")
