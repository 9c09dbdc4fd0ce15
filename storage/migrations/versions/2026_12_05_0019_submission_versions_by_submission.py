"""An index of submission_versions by submission: counting a submission's edits (the OData feed's and the CSV
export's ``edits``, once per row) no longer reads the whole table.
"""

from __future__ import annotations

from alembic import op

revision = "20261205_0019"
down_revision = "20261205_0016"


def upgrade() -> None:
    op.create_index("ix_submission_versions_submission_id", "submission_versions", ["submission_id"])


def downgrade() -> None:
    op.drop_index("ix_submission_versions_submission_id", table_name="submission_versions")
