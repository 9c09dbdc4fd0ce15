"""A gunicorn worker that serves the app with waitress, so a phone on a weak link holds no thread.

gunicorn's own threaded worker hands a connection to a thread as soon as its headers have arrived; the thread
then waits for the body at the phone's pace. Ten uploads stalled half-way took every thread of a small server.
waitress reads each request, body included, in its event loop (bodies above ``inbuf_overflow`` go to a
temporary file) and gives a thread only a request that has fully arrived; it also writes responses from the
loop, so a slow download holds no thread either. A connection that sends nothing for ``channel_timeout``
seconds is closed. gunicorn keeps what it is good at: the listening socket, forked processes, restarts and
signals.

Source: waitress's design notes (the asynchronous channel buffers input and output; tasks run in a thread pool
only once a request is complete); gunicorn's worker API (``Worker.run``, ``notify`` at least once per timeout).
"""

from __future__ import annotations

import logging
import os
import time

from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import WSGITask

# waitress warns on every request that has to wait for a free thread, holding its task queue's lock while the
# line is written: under load that is one line per request, and a stalled log pipe would stall the server.
# Requests waiting their turn are how a bounded thread pool works, not a fault.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

#: Seconds one turn of the event loop may wait for activity: the heartbeat to gunicorn's arbiter and the delay
#: before a stop request is noticed.
LOOP_TIMEOUT_S = 1.0


class _KeepAliveTask(WSGITask):
    """waitress closes the connection after every response without a ``Content-Length``, and a 204 may not carry
    one (RFC 9110 §8.6), so each ``HEAD /submission`` that Collect sends before its POST would cost the phone a
    new connection. A response without a body (1xx, 204, 304) needs nothing to delimit it: keep HTTP/1.1
    connections open after it unless the client asked to close."""

    def set_close_on_finish(self) -> None:
        bodiless = not self.wrote_header and not self.has_body and self.version == "1.1"
        if bodiless and self.request.headers.get("CONNECTION", "").lower() != "close":
            return
        super().set_close_on_finish()


class _KeepAliveChannel(HTTPChannel):
    task_class = _KeepAliveTask


class WaitressWorker(Worker):
    """A gunicorn worker process running waitress on the arbiter's listening sockets.

    Its options come from the gunicorn config: ``threads`` (app threads per process), ``worker_connections``
    (open connections before the process stops accepting more), ``keepalive`` (seconds of silence before a
    connection, stalled upload or idle keep-alive, is closed) and ``graceful_timeout`` (seconds requests in
    flight get at a stop). A body larger than the app's ``MAX_CONTENT_LENGTH`` (``KNN_MAX_REQUEST_BYTES``) is
    refused with 413 as soon as its ``Content-Length`` is read.
    """

    def run(self) -> None:
        socket_map: dict = {}
        server = create_server(
            self.wsgi,
            map=socket_map,
            sockets=[s.sock for s in self.sockets],
            threads=self.cfg.threads,
            connection_limit=self.cfg.worker_connections,
            channel_timeout=self.cfg.keepalive,
            max_request_body_size=self.wsgi.config["MAX_CONTENT_LENGTH"],
            clear_untrusted_proxy_headers=False,  # the app decides which proxies it trusts (KNN_TRUSTED_PROXIES)
            asyncore_use_poll=True,  # select() cannot watch more than 1024 connections
            ident="",  # no Server header
            expose_tracebacks=False,
        )
        for dispatcher in socket_map.values():
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.channel_class = _KeepAliveChannel
        beat = 0.0
        try:
            while self.alive and self.ppid == os.getppid():
                if time.monotonic() - beat >= LOOP_TIMEOUT_S:  # a file system call: not on every turn of a busy loop
                    self.notify()
                    beat = time.monotonic()
                wasyncore.loop(timeout=LOOP_TIMEOUT_S, map=socket_map, use_poll=True, count=1)
        finally:
            # No new connections; requests already with a thread get graceful_timeout to finish.
            for s in self.sockets:
                socket_map.pop(s.sock.fileno(), None)
            server.task_dispatcher.shutdown(cancel_pending=False, timeout=self.cfg.graceful_timeout)
