"""The district's sign-off of its monthly report: each submission of a district's report for a month is a
revision, with the PDF and XLSX as generated then, frozen in the blob store under their SHA-256.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261205_0013"
down_revision = "20261205_0012"


def upgrade() -> None:
    op.create_table(
        "report_signoffs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("district_code", sa.Text, nullable=False, comment="amphoe code, 4 digits"),
        sa.Column("month", sa.Text, nullable=False, comment="YYYY-MM, the month reported on"),
        sa.Column("revision", sa.Integer, nullable=False, comment="1 for the first submission, then 2, …"),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("submitted_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("pdf_sha256", sa.Text, nullable=False),
        sa.Column("xlsx_sha256", sa.Text, nullable=False),
        sa.Column("pdf_size", sa.BigInteger, nullable=False),
        sa.Column("xlsx_size", sa.BigInteger, nullable=False),
        sa.Column("plots", sa.Integer, nullable=False),
        sa.Column("reported", sa.Integer, nullable=False),
        sa.Column("on_time", sa.Integer, nullable=False),
        sa.Column("missing", sa.Integer, nullable=False),
        sa.UniqueConstraint("project_id", "district_code", "month", "revision"),
    )


def downgrade() -> None:
    op.drop_table("report_signoffs")
