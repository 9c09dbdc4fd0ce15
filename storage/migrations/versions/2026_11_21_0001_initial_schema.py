"""Initial schema: projects, users, app users, forms and their versions, submissions with geometries."""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from khoknongna.storage.migrations.helpers import created_at

revision = "20261121_0001"
down_revision = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        created_at(),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("username", sa.Text, nullable=False, unique=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False, comment="argon2id hash of the password"),
        sa.Column(
            "digest_ha1",
            sa.Text,
            nullable=True,
            comment="MD5(username:realm:password) for HTTP Digest; password-equivalent for that realm",
        ),
        created_at(),
        sa.CheckConstraint("role IN ('admin', 'collector')", name="role"),
    )
    op.create_table(
        "app_users",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column(
            "token_sha256", sa.Text, nullable=True, unique=True, comment="SHA-256 of the URL token; NULL once revoked"
        ),
        created_at(),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "forms",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("xml_form_id", sa.Text, nullable=False),
        created_at(),
        sa.UniqueConstraint("project_id", "xml_form_id"),
    )
    op.create_table(
        "form_versions",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("form_id", sa.Integer, sa.ForeignKey("forms.id"), nullable=False),
        sa.Column("version", sa.Text, nullable=False, comment="the XForm's version attribute, '' when it has none"),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("xform_sha256", sa.Text, nullable=False, comment="blob key of the XForm bytes served to Collect"),
        sa.Column("xform_md5", sa.Text, nullable=False),
        sa.Column("xlsform_sha256", sa.Text, nullable=True, comment="blob key of the XLSForm it was converted from"),
        sa.Column("xlsform_name", sa.Text, nullable=True),
        sa.Column("encrypted", sa.Boolean, nullable=False),
        sa.Column("definition", JSONB, nullable=False, comment="field types, repeats and media names of the XForm"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.UniqueConstraint("form_id", "xform_sha256"),
    )
    op.create_table(
        "form_attachments",
        sa.Column("form_version_id", sa.Integer, sa.ForeignKey("form_versions.id"), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("blob_sha256", sa.Text, nullable=True, comment="NULL while the file has not been uploaded"),
        sa.Column("md5", sa.Text, nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("content_type", sa.Text, nullable=True),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("form_id", sa.Integer, sa.ForeignKey("forms.id"), nullable=False),
        sa.Column("instance_id", sa.Text, nullable=False, comment="instanceID of the first version"),
        created_at(),
        sa.Column("review_state", sa.Text, nullable=False, server_default=sa.text("'received'")),
        sa.UniqueConstraint("form_id", "instance_id"),
    )
    op.create_table(
        "submission_versions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("submission_id", sa.BigInteger, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("form_id", sa.Integer, sa.ForeignKey("forms.id"), nullable=False),
        sa.Column("form_version_id", sa.Integer, sa.ForeignKey("form_versions.id"), nullable=False),
        sa.Column("instance_id", sa.Text, nullable=False),
        sa.Column("instance_id_made_up", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("deprecated_id", sa.Text, nullable=True),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("claimed_version", sa.Text, nullable=True, comment="version attribute as sent, NULL when absent"),
        sa.Column("instance_name", sa.Text, nullable=True),
        sa.Column("encrypted", sa.Boolean, nullable=False),
        sa.Column("xml", sa.Text, nullable=False),
        sa.Column("xml_sha256", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=True, comment="the answers; NULL for encrypted submissions"),
        sa.Column("submitter_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("app_user_id", sa.Integer, sa.ForeignKey("app_users.id"), nullable=True),
        sa.Column("device_id", sa.Text, nullable=True),
        sa.Column("user_agent", sa.Text, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("form_id", "instance_id"),
    )
    op.create_index(
        "uq_submission_versions_current",
        "submission_versions",
        ["submission_id"],
        unique=True,
        postgresql_where=sa.text("current"),
    )
    op.create_table(
        "submission_attachments",
        sa.Column("submission_version_id", sa.BigInteger, sa.ForeignKey("submission_versions.id"), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("blob_sha256", sa.Text, nullable=True, comment="NULL until the file arrives (split uploads)"),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("content_type", sa.Text, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "submission_geometries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("submission_version_id", sa.BigInteger, sa.ForeignKey("submission_versions.id"), nullable=False),
        sa.Column("field_path", sa.Text, nullable=False, comment="path from the instance root, e.g. parts/part_shape"),
        sa.Column(
            "repeat_position",
            ARRAY(sa.Integer),
            nullable=False,
            server_default=sa.text("'{}'"),
            comment="1-based positions of the enclosing repeats, outermost first",
        ),
        sa.Column("geo_type", sa.Text, nullable=False),
        sa.Column(
            "geom",
            Geometry("GEOMETRYZM", srid=4326, spatial_index=False),
            nullable=True,
            comment="x longitude, y latitude, z altitude m, m accuracy m; NULL when raw_value is not valid",
        ),
        sa.Column("raw_value", sa.Text, nullable=False),
        sa.Column("problem", sa.Text, nullable=True, comment="why raw_value is not a valid ODK geo value"),
        sa.CheckConstraint("geo_type IN ('geopoint', 'geotrace', 'geoshape')", name="geo_type"),
        sa.CheckConstraint("(geom IS NULL) = (problem IS NOT NULL)", name="geom_or_problem"),
    )
    op.create_index("ix_submission_geometries_geom", "submission_geometries", ["geom"], postgresql_using="gist")
    op.create_index(
        "ix_submission_geometries_submission_version_id", "submission_geometries", ["submission_version_id"]
    )


def downgrade() -> None:
    for table in (
        "submission_geometries",
        "submission_attachments",
        "submission_versions",
        "submissions",
        "form_attachments",
        "form_versions",
        "forms",
        "app_users",
        "users",
        "projects",
    ):
        op.drop_table(table)
