"""Entities keep their ``geometry`` property as a PostGIS geometry; the ``plots`` view is the plot register."""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "20261121_0003"
down_revision = "20261121_0002"


def upgrade() -> None:
    op.add_column(
        "entities",
        sa.Column(
            "geometry",
            Geometry("GEOMETRYZM", srid=4326, spatial_index=False),
            nullable=True,
            comment="the 'geometry' property as a geometry (x lon, y lat, z altitude m, m accuracy m); "
            "NULL without one",
        ),
    )
    op.create_index("ix_entities_geometry", "entities", ["geometry"], postgresql_using="gist")
    op.execute(
        """
        CREATE VIEW plots AS
        SELECT e.id AS entity_id, d.project_id, e.uuid, e.label, e.version, e.area_code, e.properties,
               e.geometry AS boundary, e.created_at, e.updated_at
        FROM entities e JOIN datasets d ON d.id = e.dataset_id
        WHERE d.name = 'plots' AND e.deleted_at IS NULL
        """
    )
    op.execute(
        "COMMENT ON VIEW plots IS 'The plot register: live entities of the list plots, boundary from the plot "
        "survey (geometry ZM: z altitude m, m accuracy m)'"
    )


def downgrade() -> None:
    op.execute("DROP VIEW plots")
    op.drop_index("ix_entities_geometry", "entities")
    op.drop_column("entities", "geometry")
