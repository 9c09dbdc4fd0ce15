"""Reviewing submissions: review states as ODK Central names them, comments, and the audit trail.

A supervisor sets ``approved``, ``hasIssues`` or ``rejected`` (the last two with a reason, kept as a comment);
``received`` is where every submission starts and ``edited`` is set when Collect sends an edit. Every change
and comment is written to the audit log in the same transaction (who, when, before and after).

Source: ODK Central's review states (``received``, ``hasIssues``, ``edited``, ``approved``, ``rejected``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from khoknongna.storage import review as queries

#: The states a supervisor may choose; ``received`` and ``edited`` are set by the server.
CHOSEN_STATES = ("approved", "hasIssues", "rejected")
NEEDS_REASON = ("hasIssues", "rejected")
#: What still waits for a supervisor.
WAITING_STATES = ("received", "edited", "hasIssues")
MAX_COMMENT = 2000


class ReviewError(ValueError):
    """A review change that cannot be made as asked (unknown state, missing reason, comment too long)."""


@dataclass(frozen=True)
class Reviewed:
    before: str
    after: str


def set_state(conn: Connection, submission_id: int, user_id: int, state: str, reason: str = "") -> Reviewed:
    """Set the review state of a submission; with a reason, also add it as a comment. Writes the audit log;
    the caller commits. Raises :class:`ReviewError` for a state not in :data:`CHOSEN_STATES`, a missing
    reason for :data:`NEEDS_REASON`, or an unknown submission."""
    reason = reason.strip()
    if state not in CHOSEN_STATES:
        raise ReviewError(f"review state must be one of {', '.join(CHOSEN_STATES)}, not '{state}'")
    if state in NEEDS_REASON and not reason:
        raise ReviewError(f"'{state}' needs a reason")
    if len(reason) > MAX_COMMENT:
        raise ReviewError(f"a reason is at most {MAX_COMMENT} characters")
    current = queries.review_of(conn, submission_id)
    if current is None:
        raise ReviewError(f"there is no submission {submission_id}")
    queries.set_review_state(conn, submission_id, state)
    after = {"review_state": state, "reason": reason} if reason else {"review_state": state}
    queries.record(
        conn,
        user_id,
        "submission.review",
        "submission",
        submission_id,
        area_code=current.area_code,
        before={"review_state": current.review_state},
        after=after,
    )
    if reason:
        queries.add_comment(conn, submission_id, user_id, reason)
    return Reviewed(current.review_state, state)


def comment(conn: Connection, submission_id: int, user_id: int, body: str) -> int:
    """Add a comment to a submission and the audit log; returns its id. The caller commits.
    Raises :class:`ReviewError` for an empty or too long comment or an unknown submission."""
    body = body.strip()
    if not body or len(body) > MAX_COMMENT:
        raise ReviewError(f"a comment has 1 to {MAX_COMMENT} characters")
    current = queries.review_of(conn, submission_id)
    if current is None:
        raise ReviewError(f"there is no submission {submission_id}")
    comment_id = queries.add_comment(conn, submission_id, user_id, body)
    queries.record(
        conn,
        user_id,
        "submission.comment",
        "submission",
        submission_id,
        area_code=current.area_code,
        after={"body": body},
    )
    return comment_id
