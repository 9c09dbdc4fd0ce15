"""How contended this machine's CPUs are: the share of time during which some runnable task waited for one.

Read from Linux's pressure stall information, ``/proc/pressure/cpu`` (kernel 4.20 and later;
https://docs.kernel.org/accounting/psi.html): its ``some`` line counts, in microseconds since boot, the time during
which at least one runnable task waited for a CPU. On two cores, ingest at full speed keeps that share near 80 %;
the checks worker alone, working off a backlog, near 35 %; an idle machine under 5 %. The checks worker gives way
to ingest with it (``khoknongna/jobs.py``): nice alone does not keep it out of the gaps ingest leaves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

PRESSURE_FILE = Path("/proc/pressure/cpu")


def stalled_us(path: Path = PRESSURE_FILE) -> int | None:
    """Microseconds since boot during which at least one runnable task waited for a CPU (the ``some`` line's
    ``total``), or None where the kernel does not report it (not Linux, or PSI turned off)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("some "):
            return int(line.rpartition("total=")[2])
    return None


class CpuPressure:
    """The share (0–1) of wall time during which some runnable task waited for a CPU, over the last ``window_s``
    seconds or a little more. Thread-safe; ``path`` and ``clock`` are there for tests."""

    def __init__(
        self, window_s: float = 0.5, path: Path = PRESSURE_FILE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s = window_s
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._since: tuple[float, int] | None = None
        self._share = 0.0

    def share(self) -> float | None:
        """The share over the time since the last reading at least ``window_s`` ago; until another window has
        passed, the last share again (0 at first). None where the kernel does not report it."""
        with self._lock:
            now, total = self._clock(), stalled_us(self._path)
            if total is None:
                return None
            if self._since is None:
                self._since = (now, total)
            elif now - self._since[0] >= self.window_s:
                then, before = self._since
                self._share = min(1.0, (total - before) / 1e6 / (now - then))
                self._since = (now, total)
            return self._share
