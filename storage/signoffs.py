"""Queries of the districts' sign-offs of their monthly reports (table ``report_signoffs``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, text

from khoknongna.storage import db

_COLUMNS = (
    "id, district_code, month, revision, submitted_at, submitted_by, pdf_sha256, xlsx_sha256, pdf_size, xlsx_size,"
    " plots, reported, on_time, missing"
)


def add(conn: Connection, project_id: int, district_code: str, month: str, values: dict[str, Any]) -> Row:
    """Store the next revision of the district's report for ``month`` (``YYYY-MM``) and return it. ``values``:
    ``submitted_by, pdf_sha256, xlsx_sha256, pdf_size, xlsx_size, plots, reported, on_time, missing``. The
    district's earlier revisions of the month are locked first, so two submissions at once number 1 and 2."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('report_signoff:' || :p || ':' || :d || ':' || :m))"),
        {"p": project_id, "d": district_code, "m": month},
    )
    return conn.execute(
        text(
            "INSERT INTO report_signoffs (project_id, district_code, month, revision, submitted_by, pdf_sha256,"  # noqa: S608
            " xlsx_sha256, pdf_size, xlsx_size, plots, reported, on_time, missing)"
            " SELECT :p, :d, :m, coalesce(max(revision), 0) + 1, :submitted_by, :pdf_sha256, :xlsx_sha256,"
            " :pdf_size, :xlsx_size, :plots, :reported, :on_time, :missing"
            " FROM report_signoffs WHERE project_id = :p AND district_code = :d AND month = :m"
            f" RETURNING {_COLUMNS}"
        ),
        {"p": project_id, "d": district_code, "m": month, **values},
    ).one()


def revisions(conn: Connection, project_id: int, area: str | None, month: str) -> list[Row]:
    """Every sign-off of ``month`` of the districts in ``area`` (a code prefix; ``None`` = all), by district,
    newest revision first."""
    return db.rows(
        conn,
        f"SELECT {_COLUMNS} FROM report_signoffs WHERE project_id = :p AND month = :m"  # noqa: S608
        " AND (CAST(:area AS text) IS NULL OR district_code LIKE :area || '%')"
        " ORDER BY district_code, revision DESC",
        {"p": project_id, "m": month, "area": area},
    )


def revision(conn: Connection, project_id: int, district_code: str, month: str, number: int) -> Row | None:
    """One revision of a district's sign-off of ``month``, ``None`` when there is no such revision."""
    return db.row(
        conn,
        f"SELECT {_COLUMNS} FROM report_signoffs"  # noqa: S608 - fixed column list
        " WHERE project_id = :p AND district_code = :d AND month = :m AND revision = :r",
        {"p": project_id, "d": district_code, "m": month, "r": number},
    )
