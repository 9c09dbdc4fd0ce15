"""The ``khoknongna`` command (``khoknongna.server.cli.main``), run with click's ``CliRunner``.

All commands of this module work on one data folder (world-searchable, so that the ``postgres`` user can
enter it when the tests run as root); each call starts the folder's private PostGIS cluster and must stop it
again. Commands whose output several tests read run once, in module-scoped fixtures.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
import zxingcpp
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from PIL import Image
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from khoknongna.forms_xlsform import bundled_forms
from khoknongna.server.app import create_app
from khoknongna.server.cli import main
from khoknongna.settings import Settings
from khoknongna.storage.embedded import running_cluster
from khoknongna.storage.migrations import HERE as MIGRATIONS
from tests.clusters import data_folder, postgres_processes, stop_cluster, world_searchable_folder
from tests.collect import CollectClient
from tests.sql import scalar
from tests.test_publishing import stored_without_nodes
from tests.xlsforms import xlsform

PLOT_SURVEY = next(p for p in bundled_forms() if p.name == "plot_survey.xlsx")
QR_CHARACTERS = set("█▀▄ ")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:openpyxl")


# --- helpers ------------------------------------------------------------------------------------------------


def settings_value(path: Path, column: str) -> str:
    """A value of the settings sheet of an XLSForm, read with openpyxl."""
    header, values = list(openpyxl.load_workbook(path)["settings"].iter_rows(values_only=True))[:2]
    return str(values[list(header).index(column)])


def knn(data_dir: Path, *args: str) -> Result:
    """``khoknongna ARGS --data-dir DATA_DIR``, with no KNN_* variable from the environment."""
    result = CliRunner().invoke(
        main,
        [*args, "--data-dir", str(data_dir)],
        env={"KNN_DATA_DIR": None, "KNN_DATABASE_URL": None},
        catch_exceptions=False,
    )
    assert not (data_dir / "pg" / "postmaster.pid").exists(), f"'{' '.join(args)}' left the cluster running"
    return result


@contextmanager
def served(data_dir: Path) -> Iterator[FlaskClient]:
    """The app on the data folder's cluster, as ``serve`` would build it."""
    with running_cluster(data_dir / "pg") as cluster:
        app = create_app(Settings(data_dir=data_dir, database_url=cluster.url))
        try:
            yield app.test_client()
        finally:
            app.extensions["knn"].engine.dispose()


# --- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    with data_folder("knn-cli-") as data:
        yield data


@pytest.fixture(scope="module")
def somchai(data_dir: Path) -> tuple[Result, str]:
    """``user add somchai`` without ``--password``, and the password it printed."""
    result = knn(data_dir, "user", "add", "somchai")
    found = re.search(r"with password: (\S+)", result.output)
    assert found, result.output
    return result, found.group(1)


@pytest.fixture(scope="module")
def plot_survey_published(data_dir: Path) -> Result:
    return knn(data_dir, "forms", "publish", str(PLOT_SURVEY))


@pytest.fixture(scope="module")
def map_form_published(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Result:
    """A form naming the label image ``plot_map.png``, published without it."""
    path = tmp_path_factory.mktemp("forms") / "plot_map_form.xlsx"
    path.write_bytes(
        xlsform(
            [["type", "name", "label", "media::image"], ["note", "map", "The plot", "plot_map.png"]],
            settings=[["form_id", "version"], ["plot_map_form", "3"]],
        )
    )
    return knn(data_dir, "forms", "publish", str(path))


@pytest.fixture(scope="module")
def app_user(data_dir: Path) -> tuple[Result, str]:
    """``appuser add`` and the server URL it printed."""
    result = knn(data_dir, "appuser", "add", "นพต. อำเภอเมือง")
    found = re.search(r"^ODK Collect server URL: (\S+)$", result.output, re.M)
    assert found, result.output
    return result, found.group(1)


# --- users --------------------------------------------------------------------------------------------------


def test_user_add_without_a_password_prints_a_generated_one(somchai: tuple[Result, str]) -> None:
    result, password = somchai

    assert result.exit_code == 0, result.output
    assert "created collector 'somchai'" in result.output
    assert len(password) >= 12


def test_the_generated_password_signs_in_to_the_server(data_dir: Path, somchai: tuple[Result, str]) -> None:
    _, password = somchai

    with served(data_dir) as client:
        signed_in = CollectClient(client, "somchai", password).get("/formList")
        wrong = CollectClient(client, "somchai", password + "x").get("/formList")

    assert signed_in.status_code == 200
    assert wrong.status_code == 401


def test_user_add_of_an_existing_name_fails_with_a_clear_message(data_dir: Path, somchai: tuple[Result, str]) -> None:
    result = knn(data_dir, "user", "add", "somchai", "--password", "another-pass")

    assert result.exit_code != 0
    assert "a user named 'somchai' already exists" in result.output


# --- forms --------------------------------------------------------------------------------------------------


def test_user_password_replaces_the_password_for_digest_sign_in(data_dir: Path) -> None:
    knn(data_dir, "user", "add", "somsri", "--password", "old-pass-1")

    changed = knn(data_dir, "user", "password", "somsri", "--password", "new-pass-2")

    assert changed.exit_code == 0, changed.output
    with served(data_dir) as client:
        assert CollectClient(client, "somsri", "new-pass-2").get("/formList").status_code == 200
        assert CollectClient(client, "somsri", "old-pass-1").get("/formList").status_code == 401


def test_user_password_of_an_unknown_user_fails_with_a_clear_message(data_dir: Path) -> None:
    result = knn(data_dir, "user", "password", "nobody", "--password", "x")

    assert result.exit_code != 0
    assert "no user named 'nobody'" in result.output


def test_forms_publish_prints_the_form_id_and_version(plot_survey_published: Result) -> None:
    version = settings_value(PLOT_SURVEY, "version")

    assert plot_survey_published.exit_code == 0, plot_survey_published.output
    assert f"published new version {version} of plot_survey" in plot_survey_published.output


def test_publishing_a_broken_xlsform_fails_with_pyxforms_message(data_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(xlsform([["type", "name", "label"], ["not_a_type", "q", "Question"]]))
    with pytest.raises(PyXFormError) as pyxform_error:
        convert(str(broken), validate=False)

    result = knn(data_dir, "forms", "publish", str(broken))

    assert result.exit_code != 0
    assert str(pyxform_error.value).strip() in result.output


def test_forms_list_shows_each_form_with_its_version_and_missing_media(
    data_dir: Path, plot_survey_published: Result, map_form_published: Result
) -> None:
    assert map_form_published.exit_code == 0, map_form_published.output
    assert "plot_map.png" in map_form_published.output, "the publisher is warned of the missing file"

    result = knn(data_dir, "forms", "list")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    plot_line = next(i for i, line in enumerate(lines) if line.startswith("plot_survey "))
    map_line = next(i for i, line in enumerate(lines) if line.startswith("plot_map_form "))
    assert settings_value(PLOT_SURVEY, "version") in lines[plot_line].split()
    assert "3" in lines[map_line].split()
    assert lines[map_line + 1].split() == ["missing", "media:", "plot_map.png"]
    after_plot = lines[plot_line + 1 : plot_line + 2]
    assert not any("missing media" in line for line in after_plot), "the address and plots lists are never missing"


def test_gis_refresh_creates_the_views_of_every_published_form_again(
    data_dir: Path, plot_survey_published: Result
) -> None:
    result = knn(data_dir, "gis", "refresh")

    assert result.exit_code == 0, result.output
    count, names = re.fullmatch(r"(\d+) views in schema forms: (.*)\n", result.output).groups()
    assert int(count) == len(names.split(", "))
    assert "plot_survey" in names.split(", ")


# --- database -----------------------------------------------------------------------------------------------


def test_db_upgrade_prints_the_revision(data_dir: Path) -> None:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()

    result = knn(data_dir, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert f"database is at revision {head}" in result.output


def test_db_upgrade_fills_the_nodes_of_form_versions_stored_without_them(
    data_dir: Path, plot_survey_published: Result
) -> None:
    with served(data_dir) as client:
        stored_without_nodes(client.application.extensions["knn"].engine)

    result = knn(data_dir, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert re.search(
        r"^form versions stored without their instance elements \(nodes\): [1-9]\d* filled$", result.output, re.M
    )
    with served(data_dir) as client:
        engine = client.application.extensions["knn"].engine
        assert scalar(engine, "SELECT count(*) FROM form_versions WHERE NOT definition ? 'nodes'") == 0


def test_a_command_leaves_no_postgres_running_for_the_data_folder(data_dir: Path) -> None:
    result = knn(data_dir, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert (data_dir / "pg" / "PG_VERSION").exists()
    assert not (data_dir / "pg" / "postmaster.pid").exists()
    assert postgres_processes(data_dir / "pg") == []


# --- app users ----------------------------------------------------------------------------------------------


def test_appuser_add_prints_a_url_with_a_secret_token_for_project_1(app_user: tuple[Result, str]) -> None:
    result, url = app_user

    assert result.exit_code == 0, result.output
    parts = urlsplit(url)
    assert parts.scheme == "http"
    assert re.fullmatch(r"/v1/key/[A-Za-z0-9!$]{64}/projects/1", parts.path), url


def test_appuser_add_prints_a_qr_code(app_user: tuple[Result, str]) -> None:
    result, _ = app_user

    qr_lines = [line for line in result.output.splitlines() if line and set(line) <= QR_CHARACTERS and "█" in line]
    assert len(qr_lines) >= 12
    assert len({len(line) for line in qr_lines}) == 1, "a QR code is a rectangle of modules"


def test_appuser_settings_payload_configures_collect_for_the_printed_url(app_user: tuple[Result, str]) -> None:
    result, url = app_user
    found = re.search(r"^settings payload: (\S+)$", result.output, re.M)
    assert found, result.output

    payload = json.loads(zlib.decompress(base64.b64decode(found.group(1))).decode("utf-8"))

    assert payload["general"]["server_url"] == url
    assert isinstance(payload["admin"], dict)


def test_the_app_user_url_opens_the_form_list(data_dir: Path, app_user: tuple[Result, str]) -> None:
    _, url = app_user

    with served(data_dir) as client:
        response = CollectClient(client, base=urlsplit(url).path).get("/formList")
        unknown = CollectClient(client, base="/v1/key/" + "A" * 64 + "/projects/1").get("/formList")

    assert response.status_code == 200
    assert unknown.status_code == 403


# --- where the data folder comes from -----------------------------------------------------------------------


def test_appuser_list_shows_the_app_user_as_active(data_dir: Path, app_user: tuple[Result, str]) -> None:
    result = knn(data_dir, "appuser", "list")

    assert result.exit_code == 0, result.output
    assert re.search(r"^\s+1\s+นพต. อำเภอเมือง\s+\(created .*, active\)$", result.output, re.M), result.output


def test_appuser_revoke_stops_the_link_and_shows_it_revoked(data_dir: Path) -> None:
    added = knn(data_dir, "appuser", "add", "โทรศัพท์ที่หาย")
    url = re.search(r"^ODK Collect server URL: (\S+)$", added.output, re.M).group(1)
    app_user_id = re.search(r"^\s+(\d+)\s+โทรศัพท์ที่หาย ", knn(data_dir, "appuser", "list").output, re.M).group(1)

    revoked = knn(data_dir, "appuser", "revoke", app_user_id)

    assert revoked.exit_code == 0, revoked.output
    assert re.search(rf"^\s+{app_user_id}\s+โทรศัพท์ที่หาย .*revoked", knn(data_dir, "appuser", "list").output, re.M)
    path = url.split("://", 1)[1].split("/", 1)[1]
    with served(data_dir) as client:
        assert client.get(f"/{path}/formList", headers={"X-OpenRosa-Version": "1.0"}).status_code == 403


def test_appuser_revoke_of_an_unknown_app_user_fails_with_a_clear_message(data_dir: Path) -> None:
    result = knn(data_dir, "appuser", "revoke", "999")

    assert result.exit_code != 0
    assert "no active app user 999" in result.output


def decode_qr_png(path: Path) -> dict:
    """The Collect settings held by a QR code image, read with a QR reader (zxing-cpp)."""
    (found,) = zxingcpp.read_barcodes(Image.open(path), formats=zxingcpp.BarcodeFormat.QRCode)
    return json.loads(zlib.decompress(base64.b64decode(found.text)).decode("utf-8"))


@pytest.fixture(scope="module")
def area_app_user(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """``appuser add … --area 4001 --out qr.png`` (amphoe Mueang Khon Kaen)."""
    png = tmp_path_factory.mktemp("qr") / "qr.png"
    return knn(data_dir, "appuser", "add", "นพต. เมืองขอนแก่น", "--area", "4001", "--out", str(png)), png


def test_appuser_add_with_an_area_names_the_area(area_app_user: tuple[Result, Path]) -> None:
    result, _ = area_app_user

    assert result.exit_code == 0, result.output
    assert "area 4001 อ.เมืองขอนแก่น จ.ขอนแก่น" in result.output


def test_appuser_qr_png_configures_collect_for_a_working_form_list(
    data_dir: Path, area_app_user: tuple[Result, Path]
) -> None:
    _, png = area_app_user

    collect = decode_qr_png(png)

    general = collect["general"]
    assert re.fullmatch(r"http://[^/]+/v1/key/[A-Za-z0-9!$]{64}/projects/1", general["server_url"])
    assert (general["app_language"], general["autosend"], general["delete_send"]) == ("th", "wifi_only", False)
    assert collect["admin"] == {"change_server": False, "delete_after_send": False}
    with served(data_dir) as client:
        response = CollectClient(client, base=urlsplit(general["server_url"]).path).get("/formList")
    assert response.status_code == 200


def test_appuser_list_shows_the_area(data_dir: Path, area_app_user: tuple[Result, Path]) -> None:
    assert re.search(r"นพต. เมืองขอนแก่น  area 4001  \(created", knn(data_dir, "appuser", "list").output)


def test_appuser_add_refuses_an_unknown_area_code(data_dir: Path) -> None:
    result = knn(data_dir, "appuser", "add", "ผิดพื้นที่", "--area", "4099")

    assert result.exit_code != 0
    assert "'4099' is not the code of a province" in result.output


def test_appuser_qr_issues_a_new_link_and_the_old_one_stops_working(data_dir: Path, tmp_path: Path) -> None:
    added = knn(data_dir, "appuser", "add", "โทรศัพท์เครื่องใหม่")
    old = re.search(r"^ODK Collect server URL: (\S+)$", added.output, re.M).group(1)

    reissued = knn(data_dir, "appuser", "qr", "โทรศัพท์เครื่องใหม่", "--out", str(tmp_path / "new.png"))

    assert reissued.exit_code == 0, reissued.output
    assert "the previous QR code no longer works" in reissued.output
    new = decode_qr_png(tmp_path / "new.png")["general"]["server_url"]
    assert new != old
    with served(data_dir) as client:
        assert CollectClient(client, base=urlsplit(new).path).get("/formList").status_code == 200
        assert CollectClient(client, base=urlsplit(old).path).get("/formList").status_code == 403


def test_appuser_qr_of_an_unknown_app_user_fails_with_a_clear_message(data_dir: Path) -> None:
    result = knn(data_dir, "appuser", "qr", "ไม่มีคนนี้")

    assert result.exit_code != 0
    assert "no active app user called 'ไม่มีคนนี้'" in result.output


def test_knn_data_dir_in_the_environment_is_used_when_no_data_dir_is_given(
    data_dir: Path, plot_survey_published: Result, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = world_searchable_folder("knn-cli-cwd-")
    monkeypatch.chdir(elsewhere)
    try:
        result = CliRunner().invoke(
            main, ["forms", "list"], env={"KNN_DATA_DIR": str(data_dir), "KNN_DATABASE_URL": None}
        )
        made_default_folder = (elsewhere / "var").exists()
    finally:
        stop_cluster(elsewhere / "var" / "pg")
        shutil.rmtree(elsewhere, ignore_errors=True)

    assert result.exit_code == 0, result.output
    assert not made_default_folder, "the default ./var was used instead of KNN_DATA_DIR"
    assert "plot_survey" in result.output
    assert not (data_dir / "pg" / "postmaster.pid").exists()
