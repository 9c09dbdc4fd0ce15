"""Hostile file names from a phone: a part named like a path is refused whole; any other name is kept as sent
for display, and everywhere a name becomes a path (the photos zip, a download's Content-Disposition) only a
safe, unique base name is used, including for names stored by older versions that did not check them.
"""

from __future__ import annotations

import unicodedata
import uuid
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from werkzeug.http import parse_options_header

from khoknongna import exports
from tests.collect import CollectClient
from tests.hostile.support import (
    assert_nothing_stored,
    assert_openrosa_error,
    assert_still_serving,
    multipart,
    new_id,
    post,
)
from tests.instances import jpeg
from tests.plots import plot_xml
from tests.web.support import sign_in

pytestmark = pytest.mark.usefixtures("plot_survey")

XML_PART = b"xml_submission_file"

REFUSED = {
    "dot-dot": "../../../../etc/knn-{id}.jpg",
    "absolute": "/etc/knn-{id}.jpg",
    "backslashes": "..\\..\\knn-{id}.jpg",
    "windows drive": "C:\\knn-{id}.jpg",
    "folder then dot-dot": "photos/../../knn-{id}.jpg",
    "nul byte": "knn-{id}.jpg\x00.php",
    "escape sequence": "knn-\x1b[2J{id}.jpg",
    "delete character": "knn-{id}\x7f.jpg",
    "full-width dots and slash": "\uff0e\uff0e\uff0fetc\uff0fknn-{id}.jpg",
    "two-dot leader": "\u2025/knn-{id}.jpg",
}


def staged_files(app: Flask) -> list[Path]:
    return list(app.extensions["knn"].blobs.staging.iterdir())


@pytest.mark.parametrize("name", REFUSED.values(), ids=REFUSED.keys())
def test_a_part_named_like_a_path_is_refused_with_400_and_nothing_is_stored(
    app: Flask, collect: CollectClient, db: Engine, name: str
) -> None:
    name = name.format(id=uuid.uuid4().hex)
    raw = name.encode()
    body = multipart([(XML_PART, b"s.xml", plot_xml(new_id())), (raw, raw, jpeg(3), b"image/jpeg")])

    response = post(collect, body)

    assert_openrosa_error(response, 400, "not accepted as a file name")
    assert_nothing_stored(db)
    assert staged_files(app) == []
    assert_still_serving(collect)


def test_a_part_whose_filename_alone_is_a_path_is_refused_with_400(collect: CollectClient, db: Engine) -> None:
    body = multipart([(XML_PART, b"s.xml", plot_xml(new_id())), (b"x.jpg", b"../../x.jpg", jpeg(3))])

    response = post(collect, body)

    assert_openrosa_error(response, 400, "'..' path segment")
    assert_nothing_stored(db)


def test_the_refusal_names_the_file_with_its_hidden_characters_shown(collect: CollectClient) -> None:
    body = multipart([(XML_PART, b"s.xml", plot_xml(new_id())), (b"a\x00b.jpg", b"a\x00b.jpg", jpeg(3))])

    message = assert_openrosa_error(post(collect, body), 400, "control character")

    assert "a\\x00b.jpg" in message


# --- accepted names, made safe where they become paths ------------------------------------------------------

LONG = "ภาพ" * 150 + ".jpg"  # 454 characters (the XML allows 500), 1,354 bytes of UTF-8
CAFE_NFC = unicodedata.normalize("NFC", "café.jpg")
CAFE_NFD = unicodedata.normalize("NFD", "café.jpg")
ACCEPTED = {
    "very long": (LONG,),
    "unicode normalisation twins": (CAFE_NFC, CAFE_NFD),
    "same after the folder is cut": ("photos/1790000000201.jpg", "1790000000201.jpg"),
    "same but for case": ("IMG.JPG", "img.jpg"),
    "right-to-left override": ("photo\u202egpj.exe",),
    "windows-reserved characters": ("photo:1?2*.jpg",),
    "leading dots": (".hidden.jpg",),
    "thai": ("ภาพถ่าย แปลงที่ ๑.jpg",),
}


def photos_zip(app: Flask, db: Engine, tmp_path: Path) -> zipfile.ZipFile:
    path = tmp_path / "photos.zip"
    with db.connect() as conn:
        exports.export(conn, app.extensions["knn"].blobs, 1, "plot_survey", "photos", path, exports.Filters())
    return zipfile.ZipFile(path)


def assert_safe_entries(entries: list[str], root: Path) -> None:
    """Every entry is ``<folder>/<name>``: two plain segments, nothing hidden, nothing that leaves ``root``."""
    for entry in entries:
        parts = PurePosixPath(entry).parts
        assert len(parts) == 2 and entry == "/".join(parts), entry
        for part in parts:
            assert part not in (".", "..") and not part.startswith("."), entry
            assert "\\" not in part and ":" not in part, entry
            assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in part), entry
            assert len(part.encode()) <= 255, entry
        assert (root / entry).resolve().is_relative_to(root.resolve())
    folders: dict[str, list[str]] = {}
    for entry in entries:
        folder, name = entry.split("/")
        folders.setdefault(folder, []).append(unicodedata.normalize("NFC", name).casefold())
    assert all(len(names) == len(set(names)) for names in folders.values()), entries


@pytest.mark.parametrize("names", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_name_that_is_not_a_path_is_kept_as_sent_and_its_zip_entry_is_safe_and_unique(
    app: Flask, collect: CollectClient, db: Engine, tmp_path: Path, names: tuple[str, ...]
) -> None:
    files = {name: jpeg(i) + name.encode() for i, name in enumerate(names)}
    responses = collect.submit(plot_xml(new_id(), overview="", photos=names), files)
    assert [r.status_code for r in responses] == [201], responses[-1].data

    with db.connect() as conn:
        stored = set(conn.execute(text("SELECT name FROM submission_attachments")).scalars())
    with photos_zip(app, db, tmp_path) as archive:
        entries = archive.namelist()
        contents = {archive.read(entry) for entry in entries}

    assert stored == set(names)
    assert len(entries) == len(names)
    assert contents == set(files.values())
    assert_safe_entries(entries, tmp_path / "extracted")


def test_thai_names_stay_thai_in_the_zip(app: Flask, collect: CollectClient, db: Engine, tmp_path: Path) -> None:
    name = "ภาพถ่าย แปลงที่ ๑.jpg"
    collect.submit(plot_xml(new_id(), overview="", photos=(name,)), {name: jpeg(1)})

    with photos_zip(app, db, tmp_path) as archive:
        assert [entry.split("/")[1] for entry in archive.namelist()] == [name]


HOSTILE_STORED = ["../../../../etc/x.jpg", "/etc/x.jpg", "..\\..\\x.jpg", "x\x00\r\n.jpg", "x.jpg"]


@pytest.fixture
def stored_by_an_older_version(collect: CollectClient, db: Engine) -> list[str]:
    """A submission whose attachment names were stored unchecked (as versions before this one did)."""
    names = [f"{i}.jpg" for i in range(len(HOSTILE_STORED))]
    instance_id = "uuid:../../../../etc/" + uuid.uuid4().hex
    xml = plot_xml(instance_id, overview="", photos=tuple(names))
    responses = collect.submit(xml, {name: jpeg(i) for i, name in enumerate(names)})
    assert [r.status_code for r in responses] == [201], responses[-1].data
    with db.begin() as conn:
        for name, hostile in zip(names, HOSTILE_STORED, strict=True):
            conn.execute(
                text("UPDATE submission_attachments SET name = :hostile WHERE name = :name"),
                {"hostile": hostile.replace("\x00", ""), "name": name},
            )
    return names


def test_names_stored_unchecked_by_an_older_version_are_made_safe_in_the_zip(
    app: Flask, db: Engine, tmp_path: Path, stored_by_an_older_version: list[str]
) -> None:
    with photos_zip(app, db, tmp_path) as archive:
        entries = archive.namelist()

    assert len(entries) == len(HOSTILE_STORED)
    assert_safe_entries(entries, tmp_path / "extracted")
    assert sorted(entry.split("/")[1] for entry in entries) == ["x.jpg", "x~2.jpg", "x~3.jpg", "x~4.jpg", "x~5.jpg"]


def test_a_download_names_the_file_by_its_safe_name_not_as_stored(
    app: Flask, db: Engine, supervisor: tuple[str, str], stored_by_an_older_version: list[str]
) -> None:
    with db.begin() as conn:
        submission_id = conn.execute(text("SELECT id FROM submissions")).scalar_one()
        conn.execute(text("UPDATE submission_attachments SET name = 'a\"b;c.jpg' WHERE name = 'x.jpg'"))
    browser = app.test_client()
    assert sign_in(browser, *supervisor).status_code == 302

    response = browser.get(f"/submissions/{submission_id}/files/a%22b;c.jpg")

    assert response.status_code == 200, response.data[:300]
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options["filename"]) == ("inline", "a_b;c.jpg")
