"""The private PostGIS cluster that the server runs in its data folder when no database URL is configured.

The cluster uses the system's PostgreSQL binaries (``initdb``, ``pg_ctl``), listens on a unix socket
only (no TCP port, so no clash with a system PostgreSQL) and trusts local connections: the socket sits in
a folder only the cluster's owner can enter. PostgreSQL refuses to run as root, so when started by root
the cluster is owned by and runs as the ``postgres`` system user.

Several processes may use one cluster at once (``khoknongna serve`` and a ``khoknongna user add`` beside
it): each holds a shared lock on ``<data-dir>/pg.lock`` while it uses the cluster, and the last one to
leave stops it (see :func:`running_cluster`).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pwd
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

PORT = 5432
#: Unix socket paths are limited to 107 bytes; longer data folders get their socket in /tmp.
_MAX_SOCKET_PATH = 100
#: A killed postmaster stays a zombie until its parent reaps it (about two seconds after a crash).
ZOMBIE_WAIT_S = 5.0
#: How long a postmaster of this cluster that is starting up (or recovering after a crash) may take to answer.
ANSWER_WAIT_S = 60.0


class EmbeddedPostgresError(RuntimeError):
    """The private cluster could not be created, started or stopped; the message says what to do."""


def find_bin_dir() -> Path:
    """Folder of the PostgreSQL server binaries (``pg_config --bindir``, else Debian's newest).

    Raises :class:`EmbeddedPostgresError` when PostgreSQL is not installed.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)  # noqa: S603
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    candidates.extend(debian)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise EmbeddedPostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with: "
        "apt-get install -y postgresql postgresql-15-postgis-3"
    )


class EmbeddedPostgres:
    """A PostgreSQL cluster in ``pgdata`` holding one database, ``database``."""

    def __init__(self, pgdata: Path, database: str = "khoknongna") -> None:
        self.pgdata = pgdata.resolve()
        self.database = database
        self.bin_dir = find_bin_dir()
        self.run_as = "postgres" if os.geteuid() == 0 else None
        socket_path = self.pgdata / f".s.PGSQL.{PORT}"
        if len(str(socket_path)) <= _MAX_SOCKET_PATH:
            self.socket_dir = self.pgdata
        else:
            digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
            self.socket_dir = Path("/tmp") / f"knn-pg-{digest}"  # noqa: S108 - private folder, mode 0700

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the database over the unix socket."""
        return f"postgresql+psycopg://postgres@/{self.database}?host={self.socket_dir}&port={PORT}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        if check and result.returncode != 0:
            raise EmbeddedPostgresError(
                f"{args[0]} failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()}"
            )
        return result

    def _own(self, path: Path) -> None:
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _check_reachable(self) -> None:
        if not self.run_as:
            return
        result = subprocess.run(  # noqa: S603
            ["runuser", "-u", self.run_as, "--", "test", "-x", str(self.pgdata.parent)],  # noqa: S607
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"The '{self.run_as}' user cannot enter {self.pgdata.parent}, so PostgreSQL cannot use it. "
                "Choose a --data-dir whose parent folders are world-searchable (chmod o+x), e.g. /var/lib/khoknongna."
            )

    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def initialise(self) -> None:
        """Create the cluster if the folder does not hold one yet (a second start reuses it)."""
        if self.is_initialised():
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._check_reachable()
        self.pgdata.chmod(0o700)
        self._own(self.pgdata)
        logger.info("creating a private PostGIS cluster in %s", self.pgdata)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"
        )

    def is_running(self) -> bool:
        """Whether this cluster's postmaster runs: ``postmaster.pid`` names a live process (not a zombie) of
        the ``postgres`` program working in this data folder. ``pg_ctl status`` only asks whether *some* process
        has that PID, which after a crash or a reboot may be any program."""
        pid = _lock_file_pid(self.pgdata / "postmaster.pid")
        return pid is not None and self._is_postmaster(pid)

    def _is_postmaster(self, pid: int) -> bool:
        if pid <= 0:
            return False
        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE or process.name() != "postgres":
                return False
            try:
                # The postmaster works in its data folder (PostgreSQL changes into it at start).
                return Path(process.cwd()).resolve() == self.pgdata
            except psutil.AccessDenied:
                return str(self.pgdata) in process.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
            return False

    def _remove_stale_lock_files(self) -> None:
        """Remove ``postmaster.pid`` and the socket's lock file when they name no postmaster of this cluster,
        after waiting up to :data:`ZOMBIE_WAIT_S` for a zombie to be reaped: PostgreSQL refuses to start while
        the PID in either file is alive, whatever that process is."""
        for lock_file in (self.pgdata / "postmaster.pid", self.socket_dir / f".s.PGSQL.{PORT}.lock"):
            pid = _lock_file_pid(lock_file)
            if pid is None or self._is_postmaster(pid):
                continue
            deadline = time.monotonic() + ZOMBIE_WAIT_S
            while pid and _is_zombie(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            logger.warning("removing %s left by a crash: process %d is not this cluster's PostgreSQL", lock_file, pid)
            lock_file.unlink(missing_ok=True)

    def _answers(self) -> bool:
        """Whether the running postmaster accepts connections on the socket, waiting up to :data:`ANSWER_WAIT_S`
        while it starts up or recovers; False as soon as it is gone."""
        deadline = time.monotonic() + ANSWER_WAIT_S
        while True:
            try:
                with self._connect("postgres"):
                    return True
            except psycopg.OperationalError:
                if not self.is_running() or time.monotonic() > deadline:
                    return False
                time.sleep(0.2)

    def _connect(self, dbname: str) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir), port=PORT, user="postgres", dbname=dbname, autocommit=True, connect_timeout=10
        )

    def start(self) -> None:
        """Start the cluster (no-op when it runs and answers) and create the database if missing.

        A ``postmaster.pid`` left by a crash that names another program (or a zombie) is removed first.
        """
        self.initialise()
        if not (self.is_running() and self._answers()):
            self._remove_stale_lock_files()
            if self.socket_dir != self.pgdata:
                self.socket_dir.mkdir(mode=0o700, exist_ok=True)
                self._own(self.socket_dir)
            options = f"-c listen_addresses='' -k {shlex.quote(str(self.socket_dir))} -p {PORT}"
            logger.info("starting the private PostGIS cluster in %s", self.pgdata)
            result = self._run(
                "pg_ctl",
                "start",
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.pgdata / "server.log"),
                "-o",
                options,
                check=False,
            )
            if result.returncode != 0 and not self.is_running():
                log = self.pgdata / "server.log"
                tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
                raise EmbeddedPostgresError(
                    f"PostgreSQL did not start in {self.pgdata}: {result.stderr.strip()} {' '.join(tail)}"
                )
        self._ensure_database()

    def stop(self) -> None:
        """Stop the cluster cleanly (fast shutdown: open sessions are ended, data is flushed)."""
        if self.is_running():
            logger.info("stopping the private PostGIS cluster in %s", self.pgdata)
            self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60")

    def _ensure_database(self) -> None:
        with self._connect("postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))


def _lock_file_pid(lock_file: Path) -> int | None:
    """The PID on the first line of a PostgreSQL lock file; None when there is no such file, 0 when it is empty
    or garbled (a crash while PostgreSQL wrote it)."""
    try:
        first = lock_file.read_text(errors="replace").partition("\n")[0].strip()
    except FileNotFoundError:
        return None
    return int(first) if first.isdigit() else 0


def _is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@contextmanager
def running_cluster(pgdata: Path, database: str = "khoknongna") -> Iterator[EmbeddedPostgres]:
    """Use the private cluster in ``pgdata``, starting it if needed; stop it when the last user leaves.

    Users hold a shared lock on ``pg.lock`` while inside; starting and stopping are serialised by an
    exclusive lock on ``pg.start.lock``, under which a leaving process stops the cluster only if it can
    take ``pg.lock`` exclusively, i.e. nobody else is using it. Only the process that entered the block
    leaves it: a forked child (a gunicorn worker) unwinding through it does nothing.
    """
    cluster = EmbeddedPostgres(pgdata, database)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    owner = os.getpid()
    with open(pgdata.parent / "pg.start.lock", "a+b") as start_lock, open(pgdata.parent / "pg.lock", "a+b") as use:
        fcntl.flock(start_lock, fcntl.LOCK_EX)
        try:
            cluster.start()
            fcntl.flock(use, fcntl.LOCK_SH)
        finally:
            fcntl.flock(start_lock, fcntl.LOCK_UN)
        try:
            yield cluster
        finally:
            if os.getpid() == owner:
                fcntl.flock(start_lock, fcntl.LOCK_EX)
                try:
                    fcntl.flock(use, fcntl.LOCK_UN)
                    try:
                        fcntl.flock(use, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        logger.info("the private PostGIS cluster stays up for the other processes using it")
                    else:
                        cluster.stop()
                        fcntl.flock(use, fcntl.LOCK_UN)
                finally:
                    fcntl.flock(start_lock, fcntl.LOCK_UN)
