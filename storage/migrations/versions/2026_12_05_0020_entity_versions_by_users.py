"""Entity versions written by a user through the Central API (``POST``/``PATCH`` of an entity) rather than by a
submission: who wrote the version (``user_id``) and with which client (``user_agent``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261205_0020"
down_revision = "20261205_0019"


def upgrade() -> None:
    op.add_column(
        "entity_versions",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id"),
            nullable=True,
            comment="the user who wrote this version over the API; NULL = a submission wrote it",
        ),
    )
    op.add_column("entity_versions", sa.Column("user_agent", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("entity_versions", "user_agent")
    op.drop_column("entity_versions", "user_id")
