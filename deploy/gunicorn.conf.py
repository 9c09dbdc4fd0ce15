"""gunicorn settings of the app container (deploy/Dockerfile).

The same worker as ``khoknongna serve`` runs by default: one process per CPU core, each serving with waitress
(``khoknongna.server.buffering_worker``), which reads every request, body included, in an event loop before one
of its 8 threads runs it. Caddy passes request bodies through as they arrive, so without this a phone uploading
slowly would hold a thread for as long as it takes. Set ``KNN_WORKERS`` (processes) and ``KNN_THREADS`` to
override, e.g. when the container's CPU quota is smaller than the cores it sees.
"""

import os

from khoknongna.server.serve import WORKER_CLASSES, WORKER_CONNECTIONS, default_workers

wsgi_app = "khoknongna.server.wsgi:application()"
bind = "0.0.0.0:8000"  # inside the container network; only the proxy publishes ports
worker_class = WORKER_CLASSES["waitress"]
workers = int(os.environ.get("KNN_WORKERS") or default_workers("waitress"))
threads = int(os.environ.get("KNN_THREADS") or 8)
worker_connections = WORKER_CONNECTIONS
timeout = 120
graceful_timeout = 30
keepalive = 75
errorlog = "-"
loglevel = "warning"
proc_name = "khoknongna"
