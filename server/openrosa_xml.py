"""The OpenRosa documents the server writes: form list, manifest and the response envelope.

Source: OpenRosa form list API, form submission API ("Server Response Format"); what Collect parses is in
the PROTOCOL notes §3, §5 and §6.4.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree
from lxml.builder import ElementMaker

XFORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"
#: Characters XML 1.0 cannot carry (most C0 controls, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class FormListEntry:
    form_id: str
    name: str
    version: str
    hash_md5: str
    download_url: str
    manifest_url: str | None


@dataclass(frozen=True)
class MediaEntry:
    """One ``<mediaFile>``; an entity list has a version token as its hash, and an ``integrity_url``."""

    filename: str
    hash_md5: str
    download_url: str
    integrity_url: str | None = None


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def form_list(entries: Iterable[FormListEntry]) -> bytes:
    """``<xforms>`` with one ``<xform>`` per form; ``<version>`` always written, empty without one."""
    e = ElementMaker(namespace=XFORMS_LIST_NS, nsmap={None: XFORMS_LIST_NS})
    items = []
    for entry in entries:
        parts = [
            e.formID(entry.form_id),
            e.name(entry.name or entry.form_id),
            e.version(entry.version),
            e.hash(f"md5:{entry.hash_md5}"),
            e.downloadUrl(entry.download_url),
        ]
        if entry.manifest_url:
            parts.append(e.manifestUrl(entry.manifest_url))
        items.append(e.xform(*parts))
    return _serialise(e.xforms(*items))


def manifest(entries: Iterable[MediaEntry]) -> bytes:
    """``<manifest>`` with one ``<mediaFile>`` per file (``type="entityList"`` for entity lists)."""
    e = ElementMaker(namespace=MANIFEST_NS, nsmap={None: MANIFEST_NS})
    files = []
    for m in entries:
        item = e.mediaFile(e.filename(m.filename), e.hash(f"md5:{m.hash_md5}"), e.downloadUrl(m.download_url))
        if m.integrity_url is not None:
            item.set("type", "entityList")
            item.append(e.integrityUrl(m.integrity_url))
        files.append(item)
    return _serialise(e.manifest(*files))


def integrity(states: Iterable[tuple[str, bool]]) -> bytes:
    """The entity integrity answer: ``<data><entities><entity id><deleted>true|false``… (PROTOCOL §5)."""
    e = ElementMaker()
    return _serialise(
        e.data(e.entities(*(e.entity(e.deleted("true" if deleted else "false"), id=uuid) for uuid, deleted in states)))
    )


def response(message: str, *, error: bool = False) -> bytes:
    """``<OpenRosaResponse>`` carrying one message (``nature="error"`` for errors).

    Messages may quote what a client sent (a Content-Type, a file name); characters XML cannot carry are
    written as U+FFFD so that the answer can always be written.
    """
    e = ElementMaker(namespace=RESPONSE_NS, nsmap={None: RESPONSE_NS})
    msg = e.message(_NOT_XML.sub("\ufffd", message))
    msg.set("nature", "error" if error else "")
    return _serialise(e.OpenRosaResponse(msg, items="0"))
