"""WSGI entry point for running under gunicorn directly, against a PostGIS database given by URL.

::

    KNN_DATABASE_URL=postgresql://knn:secret@db/knn KNN_DATA_DIR=/var/lib/khoknongna \\
        gunicorn --worker-class sync --workers 4 --bind 0.0.0.0:8000 'khoknongna.server.wsgi:application()'

Run ``khoknongna db upgrade`` once before (``khoknongna serve`` does it by itself). Each worker builds its
own app and connection pool; the private PostGIS cluster is not used here.
"""

from __future__ import annotations

from flask import Flask

from khoknongna.server.app import create_app
from khoknongna.settings import Settings


def application() -> Flask:
    """The app for the ``KNN_*`` settings of the environment; ``KNN_DATABASE_URL`` is required."""
    return create_app(Settings())
