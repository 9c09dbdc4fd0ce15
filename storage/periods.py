"""The month a submission belongs to, as one SQL expression: the same rule as
:func:`khoknongna.periods.report_period` (``report_month``, else ``today``, else ``start``, else the
Asia/Bangkok month it was received), used by the report, coverage, exports, the map and list filters and the
downloads page, so that a late report is counted once, on the month it names.
"""

from __future__ import annotations

from khoknongna.periods import ANSWER_FIELDS

#: ``YYYY-MM`` at the start of an answer (``2026-11-01``, ``2026-11-30T08:00:00.000+07:00``).
_MONTH_PREFIX = r"^(\d{4}-(0[1-9]|1[0-2]))"


def period_sql(data: str, received_at: str) -> str:
    """An SQL expression giving the ``YYYY-MM`` (text) of a submission whose current answers are the jsonb
    ``data`` and whose first receipt is the timestamptz ``received_at`` (both SQL expressions of the caller)."""
    answers = ", ".join(f"substring({data}->>'{name}' from '{_MONTH_PREFIX}')" for name in ANSWER_FIELDS)
    return f"coalesce({answers}, to_char({received_at} AT TIME ZONE 'Asia/Bangkok', 'YYYY-MM'))"


def submission_period_sql(submission: str) -> str:
    """The ``YYYY-MM`` of the submission whose ``submissions.id`` is the SQL expression ``submission``, read from
    its current version (a correlated sub-select)."""
    return (
        f"(SELECT {period_sql('pv.data', 'ps.created_at')} FROM submissions ps"  # noqa: S608 - fixed expressions
        " JOIN submission_versions pv ON pv.submission_id = ps.id AND pv.current"
        f" WHERE ps.id = {submission})"
    )
