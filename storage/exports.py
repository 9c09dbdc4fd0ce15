"""Queries of the exports: the rows of a form's views (``storage/gis_views.py``) under the filters of the map,
streamed from a server-side cursor, and the photos of the same submissions.

Filters: the month the submission belongs to (its ``report_month``, ``today``, ``start``, else when it was
received: :mod:`khoknongna.periods`), the area of the submission (a province,
amphoe or tambon code is a prefix of ``submissions.area_code``: the plot's area, else the app user's) and the
review state. A repeat view is filtered by its submission.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, text

from khoknongna.storage.gis_views import SCHEMA, quote, view_columns, view_name
from khoknongna.storage.periods import submission_period_sql

#: Rows fetched from the server-side cursor at a time.
BATCH_ROWS = 5000


@dataclass(frozen=True)
class ExportView:
    """One view of a form to export: its name, the repeat it holds (``None`` for the submissions) and its
    columns ``name -> SQL type``."""

    name: str
    repeat: str | None
    columns: dict[str, str]

    def geometry_columns(self) -> list[str]:
        return [c for c, t in self.columns.items() if t.startswith("geometry")]


@dataclass(frozen=True)
class Filters:
    """``month``: ``YYYY-MM``, the month the submissions belong to (:mod:`khoknongna.periods`); ``area``: code
    prefix; ``review_state``."""

    month: str | None = None
    area: str | None = None
    review_state: str | None = None


def form_views(conn: Connection, project_id: int, xml_form_id: str) -> tuple[int, list[ExportView]] | None:
    """``(forms.id, [the submissions view, then one per repeat])`` of a form; ``None`` for an unknown form."""
    form_pk = conn.execute(
        text("SELECT id FROM forms WHERE project_id = :p AND xml_form_id = :f"), {"p": project_id, "f": xml_form_id}
    ).scalar_one_or_none()
    if form_pk is None:
        return None
    main = view_name(xml_form_id, project_id)
    rows = conn.execute(
        text(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'v'"
            " AND obj_description(c.oid, 'pg_class') LIKE :marker ORDER BY c.relname"
        ),
        {"schema": SCHEMA, "marker": f"%[form {form_pk}]%"},
    ).all()
    views = []
    for row in rows:
        repeat = None if row.relname == main else row.comment.split(" ", 2)[1]
        views.append(ExportView(row.relname, repeat, view_columns(conn, row.relname)))
    views.sort(key=lambda v: (v.repeat is not None, v.name))
    return form_pk, views


def _where(form_pk: int, main: str, filters: Filters, alias: str) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {"form_pk": form_pk}
    if filters.month is not None:
        clauses.append(submission_period_sql(f"{alias}.submission_id") + " = :month")
        params["month"] = filters.month
    if filters.review_state:
        clauses.append(f"{alias}.review_state = :review_state")
        params["review_state"] = filters.review_state
    if filters.area:
        clauses.append(
            f"{alias}.submission_id IN (SELECT id FROM submissions WHERE area_code LIKE :area || '%')"  # noqa: S608 - a fixed alias
        )
        params["area"] = filters.area
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _select(view: ExportView, expressions: dict[str, str]) -> str:
    return ", ".join(f"{expressions.get(c, 't.' + quote(c))} AS {quote(c)}" for c in view.columns)


def count_rows(conn: Connection, form_pk: int, main: ExportView, filters: Filters) -> int:
    """How many submissions the filters select (for a progress bar)."""
    where, params = _where(form_pk, main.name, filters, "t")
    return conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.{quote(main.name)} t{where}"), params).scalar_one()  # noqa: S608 - quoted view name


def stream_rows(
    conn: Connection,
    form_pk: int,
    main: ExportView,
    view: ExportView,
    filters: Filters,
    expressions: dict[str, str] | None = None,
) -> Iterator[Row]:
    """The rows of ``view`` for the submissions of ``main`` that the filters select, ordered by submission (and
    repeat position), fetched ``BATCH_ROWS`` at a time from a server-side cursor.

    ``expressions`` replace a column's value by an SQL expression of ``t.<column>`` (``ST_AsText(t."boundary")``).
    """
    select = _select(view, expressions or {})
    if view.name == main.name:
        where, params = _where(form_pk, main.name, filters, "t")
        order = "t.submission_id"
    else:
        inner, params = _where(form_pk, main.name, filters, "m")
        where = f" WHERE t.submission_id IN (SELECT m.submission_id FROM {SCHEMA}.{quote(main.name)} m{inner})"  # noqa: S608
        order = "t.submission_id, t.repeat_position"
    sql = f"SELECT {select} FROM {SCHEMA}.{quote(view.name)} t{where} ORDER BY {order}"  # noqa: S608 - quoted names
    result = conn.execution_options(yield_per=BATCH_ROWS).execute(text(sql), params)
    yield from result


def photo_rows(conn: Connection, form_pk: int, main: ExportView, filters: Filters) -> Iterator[Row]:
    """``(instance_id, name, blob_sha256, size)`` of the received attachments of the current versions of the
    selected submissions, streamed."""
    where, params = _where(form_pk, main.name, filters, "t")
    sql = (
        "SELECT t.instance_id, a.name, a.blob_sha256, a.size"  # noqa: S608 - quoted view name
        f" FROM {SCHEMA}.{quote(main.name)} t"
        " JOIN submission_versions v ON v.submission_id = t.submission_id AND v.current"
        " JOIN submission_attachments a ON a.submission_version_id = v.id AND a.blob_sha256 IS NOT NULL"
        f"{where} ORDER BY t.submission_id, a.name"
    )
    yield from conn.execution_options(yield_per=BATCH_ROWS).execute(text(sql), params)
