"""Audit lookups bounded by an index and a limit: the geopoints each audited submission was about, by place and
plot, and the photo copies of a file by submission.

``audit_points`` lets "the same coordinates in a submission about another plot" be two index range probes at one
spot (plots below and above the submission's own), each with a LIMIT, however many submissions about the same
plot were made there (docs/audit.md). It is filled from the current versions already stored; the audit keeps it
up to date from then on. ``ix_photo_hashes_blob_sha256_submission_id`` gives the latest copies of a file first;
``ix_collector_visits_collector_started_at_submission_id`` a collector's previous and next visit in one step
(ties by submission id, as the audit orders them).
"""

import sqlalchemy as sa
from alembic import op

revision = "20261205_0012"
down_revision = "20261205_0009"


def upgrade() -> None:
    op.create_table(
        "audit_points",
        sa.Column("submission_id", sa.BigInteger, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True, comment="the geopoint's path and repeat positions, e.g. where"),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("plot_uuid", sa.Text, nullable=False, comment="the plot the submission is about"),
    )
    op.create_index("ix_audit_points_spot_plot", "audit_points", ["lon", "lat", "plot_uuid", "submission_id"])
    op.execute(
        "INSERT INTO audit_points (submission_id, name, lon, lat, plot_uuid)"
        " SELECT DISTINCT ON (sv.submission_id, g.field_path, g.repeat_position) sv.submission_id,"
        "        g.field_path || array_to_string(array(SELECT '[' || p || ']' FROM unnest(g.repeat_position) p), ''),"
        "        ST_X(g.geom), ST_Y(g.geom), p.plot"
        " FROM submission_geometries g JOIN submission_versions sv ON sv.id = g.submission_version_id AND sv.current"
        " CROSS JOIN LATERAL (SELECT COALESCE(lower(sv.data->>'plot'), (SELECT e.uuid FROM entity_versions ev"
        "   JOIN entities e ON e.id = ev.entity_id JOIN datasets d ON d.id = e.dataset_id AND d.name = 'plots'"
        "   WHERE ev.submission_version_id = sv.id LIMIT 1)) AS plot) p"
        " WHERE g.geo_type = 'geopoint' AND g.geom IS NOT NULL AND p.plot IS NOT NULL AND NOT sv.encrypted"
        " ORDER BY sv.submission_id, g.field_path, g.repeat_position, g.id"
    )
    op.create_index("ix_photo_hashes_blob_sha256_submission_id", "photo_hashes", ["blob_sha256", "submission_id"])
    op.drop_index("ix_photo_hashes_blob_sha256", "photo_hashes")
    op.create_index(
        "ix_collector_visits_collector_started_at_submission_id",
        "collector_visits",
        ["collector", "started_at", "submission_id"],
    )
    op.drop_index("ix_collector_visits_collector_started_at", "collector_visits")


def downgrade() -> None:
    op.create_index("ix_collector_visits_collector_started_at", "collector_visits", ["collector", "started_at"])
    op.drop_index("ix_collector_visits_collector_started_at_submission_id", "collector_visits")
    op.create_index("ix_photo_hashes_blob_sha256", "photo_hashes", ["blob_sha256"])
    op.drop_index("ix_photo_hashes_blob_sha256_submission_id", "photo_hashes")
    op.drop_table("audit_points")
