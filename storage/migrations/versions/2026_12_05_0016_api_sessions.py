"""Bearer tokens of ODK Central's ``POST /v1/sessions``, for pyodk, ruODK and other API clients.

Only the SHA-256 of a token is kept. A token carries the user's session generation at the time it was made: a
sign-out, a new password, role or area, or deactivation raise the generation and so end every token as well.
"""

import sqlalchemy as sa
from alembic import op

from khoknongna.storage.migrations.helpers import created_at

revision = "20261205_0016"
down_revision = "20261205_0013"


def upgrade() -> None:
    op.create_table(
        "api_sessions",
        sa.Column("token_sha256", sa.Text, primary_key=True, comment="SHA-256 of the bearer token"),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("generation", sa.Integer, nullable=False, comment="users.session_generation when it was made"),
        created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("api_sessions")
