"""Running the app under gunicorn from ``khoknongna serve``, and telling the user how to reach it.

gunicorn runs in this process (its arbiter forks the workers); each worker builds its own app and
database engine, so no connection is shared across a fork.
"""

from __future__ import annotations

import errno
import io
import os
import socket
from typing import Any

from gunicorn.app.base import BaseApplication

from khoknongna.collect_settings import settings_qr
from khoknongna.settings import Settings


class PortInUse(RuntimeError):
    """The address to listen on is taken."""


def lan_address() -> str:
    """This machine's address on the local network (what a phone on the same Wi-Fi can reach)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent, only a route is chosen
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def collect_url(settings: Settings, host: str, port: int) -> str:
    """The server URL to enter in ODK Collect."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    shown = lan_address() if host in ("0.0.0.0", "", "::") else host  # noqa: S104 - compares, does not bind
    return f"http://{shown}:{port}"


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`PortInUse` when ``host:port`` cannot be listened on."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} on {host} is already in use; choose another with --port") from None
            raise


def terminal_qr(collect: dict) -> str:
    """The QR code of the Collect settings ``collect``, drawn with text characters for a terminal."""
    out = io.StringIO()
    settings_qr(collect).terminal(out=out, compact=True, border=2)
    return out.getvalue()


#: ``--worker-class`` names and the gunicorn worker each runs.
WORKER_CLASSES = {
    "waitress": "khoknongna.server.buffering_worker.WaitressWorker",
    "gthread": "gthread",
    "sync": "sync",
}

#: Open connections one waitress process holds (phones uploading slowly included) before it stops accepting.
WORKER_CONNECTIONS = 1000


def default_workers(worker_class: str) -> int:
    """One process per CPU core with threads; with sync workers, two per core to cover I/O waits."""
    cores = len(os.sched_getaffinity(0))
    return max(2, 2 * cores if worker_class == "sync" else cores)


class GunicornServer(BaseApplication):
    """gunicorn with our settings; the WSGI app is built in each worker by ``create_app``."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from khoknongna.server.app import create_app

        return create_app(self.settings)


def run_gunicorn(settings: Settings, host: str, port: int, workers: int, threads: int, worker_class: str) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM); returns by raising ``SystemExit``.

    ``worker_class`` "waitress" (the default: an event loop reads each request whole, body included, before
    a thread runs it, so uploads arriving slowly or stalled hold no thread; see ``buffering_worker``),
    "gthread" (gunicorn's threads: a slow upload holds a thread for as long as it takes) or "sync" (one
    request per process; only behind a reverse proxy that buffers uploads, such as nginx).
    """
    GunicornServer(
        settings,
        {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "worker_class": WORKER_CLASSES[worker_class],
            "threads": 1 if worker_class == "sync" else threads,  # gunicorn turns sync into gthread otherwise
            "worker_connections": WORKER_CONNECTIONS,
            "timeout": 120,
            "graceful_timeout": 5,
            "keepalive": 75,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "khoknongna",
        },
    ).run()
