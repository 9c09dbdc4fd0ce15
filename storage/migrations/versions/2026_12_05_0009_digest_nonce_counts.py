"""Digest nonce counts used, per nonce, so that every worker refuses a replayed request (RFC 7616 §3.3).

Times are seconds since the epoch (``double precision``), as the signed nonces carry them.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261205_0009"
down_revision = "20261205_0010"


def upgrade() -> None:
    op.create_table(
        "digest_nonce_counts",
        sa.Column("nonce", sa.Text, primary_key=True),
        sa.Column("nc", sa.BigInteger, nullable=False, comment="highest nonce count accepted"),
        sa.Column("expires_at", sa.Float, nullable=False, comment="when the row may go, epoch seconds"),
    )
    op.create_index("ix_digest_nonce_counts_expires_at", "digest_nonce_counts", ["expires_at"])


def downgrade() -> None:
    op.drop_table("digest_nonce_counts")
