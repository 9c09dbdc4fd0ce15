"""Exports of the plot survey of the real form pack, read back with the libraries GIS staff use: csv/zipfile,
openpyxl, json, pyogrio (GeoPackage layers with their geometry types and counts), and the photos zip."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from pathlib import Path

import pyogrio
import pytest
from click.testing import CliRunner
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import Engine

from khoknongna import exports
from khoknongna.server.cli import main
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.instances import jpeg
from tests.plots import plot_xml


@pytest.fixture
def collect(supervise: CollectClient) -> CollectClient:
    """Sends forms as Collect does and reads the JSON API, which collectors may not: a department supervisor."""
    return supervise


OTHER_AMPHOE = "4002"  # บ้านฝาง


def register(collect: CollectClient, *, amphoe: str = "4001", photos: tuple[str, ...] = ()) -> str:
    plot = str(uuid.uuid4())
    xml = plot_xml(f"uuid:{uuid.uuid4()}", plot_id=plot, overview="", photos=photos)
    if amphoe != "4001":
        xml = xml.replace(b"<amphoe>4001</amphoe>", f"<amphoe>{amphoe}</amphoe>".encode())
        xml = xml.replace(b"<tambon>400114</tambon>", f"<tambon>{amphoe}01</tambon>".encode())
    responses = collect.submit(xml, {name: jpeg(i) for i, name in enumerate(photos)})
    assert responses[-1].status_code == 201, responses[-1].data
    return plot


@pytest.fixture
def surveys(form_pack, collect: CollectClient) -> list[str]:
    """Three plot surveys: two in amphoe 4001 (one with two photos), one in 4002."""
    return [
        register(collect, photos=("1790000000101.jpg", "1790000000102.jpg")),
        register(collect),
        register(collect, amphoe=OTHER_AMPHOE),
    ]


def run_export(db: Engine, app: Flask, fmt: str, path: Path, **filters) -> exports.ExportResult:
    with db.connect() as conn:
        return exports.export(
            conn, app.extensions["knn"].blobs, 1, "plot_survey", fmt, path, exports.month_filters(**filters)
        )


def test_csv_is_a_zip_of_one_file_per_view_keyed_by_submission(surveys, db: Engine, app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "plot_survey.csv.zip"

    run_export(db, app, "csv", path, month=None)

    with zipfile.ZipFile(path) as archive:
        assert {"plot_survey.csv", "plot_survey__parts.csv", "plot_survey__swales.csv"} <= set(archive.namelist())
        main_rows = list(csv.DictReader(io.TextIOWrapper(archive.open("plot_survey.csv"), encoding="utf-8-sig")))
        parts = list(csv.DictReader(io.TextIOWrapper(archive.open("plot_survey__parts.csv"), encoding="utf-8-sig")))
    assert sorted(r["plot_id"] for r in main_rows) == sorted(surveys)
    assert main_rows[0]["owner_name"] == "นางสมศรี ใจดี"
    assert main_rows[0]["boundary"].startswith("POLYGON((")
    assert main_rows[0]["has_parts"] == "True"
    assert len(parts) == 6 and {p["repeat_position"] for p in parts} == {"1", "2"}
    assert {p["submission_id"] for p in parts} == {r["submission_id"] for r in main_rows}


def test_the_area_filter_keeps_the_plots_of_that_amphoe(surveys, db: Engine, app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "other.csv.zip"

    result = run_export(db, app, "csv", path, month=None, area=OTHER_AMPHOE)

    assert result.rows["plot_survey"] == 1 and result.rows["plot_survey__parts"] == 2
    with zipfile.ZipFile(path) as archive:
        (row,) = csv.DictReader(io.TextIOWrapper(archive.open("plot_survey.csv"), encoding="utf-8-sig"))
    assert row["plot_id"] == surveys[2]


def test_a_month_without_submissions_exports_no_rows(surveys, db: Engine, app: Flask, tmp_path: Path) -> None:
    assert run_export(db, app, "csv", tmp_path / "x.zip", month=(2020, 1)).rows["plot_survey"] == 0


def test_xlsx_has_a_sheet_per_view(surveys, db: Engine, app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "plot_survey.xlsx"

    run_export(db, app, "xlsx", path, month=None)

    workbook = load_workbook(path, read_only=True)
    assert {"plot_survey", "parts", "swales", "photos"} <= set(workbook.sheetnames)
    rows = list(workbook["plot_survey"].iter_rows(values_only=True))
    header = rows[0]
    assert len(rows) == 4
    assert {r[header.index("plot_id")] for r in rows[1:]} == set(surveys)
    assert rows[1][header.index("village_no")] == 5


def test_geojson_is_a_feature_collection_of_polygons(surveys, db: Engine, app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "plot_survey.geojson"

    run_export(db, app, "geojson", path, month=None)

    collection = json.loads(path.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 3
    feature = collection["features"][0]
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["location"].startswith("POINT(")
    assert feature["properties"]["owner_name"] == "นางสมศรี ใจดี"


def test_gpkg_has_a_typed_layer_per_geo_field_and_repeat(surveys, db: Engine, app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "plot_survey.gpkg"

    run_export(db, app, "gpkg", path, month=None)

    layers = dict(pyogrio.list_layers(path).tolist())
    assert layers["plot_survey"] == "Polygon"
    assert layers["plot_survey__location"] == "Point"
    assert layers["plot_survey__parts"] == "Polygon"
    assert layers["plot_survey__swales"] == "LineString"
    assert pyogrio.read_info(path, layer="plot_survey")["features"] == 3
    assert pyogrio.read_info(path, layer="plot_survey__parts")["features"] == 6
    assert pyogrio.read_info(path, layer="plot_survey")["crs"] == "EPSG:4326"
    _meta, _, geometry, fields = pyogrio.raw.read(path, layer="plot_survey", columns=["plot_id", "village_no"])
    assert set(fields[0]) == set(surveys) and list(fields[1]) == [5, 5, 5]
    assert len(geometry) == 3


def test_photos_zip_holds_the_files_of_the_selection(surveys, db: Engine, app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "photos.zip"

    result = run_export(db, app, "photos", path, month=None, area="4001")

    with zipfile.ZipFile(path) as archive:
        names = sorted(n.split("/")[1] for n in archive.namelist())
        first = next(n for n in archive.namelist() if n.endswith("1790000000101.jpg"))
        assert archive.read(first) == jpeg(0)
    assert names == ["1790000000101.jpg", "1790000000102.jpg"] and result.rows["files"] == 2


def test_the_export_command_writes_the_file_with_a_progress_bar(
    surveys, pg_url: str, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "cli.gpkg"

    result = CliRunner().invoke(
        main,
        ["export", "plot_survey", "--format", "gpkg", "--out", str(out), "--area", "4001"],
        env={"KNN_DATABASE_URL": pg_url, "KNN_DATA_DIR": str(settings.data_dir)},
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert "exporting 2 submission(s) of plot_survey as gpkg" in result.output
    assert pyogrio.read_info(out, layer="plot_survey")["features"] == 2


def test_the_api_streams_an_export_download(surveys, collect: CollectClient) -> None:
    response = collect.get(f"/v1/projects/1/forms/plot_survey/export.geojson?area={OTHER_AMPHOE}")

    assert response.status_code == 200, response.data
    assert response.headers["Content-Disposition"] == 'attachment; filename="plot_survey.geojson"'
    assert [f["properties"]["plot_id"] for f in json.loads(response.data)["features"]] == [surveys[2]]


def test_the_api_refuses_an_unknown_format_and_form(surveys, collect: CollectClient) -> None:
    assert collect.get("/v1/projects/1/forms/plot_survey/export.shp").status_code == 400
    assert collect.get("/v1/projects/1/forms/nope/export.csv").status_code == 404
