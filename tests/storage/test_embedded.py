"""The private PostGIS cluster of a data folder (``storage.embedded``): real clusters, started and stopped.

Each test gets its own world-searchable folder (the ``postgres`` user must be able to enter it when the
tests run as root); whatever cluster a test leaves running is stopped and the folder removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from khoknongna.storage.embedded import PORT, EmbeddedPostgres, EmbeddedPostgresError, running_cluster
from tests.clusters import postgres_processes, stop_cluster, world_searchable_folder

AS_ROOT = os.geteuid() == 0
#: The cluster's user: PostgreSQL and ``pg_ctl`` take a PID in a lock file for alive only when they may signal it.
CLUSTER_USER = "postgres" if AS_ROOT else None

#: A second process using the cluster while this one does (``khoknongna user add`` beside ``serve``).
SECOND_USER = """
import sys
from pathlib import Path
import psycopg
from khoknongna.storage.embedded import running_cluster

with running_cluster(Path(sys.argv[1]), database="knn_probe") as cluster:
    with psycopg.connect(host=str(cluster.socket_dir), port=cluster_port, user="postgres", dbname="knn_probe") as c:
        c.execute("SELECT 1")
print("second user done")
""".replace("cluster_port", str(PORT))


@pytest.fixture
def base() -> Iterator[Path]:
    """A world-searchable empty folder; any cluster left running in it is stopped at the end."""
    folder = world_searchable_folder("knn-embedded-")
    yield folder
    for pgdata in [p.parent for p in folder.rglob("PG_VERSION") if (p.parent / "global").is_dir()]:
        stop_cluster(pgdata)
        socket_dir = EmbeddedPostgres(pgdata).socket_dir
        if socket_dir != pgdata.resolve():
            shutil.rmtree(socket_dir, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


def answers(cluster: EmbeddedPostgres) -> bool:
    """Whether the cluster's database answers ``SELECT 1`` over its socket."""
    with connect(cluster) as conn:
        return conn.execute("SELECT 1").fetchone() == (1,)


def connect(cluster: EmbeddedPostgres) -> psycopg.Connection:
    return psycopg.connect(
        host=str(cluster.socket_dir), port=PORT, user="postgres", dbname=cluster.database, autocommit=True
    )


def postmaster_running(pgdata: Path) -> bool:
    """Whether a postgres process runs for ``pgdata`` (its pid file names a live process)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_new_folder_gets_a_cluster_with_the_database_reachable_over_the_unix_socket(base: Path) -> None:
    with running_cluster(base / "pg", database="knn_probe") as cluster, connect(cluster) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("knn_probe",)
        assert conn.info.host == str(base / "pg")
        assert (base / "pg" / f".s.PGSQL.{PORT}").is_socket()


def test_the_cluster_listens_on_no_tcp_port(base: Path) -> None:
    with running_cluster(base / "pg", database="knn_probe") as cluster, connect(cluster) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)


def test_the_cluster_has_postgis_available(base: Path) -> None:
    with running_cluster(base / "pg", database="knn_probe") as cluster, connect(cluster) as conn:
        assert conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone() == (1,)


@pytest.mark.skipif(not AS_ROOT, reason="only root hands the cluster to the postgres user")
def test_as_root_the_data_folder_belongs_to_postgres_with_mode_0700(base: Path) -> None:
    with running_cluster(base / "pg", database="knn_probe"):
        info = (base / "pg").stat()

        assert pwd.getpwuid(info.st_uid).pw_name == "postgres"
        assert stat.S_IMODE(info.st_mode) == 0o700


def test_stopping_and_starting_again_reuses_the_cluster_and_its_data(base: Path) -> None:
    cluster = EmbeddedPostgres(base / "pg", database="knn_probe")
    cluster.start()
    with connect(cluster) as conn:
        conn.execute("CREATE TABLE plots (name text)")
        conn.execute("INSERT INTO plots VALUES ('แปลงนายสมชาย')")
    system_id = (base / "pg" / "global" / "pg_control").read_bytes()[:8]
    cluster.stop()
    assert not cluster.is_running()

    again = EmbeddedPostgres(base / "pg", database="knn_probe")
    again.start()

    assert (base / "pg" / "global" / "pg_control").read_bytes()[:8] == system_id, "the same cluster, not a new one"
    with connect(again) as conn:
        assert conn.execute("SELECT name FROM plots").fetchall() == [("แปลงนายสมชาย",)]
    again.stop()


def test_running_cluster_stops_the_cluster_when_the_block_ends(base: Path) -> None:
    with running_cluster(base / "pg", database="knn_probe") as cluster:
        assert cluster.is_running()
        assert postmaster_running(base / "pg")

    assert not cluster.is_running()
    assert not (base / "pg" / "postmaster.pid").exists()


def test_running_cluster_stops_the_cluster_when_the_block_raises(base: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), running_cluster(base / "pg", database="knn_probe") as cluster:
        raise RuntimeError("boom")

    assert not cluster.is_running()
    assert not (base / "pg" / "postmaster.pid").exists()


def test_a_second_user_entering_and_leaving_keeps_the_cluster_running_for_the_first(base: Path) -> None:
    with running_cluster(base / "pg", database="knn_probe") as outer:
        try:
            second = subprocess.run(
                [sys.executable, "-c", SECOND_USER, str(base / "pg")],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail("a second user of the running cluster was still waiting to enter it after 10 s")
        assert second.returncode == 0, second.stderr
        assert "second user done" in second.stdout

        assert outer.is_running(), "leaving the inner block must not stop the cluster"
        assert answers(outer)

    assert not outer.is_running(), "the last user to leave stops it"


def test_a_data_folder_too_long_for_a_socket_path_gets_its_socket_in_tmp(base: Path) -> None:
    pgdata = base / ("long-folder-name-" * 6) / "pg"
    assert len(str(pgdata / f".s.PGSQL.{PORT}")) > 107

    with running_cluster(pgdata, database="knn_probe") as cluster, connect(cluster) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("knn_probe",)
        assert cluster.socket_dir.parent == Path("/tmp")
        assert (cluster.socket_dir / f".s.PGSQL.{PORT}").is_socket()
        assert stat.S_IMODE(cluster.socket_dir.stat().st_mode) == 0o700
    assert not cluster.is_running()


@pytest.mark.skipif(not AS_ROOT, reason="only root runs the cluster as another user who may be locked out")
def test_a_folder_the_postgres_user_cannot_enter_gives_an_error_saying_what_to_do(base: Path) -> None:
    private = base / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)

    with pytest.raises(EmbeddedPostgresError) as error, running_cluster(private / "pg", database="knn_probe"):
        pass

    message = str(error.value)
    assert "postgres" in message
    assert str(private) in message
    assert "--data-dir" in message
    assert "chmod o+x" in message
    assert not (private / "pg" / "PG_VERSION").exists()


# --- lock files left by a crash -------------------------------------------------------------------------------


def crash(pgdata: Path) -> dict[Path, str]:
    """SIGKILL the postmaster of ``pgdata`` and its backends, as a power cut would; its lock files stay. Returns
    them with their text."""
    victims = postgres_processes(pgdata)
    victims += [child for p in victims for child in p.children(recursive=True)]
    for process in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    _, alive = psutil.wait_procs(victims, timeout=30)
    assert alive == []
    lock_files = [pgdata / "postmaster.pid", *pgdata.glob(f".s.PGSQL.{PORT}.lock")]
    return {f: f.read_text() for f in lock_files}


def name_in_lock_files(lock_files: dict[Path, str], pid: int) -> None:
    """Write ``pid`` on the first line of each lock file, as when the crashed postmaster's PID is reused."""
    for path, content in lock_files.items():
        path.write_text("\n".join([str(pid), *content.splitlines()[1:]]) + "\n")


@pytest.fixture
def crashed(base: Path) -> tuple[EmbeddedPostgres, dict[Path, str]]:
    """A cluster started then killed, with the text of the lock files it left behind."""
    cluster = EmbeddedPostgres(base / "pg", database="knn_probe")
    cluster.start()
    return cluster, crash(base / "pg")


def test_a_lock_file_naming_a_live_process_that_is_not_postgresql_does_not_stop_the_start(crashed) -> None:
    cluster, lock_files = crashed
    with subprocess.Popen(["sleep", "60"], user=CLUSTER_USER) as other_program:
        try:
            name_in_lock_files(lock_files, other_program.pid)
            assert not cluster.is_running(), "a sleep process is not the cluster's postmaster"

            cluster.start()

            assert answers(cluster)
            assert other_program.poll() is None, "the other program was left alone"
        finally:
            other_program.kill()
    cluster.stop()


def test_a_lock_file_naming_a_zombie_does_not_stop_the_start(crashed) -> None:
    cluster, lock_files = crashed
    zombie = subprocess.Popen(["true"], user=CLUSTER_USER)  # not waited for until the end: it stays a zombie
    try:
        while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.01)
        name_in_lock_files(lock_files, zombie.pid)

        cluster.start()

        assert answers(cluster)
    finally:
        zombie.wait()
    cluster.stop()


def test_a_running_cluster_is_not_started_a_second_time(base: Path) -> None:
    first = EmbeddedPostgres(base / "pg", database="knn_probe")
    first.start()
    (postmaster,) = postgres_processes(base / "pg")  # backends show another command line
    lock_file = (base / "pg" / "postmaster.pid").read_text()

    second = EmbeddedPostgres(base / "pg", database="knn_probe")
    assert second.is_running()
    second.start()

    assert (base / "pg" / "postmaster.pid").read_text() == lock_file
    assert postmaster.is_running()
    with connect(second) as conn:
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'checkpointer'").fetchone() == (
            1,
        )
    first.stop()
