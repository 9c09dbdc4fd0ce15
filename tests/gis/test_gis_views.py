"""The typed views of the schema ``forms``: made on publish from the XForm binds, read by a read-only role with
QGIS-style spatial queries; the role cannot write or read the base tables."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError

from khoknongna.jobs import run_worker
from khoknongna.openrosa.xform import FormDefinition
from khoknongna.publishing import publish_form
from khoknongna.server.cli import main
from khoknongna.settings import Settings
from khoknongna.storage.db import make_engine
from khoknongna.storage.gis_views import form_shape, identifier, view_columns, view_name
from tests.collect import CollectClient
from tests.gis.conftest import survey
from tests.gis.test_monthly_report import BANGKOK, activity_report
from tests.plots import LAT, LON
from tests.sql import one, rows
from tests.xlsforms import xlsform

BBOX = f"ST_MakeEnvelope({LON - 0.001}, {LAT - 0.001}, {LON + 0.001}, {LAT + 0.001}, 4326)"


def definition(version: str, fields: dict[str, str], repeats: tuple[str, ...] = (), **kw) -> FormDefinition:
    return FormDefinition("f", version, "F", "data", False, fields=fields, repeats=frozenset(repeats), **kw)


# --- names and types, without a database ------------------------------------------------------------------------


def test_identifiers_are_lowercase_ascii_and_short() -> None:
    assert identifier("Owner-Name") == "owner_name"
    assert identifier("2nd_visit").startswith("f_2nd_visit")
    thai = identifier("ชื่อ")
    assert thai.startswith("_") and len(thai) <= 63 and thai != identifier("ที่อยู่")
    long = identifier("x" * 80)
    assert len(long.encode()) == 63 and long != identifier("x" * 81)


def test_a_field_name_met_twice_keeps_the_first_and_suffixes_the_second() -> None:
    shape = form_shape([definition("1", {"owner/name": "string", "village/name": "string", "review_state": "int"})])

    names = [c.name for c in shape.columns]
    assert names[0] == "name"
    assert names[1].startswith("name_") and len(names[1]) == len("name_") + 6
    assert names[2].startswith("review_state_"), "a field may not take a column of the view itself"


def test_the_view_has_the_union_of_the_versions_and_text_where_they_disagree() -> None:
    old = definition("1", {"age": "int", "gone": "date", "where": "geopoint"})
    new = definition(
        "2", {"age": "string", "added": "decimal", "where": "geoshape", "ok": "string"}, selects={"ok": "yes_no"}
    )

    kinds = {c.name: c.kind for c in form_shape([old, new]).columns}

    assert kinds == {"age": "text", "gone": "date", "where": "geoshape", "added": "numeric", "ok": "boolean"}


def test_repeats_get_their_own_columns_and_nested_repeats_their_own_view() -> None:
    shape = form_shape([definition("1", {"a": "string", "r/b": "int", "r/s/c": "geotrace"}, repeats=("r", "r/s"))])

    assert [c.name for c in shape.columns] == ["a"]
    assert [(c.path, c.kind) for c in shape.repeats["r"]] == [("b", "bigint")]
    assert [(c.path, c.kind) for c in shape.repeats["r/s"]] == [("c", "geotrace")]
    assert view_name("f", 1, "r/s") == "f__r__s"
    assert view_name("f", 2) == "p2__f"


# --- the views of the real form pack ---------------------------------------------------------------------------


def test_publishing_the_form_pack_makes_a_typed_view_per_form_and_repeat(form_pack, db: Engine) -> None:
    with db.connect() as conn:
        survey_columns = view_columns(conn, "plot_survey")
        parts = view_columns(conn, "plot_survey__parts")
        swales = view_columns(conn, "plot_survey__swales")
        report = view_columns(conn, "activity_report")
        photos = view_columns(conn, "activity_report__activity_photos")
        socio = view_columns(conn, "socio_change")

    assert survey_columns["boundary"] == "geometry(Polygon,4326)"
    assert survey_columns["location"] == "geometry(Point,4326)"
    assert survey_columns["has_parts"] == "boolean"
    assert survey_columns["village_no"] == "bigint"
    assert survey_columns["start"] == "timestamp with time zone"
    assert survey_columns["today"] == "date"
    assert survey_columns["review_state"] == "text"
    assert survey_columns["checks"] == "jsonb"
    assert parts["part_shape"] == "geometry(Polygon,4326)"
    assert parts["repeat_position"] == "integer[]"
    assert swales["swale_line"] == "geometry(LineString,4326)"
    assert report["sectors"] == "text[]"
    assert report["other_size_rai"] == "numeric"
    assert report["report_date"] == "date"
    assert photos["activity_photo"] == "text"
    assert socio["chemicals_used"] == "boolean"


def test_a_plot_survey_appears_in_its_views_with_geometries_and_repeats(
    form_pack, collect: CollectClient, db: Engine
) -> None:
    plot = survey(collect)

    row = one(
        db,
        "SELECT plot_id, owner_name, village_no, has_parts, ST_Area(boundary::geography) AS m2 FROM forms.plot_survey",
    )
    parts = rows(
        db,
        "SELECT submission_id, repeat_position, part_type, ST_GeometryType(part_shape)"
        " FROM forms.plot_survey__parts ORDER BY item",
    )

    assert (row.plot_id, row.owner_name, row.village_no, row.has_parts) == (plot, "นางสมศรี ใจดี", 5, True)
    assert row.m2 == pytest.approx(1600, rel=0.01)
    assert [(p.repeat_position, p.part_type, p.st_geometrytype) for p in parts] == [
        ([1], "pond", "ST_Polygon"),
        ([2], "paddy", "ST_Polygon"),
    ]


def test_the_plots_layer_has_the_boundary_area_check_status_and_last_visit(
    form_pack, collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    plot = survey(collect)
    run_worker(settings, db, pg_url, wait=False)

    with db.connect() as conn:
        row = conn.execute(text("SELECT * FROM forms.plots WHERE uuid = :u"), {"u": plot}).mappings().one()
        columns = view_columns(conn, "plots")

    assert columns["boundary"] == "geometry(Polygon,4326)"
    assert float(row["area_m2"]) == pytest.approx(1600, rel=0.01)
    assert float(row["area_rai"]) == pytest.approx(1.0, rel=0.01)
    assert (row["size_class"], row["amphoe"]) == ("1", "4001")
    assert set(row["checks"]) == {"plot_area", "plot_validity", "plot_overlaps", "plot_parts"}
    assert row["checks"]["plot_parts"] == "deviates"  # a pond and a paddy only
    failed = sum(status not in ("ok", "warning") for status in row["checks"].values())
    assert (row["check_status"], row["checks_failed"]) == ("problems", failed)
    assert row["last_visit_at"] is None


def test_a_new_version_of_a_form_keeps_the_old_fields_in_its_view(app: Flask, settings: Settings, db: Engine) -> None:
    services = app.extensions["knn"]
    for version, extra in (("1", ["integer", "old_count", "Count"]), ("2", ["decimal", "new_amount", "Amount"])):
        form = xlsform(
            [["type", "name", "label"], ["text", "name", "Name"], extra, ["geopoint", "where", "Where"]],
            settings=[["form_id", "version"], ["versioned", version]],
        )
        publish_form(services.engine, services.blobs, settings, "versioned.xlsx", form)

    with db.connect() as conn:
        columns = view_columns(conn, "versioned")

    assert (columns["old_count"], columns["new_amount"], columns["where"]) == (
        "bigint",
        "numeric",
        "geometry(Point,4326)",
    )


# --- the read-only role -----------------------------------------------------------------------------------------


@pytest.fixture
def gis_role(db: Engine, pg_url: str, settings: Settings):
    """A read-only role made by ``khoknongna gis grant``, and an engine signed in as it."""
    role = f"gis_{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(
        main,
        ["gis", "grant", role, "--password", "qgis-pass", "--data-dir", str(settings.data_dir)],
        env={"KNN_DATABASE_URL": pg_url, "KNN_DATA_DIR": None},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"created read-only role '{role}'" in result.output
    engine = make_engine(make_url(pg_url).set(username=role).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with db.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {role}"))
        conn.execute(text(f"DROP ROLE {role}"))


def test_the_read_only_role_reads_a_layer_with_a_spatial_filter(
    form_pack, collect: CollectClient, gis_role: Engine
) -> None:
    plot = survey(collect)

    with gis_role.connect() as conn:
        inside = (
            conn.execute(text(f"SELECT plot_id FROM forms.plot_survey WHERE ST_Intersects(boundary, {BBOX})"))  # noqa: S608
            .scalars()
            .all()
        )
        elsewhere = conn.execute(
            text(
                "SELECT count(*) FROM forms.plot_survey"
                " WHERE ST_Intersects(boundary, ST_MakeEnvelope(100, 13, 100.1, 13.1, 4326))"
            )
        ).scalar_one()
        plots = conn.execute(text(f"SELECT uuid FROM plots WHERE ST_Intersects(boundary, {BBOX})"))  # noqa: S608
        layers = conn.execute(
            text(
                "SELECT f_table_name, type, srid FROM geometry_columns"
                " WHERE f_table_schema = 'forms' AND f_geometry_column = 'boundary'"
            )
        ).all()

    assert inside == [plot] and elsewhere == 0
    assert plots.scalars().all() == [plot], "search_path starts with forms"
    assert ("plot_survey", "POLYGON", 4326) in layers and ("plots", "POLYGON", 4326) in layers


def test_the_read_only_role_sees_views_of_forms_published_later(
    app: Flask, settings: Settings, gis_role: Engine
) -> None:
    services = app.extensions["knn"]
    form = xlsform(
        [["type", "name", "label"], ["text", "name", "Name"]], settings=[["form_id", "version"], ["later", "1"]]
    )
    publish_form(services.engine, services.blobs, settings, "later.xlsx", form)

    with gis_role.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM forms.later")).scalar_one() == 0


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM public.submissions",
        "SELECT * FROM public.users",
        "SELECT * FROM public.plots",
        "DELETE FROM forms.plot_survey",
        "UPDATE forms.plots SET label = 'x'",
        "INSERT INTO public.projects (name) VALUES ('x')",
        "CREATE TABLE forms.mine (x int)",
        "CREATE TABLE public.mine (x int)",
    ],
)
def test_the_read_only_role_cannot_write_or_read_base_tables(form_pack, gis_role: Engine, statement: str) -> None:
    with gis_role.connect() as conn, pytest.raises(DBAPIError):
        conn.execute(text(statement))


def test_grant_refuses_a_role_with_administrative_rights(db: Engine, pg_url: str, settings: Settings) -> None:
    result = CliRunner().invoke(
        main,
        ["gis", "grant", "postgres", "--data-dir", str(settings.data_dir)],
        env={"KNN_DATABASE_URL": pg_url, "KNN_DATA_DIR": None},
    )

    assert result.exit_code != 0
    assert "administrative rights" in result.output


def test_the_plots_layer_gives_the_date_of_the_latest_visit(form_pack, collect: CollectClient, db: Engine) -> None:
    plot = survey(collect)
    for day in (18, 25):
        activity_report(collect, db, plot, datetime(2026, 11, day, 9, 0, tzinfo=BANGKOK))

    with db.connect() as conn:
        row = conn.execute(text("SELECT * FROM forms.plots WHERE uuid = :u"), {"u": plot}).mappings().one()

    assert row["last_visit_at"] == datetime(2026, 11, 25, 9, 0, tzinfo=BANGKOK)
    assert row["last_visit_form"] == "activity_report"
