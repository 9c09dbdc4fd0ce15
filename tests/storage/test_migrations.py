"""Alembic migrations (``storage.migrations``): an empty database is brought to the schema of the models.

Each test gets a database of its own, created empty in the session's cluster and dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.exc import DBAPIError

from khoknongna.storage.db import make_engine
from khoknongna.storage.migrations import alembic_config, current_revision, upgrade
from khoknongna.storage.schema import metadata
from tests.sql import one, rows, scalar


@pytest.fixture
def empty_engine(pg_url: str) -> Iterator[Engine]:
    """An engine on a new, empty database of the session cluster (dropped at the end)."""
    name = f"knn_migrate_{uuid.uuid4().hex[:12]}"
    server = make_engine(make_url(pg_url).set(database="postgres").render_as_string(hide_password=False))
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(pg_url).set(database=name).render_as_string(hide_password=False), pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def head_revision(engine: Engine) -> str:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def schema_snapshot(engine: Engine) -> dict[str, Any]:
    """Tables, columns, indexes and constraints of the public schema, as the catalogue describes them."""
    with engine.connect() as conn:
        return {
            "columns": conn.execute(
                text(
                    "SELECT table_name, column_name, data_type, is_nullable, column_default "
                    "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
                )
            ).all(),
            "indexes": conn.execute(
                text("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2")
            ).all(),
            "constraints": conn.execute(
                text(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
                )
            ).all(),
            "versions": conn.execute(text("SELECT version_num FROM alembic_version")).all(),
        }


def test_an_empty_database_has_no_revision(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    assert inspect(empty_engine).get_table_names() == []


def test_upgrade_creates_every_table_of_the_models(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    tables = set(inspect(empty_engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables
    assert current_revision(empty_engine) == head_revision(empty_engine)


def test_the_migrated_schema_matches_the_models(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    def ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        """Leave out what PostGIS and Alembic put in the database themselves (``spatial_ref_sys``, …)."""
        return not (type_ == "table" and reflected and compare_to is None and name not in metadata.tables)

    with empty_engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "compare_server_default": True, "include_object": ours},
        )
        differences = compare_metadata(context, metadata)

    assert differences == []


def test_upgrading_twice_is_a_no_op(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    before = schema_snapshot(empty_engine)

    upgrade(empty_engine)

    assert schema_snapshot(empty_engine) == before
    assert before["versions"] == [(head_revision(empty_engine),)]


def test_downgrading_to_an_empty_database_and_upgrading_again_rebuilds_the_same_schema(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    before = schema_snapshot(empty_engine)

    command.downgrade(alembic_config(empty_engine), "base")
    emptied = set(inspect(empty_engine).get_table_names()) & set(metadata.tables)
    upgrade(empty_engine)

    assert emptied == set()
    assert schema_snapshot(empty_engine) == before


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET action = 'user.delete'", "DELETE FROM audit_log"])
def test_a_row_of_the_audit_log_cannot_be_changed_or_deleted(empty_engine: Engine, statement: str) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (action, subject_type) VALUES ('user.create', 'user')"))

    refused = "audit_log is an audit trail: rows cannot be changed or deleted"
    with pytest.raises(DBAPIError, match=refused), empty_engine.begin() as conn:
        conn.execute(text(statement))

    assert scalar(empty_engine, "SELECT action FROM audit_log") == "user.create"


def test_both_audit_trails_have_a_trigger_refusing_updates_and_deletions(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    triggers = rows(
        empty_engine,
        "SELECT tgrelid::regclass::text AS on_table, tgname FROM pg_trigger WHERE NOT tgisinternal"
        " AND tgrelid::regclass::text NOT LIKE 'procrastinate%' ORDER BY 1",  # the job queue's own are not ours
    )

    assert [tuple(t) for t in triggers] == [
        ("audit_log", "audit_log_append_only"),
        ("signal_explanations", "signal_explanations_append_only"),
    ]


def test_submission_geometries_geom_is_a_4326_geometry_zm_with_a_gist_index(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    column_type = scalar(
        empty_engine,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'submission_geometries'::regclass AND attname = 'geom'",
    )
    registered = one(
        empty_engine,
        "SELECT type, srid, coord_dimension FROM geometry_columns "
        "WHERE f_table_name = 'submission_geometries' AND f_geometry_column = 'geom'",
    )
    indexes = rows(empty_engine, "SELECT indexdef FROM pg_indexes WHERE tablename = 'submission_geometries'")
    gist = [d for (d,) in indexes if "USING gist (geom)" in d]

    assert column_type == "geometry(GeometryZM,4326)"
    assert (registered.srid, registered.coord_dimension) == (4326, 4)
    assert registered.type in ("GEOMETRY", "GEOMETRYZM")
    assert len(gist) == 1
