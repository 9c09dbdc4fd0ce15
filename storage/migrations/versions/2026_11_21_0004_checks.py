"""Spatial check results, and the job queue (procrastinate's schema) that computes them after ingest.

The queue's tables and functions are procrastinate's own (``procrastinate.schema``), created as that
version ships them; a procrastinate upgrade that changes its schema needs a migration of its own.
"""

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects.postgresql import JSONB

revision = "20261121_0004"
down_revision = "20261121_0003"


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "subject",
            sa.Text,
            nullable=False,
            comment="'plot' (entity_id) or 'submission' (submission_id, about a plot)",
        ),
        sa.Column(
            "entity_id",
            sa.BigInteger,
            sa.ForeignKey("entities.id"),
            nullable=True,
            comment="the plot checked or referred to",
        ),
        sa.Column("submission_id", sa.BigInteger, sa.ForeignKey("submissions.id"), nullable=True),
        sa.Column(
            "rule",
            sa.Text,
            nullable=False,
            comment="e.g. plot_area, plot_validity, plot_overlaps, plot_parts, evidence",
        ),
        sa.Column("rule_version", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("result", JSONB, nullable=False, comment="numbers, findings and Thai/English sentences of the check"),
        sa.Column(
            "checked_version", sa.Integer, nullable=True, comment="the plot entity's __version the result is for"
        ),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("subject IN ('plot', 'submission')", name="subject"),
        sa.CheckConstraint(
            "(subject = 'plot' AND entity_id IS NOT NULL AND submission_id IS NULL) "
            "OR (subject = 'submission' AND submission_id IS NOT NULL)",
            name="subject_key",
        ),
    )
    for subject, key in (("plot", "entity_id"), ("submission", "submission_id")):  # one result per subject and rule
        op.create_index(
            f"uq_check_results_{subject}_rule",
            "check_results",
            [key, "rule"],
            unique=True,
            postgresql_where=sa.text(f"subject = '{subject}'"),
        )
    op.execute(SchemaManager.get_schema())


def downgrade() -> None:
    op.drop_table("check_results")
    op.execute(
        """
        DO $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'procrastinate%' LOOP
            EXECUTE format('DROP TABLE %I CASCADE', r.tablename);
          END LOOP;
          FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
                   WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'procrastinate%' LOOP
            EXECUTE format('DROP FUNCTION %s CASCADE', r.f);
          END LOOP;
          FOR r IN SELECT typname FROM pg_type  -- enums and stand-alone composite types (the tables are gone)
                   WHERE typnamespace = 'public'::regnamespace AND typname LIKE 'procrastinate%'
                     AND typtype IN ('e', 'c') LOOP
            EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
          END LOOP;
        END $$;
        """
    )
