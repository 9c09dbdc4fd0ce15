"""Web sessions that can be ended on the server, deactivated users, and sign-in failures counted per user name
and client address.

``users.session_generation`` is part of every session cookie; raising it (sign-out, new password, new role or
area, deactivation) ends every session of the user at once. ``signin_failures`` is keyed by user name and
address, so guesses from one address cannot lock the owner out at another; the counts are short-lived and are
dropped by the change.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261205_0010"
down_revision = "20261121_0008"


def _signin_failures(*key: sa.Column) -> None:
    op.create_table(
        "signin_failures",
        *key,
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_at", sa.Float, nullable=False, comment="first failure of the count, epoch seconds"),
        sa.Column("locked_until", sa.Float, nullable=False, comment="epoch seconds; 0 = not locked"),
        sa.Column("last_at", sa.Float, nullable=False, comment="latest failure, epoch seconds"),
    )
    op.create_index("ix_signin_failures_last_at", "signin_failures", ["last_at"])


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "session_generation",
            sa.Integer,
            nullable=False,
            server_default="0",
            comment="raised to end every web session of the user",
        ),
    )
    op.add_column(
        "users",
        sa.Column(
            "deactivated_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when the account stopped signing in; NULL = active",
        ),
    )
    op.drop_table("signin_failures")
    _signin_failures(
        sa.Column("username", sa.Text, primary_key=True, comment="the name tried, cut to 255 characters"),
        sa.Column("address", sa.Text, primary_key=True, comment="client address the guesses came from"),
    )


def downgrade() -> None:
    op.drop_table("signin_failures")
    _signin_failures(sa.Column("username", sa.Text, primary_key=True, comment="the name tried, cut to 255 characters"))
    op.drop_column("users", "deactivated_at")
    op.drop_column("users", "session_generation")
