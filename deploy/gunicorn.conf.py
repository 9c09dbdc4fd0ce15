"""gunicorn settings of the app container (deploy/Dockerfile).

Threaded workers, one process per CPU core with 8 threads each, as ``khoknongna serve`` runs by default:
Caddy passes request bodies through as they arrive (it does not buffer them), so a phone uploading a
photo slowly holds one thread, not a whole process. Set ``KNN_WORKERS`` (processes) and
``KNN_THREADS`` to override, e.g. when the container's CPU quota is smaller than the cores it sees.
"""

import os

from khoknongna.server.serve import default_workers

wsgi_app = "khoknongna.server.wsgi:application()"
bind = "0.0.0.0:8000"  # inside the container network; only the proxy publishes ports
worker_class = "gthread"
workers = int(os.environ.get("KNN_WORKERS") or default_workers("gthread"))
threads = int(os.environ.get("KNN_THREADS") or 8)
timeout = 120
graceful_timeout = 30
keepalive = 75
errorlog = "-"
loglevel = "warning"
proc_name = "khoknongna"
