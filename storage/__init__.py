"""Persistence: PostGIS through SQLAlchemy, Alembic migrations, blob stores, the private PostGIS cluster."""
