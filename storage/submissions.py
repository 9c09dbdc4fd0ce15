"""Queries on submissions, their versions, attachment slots and geometries.

The rules deciding *which* of these to call live in :mod:`khoknongna.ingest`; this module only reads and
writes rows, inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, TextClause, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql

from khoknongna.storage import db
from khoknongna.storage.schema import submission_attachments, submission_versions


@dataclass(frozen=True)
class GeometryRow:
    """One geo answer to store: ``ewkt`` set for a valid value, else ``problem`` says why not."""

    field_path: str
    repeat_position: Sequence[int]
    geo_type: str
    raw_value: str
    ewkt: str | None
    problem: str | None


_VERSION_BY_INSTANCE_ID = select(
    submission_versions.c.id,
    submission_versions.c.submission_id,
    submission_versions.c.xml_sha256,
    submission_versions.c.current,
).where(
    submission_versions.c.form_id == bindparam("form_id"),
    submission_versions.c.instance_id == bindparam("instance_id"),
)


def version_by_instance_id(conn: Connection, form_id: int, instance_id: str, *, lock: bool = False) -> Row | None:
    """``(id, submission_id, xml_sha256, current)`` of the version with this instanceID in the form."""
    query = _VERSION_BY_INSTANCE_ID.with_for_update() if lock else _VERSION_BY_INSTANCE_ID
    return conn.execute(query, {"form_id": form_id, "instance_id": instance_id}).one_or_none()


_VERSION_COLUMNS = [c.name for c in submission_versions.c if c.name not in ("id", "submission_id", "received_at")]


def _version_statement(submission: str, *, before: str = "", after: str = "", select: str = "") -> TextClause:
    """One statement inserting a version, its attachment slots and its geometries (one round trip).

    ``submission`` is SQL giving the row (``id``) of the submission the version belongs to. Every value
    is cast to its column's type; the slots (with the file when it came with this POST) and the geometries
    travel as one JSON array of rows each (:func:`_content_params`), which costs the client far less to send than
    one array per column. ``before`` and ``after`` are more CTEs (each ending with a comma, resp. starting with
    one) and ``select`` the final query; by default it returns ``(id, submission_id)`` of the version.

    Runs of whitespace are collapsed: psycopg keeps the parsed form of a statement of at most 4 KB
    (``MAX_CACHED_STATEMENT_LENGTH``), and parsing the one that registers a plot again for every submission took
    about 0.1 ms. No literal in these statements holds whitespace that matters.
    """
    pg = postgresql.dialect()
    values = ", ".join(f"CAST(:{n} AS {submission_versions.c[n].type.compile(dialect=pg)})" for n in _VERSION_COLUMNS)
    sql = f"""
        WITH {before} submission AS ({submission}),
        version AS (
            INSERT INTO submission_versions (submission_id, {", ".join(_VERSION_COLUMNS)})
            SELECT submission.id, {values} FROM submission
            RETURNING id, submission_id
        ),
        slots AS (
            INSERT INTO submission_attachments
                (submission_version_id, name, blob_sha256, size, content_type, received_at)
            SELECT version.id, s.name, s.blob, s.size, s.content_type, CASE WHEN s.blob IS NOT NULL THEN now() END
            FROM version, jsonb_to_recordset(CAST(:slots AS jsonb))
                          AS s(name text, blob text, size bigint, content_type text)
        ),
        geometries AS (
            INSERT INTO submission_geometries
                (submission_version_id, field_path, repeat_position, geo_type, geom, raw_value, problem)
            SELECT version.id, g.field_path, g.repeat_position, g.geo_type, ST_GeomFromEWKT(g.ewkt), g.raw_value,
                   g.problem
            FROM version, jsonb_to_recordset(CAST(:geometries AS jsonb))
                          AS g(field_path text, repeat_position integer[], geo_type text, ewkt text, raw_value text,
                               problem text)
        ) {after}
        {select or "SELECT id, submission_id FROM version"}
        """  # noqa: S608 - built once from the schema's column names; every value is bound
    return text(" ".join(sql.split())).bindparams(bindparam("data", type_=submission_versions.c.data.type))


_CREATE_SUBMISSION = _version_statement(
    "INSERT INTO submissions (form_id, instance_id) VALUES (:form_id, :instance_id) ON CONFLICT DO NOTHING RETURNING id"
)
_ADD_VERSION = _version_statement("SELECT CAST(:submission_id AS bigint) AS id")


@dataclass(frozen=True)
class ReceivedAttachment:
    """A file of the version that came with this POST, already stored: its blob key, size and content type."""

    blob_sha256: str
    size: int
    content_type: str | None


def _content_params(
    attachment_names: Sequence[str],
    geometries: Sequence[GeometryRow],
    received: Mapping[str, ReceivedAttachment] | None = None,
) -> dict[str, Any]:
    """The ``slots`` and ``geometries`` of :func:`_version_statement`, as JSON arrays of its rows."""
    files = [(received or {}).get(name) for name in attachment_names]
    slots = [
        {"name": name, "blob": f.blob_sha256, "size": f.size, "content_type": f.content_type} if f else {"name": name}
        for name, f in zip(attachment_names, files, strict=True)
    ]
    return {"slots": json.dumps(slots), "geometries": json.dumps([vars(g) for g in geometries])}


def create_submission(
    conn: Connection, version: dict[str, Any], attachment_names: Sequence[str], geometries: Sequence[GeometryRow]
) -> Row | None:
    """Create a submission with its first version (``version``: columns of ``submission_versions``), the
    version's empty attachment slots and its geometries.

    Returns ``(id, submission_id)`` of the version, or ``None`` (and writes nothing) when the form already
    has a submission with this instanceID. Raises ``IntegrityError`` when the instanceID is taken by an
    edited version.
    """
    return conn.execute(_CREATE_SUBMISSION, {**version, **_content_params(attachment_names, geometries)}).one_or_none()


@dataclass(frozen=True)
class NewEntity:
    """An entity a new submission creates at version 1 (its list ``dataset_id``; ``plot``: the list is ``plots``)."""

    dataset_id: int
    plot: bool
    uuid: str
    label: str
    properties: dict[str, str]
    area_code: str | None
    geometry_ewkt: str | None


@dataclass(frozen=True)
class JobRow:
    """A job queued by the statement that stores a submission, in procrastinate's job table: ``task``, ``queue``
    and ``priority`` as the task declares them; one per ``target`` (``submission``: the new submission; ``plot``:
    each plot the statement creates), whose id is the job's one argument ``argument`` and ends its queueing lock
    (``lock_prefix`` + id)."""

    task: str
    queue: str
    priority: int
    argument: str
    target: str
    lock_prefix: str


#: The area rule of a submission (docs/security.md, Roles and areas): the area of the plot it names (``plot``, else
#: ``plot_id``), among the entities its version writes (``{created}``: ``plot``, ``uuid``, ``area_code``,
#: ``position``) and the plots registered in its project (``{project}``); else the first area of an entity its
#: version writes; else its app user's (``{app_user}``) area; else NULL. ``named`` gives the plot's uuid.
_AREA_RULE = """coalesce(
    (SELECT c.area_code FROM {created} c, named WHERE c.plot AND c.uuid = named.uuid
     UNION ALL
     SELECT e.area_code FROM entities e JOIN datasets d ON d.id = e.dataset_id, named
      WHERE d.project_id = {project} AND d.name = 'plots' AND e.uuid = named.uuid
     LIMIT 1),
    (SELECT c.area_code FROM {created} c WHERE c.area_code IS NOT NULL ORDER BY c.position LIMIT 1),
    (SELECT a.area_code FROM app_users a WHERE a.id = {app_user}))"""


def _named_plot(data: str) -> str:
    """SQL of the uuid of the plot a submission's ``data`` (SQL of its JSONB) names: ``plot``, else ``plot_id``."""
    return f"lower(coalesce({data}->>'plot', {data}->>'plot_id'))"


_NEW_AREA = _AREA_RULE.format(
    created="new_entity", project="CAST(:project_id AS integer)", app_user="CAST(:app_user_id AS integer)"
)
_REGISTER = _version_statement(
    f"""
    INSERT INTO submissions (form_id, instance_id, area_code)
    SELECT CAST(:form_id AS integer), CAST(:instance_id AS text), {_NEW_AREA}
    WHERE NOT EXISTS (SELECT FROM submission_versions v
                       WHERE v.form_id = CAST(:form_id AS integer) AND v.instance_id = CAST(:instance_id AS text))
      AND NOT EXISTS (SELECT FROM entities e JOIN new_entity n USING (dataset_id, uuid))
    RETURNING id
    """,  # noqa: S608 - fixed fragments, values bound
    before=f"""
    new_entity AS (
        SELECT * FROM jsonb_to_recordset(CAST(:entities AS jsonb))
            AS n(dataset_id integer, plot boolean, uuid text, label text, properties jsonb, area_code text,
                 geometry_ewkt text, position integer)
    ),
    named AS (SELECT {_named_plot("CAST(:data AS jsonb)")} AS uuid),
    """,  # noqa: S608 - fixed fragments, values bound
    after=""",
    entity AS (
        INSERT INTO entities (dataset_id, uuid, label, version, properties, area_code, geometry)
        SELECT n.dataset_id, n.uuid, n.label, 1, n.properties, n.area_code, ST_GeomFromEWKT(n.geometry_ewkt)
        FROM version, new_entity n
        ORDER BY n.position
        RETURNING id, dataset_id, uuid
    ),
    entity_version AS (
        INSERT INTO entity_versions (entity_id, version, label, properties, submission_version_id)
        SELECT entity.id, 1, n.label, n.properties, version.id
        FROM version, entity JOIN new_entity n USING (dataset_id, uuid)
    ),
    target AS (
        SELECT 'submission' AS kind, submission_id AS id FROM version
        UNION ALL
        SELECT 'plot', entity.id FROM entity JOIN new_entity n USING (dataset_id, uuid) WHERE n.plot
    ),
    job AS (
        SELECT procrastinate_defer_jobs_v1(ARRAY(
            SELECT ROW(j.queue, j.task, j.priority, NULL, j.lock_prefix || target.id,
                       jsonb_build_object(j.argument, target.id), NULL)::procrastinate_job_to_defer_v1
            FROM jsonb_to_recordset(CAST(:jobs AS jsonb))
                 AS j(task text, queue text, priority integer, argument text, target text, lock_prefix text)
            JOIN target ON target.kind = j.target
        )) AS ids
        FROM version
    )
    """,
    select="SELECT id, submission_id, (SELECT ids FROM job) AS job_ids FROM version",
)


def register_submission(
    conn: Connection,
    project_id: int,
    version: dict[str, Any],
    attachment_names: Sequence[str],
    geometries: Sequence[GeometryRow],
    received: Mapping[str, ReceivedAttachment],
    new_entities: Sequence[NewEntity],
    jobs: Sequence[JobRow],
) -> Row | None:
    """Store a new submission whole in one statement: the submission placed in its area (the rule of
    :func:`place_submission`), its first version, the version's attachment slots (filled for the ``received``
    files), its geometries, the ``new_entities`` it creates with their first versions, and the ``jobs``.

    Returns ``(id, submission_id, job_ids)`` of the version, or ``None`` (and writes nothing) when the form has a
    version with this instanceID or a list has an entity with the id of one of ``new_entities``. Raises
    ``IntegrityError`` when another transaction wrote either meanwhile (nothing is written then either).
    """
    params = {
        "project_id": project_id,
        **version,
        **_content_params(attachment_names, geometries, received),
        "entities": json.dumps([vars(e) | {"position": n} for n, e in enumerate(new_entities)]),
        "jobs": json.dumps([vars(j) for j in jobs]),
    }
    return conn.execute(_REGISTER, params).one_or_none()


def add_version(
    conn: Connection,
    submission_id: int,
    version: dict[str, Any],
    attachment_names: Sequence[str],
    geometries: Sequence[GeometryRow],
) -> int:
    """Add a version (an edit) to a submission, with its empty attachment slots and geometries; its id."""
    params = {"submission_id": submission_id, **version, **_content_params(attachment_names, geometries)}
    return conn.execute(_ADD_VERSION, params).one().id


def retire_version(conn: Connection, version_id: int) -> None:
    """Mark a version as no longer current (an edit replaced it)."""
    conn.execute(update(submission_versions).where(submission_versions.c.id == version_id).values(current=False))


def attachments(conn: Connection, version_id: int, *, arrived: bool = False, name: str | None = None) -> list[Row]:
    """``(name, blob_sha256, size, content_type)`` of the files a submission version names, by name
    (``blob_sha256`` ``None`` while a file has not arrived); with ``arrived``, only the files that have; with
    ``name``, only that file."""
    files = submission_attachments.c
    where = [files.submission_version_id == version_id]
    if arrived:
        where.append(files.blob_sha256.is_not(None))
    if name is not None:
        where.append(files.name == name)
    columns = ("name", "blob_sha256", "size", "content_type")
    return db.table_rows(conn, submission_attachments, columns, *where, order_by="name")


#: SQL of a geo answer's name in ``submission_geometries``: its path and repeat positions (``where``,
#: ``visits/where[2]``), the name checks and signals give a point.
ANSWER_NAME = "field_path || array_to_string(array(SELECT '[' || p || ']' FROM unnest(repeat_position) p), '')"

_GEO_ANSWERS = text(
    f"SELECT {ANSWER_NAME} AS name, geo_type, raw_value FROM submission_geometries"  # noqa: S608 - fixed SQL
    " WHERE submission_version_id = :version AND geom IS NOT NULL"
    " AND (CAST(:geo_type AS text) IS NULL OR geo_type = :geo_type) ORDER BY id"
)


def geo_answers(conn: Connection, version_id: int, geo_type: str | None = None) -> list[Row]:
    """``(name, geo_type, raw_value)`` of the valid geo answers of a submission version (of ``geo_type`` only,
    when given: ``geopoint``, ``geotrace`` or ``geoshape``), in answer order; ``name`` as :data:`ANSWER_NAME`."""
    return list(conn.execute(_GEO_ANSWERS, {"version": version_id, "geo_type": geo_type}))


def fill_attachment(
    conn: Connection, version_id: int, name: str, blob_sha256: str, size: int, content_type: str | None
) -> None:
    """Record that the expected file ``name`` of a version is the stored blob ``blob_sha256``."""
    conn.execute(
        update(submission_attachments)
        .where(
            submission_attachments.c.submission_version_id == version_id,
            submission_attachments.c.name == name,
        )
        .values(blob_sha256=blob_sha256, size=size, content_type=content_type, received_at=func.now())
    )


_VERSION_AREA = _AREA_RULE.format(
    created="written", project="(SELECT project_id FROM version)", app_user="(SELECT app_user_id FROM version)"
)
_PLACE = text(
    f"""
    WITH version AS (
        SELECT sv.data, sv.app_user_id, f.project_id FROM submission_versions sv JOIN forms f ON f.id = sv.form_id
         WHERE sv.id = :version_id
    ),
    named AS (SELECT {_named_plot("version.data")} AS uuid FROM version),
    written AS (
        SELECT d.name = 'plots' AS plot, e.uuid, e.area_code, e.id AS position
          FROM entity_versions ev JOIN entities e ON e.id = ev.entity_id JOIN datasets d ON d.id = e.dataset_id
         WHERE ev.submission_version_id = :version_id
    )
    UPDATE submissions s SET
      review_state = CASE WHEN :edited THEN 'edited' ELSE s.review_state END,
      area_code = {_VERSION_AREA}
    WHERE s.id = :submission_id
    """  # noqa: S608 - fixed fragments, values bound
)


def place_submission(conn: Connection, submission_id: int, version_id: int, *, edited: bool) -> None:
    """Set the submission's ``area_code`` from its current version ``version_id``: the area of the plot it
    names (``plot``) or registers (``plot_id`` or an entity it wrote), else its app user's area, else NULL;
    and its review state to ``edited`` when ``edited`` (ODK Central does the same on an edit)."""
    conn.execute(_PLACE, {"submission_id": submission_id, "version_id": version_id, "edited": edited})
