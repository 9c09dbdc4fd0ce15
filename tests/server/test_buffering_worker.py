"""The waitress worker's own settings, apart from a running server (tests/server/test_slow_clients.py)."""

from __future__ import annotations

import logging

from khoknongna.server import buffering_worker


def test_requests_waiting_for_a_thread_are_not_logged_one_line_each() -> None:
    # waitress writes that line while holding its task queue's lock: a stalled log pipe stalled the server
    assert buffering_worker.__name__
    assert not logging.getLogger("waitress.queue").isEnabledFor(logging.WARNING)
    assert logging.getLogger("waitress.queue").isEnabledFor(logging.ERROR)
