"""What one POST of the plot survey costs the database, counted on the wire: the round trips to PostgreSQL.

A round trip is one exchange the server must answer before the app goes on: a simple query (``BEGIN``,
``COMMIT``) or an extended-protocol exchange that executes a statement, closed by ``Sync``. libpq traces every
message the app's connections send (``PQtrace``), so the count includes what SQLAlchemy does not see
(``BEGIN``, ``COMMIT``, the job queue's own statements). Pinned so that the write path cannot grow back unnoticed
(docs/ARCHITECTURE.md, Entities).
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg._queries as psycopg_queries
import pytest
from flask import Flask
from sqlalchemy import Engine, event, text

from khoknongna.accounts import create_app_user
from tests.instances import jpeg
from tests.plots import TAMBON, plot_xml


@contextmanager
def round_trips(engine: Engine) -> Iterator[list[str]]:
    """The messages ending a round trip (``Query``, ``Sync``) sent by the connections this thread (where the test
    client runs the app) checks out of ``engine``'s pool while the block runs, filled in when it ends. Other
    threads that share the engine (a server or worker another test left running) are not counted."""
    found: list[str] = []
    fd, path = tempfile.mkstemp(suffix=".trace")
    me = threading.get_ident()
    traced: set[int] = set()

    def trace(dbapi_connection, _record, _proxy) -> None:
        if threading.get_ident() == me:
            traced.add(id(dbapi_connection))
            dbapi_connection.pgconn.trace(fd)

    def untrace(dbapi_connection, _record) -> None:
        if id(dbapi_connection) in traced:
            traced.discard(id(dbapi_connection))
            dbapi_connection.pgconn.untrace()  # flushes the trace

    event.listen(engine.pool, "checkout", trace)
    event.listen(engine.pool, "checkin", untrace)
    try:
        yield found
    finally:
        event.remove(engine.pool, "checkout", trace)
        event.remove(engine.pool, "checkin", untrace)
        os.close(fd)
        executes = False
        with open(path, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                fields = line.split("\t")  # time, F (frontend) or B, length, message type, ...
                kind = fields[3].strip() if len(fields) > 3 and fields[1] == "F" else ""
                executes |= kind == "Execute"
                # A Sync closing only a Parse is psycopg preparing a statement it has run five times on that
                # connection: once per connection and statement, whichever request it falls on.
                if kind == "Query" or (kind == "Sync" and executes):
                    found.append(kind)
                if kind == "Sync":
                    executes = False
        os.unlink(path)


@pytest.fixture
def phone_url(app: Flask, db: Engine, plot_survey: None) -> str:
    """The submission URL of an app user of the plot's tambon, as the phones in the field are set up."""
    with db.begin() as conn:
        _, token = create_app_user(conn, 1, "นพต. ศิลา", TAMBON)
    return f"/v1/key/{token}/projects/1/submission?deviceID=collect%3ATESTDEVICE0000001"


def post(app: Flask, url: str, xml: bytes, files: dict[str, bytes] | None = None) -> int:
    data = {"xml_submission_file": (io.BytesIO(xml), "plot.xml", "text/xml")}
    data |= {name: (io.BytesIO(content), name, "image/jpeg") for name, content in (files or {}).items()}
    return app.test_client().post(url, data=data, content_type="multipart/form-data").status_code


def new_plot_survey() -> bytes:
    return plot_xml(f"uuid:{uuid.uuid4()}", plot_id=str(uuid.uuid4()))


def test_a_new_plot_survey_from_a_phone_costs_two_round_trips(app: Flask, db: Engine, phone_url: str) -> None:
    post(app, phone_url, new_plot_survey())  # the form's definition and entity list are read once per process

    with round_trips(db) as sent:
        assert post(app, phone_url, new_plot_survey()) == 201

    assert len(sent) == 2, sent  # the app user's key; the submission with its plot, area and jobs


def test_a_new_plot_survey_with_its_photo_costs_the_same_two_round_trips(
    app: Flask, db: Engine, phone_url: str
) -> None:
    post(app, phone_url, new_plot_survey())

    with round_trips(db) as sent:
        assert post(app, phone_url, new_plot_survey(), {"1790000000001.jpg": jpeg(1)}) == 201

    assert len(sent) == 2, sent
    with db.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM submission_attachments WHERE blob_sha256 IS NOT NULL")).scalar()
            == 1
        )


def test_a_resent_plot_survey_is_read_back_without_trying_to_store_it_twice(
    app: Flask, db: Engine, phone_url: str
) -> None:
    survey = new_plot_survey()
    post(app, phone_url, survey)

    with round_trips(db) as sent:
        assert post(app, phone_url, survey) == 201  # Collect resends what it did not see acknowledged

    # the key; the one statement, which finds the instanceID taken; then in a transaction: BEGIN, the stored
    # version (locked), its files, COMMIT
    assert len(sent) == 6, sent


def test_the_statements_of_a_new_plot_survey_are_parsed_once_per_process(
    app: Flask, db: Engine, phone_url: str
) -> None:
    # psycopg converts a statement's placeholders again on every execution unless the statement has at most
    # MAX_CACHED_STATEMENT_LENGTH bytes and MAX_CACHED_STATEMENT_PARAMS parameters (psycopg discussion #628); for the
    # statement registering a plot that took about 0.1 ms of the request's CPU.
    sent: list[tuple[str, int]] = []

    def record(_conn, _cursor, statement: str, parameters, *_args) -> None:
        sent.append((statement, len(parameters or ())))

    event.listen(db, "before_cursor_execute", record)
    try:
        assert post(app, phone_url, new_plot_survey()) == 201
    finally:
        event.remove(db, "before_cursor_execute", record)

    assert any("INSERT INTO entities" in statement for statement, _ in sent), "the plot's one statement ran"
    for statement, parameters in sent:
        assert len(statement.encode()) <= psycopg_queries.MAX_CACHED_STATEMENT_LENGTH, statement[:80]
        assert parameters <= psycopg_queries.MAX_CACHED_STATEMENT_PARAMS, statement[:80]
