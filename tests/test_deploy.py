"""deploy/: the compose file, the Dockerfile, the Caddyfile and gunicorn's config hold together with the code.

No Docker engine is needed: the files are parsed, the commands they run are looked up in the project,
and the container's gunicorn command is run directly against the test database and S3 (moto and SeaweedFS).
"""

from __future__ import annotations

import importlib
import os
import re
import runpy
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from khoknongna.server.cli import main
from khoknongna.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
CADDYFILE = (DEPLOY / "Caddyfile").read_text()
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def instructions(keyword: str) -> list[str]:
    """The arguments of every Dockerfile instruction ``keyword`` (continuation lines joined)."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{keyword}\s+(.*)$", text, re.MULTILINE)]


def cli_command_exists(words: list[str]) -> bool:
    """Whether ``khoknongna WORDS…`` names a command of the click group (options and arguments aside)."""
    command = main
    for word in words:
        if word.startswith("-") or not hasattr(command, "commands"):
            break
        if word not in command.commands:
            return False
        command = command.commands[word]
    return not hasattr(command, "commands")


def khoknongna_commands(text: str) -> list[list[str]]:
    return [shlex.split(m.group(1))[:3] for m in re.finditer(r"\bkhoknongna ((?:[a-z][a-z-]*\s?)+)", text)]


# --- compose ------------------------------------------------------------------------------------------------


def test_compose_names_postgis_minio_the_app_and_a_proxy():
    assert {"postgis", "minio", "app", "proxy"} <= set(SERVICES)


def test_database_is_the_official_postgis_image():
    assert SERVICES["postgis"]["image"].startswith("postgis/postgis:")


def test_only_the_proxy_publishes_ports_to_the_world():
    published = {name: service.get("ports", []) for name, service in SERVICES.items() if service.get("ports")}

    assert set(published["proxy"]) >= {"80:80", "443:443"}
    assert all(str(p).startswith("127.0.0.1:") for name, ports in published.items() if name != "proxy" for p in ports)


def test_app_listens_on_8000_inside_the_network():
    assert SERVICES["app"]["expose"] == ["8000"]
    assert 'bind = "0.0.0.0:8000"' in GUNICORN_CONF.read_text()


@pytest.mark.parametrize(
    ("service", "volume", "path"),
    [
        ("postgis", "pg-data", "/var/lib/postgresql/data"),
        ("minio", "minio-data", "/data"),
        ("app", "app-data", "/var/lib/khoknongna"),
        ("proxy", "caddy-data", "/data"),
    ],
)
def test_state_lives_in_named_volumes(service, volume, path):
    assert volume in COMPOSE["volumes"]
    assert f"{volume}:{path}" in SERVICES[service]["volumes"]


@pytest.mark.parametrize("service", ["postgis", "minio", "app"])
def test_long_running_services_have_a_health_check(service):
    assert SERVICES[service]["healthcheck"]["test"]


def test_app_health_check_asks_healthz():
    assert "/healthz" in " ".join(SERVICES["app"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(instructions("HEALTHCHECK"))


def test_app_waits_for_migrations_which_wait_for_database_and_object_store():
    assert SERVICES["app"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert SERVICES["init"]["depends_on"]["postgis"]["condition"] == "service_healthy"
    assert SERVICES["init"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_app_keeps_its_blobs_in_minio_with_credentials_outside_the_url():
    env = SERVICES["app"]["environment"]

    assert env["KNN_BLOB_URL"].startswith("s3://") and "endpoint=minio:9000" in env["KNN_BLOB_URL"]
    assert "@" not in env["KNN_BLOB_URL"]
    assert env["KNN_S3_ACCESS_KEY"] and env["KNN_S3_SECRET_KEY"]


def test_every_knn_variable_given_to_the_app_is_a_setting_or_read_by_gunicorn_conf():
    gunicorn_reads = set(re.findall(r'environ\.get\("(KNN_\w+)"\)', GUNICORN_CONF.read_text()))
    fields = {f"KNN_{name.upper()}" for name in Settings.model_fields}

    assert {k for k in SERVICES["app"]["environment"] if k.startswith("KNN_")} <= fields | gunicorn_reads


def test_every_variable_the_compose_file_needs_is_in_env_example():
    text = (DEPLOY / "docker-compose.yml").read_text()
    needed = set(re.findall(r"\$\{(\w+)\}", text))  # ${NAME:-default} has a default and is optional

    assert needed <= set(env_example())


def test_a_worker_runs_the_checks_queued_by_ingest_after_the_migrations():
    worker = SERVICES["worker"]
    commands = khoknongna_commands(" ".join(worker["command"]))

    assert [c[:1] for c in commands] == [["worker"]]
    assert all(cli_command_exists(c) for c in commands)
    assert worker["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert worker["environment"]["KNN_DATABASE_URL"] == SERVICES["app"]["environment"]["KNN_DATABASE_URL"]


def test_init_runs_commands_that_exist():
    commands = khoknongna_commands(" ".join(SERVICES["init"]["command"]))

    assert [c[:2] for c in commands] == [["db", "upgrade"], ["forms", "publish-bundled"]]
    assert all(cli_command_exists(c) for c in commands)


def test_every_khoknongna_command_in_the_deploy_readme_exists():
    commands = khoknongna_commands((DEPLOY / "README.md").read_text())

    assert len(commands) > 5
    assert [c for c in commands if not cli_command_exists(c)] == []


# --- body limits --------------------------------------------------------------------------------------------


def test_proxy_body_limit_is_the_apps_request_limit_from_the_same_variable():
    assert re.search(r"max_size\s+\{\$KNN_MAX_REQUEST_BYTES\}", CADDYFILE)
    assert SERVICES["proxy"]["environment"]["KNN_MAX_REQUEST_BYTES"] == "${KNN_MAX_REQUEST_BYTES}"
    assert SERVICES["app"]["environment"]["KNN_MAX_REQUEST_BYTES"] == "${KNN_MAX_REQUEST_BYTES}"


def test_env_example_limits_are_the_settings_defaults():
    env = env_example()

    assert int(env["KNN_ACCEPT_CONTENT_LENGTH"]) == Settings().accept_content_length
    assert int(env["KNN_MAX_REQUEST_BYTES"]) == Settings().max_request_bytes


def test_proxy_lets_through_every_post_collect_is_told_it_may_send():
    env = env_example()

    assert int(env["KNN_MAX_REQUEST_BYTES"]) >= int(env["KNN_ACCEPT_CONTENT_LENGTH"])


def test_proxy_balances_over_every_app_replica():
    assert re.search(r"dynamic a \{\s*name app\s*port 8000", CADDYFILE)


# --- Dockerfile ---------------------------------------------------------------------------------------------


def test_dockerfile_copies_only_folders_and_files_that_exist():
    for args in instructions("COPY"):
        if args.startswith("--from="):
            continue  # from an earlier build stage, not the repository
        *sources, _ = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source


def test_dockerfile_copies_every_package_folder_of_pyproject():
    copied = {args.split()[0] for args in instructions("COPY")}
    text = (ROOT / "pyproject.toml").read_text()
    folders = set(re.findall(r'^"khoknongna[.\w]*" = "(\w+)"', text, re.MULTILINE))

    assert folders <= copied


def test_dockerfile_installs_java_for_odk_validate():
    assert "default-jre-headless" in " ".join(instructions("RUN"))


def test_dockerfile_installs_the_locked_map_library_where_the_app_looks_for_it():
    (env,) = [args for args in instructions("ENV") if args.startswith("KNN_VENDOR_DIR=")]
    copied = [args.split() for args in instructions("COPY") if args.startswith("--from=")]

    assert any("npm ci" in args for args in instructions("RUN"))
    assert ["--from=web", "/web/node_modules", env.removeprefix("KNN_VENDOR_DIR=")] in copied


def test_container_command_is_gunicorn_with_the_copied_config():
    (cmd,) = instructions("CMD")
    copied = {args.split()[-1] for args in instructions("COPY")}

    assert cmd == '["gunicorn", "--config", "/etc/khoknongna/gunicorn.conf.py"]'
    assert "/etc/khoknongna/gunicorn.conf.py" in copied
    assert SERVICES["app"]["command"] == ["gunicorn", "--config", "/etc/khoknongna/gunicorn.conf.py"]


def test_gunicorn_config_names_the_wsgi_factory_of_the_project():
    conf = runpy.run_path(str(GUNICORN_CONF))
    module, _, call = conf["wsgi_app"].partition(":")

    assert call.endswith("()")
    assert callable(getattr(importlib.import_module(module), call.removesuffix("()")))
    assert conf["workers"] >= 1 and conf["worker_class"] == "khoknongna.server.buffering_worker.WaitressWorker"


def test_gunicorn_config_takes_the_worker_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("KNN_WORKERS", "3")

    assert runpy.run_path(str(GUNICORN_CONF))["workers"] == 3


def test_the_container_command_serves_healthz_on_the_database_and_bucket(s3_settings: Settings, db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "KNN_DATABASE_URL": str(s3_settings.database_url),
        "KNN_BLOB_URL": str(s3_settings.blob_url),
        "KNN_S3_ACCESS_KEY": str(s3_settings.s3_access_key),
        "KNN_S3_SECRET_KEY": s3_settings.s3_secret_key.get_secret_value(),
        "KNN_DATA_DIR": str(s3_settings.data_dir),
        "KNN_SECRET_KEY": "test",
        "KNN_WORKERS": "1",
    }
    from khoknongna.storage.blobs import open_blob_store

    open_blob_store(s3_settings).prepare()  # what the init service's db upgrade does
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "--config", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=30)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "blobs": "ok"}
