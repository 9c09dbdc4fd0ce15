"""Failed sign-ins per user name in PostgreSQL, so every worker on every machine counts the same guesses; and
when each submission's audit signals were last computed, so the sweep finds the ones whose job was lost.

Times are seconds since the epoch (``double precision``), as the lockout rules compute them.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261121_0008"
down_revision = "20261121_0007"


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("username", sa.Text, primary_key=True, comment="the name tried, cut to 255 characters"),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_at", sa.Float, nullable=False, comment="first failure of the count, epoch seconds"),
        sa.Column("locked_until", sa.Float, nullable=False, comment="epoch seconds; 0 = not locked"),
        sa.Column("last_at", sa.Float, nullable=False, comment="latest failure, epoch seconds"),
    )
    op.create_index("ix_signin_failures_last_at", "signin_failures", ["last_at"])
    op.add_column(
        "submissions",
        sa.Column(
            "audited_at", sa.DateTime(timezone=True), nullable=True, comment="when its audit signals were computed"
        ),
    )
    op.execute(
        "UPDATE submissions s SET audited_at = now()"
        " WHERE EXISTS (SELECT 1 FROM audit_signals a WHERE a.submission_id = s.id)"
    )


def downgrade() -> None:
    op.drop_column("submissions", "audited_at")
    op.drop_table("signin_failures")
