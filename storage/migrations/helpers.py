"""Pieces the old migrations share. Frozen with them: a revision that ran must build the same schema again, so
nothing here ever changes; a migration that needs something else gets a new function (or its own code).

Nothing here imports the application: the schema of a revision is what its migration says, not today's models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def created_at() -> sa.Column:
    """``created_at``: a time zone aware timestamp the database sets on insert."""
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def make_append_only(table: str) -> None:
    """A trigger that refuses every UPDATE and DELETE on ``table`` (an audit trail), through the function
    ``<table>_append_only()``; drop that function after the table on the way down."""
    op.execute(
        f"""
        CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '{table} is an audit trail: rows cannot be changed or deleted';
        END $$
        """
    )
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )


def drop_append_only(table: str) -> None:
    """Drop ``table`` made append-only by :func:`make_append_only`, and the function of its trigger."""
    op.drop_table(table)
    op.execute(f"DROP FUNCTION {table}_append_only()")
