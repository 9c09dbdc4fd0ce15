"""Entities: entity lists (datasets), entities with their versions, entity problems; app users get an area."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from khoknongna.storage.migrations.helpers import created_at

revision = "20261121_0002"
down_revision = "20261121_0001"


def upgrade() -> None:
    op.add_column(
        "app_users",
        sa.Column(
            "area_code",
            sa.Text,
            nullable=True,
            comment="official code of the province (2 digits), amphoe (4) or tambon (6) the app user works in; "
            "NULL = the whole project",
        ),
    )
    op.execute("CREATE SEQUENCE entity_changes")
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False, comment="the entity list name forms use (entities sheet list_name)"),
        sa.Column(
            "properties",
            ARRAY(sa.Text),
            nullable=False,
            server_default=sa.text("'{}'"),
            comment="property names in the order forms first declared them (the CSV column order)",
        ),
        created_at(),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "entities",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column(
            "uuid", sa.Text, nullable=False, comment="the entity's name in the CSV: a lowercase UUID, no 'uuid:' prefix"
        ),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, comment="__version: 1 when created, +1 on every update"),
        sa.Column("properties", JSONB, nullable=False, server_default=sa.text("'{}'"), comment="property name -> text"),
        sa.Column(
            "area_code",
            sa.Text,
            nullable=True,
            comment="tambon, else amphoe, else province code from the properties; NULL = seen by every app user",
        ),
        sa.Column("change_seq", sa.BigInteger, nullable=False, server_default=sa.text("nextval('entity_changes')")),
        sa.Column(
            "conflict", sa.Text, nullable=True, comment="'soft' or 'hard' when an update was based on an old version"
        ),
        created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("dataset_id", "uuid"),
        sa.CheckConstraint("conflict IN ('soft', 'hard')", name="conflict"),
    )
    op.create_index("ix_entities_dataset_id_area_code", "entities", ["dataset_id", "area_code"])
    op.create_table(
        "entity_versions",
        sa.Column("entity_id", sa.BigInteger, sa.ForeignKey("entities.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("properties", JSONB, nullable=False),
        sa.Column(
            "base_version",
            sa.Integer,
            nullable=True,
            comment="the version the phone had when it made this update",
        ),
        sa.Column("conflict", sa.Text, nullable=True),
        sa.Column("submission_version_id", sa.BigInteger, sa.ForeignKey("submission_versions.id"), nullable=True),
        created_at(),
    )
    op.create_index("ix_entity_versions_submission_version_id", "entity_versions", ["submission_version_id"])
    op.create_table(
        "entity_problems",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("submission_version_id", sa.BigInteger, sa.ForeignKey("submission_versions.id"), nullable=False),
        sa.Column("dataset", sa.Text, nullable=True),
        sa.Column("entity_uuid", sa.Text, nullable=True),
        sa.Column("problem", sa.Text, nullable=False, comment="why the submission's entity block changed nothing"),
        created_at(),
    )
    op.create_index("ix_entity_problems_submission_version_id", "entity_problems", ["submission_version_id"])


def downgrade() -> None:
    op.drop_table("entity_problems")
    op.drop_table("entity_versions")
    op.drop_table("entities")
    op.drop_table("datasets")
    op.execute("DROP SEQUENCE entity_changes")
    op.drop_column("app_users", "area_code")
