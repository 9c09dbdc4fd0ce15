"""A district supervisor's sign-off of the district's monthly report: the PDF and XLSX as generated at that
moment are frozen in the blob store (content-addressed: their SHA-256 is their key), numbered as a revision of
the district's report for the month, and written to the audit log. Activity reports of the month received
after the latest sign-off show on the live report as "after sign-off" until the district submits again (a new
revision; the old ones stay downloadable).

Only a district supervisor (role ``district``) of that district may submit (seed 002 item ๓: the district
reports every plot to the province by the 20th); a submission is on time when it is made by the deadline of
the month (the 20th, Asia/Bangkok: :func:`khoknongna.spatial.coverage.report_deadline`).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from khoknongna import monthly_report
from khoknongna.periods import month_text
from khoknongna.plot_checks import CheckRules
from khoknongna.spatial.coverage import report_deadline
from khoknongna.storage import review as audit_log
from khoknongna.storage import signoffs as queries
from khoknongna.storage.blobs import BlobStore

#: The role that may submit a district's report.
SUBMITTER_ROLE = "district"


class NotAllowed(PermissionError):
    """The user may not submit this district's report (another role, or another district)."""


def may_submit(role: str, area_code: str | None, district_code: str) -> bool:
    """Whether a user of ``role`` and ``area_code`` may submit the report of ``district_code``: a district
    supervisor of exactly that district."""
    return role == SUBMITTER_ROLE and area_code == district_code


def submit(
    conn: Connection,
    blobs: BlobStore,
    project_id: int,
    district_code: str,
    year: int,
    month: int,
    rules: CheckRules,
    user: tuple[int, str, str | None],
) -> Row:
    """Freeze the report of ``district_code`` for ``year``-``month`` as the next revision and return its row
    (``revision, submitted_at, pdf_sha256, xlsx_sha256, …``). ``user`` is ``(id, role, area_code)``.

    Raises :class:`NotAllowed` unless :func:`may_submit`; ``ValueError`` for a code that is not an amphoe. The
    caller commits (the files are in the blob store already; an uncommitted row leaves them unreferenced, and
    ``khoknongna blobs cleanup`` removes them).
    """
    user_id, role, area_code = user
    if not may_submit(role, area_code, district_code):
        raise NotAllowed(f"a {role} user of area {area_code} may not submit the report of district {district_code}")
    built = monthly_report.build_report(conn, project_id, district_code, year, month, rules, since_signoff=False)
    pdf, xlsx = io.BytesIO(), io.BytesIO()
    monthly_report.write_pdf(built, pdf, blobs)
    monthly_report.write_xlsx(built, xlsx)
    values = {
        "submitted_by": user_id,
        "pdf_sha256": blobs.put_bytes(pdf.getvalue()),
        "xlsx_sha256": blobs.put_bytes(xlsx.getvalue()),
        "pdf_size": len(pdf.getvalue()),
        "xlsx_size": len(xlsx.getvalue()),
        "plots": built.plots_total,
        "reported": built.reported,
        "on_time": built.on_time,
        "missing": built.missing,
    }
    row = queries.add(conn, project_id, district_code, month_text((year, month)), values)
    audit_log.record(
        conn,
        user_id,
        "report.submit",
        "report_signoff",
        row.id,
        area_code=district_code,
        after={"district": district_code, "month": row.month, "revision": row.revision, **values},
    )
    return row


def describe(row: Row, rules: CheckRules) -> dict[str, Any]:
    """A sign-off as JSON: district, month, revision, when, whether by the deadline, counts and file keys."""
    year, month = int(row.month[:4]), int(row.month[5:7])
    return {
        "district": row.district_code,
        "month": row.month,
        "revision": row.revision,
        "submitted_at": row.submitted_at.isoformat(),
        "on_time": row.submitted_at < report_deadline(year, month, rules.coverage),
        "plots": row.plots,
        "reported": row.reported,
        "plots_on_time": row.on_time,
        "missing": row.missing,
        "pdf_sha256": row.pdf_sha256,
        "xlsx_sha256": row.xlsx_sha256,
    }


def latest_time(rows: list[Row], district_code: str) -> datetime | None:
    """When the newest revision of ``district_code`` among ``rows`` (:func:`storage.signoffs.revisions`) was
    submitted, ``None`` when it has none."""
    return max((r.submitted_at for r in rows if r.district_code == district_code), default=None)
