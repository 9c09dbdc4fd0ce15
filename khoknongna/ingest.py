"""Accepting a submission: the rules that decide what an OpenRosa POST does to the database.

One POST carries the instance XML and some of its attachments (Collect splits large submissions over
several POSTs, repeating the identical XML in each). The decision, per form and instanceID:

=============================================  =====================================================
incoming                                       result
=============================================  =====================================================
new instanceID, no ``meta/deprecatedID``       new submission (201)
known instanceID, byte-identical XML           files the XML names are filled in, nothing else (201)
known instanceID, any byte different           409, nothing changed
known instanceID of a version since edited     409, nothing changed
``deprecatedID`` = a current version           new version of that submission (an edit); files not
                                               re-sent are carried over by name (201)
``deprecatedID`` of an older version           409; unknown ``deprecatedID``: 404
=============================================  =====================================================

Attachments are written to the blob store, durably, before the transaction that refers to them commits;
the 201 is sent only after that commit. Parts the XML does not name are ignored. A new submission or an
edit applies its entity blocks in the same transaction (``khoknongna.entities``) and queues the spatial checks
of the plots it changed, or of itself when it names a plot (``khoknongna.jobs``); a resend does neither.

Source: OpenRosa form submission API; ODK Central's submission rules (PROTOCOL notes, section 6.5).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from lxml import etree
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from khoknongna.entities import apply_entities, area_code, geometry_ewkt
from khoknongna.jobs import defer_ingest_jobs, new_submission_jobs
from khoknongna.openrosa.entity import read_entity_blocks
from khoknongna.openrosa.instance import (
    InstanceContent,
    InstanceHeader,
    read_content,
    read_encrypted,
    read_header,
)
from khoknongna.openrosa.xform import FormDefinition
from khoknongna.openrosa.xml import parse_xml
from khoknongna.problems import (
    DEPRECATED_NOT_FOUND,
    EDIT_OUTDATED,
    FORM_NOT_FOUND,
    FORM_VERSION_NOT_FOUND,
    STORAGE_FAILED,
    SUBMISSION_CONFLICT,
    Problem,
)
from khoknongna.spatial.odk_geo import parse_odk_geo
from khoknongna.storage import entities as entity_queries
from khoknongna.storage import forms as form_queries
from khoknongna.storage import submissions as queries
from khoknongna.storage.blobs import BlobStore, BlobStoreError, StagedBlob
from khoknongna.storage.checks import PLOTS_LIST
from khoknongna.storage.submissions import GeometryRow

logger = logging.getLogger(__name__)

#: Central cuts stored user agents to this many characters; deviceIDs and part content types likewise.
MAX_USER_AGENT = 255


def _client_text(value: str | None, limit: int = MAX_USER_AGENT) -> str | None:
    """Text a client sent outside the XML (header, query parameter), fit for a text column: NUL characters
    removed (PostgreSQL text cannot hold them), cut to ``limit`` characters; ``None`` when nothing is left."""
    return (value or "").replace("\x00", "")[:limit] or None


@dataclass
class ReceivedFile:
    """An uploaded part, already staged in the blob store (streamed, not in memory)."""

    staged: StagedBlob
    content_type: str | None = None
    blob_sha256: str | None = None  # its key once stored


@dataclass
class Upload:
    """What one POST brought: the instance XML and the other parts, keyed by part name (= file name)."""

    xml: bytes
    files: dict[str, ReceivedFile] = field(default_factory=dict)


@dataclass(frozen=True)
class Submitter:
    """Who sent the POST and from what: a user or an app user, Collect's deviceID and User-Agent."""

    user_id: int | None = None
    app_user_id: int | None = None
    device_id: str | None = None
    user_agent: str | None = None


class Outcome(Enum):
    CREATED = "created"
    RESENT = "resent"
    EDITED = "edited"


@dataclass(frozen=True)
class Accepted:
    """What the POST did. ``missing_attachments`` are files the XML names that have not arrived yet."""

    outcome: Outcome
    xml_form_id: str
    instance_id: str
    submission_id: int
    version_id: int
    missing_attachments: tuple[str, ...]

    @property
    def message(self) -> str:
        """The text Collect shows the field developer."""
        if self.missing_attachments:
            names = ", ".join(self.missing_attachments[:5])
            return (
                f"ได้รับข้อมูลแล้ว รอไฟล์อีก {len(self.missing_attachments)} ไฟล์ ({names}) / "
                f"Submission received; waiting for {len(self.missing_attachments)} file(s): {names}"
            )
        return "ส่งข้อมูลเรียบร้อยแล้ว / full submission upload was successful!"


class FormVersions:
    """Which form version a submission belongs to, that version's definition and its entity lists' ids, cached per
    process.

    Form versions are never changed or deleted once published, and a declared version string names one
    XForm only (publishing refuses to reuse it), so what is found once stays true. Lookups that find
    nothing, and the version-less ('') ones, are not cached.
    """

    def __init__(self, size: int = 1024) -> None:
        self._versions: OrderedDict[tuple[int, str, str], tuple[int, int]] = OrderedDict()
        self._definitions: OrderedDict[int, FormDefinition] = OrderedDict()
        self._datasets: OrderedDict[tuple[int, str], int] = OrderedDict()
        self._size = size

    def _remember(self, cache: OrderedDict, key: Any, value: Any) -> None:
        cache[key] = value
        if len(cache) > self._size:
            cache.popitem(last=False)

    def resolve(self, conn: Connection, project_id: int, header: InstanceHeader) -> tuple[int, int]:
        """``(form_id, form_version_id)`` the submission belongs to.

        The version named by the submission's ``version`` attribute. A submission without that attribute
        (as older tools send) goes to the current version, and so does any submission to a form that has
        never declared a version, since there is nothing to tell its versions apart by.
        Raises :class:`Problem` ``FORM_NOT_FOUND`` or ``FORM_VERSION_NOT_FOUND``.
        """
        if header.version is not None:
            key = (project_id, header.form_id, header.version)
            if key in self._versions:
                return self._versions[key]
            found = form_queries.find_version_id(conn, project_id, header.form_id, header.version)
            if found is not None:
                if header.version:  # a declared version names one XForm for good; '' may be republished
                    self._remember(self._versions, key, (found.form_id, found.form_version_id))
                return found.form_id, found.form_version_id
        form_id = form_queries.form_id_of(conn, project_id, header.form_id)
        if form_id is None:
            raise Problem(FORM_NOT_FOUND, form_id=header.form_id)
        if header.version is not None and form_queries.declares_versions(conn, form_id):
            raise Problem(FORM_VERSION_NOT_FOUND, form_id=header.form_id, version=header.version)
        version_id = form_queries.current_version_id(conn, form_id)
        assert version_id is not None  # a form row exists only with a version
        return form_id, version_id

    def dataset_ids(self, conn: Connection, project_id: int, names: Sequence[str]) -> dict[str, int]:
        """``name -> id`` of the project's entity lists among ``names`` (those that exist). A list, once made, is
        never removed or renamed, so the ids found are kept."""
        found = {n: self._datasets[(project_id, n)] for n in names if (project_id, n) in self._datasets}
        missing = [n for n in names if n not in found]
        if missing:
            for name, row in entity_queries.datasets_named(conn, project_id, missing).items():
                self._remember(self._datasets, (project_id, name), row.id)
                found[name] = row.id
        return found

    def definition(self, conn: Connection, form_version_id: int) -> FormDefinition:
        found = self._definitions.get(form_version_id)
        if found is None:
            found = FormDefinition.from_json(form_queries.definition_json(conn, form_version_id))
            self._remember(self._definitions, form_version_id, found)
        return found


def geometry_rows(content: InstanceContent) -> list[GeometryRow]:
    """Every geo answer as a row to store: a geometry when valid, the text and the problem otherwise."""
    rows = []
    for g in content.geo_values:
        parsed = parse_odk_geo(g.geo_type, g.value)
        rows.append(
            GeometryRow(
                field_path=g.path,
                repeat_position=g.repeat_position,
                geo_type=g.geo_type,
                raw_value=g.value,
                ewkt=parsed.geometry.ewkt() if parsed.geometry else None,
                problem=parsed.problem,
            )
        )
    return rows


@dataclass
class _Parsed:
    root: etree._Element
    header: InstanceHeader
    xml_text: str
    xml_sha256: str


def _parse(xml: bytes) -> _Parsed:
    root = parse_xml(xml)
    header = read_header(root, xml)
    encoding = root.getroottree().docinfo.encoding or "utf-8"
    return _Parsed(root, header, xml.decode(encoding, "replace"), hashlib.sha256(xml).hexdigest())


def _store_file(blobs: BlobStore, received: ReceivedFile) -> str:
    """Store a received file durably in the blob store (once) and return its key; ``STORAGE_FAILED`` otherwise."""
    if received.blob_sha256 is None:
        try:
            received.blob_sha256 = blobs.commit(received.staged)
        except BlobStoreError as exc:
            raise Problem(STORAGE_FAILED, detail=str(exc)) from exc
    return received.blob_sha256


def _begin(conn: Connection) -> None:
    """Leave autocommit mode (a submission POST's connection starts in it) for a transaction: what follows takes
    several statements that must commit together. Nothing is sent to the database."""
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        conn.commit()  # ends SQLAlchemy's transaction object of the reads so far (no COMMIT in autocommit)
        conn.execution_options(isolation_level=conn.default_isolation_level)


def _new_entities(
    conn: Connection,
    form_versions: FormVersions,
    project_id: int,
    parsed: _Parsed,
    definition: FormDefinition | None,
) -> list[queries.NewEntity] | None:
    """The entities a new submission creates, when each of its entity blocks creates one (the plot survey's; none
    for a form without entities or an encrypted submission): its area and jobs are then known without reading
    anything back, and one statement (``storage.submissions.register_submission``) stores it whole. ``None`` when
    a block updates an entity or names an unknown list: the submission is then worked out statement by statement.
    """
    blocks = read_entity_blocks(parsed.root, definition.entities) if definition is not None else []
    lists = form_versions.dataset_ids(conn, project_id, [b.dataset for b in blocks]) if blocks else {}
    if not all(b.create and b.uuid and b.label and b.dataset in lists for b in blocks):
        return None
    return [
        queries.NewEntity(
            dataset_id=lists[b.dataset],
            plot=b.dataset == PLOTS_LIST,
            uuid=b.uuid or "",
            label=b.label,
            properties=b.properties,
            area_code=area_code(b.properties),
            geometry_ewkt=geometry_ewkt(b.properties),
        )
        for b in blocks
    ]


def _store_received(blobs: BlobStore, upload: Upload, names: Sequence[str]) -> dict[str, queries.ReceivedAttachment]:
    """Store in the blob store the files among ``names`` (the ones the XML names) that came with this POST; by
    name."""
    received = {}
    for name in names:
        if (file := upload.files.get(name)) is not None:
            key = _store_file(blobs, file)
            received[name] = queries.ReceivedAttachment(key, file.staged.size, _client_text(file.content_type))
    return received


class _ConcurrentWrite(Exception):
    """What was just read changed before it could be written; decide again."""


def accept_submission(
    conn: Connection,
    blobs: BlobStore,
    form_versions: FormVersions,
    project_id: int,
    upload: Upload,
    submitter: Submitter,
) -> Accepted:
    """Apply one POST to the database and blob store (see the module docstring for the rules).

    Works in the connection's transaction and commits it before returning, so the caller answers 201
    only for what is durably stored. Raises :class:`Problem` for anything the client must be told
    (unreadable XML, unknown form or version, conflicts, storage failure); nothing is changed then.
    """
    parsed = _parse(upload.xml)
    optimistic = True
    for attempt in range(3):
        try:
            accepted = _accept(conn, blobs, form_versions, project_id, parsed, upload, submitter, optimistic)
            conn.commit()
            return accepted
        except (IntegrityError, _ConcurrentWrite) as exc:
            # Another request wrote the same instanceID meanwhile, or it names an edited version:
            # read what is there before deciding again.
            conn.rollback()
            optimistic = False
            logger.info("re-reading %s (attempt %d): %s", parsed.header.instance_id, attempt + 1, exc)
        except BaseException:
            conn.rollback()
            raise
    raise Problem(STORAGE_FAILED, detail="the same submission is being written by other requests")


def _accept(
    conn: Connection,
    blobs: BlobStore,
    form_versions: FormVersions,
    project_id: int,
    parsed: _Parsed,
    upload: Upload,
    submitter: Submitter,
    optimistic: bool,
) -> Accepted:
    header = parsed.header
    form_id, form_version_id = form_versions.resolve(conn, project_id, header)
    definition = None if header.encrypted else form_versions.definition(conn, form_version_id)
    content = read_encrypted(parsed.root) if definition is None else read_content(parsed.root, definition)
    version = {
        "form_id": form_id,
        "form_version_id": form_version_id,
        "instance_id": header.instance_id,
        "instance_id_made_up": header.instance_id_made_up,
        "deprecated_id": header.deprecated_id,
        "current": True,
        "claimed_version": header.version,
        "instance_name": header.instance_name,
        "encrypted": header.encrypted,
        "xml": parsed.xml_text,
        "xml_sha256": parsed.xml_sha256,
        "data": content.data,
        "submitter_id": submitter.user_id,
        "app_user_id": submitter.app_user_id,
        "device_id": _client_text(submitter.device_id),
        "user_agent": _client_text(submitter.user_agent),
    }

    attachments = content.attachments
    geometries = geometry_rows(content)
    names_plot = isinstance((content.data or {}).get("plot"), str)
    received: dict[str, queries.ReceivedAttachment] = {}
    new_entities = None
    if optimistic and not header.deprecated_id:
        new_entities = _new_entities(conn, form_versions, project_id, parsed, definition)
    if new_entities is not None:
        # In autocommit mode this one statement is the transaction: the POST costs one round trip to write.
        received = _store_received(blobs, upload, attachments)
        jobs = new_submission_jobs(follow_up=names_plot) if definition is not None else []
        row = queries.register_submission(
            conn, project_id, version, attachments, geometries, received, new_entities, jobs
        )
        if row is not None:
            return Accepted(
                outcome=Outcome.CREATED,
                xml_form_id=header.form_id,
                instance_id=header.instance_id,
                submission_id=row.submission_id,
                version_id=row.id,
                missing_attachments=tuple(n for n in attachments if n not in received),
            )
        optimistic = False  # the instanceID or an entity id is taken: read what is there
    _begin(conn)
    created = None
    if optimistic and not header.deprecated_id:
        created = queries.create_submission(conn, version, attachments, geometries)
    carried: dict[str, tuple[str, int, str | None]] = {}
    if created is not None:
        outcome, submission_id, version_id = Outcome.CREATED, created.submission_id, created.id
        slots: dict[str, str | None] = dict.fromkeys(attachments)
    else:
        existing = queries.version_by_instance_id(conn, form_id, header.instance_id, lock=True)
        if existing is not None:
            if existing.xml_sha256 != parsed.xml_sha256:
                raise Problem(SUBMISSION_CONFLICT, instance_id=header.instance_id, form_id=header.form_id)
            if not existing.current:
                raise Problem(EDIT_OUTDATED, instance_id=header.instance_id)
            outcome, submission_id, version_id = Outcome.RESENT, existing.submission_id, existing.id
            slots = {s.name: s.blob_sha256 for s in queries.attachments(conn, version_id)}
        elif header.deprecated_id:
            old = queries.version_by_instance_id(conn, form_id, header.deprecated_id, lock=True)
            if old is None:
                raise Problem(DEPRECATED_NOT_FOUND, deprecated_id=header.deprecated_id)
            if not old.current:
                raise Problem(EDIT_OUTDATED, instance_id=header.deprecated_id)
            queries.retire_version(conn, old.id)
            outcome, submission_id = Outcome.EDITED, old.submission_id
            version_id = queries.add_version(conn, submission_id, version, attachments, geometries)
            carried = {
                s.name: (s.blob_sha256, s.size, s.content_type) for s in queries.attachments(conn, old.id, arrived=True)
            }
            slots = dict.fromkeys(attachments)
        else:
            created = queries.create_submission(conn, version, attachments, geometries)
            if created is None:
                raise _ConcurrentWrite("created by another request between reading and writing")
            outcome, submission_id, version_id = Outcome.CREATED, created.submission_id, created.id
            slots = dict.fromkeys(attachments)

    if definition is not None and outcome is not Outcome.RESENT:
        lists = form_versions.dataset_ids(conn, project_id, [e.dataset for e in definition.entities])
        applied = apply_entities(conn, project_id, definition, parsed.root, submission_id, version_id, lists)
        plots = applied.by_list.get(PLOTS_LIST, [])
        defer_ingest_jobs(
            conn,
            plots=plots,
            follow_up=submission_id if names_plot else None,
            audit=submission_id,
            fresh=outcome is Outcome.CREATED and applied.created.issuperset(plots),
        )
    if outcome is not Outcome.RESENT:
        queries.place_submission(conn, submission_id, version_id, edited=outcome is Outcome.EDITED)

    missing = []
    filled = False
    for name, stored in slots.items():
        file = upload.files.get(name)
        if file is not None:
            key = received[name].blob_sha256 if name in received else _store_file(blobs, file)
            if key != stored:
                content_type = _client_text(file.content_type)
                queries.fill_attachment(conn, version_id, name, key, file.staged.size, content_type)
                filled = True
        elif name in carried:
            key, size, content_type = carried[name]
            queries.fill_attachment(conn, version_id, name, key, size, content_type)
        elif stored is None:
            missing.append(name)
    if filled and outcome is Outcome.RESENT and definition is not None:
        defer_ingest_jobs(conn, audit=submission_id)  # files of a split submission arrived after its first part
    return Accepted(
        outcome=outcome,
        xml_form_id=header.form_id,
        instance_id=header.instance_id,
        submission_id=submission_id,
        version_id=version_id,
        missing_attachments=tuple(missing),
    )
