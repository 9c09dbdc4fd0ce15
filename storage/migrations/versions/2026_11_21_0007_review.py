"""Review: supervisor roles scoped by area, the area of each submission, comments and the audit trail.

``users.role`` gains ``department``, ``province``, ``district`` and ``gis``; a province or district supervisor
has an ``area_code`` (2 or 4 digits). ``submissions.area_code`` is the tambon (or wider) code of the plot a
submission is about, else of the app user who sent it; it is what every page, tile and download is scoped by.
``audit_log`` is append-only: a trigger refuses UPDATE and DELETE.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from khoknongna.storage.migrations.helpers import created_at, drop_append_only, make_append_only

revision = "20261121_0007"
down_revision = "20261121_0006"

ROLES = "role IN ('admin', 'department', 'province', 'district', 'gis', 'collector')"
AREA = (
    "(role = 'province' AND area_code ~ '^[0-9]{2}$') OR (role = 'district' AND area_code ~ '^[0-9]{4}$') "
    "OR (role NOT IN ('province', 'district') AND area_code IS NULL)"
)
REVIEW_STATES = "review_state IN ('received', 'hasIssues', 'edited', 'approved', 'rejected')"

#: The same rule as ``storage.review.SET_AREA``: the plot the submission names or registers, else its app user.
BACKFILL = """
UPDATE submissions s SET area_code = coalesce(
    (SELECT e.area_code FROM submission_versions sv
       JOIN forms f ON f.id = sv.form_id
       JOIN datasets d ON d.project_id = f.project_id AND d.name = 'plots'
       JOIN entities e ON e.dataset_id = d.id
        AND e.uuid = lower(coalesce(sv.data->>'plot', sv.data->>'plot_id'))
      WHERE sv.submission_id = s.id AND sv.current),
    (SELECT e.area_code FROM submission_versions sv
       JOIN entity_versions ev ON ev.submission_version_id = sv.id
       JOIN entities e ON e.id = ev.entity_id
      WHERE sv.submission_id = s.id AND e.area_code IS NOT NULL LIMIT 1),
    (SELECT a.area_code FROM submission_versions sv JOIN app_users a ON a.id = sv.app_user_id
      WHERE sv.submission_id = s.id AND sv.current))
"""


def _add_area_code(table: str, comment: str) -> None:
    op.add_column(table, sa.Column("area_code", sa.Text, nullable=True, comment=comment))


def upgrade() -> None:
    op.drop_constraint("ck_users_role", "users")
    _add_area_code("users", "province (2 digits) or amphoe (4) code of a province or district supervisor")
    op.create_check_constraint("ck_users_role", "users", ROLES)
    op.create_check_constraint("ck_users_area", "users", AREA)
    _add_area_code(
        "submissions", "tambon (or wider) code of the plot it is about, else of its app user; NULL = no area"
    )
    op.create_check_constraint("ck_submissions_review_state", "submissions", REVIEW_STATES)
    op.execute("CREATE INDEX ix_submissions_area_code ON submissions (area_code text_pattern_ops)")
    op.create_index("ix_submissions_created_at", "submissions", ["created_at"])
    op.execute(BACKFILL)
    op.create_table(
        "submission_comments",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("submission_id", sa.BigInteger, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        created_at(),
    )
    op.create_index("ix_submission_comments_submission_id", "submission_comments", ["submission_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True, comment="NULL = the system/CLI"),
        sa.Column("action", sa.Text, nullable=False, comment="e.g. submission.review, submission.comment, user.create"),
        sa.Column("subject_type", sa.Text, nullable=False, comment="submission, user, app_user, form, signal"),
        sa.Column("subject_id", sa.BigInteger, nullable=True),
        sa.Column("area_code", sa.Text, nullable=True, comment="the subject's area, for scoped reading"),
        sa.Column("before", JSONB, nullable=True),
        sa.Column("after", JSONB, nullable=True),
    )
    op.create_index("ix_audit_log_subject_type_subject_id", "audit_log", ["subject_type", "subject_id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    make_append_only("audit_log")


def downgrade() -> None:
    drop_append_only("audit_log")
    op.drop_table("submission_comments")
    op.drop_index("ix_submissions_created_at", "submissions")
    op.drop_index("ix_submissions_area_code", "submissions")
    # The naming convention prefixed the names given above once more (ck_users_ck_users_role, ...)
    op.drop_constraint(op.f("ck_submissions_ck_submissions_review_state"), "submissions")
    op.drop_column("submissions", "area_code")
    op.drop_constraint(op.f("ck_users_ck_users_area"), "users")
    op.drop_constraint(op.f("ck_users_ck_users_role"), "users")
    op.drop_column("users", "area_code")
    op.create_check_constraint(op.f("ck_users_role"), "users", "role IN ('admin', 'collector')")
