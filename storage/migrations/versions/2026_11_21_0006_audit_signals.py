"""Audit signals: photo hashes, collector visits, signals per submission and rule, and their explanations.

``photo_hashes`` keeps each photo's SHA-256, 64-bit perceptual hash and EXIF time and position. The pHash is
searched by Hamming distance through four expression indexes, one per 16-bit band (docs/audit.md).
``signal_explanations`` is an audit trail: a trigger refuses UPDATE and DELETE on it.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from khoknongna.storage.migrations.helpers import drop_append_only, make_append_only

revision = "20261121_0006"
down_revision = "20261121_0005"

BANDS = [f"((phash >> {shift}) & 65535)" for shift in (48, 32, 16, 0)]


def upgrade() -> None:
    op.create_table(
        "photo_hashes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("submission_id", sa.BigInteger, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("attachment_name", sa.Text, nullable=False),
        sa.Column("field_path", sa.Text, nullable=True, comment="the image question it answers, e.g. photos/photo"),
        sa.Column("blob_sha256", sa.Text, nullable=False),
        sa.Column(
            "phash", sa.BigInteger, nullable=True, comment="64-bit DCT perceptual hash (imagehash.phash), signed"
        ),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("exif_taken_at", sa.DateTime(timezone=True), nullable=True, comment="EXIF DateTimeOriginal"),
        sa.Column("exif_lon", sa.Float, nullable=True, comment="EXIF GPS longitude, degrees"),
        sa.Column("exif_lat", sa.Float, nullable=True, comment="EXIF GPS latitude, degrees"),
        sa.Column("plot_uuid", sa.Text, nullable=True, comment="the plot the submission is about"),
        sa.Column("problem", sa.Text, nullable=True, comment="why the file could not be read as an image"),
        sa.Column("hashed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("submission_id", "attachment_name", name="uq_photo_hashes_submission_id_attachment_name"),
    )
    op.create_index("ix_photo_hashes_blob_sha256", "photo_hashes", ["blob_sha256"])
    for number, band in enumerate(BANDS):
        op.execute(
            f"CREATE INDEX ix_photo_hashes_band{number} ON photo_hashes ({band}) INCLUDE (phash, id)"
            " WHERE phash IS NOT NULL"
        )

    op.create_table(
        "collector_visits",
        sa.Column("submission_id", sa.BigInteger, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("collector", sa.Text, nullable=False, comment="'app_user:<id>' or 'user:<id>', '/' device id"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, comment="the instance's start"),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False, comment="its end (start when missing)"),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
    )
    op.create_index("ix_collector_visits_collector_started_at", "collector_visits", ["collector", "started_at"])

    op.create_table(
        "audit_signals",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("submission_id", sa.BigInteger, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("rule_version", sa.Integer, nullable=False),
        sa.Column("plot_uuid", sa.Text, nullable=True, comment="the plot the submission is about, when computed"),
        sa.Column("status", sa.Text, nullable=False, comment="'raised' or 'ok'"),
        sa.Column("result", JSONB, nullable=False, comment="numbers, findings and Thai/English sentences"),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("explained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("explained_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("explanation", sa.Text, nullable=True),
        sa.CheckConstraint("status IN ('raised', 'ok')", name="status"),
        sa.CheckConstraint("(explained_at IS NULL) = (explanation IS NULL)", name="explained"),
        sa.UniqueConstraint("submission_id", "rule", name="uq_audit_signals_submission_id_rule"),
    )
    op.create_index("ix_audit_signals_raised", "audit_signals", ["rule"], postgresql_where=sa.text("status = 'raised'"))

    op.create_table(
        "signal_explanations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("signal_id", sa.BigInteger, sa.ForeignKey("audit_signals.id"), nullable=False),
        sa.Column("submission_id", sa.BigInteger, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("explained_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("explained_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("before", JSONB, nullable=False, comment="the signal before: status, result, explanation"),
        sa.Column("after", JSONB, nullable=False, comment="the signal after"),
    )
    op.create_index("ix_signal_explanations_signal_id", "signal_explanations", ["signal_id"])
    make_append_only("signal_explanations")


def downgrade() -> None:
    drop_append_only("signal_explanations")
    op.drop_table("audit_signals")
    op.drop_table("collector_visits")
    op.drop_table("photo_hashes")
