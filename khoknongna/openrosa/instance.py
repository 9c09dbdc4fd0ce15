"""Reading a submitted instance: its header (form, version, instanceID) and its content.

Reading happens in two steps because the header says which form definition the content must be read
against. Elements are matched by local name (``orx:meta`` and ``meta`` alike).

Sources: OpenRosa form submission API and metadata spec; ODK Central's rules for instanceID and
``meta/deprecatedID`` (see docs/PROTOCOL notes, section 6.5); ODK encrypted envelope (section 10).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from khoknongna.openrosa.xform import GEO_TYPES, FormDefinition
from khoknongna.openrosa.xml import child_elements, find_child, local_name
from khoknongna.problems import FORM_ID_MISSING, INSTANCE_ID_REQUIRED, VALUE_TOO_LONG, Problem

ENCRYPTED_NS = "http://www.opendatakit.org/xforms/encrypted"
#: Longest instanceID, deprecatedID and attachment file name accepted, in characters. They are unique keys in
#: PostgreSQL btree indexes, whose entries cannot exceed 2,704 bytes (500 characters of 4 UTF-8 bytes fit);
#: Collect writes 41-character instanceIDs and file names like ``1724236923811.jpg``, and the OpenRosa
#: metadata spec asks for at least 249.
MAX_ID_CHARS = 500
#: Namespace for instanceIDs made up for submissions that carry none (uuid5 of the XML's SHA-256).
_MADE_UP_ID_NAMESPACE = uuid.UUID("5b0e3f6a-8c1d-4f7e-9a2b-6c4d8e1f0a3b")


@dataclass(frozen=True)
class InstanceHeader:
    """What identifies a submission.

    ``version`` is ``None`` when the root has no ``version`` attribute (distinct from an empty one).
    ``instance_id_made_up`` is true when the XML carried no instanceID and one was derived from it.
    """

    form_id: str
    version: str | None
    instance_id: str
    deprecated_id: str | None
    instance_name: str | None
    encrypted: bool
    instance_id_made_up: bool = False


@dataclass(frozen=True)
class GeoValue:
    """One geopoint/geotrace/geoshape answer: relative field path, positions of enclosing repeats (1-based)."""

    path: str
    repeat_position: tuple[int, ...]
    geo_type: str
    value: str


@dataclass
class InstanceContent:
    """The answers as JSON, the geo answers, and the attachment file names the XML refers to."""

    data: dict[str, Any] | None
    geo_values: list[GeoValue] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)


def _meta_text(meta: etree._Element | None, name: str) -> str | None:
    el = find_child(meta, name) if meta is not None else None
    text = (el.text or "").strip() if el is not None else ""
    return text or None


def _bounded(value: str | None, what: str) -> str | None:
    """``value``, or :class:`Problem` ``VALUE_TOO_LONG`` when it is longer than :data:`MAX_ID_CHARS`."""
    if value is not None and len(value) > MAX_ID_CHARS:
        raise Problem(VALUE_TOO_LONG, what=what, length=len(value), limit=MAX_ID_CHARS)
    return value


def read_header(root: etree._Element, xml_bytes: bytes) -> InstanceHeader:
    """Read form ID, version and instanceIDs from a submission's root element.

    When the XML has no ``meta/instanceID`` (nor a root ``instanceID`` attribute), an ID is made up from
    the SHA-256 of the XML, so that a byte-identical resend is recognised instead of duplicated.
    Raises :class:`Problem` ``FORM_ID_MISSING`` without a root ``id``, ``INSTANCE_ID_REQUIRED`` for an
    encrypted envelope without instanceID, and ``VALUE_TOO_LONG`` for an instanceID or deprecatedID longer
    than :data:`MAX_ID_CHARS`.
    """
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise Problem(FORM_ID_MISSING, root=local_name(root) or "?")
    encrypted = etree.QName(root).namespace == ENCRYPTED_NS or (root.get("encrypted") or "").lower() == "yes"
    meta = find_child(root, "meta")
    instance_id = _meta_text(meta, "instanceID") or (root.get("instanceID") or "").strip() or None
    _bounded(instance_id, "instanceID")
    made_up = False
    if instance_id is None:
        if encrypted:
            raise Problem(INSTANCE_ID_REQUIRED)
        digest = hashlib.sha256(xml_bytes).hexdigest()
        instance_id = f"uuid:{uuid.uuid5(_MADE_UP_ID_NAMESPACE, digest)}"
        made_up = True
    version = root.get("version")
    return InstanceHeader(
        form_id=form_id,
        version=version.strip() if version is not None else None,
        instance_id=instance_id,
        deprecated_id=_bounded(_meta_text(meta, "deprecatedID"), "deprecatedID"),
        instance_name=_meta_text(meta, "instanceName"),
        encrypted=encrypted,
        instance_id_made_up=made_up,
    )


def read_encrypted(root: etree._Element) -> InstanceContent:
    """An encrypted envelope: the expected files are every ``media/file`` plus ``encryptedXmlFile``.

    Field values cannot be read without the private key, so there is no data and no geometry.
    """
    names = [
        _bounded((f.text or "").strip(), "file name")
        for media in root
        if local_name(media) == "media"
        for f in media
        if local_name(f) == "file"
    ]
    xml_file = find_child(root, "encryptedXmlFile")
    if xml_file is not None and (xml_file.text or "").strip():
        names.append(_bounded(xml_file.text.strip(), "file name"))
    return InstanceContent(data=None, attachments=list(dict.fromkeys(n for n in names if n)))


def read_content(root: etree._Element, definition: FormDefinition) -> InstanceContent:
    """Walk the instance against its form definition.

    ``data`` nests groups as objects and repeats as lists of objects (a repeat answered once is still a
    list); element attributes other than the root's appear as ``"@name"`` keys (with the text of such an
    element under ``"#text"``). Elements unknown to the
    definition are kept; an element name seen twice among siblings becomes a list so nothing is lost.
    The root's name is not checked, only its ``id`` (as ODK Central does): XForms made by older pyxform
    releases named the root after the form, and their submissions must not be lost when the same form is
    published again with a newer converter.

    Raises :class:`Problem` ``VALUE_TOO_LONG`` for an attachment file name longer than :data:`MAX_ID_CHARS`.
    """
    content = InstanceContent(data=None)
    content.data = _walk(root, "", (), definition, content)  # type: ignore[assignment]
    content.attachments = list(dict.fromkeys(content.attachments))
    return content


def _walk(
    el: etree._Element,
    path: str,
    positions: tuple[int, ...],
    definition: FormDefinition,
    content: InstanceContent,
) -> Any:
    kids = child_elements(el)
    if not kids and path:
        text = el.text if el.text and el.text.strip() else None
        kind = definition.field_type(path)
        if text is not None and kind in GEO_TYPES:
            content.geo_values.append(GeoValue(path, positions, kind, text.strip()))
        elif text is not None and kind == "binary":
            content.attachments.append(_bounded(text.strip(), f"file name of '{path}'"))
        if not el.attrib:
            return text
    out: dict[str, Any] = {}
    if path:
        for key, value in el.attrib.items():
            out["@" + etree.QName(key).localname] = value
        if not kids and text is not None:
            out["#text"] = text
    names = [local_name(k) or "" for k in kids]
    total = Counter(names)  # counted once: names.count() per child made wide elements quadratic
    seen: dict[str, int] = {}
    for kid, name in zip(kids, names, strict=True):
        kid_path = f"{path}/{name}" if path else name
        is_repeat = kid_path in definition.repeats
        seen[name] = seen.get(name, 0) + 1
        kid_positions = (*positions, seen[name]) if is_repeat else positions
        value = _walk(kid, kid_path, kid_positions, definition, content)
        if is_repeat or total[name] > 1:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out
