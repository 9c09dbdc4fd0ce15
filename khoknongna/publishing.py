"""Publishing forms: XLSForm or XForm in, a form version with its media out.

Every distinct XForm is kept as its own version (submissions stay tied to the version they name), and a
declared version string names one XForm only: a changed form must raise its version. Publishing the same
XForm again adds nothing but lets missing media be uploaded. The XLSForm, the
XForm and the media are kept in the blob store.

A form may name media files nobody has uploaded yet: they are reported as missing (a warning) and left
out of the manifest until they arrive. A file of the same name from the previous version is carried over.
Every new version re-creates the form's typed GIS views (``storage/gis_views.py``) in the same transaction.
A form that fills in entities creates their entity lists; a media file named ``<list>.csv`` after an entity
list of the project is that list, generated from the database when a phone asks for it.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath

from sqlalchemy import Engine

from khoknongna.entities import declare_datasets
from khoknongna.forms_xlsform import bundled_forms, bundled_media
from khoknongna.openrosa.xform import read_xform
from khoknongna.openrosa.xlsform import convert_xlsform, spreadsheet_type, validate_xform
from khoknongna.problems import FORM_INVALID, FORM_VERSION_EXISTS, Problem
from khoknongna.settings import Settings
from khoknongna.storage import entities as entity_queries
from khoknongna.storage import forms as queries
from khoknongna.storage.blobs import BlobNotFound, BlobStore
from khoknongna.storage.gis_views import refresh_form_views
from khoknongna.storage.projects import DEFAULT_PROJECT_ID

logger = logging.getLogger(__name__)


@dataclass
class Published:
    """The outcome of a publish: which version, whether it is new, and what the publisher should know."""

    xml_form_id: str
    version: str
    title: str
    form_version_id: int
    created: bool
    missing_media: list[str] = field(default_factory=list)
    ignored_media: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def media_file_name(name: str) -> str:
    """The bare file name of an uploaded media file (folders dropped, as Collect does).

    Raises :class:`Problem` ``FORM_INVALID`` for names that are empty or only dots once folders are dropped.
    """
    base = PurePath(name.replace("\\", "/")).name
    if base in ("", ".", "..") or "\x00" in base:
        raise Problem(FORM_INVALID, detail=f"media file name {name!r} is not a usable file name")
    return base


def _csv_stems(names: list[str]) -> list[str]:
    return [n[: -len(".csv")] for n in names if n.endswith(".csv")]


def _content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def publish_form(
    engine: Engine,
    blobs: BlobStore,
    settings: Settings,
    file_name: str,
    data: bytes,
    media: Mapping[str, bytes] | None = None,
    *,
    project_id: int = DEFAULT_PROJECT_ID,
    published_by: int | None = None,
    offered_media: Mapping[str, bytes] | None = None,
) -> Published:
    """Publish the form in ``data`` (an XLSForm .xls/.xlsx or an XForm .xml) with its ``media`` files.

    ``offered_media`` are files any form may use (the bundled address lists): only those the form names
    are stored, the others are skipped without a warning. A file in ``media`` wins over an offered one.

    Raises :class:`Problem` ``FORM_INVALID`` with pyxform's or ODK Validate's message when the form is
    rejected; nothing is published then.
    """
    media = {media_file_name(k): v for k, v in (media or {}).items()}
    warnings: list[str] = []
    xlsform_sha256 = None
    if spreadsheet_type(data) is not None:
        conversion = convert_xlsform(data, file_name, validate=settings.validate_forms)
        xform, generated, warnings = conversion.xform, conversion.media, list(conversion.warnings)
        xlsform_sha256 = blobs.put_bytes(data)
    elif data.lstrip().startswith(b"<"):
        xform, generated = data, {}
    else:
        raise Problem(FORM_INVALID, detail=f"'{file_name}' is neither an XLSForm (.xls, .xlsx) nor an XForm (.xml)")
    definition = read_xform(xform)
    if xlsform_sha256 is None and settings.validate_forms:
        warnings = list(validate_xform(xform))  # pyxform already validated converted XLSForms
    expected = list(dict.fromkeys([*definition.media, *generated]))
    offered = {media_file_name(k): v for k, v in (offered_media or {}).items()}
    media = {**{k: v for k, v in offered.items() if k in expected}, **media}
    xform_sha256 = blobs.put_bytes(xform)

    with engine.begin() as conn:
        form_id = queries.get_or_create_form(conn, project_id, definition.form_id)
        existing = queries.version_by_xform_sha(conn, form_id, xform_sha256)
        previous = queries.current_version(conn, form_id)
        if existing is not None:
            version_id, created = existing.id, False
            if previous is not None and previous.id != existing.id:
                warnings.append(
                    f"this XForm was published before as version '{existing.version}'; the current version stays "
                    f"'{previous.version}'"
                )
        else:
            if definition.version and queries.version_named(conn, form_id, definition.version) is not None:
                raise Problem(FORM_VERSION_EXISTS, form_id=definition.form_id, version=definition.version)
            if previous is not None and not definition.version:
                warnings.append("the form has no version, so phones cannot tell its versions apart; set one")
            version_id, created = (
                queries.insert_version(
                    conn,
                    form_id=form_id,
                    version=definition.version,
                    title=definition.title,
                    xform_sha256=xform_sha256,
                    xform_md5=hashlib.md5(xform).hexdigest(),
                    xlsform_sha256=xlsform_sha256,
                    xlsform_name=PurePath(file_name).name if xlsform_sha256 else None,
                    encrypted=definition.encrypted,
                    definition=definition.to_json(),
                    published_by=published_by,
                ),
                True,
            )
        if created:
            refresh_form_views(conn, form_id)
        declare_datasets(conn, project_id, definition)
        entity_lists = {f"{name}.csv" for name in entity_queries.datasets_named(conn, project_id, _csv_stems(expected))}
        stored = {a.name: a for a in queries.attachments(conn, version_id)}
        carried = {a.name: a for a in queries.attachments(conn, previous.id)} if previous is not None else {}
        missing = []
        for name in expected:
            content = media.get(name, generated.get(name))
            if name in entity_lists:
                queries.set_attachment(conn, version_id, name, blob_sha256=None, md5=None, size=None, content_type=None)
                if content is not None:
                    warnings.append(
                        f"'{name}' is served from the entity list '{name[:-4]}'; the uploaded file was ignored"
                    )
            elif content is not None:
                queries.set_attachment(
                    conn,
                    version_id,
                    name,
                    blob_sha256=blobs.put_bytes(content),
                    md5=hashlib.md5(content).hexdigest(),
                    size=len(content),
                    content_type=_content_type(name),
                )
            elif name in stored and stored[name].blob_sha256:
                continue
            elif name in carried and carried[name].blob_sha256:
                old = carried[name]
                queries.set_attachment(
                    conn,
                    version_id,
                    name,
                    blob_sha256=old.blob_sha256,
                    md5=old.md5,
                    size=old.size,
                    content_type=old.content_type,
                )
            else:
                queries.set_attachment(conn, version_id, name, blob_sha256=None, md5=None, size=None, content_type=None)
                missing.append(name)
    ignored = [n for n in media if n not in expected]
    for name in missing:
        warnings.append(
            f"media file '{name}' is named by the form but was not uploaded; it is left out of the manifest until it is"
        )
    for name in ignored:
        warnings.append(f"media file '{name}' is not used by the form and was ignored")
    return Published(
        xml_form_id=definition.form_id,
        version=definition.version,
        title=definition.title,
        form_version_id=version_id,
        created=created,
        missing_media=missing,
        ignored_media=ignored,
        warnings=warnings,
    )


def publish_bundled_forms(
    engine: Engine,
    blobs: BlobStore,
    settings: Settings,
    progress: Callable[[str], None] = logger.info,
) -> list[Published]:
    """Publish the Khok Nong Na form pack into project 1 where a form is new or changed.

    An XLSForm whose exact bytes were published before is skipped without converting it again. Each form
    gets the bundled media files it names (:func:`~khoknongna.forms_xlsform.bundled_media`).
    """
    results = []
    offered: dict[str, bytes] | None = None
    for path in bundled_forms():
        data = path.read_bytes()
        with engine.connect() as conn:
            known = queries.version_by_xlsform_sha(conn, DEFAULT_PROJECT_ID, hashlib.sha256(data).hexdigest())
        if known is not None:
            progress(f"form {known.xml_form_id} ({known.version}) is up to date")
            continue
        progress(f"publishing {path.name} …")
        if offered is None:
            offered = bundled_media()
        result = publish_form(engine, blobs, settings, path.name, data, offered_media=offered)
        progress(f"published {result.xml_form_id} version {result.version}")
        for warning in result.warnings:
            progress(f"  warning: {warning}")
        results.append(result)
    return results


def fill_definition_nodes(engine: Engine, blobs: BlobStore, progress: Callable[[str], None] = logger.info) -> int:
    """Give the stored definition of every form version published before it kept ``nodes`` (the primary
    instance's elements, which the Central-shaped API needs for the fields and CSV columns without a bind) its
    ``nodes``, read from the version's XForm in the blob store as publishing reads it; run at start-up.

    Returns how many versions were filled and says so in one line through ``progress`` (nothing when none
    lacked them). A version whose XForm cannot be read (blob missing, unreadable, not an XForm) is logged and
    skipped: it keeps the bind-based fields and is tried again at the next start.
    """
    with engine.connect() as conn:
        pending = queries.versions_without_nodes(conn)
    filled = 0
    for version in pending:
        try:
            definition = read_xform(blobs.read_bytes(version.xform_sha256))
        except (BlobNotFound, OSError, Problem) as exc:  # BlobStoreError is an OSError
            logger.warning(
                "form version %s: its XForm %s cannot be read (%s); skipped", version.id, version.xform_sha256, exc
            )
            continue
        with engine.begin() as conn:
            queries.set_definition_nodes(conn, version.id, definition.nodes)
        filled += 1
    if pending:
        skipped = f", {len(pending) - filled} skipped (XForm unreadable)" if filled < len(pending) else ""
        progress(f"form versions stored without their instance elements (nodes): {filled} filled{skipped}")
    return filled
