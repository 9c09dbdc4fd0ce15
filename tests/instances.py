"""Finalized submission instances, built from an XForm the way ODK Collect writes them.

This is the test suite's own reading of the XForm (lxml only, nothing from the server), so that the tests
check the server against an independent interpretation:

* the root is the primary instance's root element with its attributes (``id``, ``version``, …) and the
  prefixed namespaces declared for it (``jr``, ``orx``, ``entities``, …); the default XForms namespace is
  dropped, as JavaRosa does when it serialises an instance;
* ``jr:template`` repeat templates are removed, one instance of every repeat (at every nesting level) is
  kept; a repeat that only has a template gets one instance made from it;
* every bound leaf is answered according to its bind ``type`` (PROTOCOL notes §6.6 formats); geo answers
  lie in north-east Thailand and differ per field so that tests can find them in PostGIS;
* binary answers name files (``<epoch millis>.<ext>``): real JPEGs made with Pillow for images, other
  bytes for audio, video and files;
* ``meta/instanceID`` is ``uuid:<uuid4>`` (a form without that element gets none, as in Collect);
  ``meta/entity`` gets an ``id``, ``create="1"`` and a label; ``meta/deprecatedID`` stays empty (this is
  a new submission, not an edit).
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree
from PIL import Image, ImageDraw

XF = "http://www.w3.org/2002/xforms"
XHTML = "http://www.w3.org/1999/xhtml"
JR = "http://openrosa.org/javarosa"
ODK = "http://www.opendatakit.org/xforms"

JR_TEMPLATE = f"{{{JR}}}template"
GEO_TYPES = ("geopoint", "geotrace", "geoshape")
SELECT_TYPES = ("select1", "select", "rank")
#: body controls that carry a ``ref`` to an answer
_CONTROLS = {"input", "select1", "select", "upload", "trigger", "range", "rank", "secret", "textarea"}
_INSTANCE_CALL = re.compile(r"instance\(\s*['\"]([^'\"]+)['\"]\s*\)")
_FIRST_MILLIS = 1_779_321_600_000  # 2026-05-21, the kind of name Collect gives captured media

#: Fixed answers per bind type (PROTOCOL notes §6.6).
_FIXED = {
    "string": "text",
    "int": "42",
    "integer": "42",
    "long": "42",
    "short": "42",
    "decimal": "3.75",
    "double": "3.75",
    "float": "3.75",
    "date": "2026-08-21",
    "time": "15:40:11.123+07:00",
    "dateTime": "2026-08-21T15:40:11.123+07:00",
    "datetime": "2026-08-21T15:40:11.123+07:00",
    "boolean": "true",
    "barcode": "8850999320007",
    "intent": "text",
}


@dataclass(frozen=True)
class GeoAnswer:
    """A geo answer written into the instance.

    ``path`` is relative to the root with local names (``plot/boundary``), ``repeat_position`` the 1-based
    positions of the enclosing repeats (all 1 here), ``first`` the first vertex as (latitude, longitude).
    """

    path: str
    geo_type: str
    value: str
    repeat_position: tuple[int, ...]
    first: tuple[float, float]
    points: int


@dataclass(frozen=True)
class BinaryAnswer:
    """A binary answer: the field path and the file name written for it."""

    path: str
    file_name: str
    mediatype: str | None


@dataclass
class BuiltInstance:
    """An instance as Collect would upload it. Unpacks as ``(xml, instance_id, attachments)``.

    ``instance_id`` is ``None`` when the form has no ``meta/instanceID`` (Collect then sends none either).
    """

    xml: bytes
    instance_id: str | None
    attachments: dict[str, bytes]
    geo: list[GeoAnswer] = field(default_factory=list)
    binaries: list[BinaryAnswer] = field(default_factory=list)
    entities: dict[str, str] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator:
        return iter((self.xml, self.instance_id, self.attachments))


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _steps(path: str) -> tuple[str, ...]:
    """``/data/g:x/ y `` -> ``("data", "x", "y")``; prefixes and whitespace dropped."""
    return tuple(s.strip().split(":")[-1] for s in path.strip().split("/") if s.strip())


def _el_steps(el: etree._Element) -> tuple[str, ...]:
    steps = []
    node: etree._Element | None = el
    while node is not None:
        steps.append(_local(node))
        node = node.getparent()
    return tuple(reversed(steps))


def _join_ref(base: tuple[str, ...], ref: str) -> tuple[str, ...]:
    """Absolute steps of ``ref`` written in a body element whose context is ``base``."""
    if ref.strip().startswith("/"):
        return _steps(ref)
    steps = list(base)
    for step in _steps(ref):
        if step == "..":
            steps.pop()
        elif step != ".":
            steps.append(step)
    return tuple(steps)


class _FormReader:
    """The facts of an XForm needed to fill an instance: binds, body controls, repeats, secondary instances."""

    def __init__(self, xform: bytes, media: Mapping[str, bytes]) -> None:
        self.doc = etree.fromstring(xform, etree.XMLParser(resolve_entities=False, no_network=True))
        model = self.doc.find(f"{{{XHTML}}}head/{{{XF}}}model")
        if model is None:
            raise ValueError("not an XForm: no h:head/model")
        self.model = model
        self.media = media
        instances = model.findall(f"{{{XF}}}instance")
        primary = next(i for i in instances if i.get("id") is None)
        self.primary_root = next(c for c in primary if isinstance(c.tag, str))
        self.secondary = {i.get("id"): i for i in instances if i.get("id") is not None}
        self.bind_types: dict[tuple[str, ...], str] = {}
        for bind in model.iter(f"{{{XF}}}bind"):
            nodeset = bind.get("nodeset") or bind.get("ref") or ""
            if nodeset.strip().startswith("/"):
                self.bind_types[_steps(nodeset)] = (bind.get("type") or "string").split(":")[-1]
        self.controls: dict[tuple[str, ...], etree._Element] = {}
        self.repeats: set[tuple[str, ...]] = set()
        body = self.doc.find(f"{{{XHTML}}}body")
        if body is not None:
            self._read_body(body, ())

    def _read_body(self, el: etree._Element, context: tuple[str, ...]) -> None:
        for kid in el:
            if not isinstance(kid.tag, str):
                continue
            name = _local(kid)
            ref = kid.get("ref") or kid.get("nodeset")
            kid_context = _join_ref(context, ref) if ref else context
            if name == "repeat" and ref:
                self.repeats.add(kid_context)
            if name in _CONTROLS and ref:
                self.controls[kid_context] = kid
            if name in ("group", "repeat"):
                self._read_body(kid, kid_context)

    def control_kind(self, steps: tuple[str, ...]) -> str | None:
        """Local name of the body control for ``steps`` (``select1``, ``upload``, ``rank``, …)."""
        control = self.controls.get(steps)
        return _local(control) if control is not None else None

    def mediatype(self, steps: tuple[str, ...]) -> str | None:
        control = self.controls.get(steps)
        return control.get("mediatype") if control is not None and _local(control) == "upload" else None

    def choices(self, steps: tuple[str, ...]) -> list[str]:
        """Choice values of the select at ``steps``, first ones first (may be empty)."""
        control = self.controls.get(steps)
        if control is None:
            return []
        values = [
            (item.findtext(f"{{{XF}}}value") or "").strip()
            for item in control.findall(f"{{{XF}}}item")
            if (item.findtext(f"{{{XF}}}value") or "").strip()
        ]
        if values:
            return values
        itemset = control.find(f"{{{XF}}}itemset")
        if itemset is None:
            return []
        match = _INSTANCE_CALL.search(itemset.get("nodeset") or "")
        value_el = itemset.find(f"{{{XF}}}value")
        value_ref = _steps(value_el.get("ref") or "name")[-1] if value_el is not None else "name"
        instance = self.secondary.get(match.group(1)) if match else None
        if instance is None:
            return []
        items = [c for c in instance.iter() if isinstance(c.tag, str) and _local(c) == "item"]
        if items:
            return [v for v in (self._item_value(i, value_ref) for i in items) if v]
        return self._external_choices(instance.get("src") or "", value_ref)

    @staticmethod
    def _item_value(item: etree._Element, value_ref: str) -> str:
        for c in item:
            if isinstance(c.tag, str) and _local(c) == value_ref:
                return (c.text or "").strip()
        return ""

    def _external_choices(self, src: str, value_ref: str) -> list[str]:
        """First values of a choice list held in a form media file (CSV, GeoJSON or XML), when uploaded."""
        name = src.rsplit("/", 1)[-1]
        content = self.media.get(name)
        if not content:
            return []
        try:
            if name.endswith(".csv"):
                rows = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
                return [r[value_ref] for r in rows if r.get(value_ref)]
            if name.endswith(".geojson"):
                features = json.loads(content)["features"]
                return [
                    str(f.get("properties", {}).get(value_ref) or f.get("id") or "")
                    for f in features
                    if f.get("properties", {}).get(value_ref) or f.get("id")
                ]
            if name.endswith(".xml"):
                root = etree.fromstring(content)
                items = [c for c in root.iter() if isinstance(c.tag, str) and _local(c) == "item"]
                return [v for v in (self._item_value(i, value_ref) for i in items) if v]
        except (ValueError, KeyError, etree.XMLSyntaxError):
            return []
        return []


def _keep_one_of_each_repeat(el: etree._Element) -> None:
    """Drop ``jr:template`` nodes that have a real sibling; turn a lone template into the one instance."""
    for kid in list(el):
        if not isinstance(kid.tag, str):
            el.remove(kid)
            continue
        if kid.get(JR_TEMPLATE) is not None:
            real = [s for s in el if s is not kid and s.tag == kid.tag and s.get(JR_TEMPLATE) is None]
            if real:
                el.remove(kid)
                continue
            del kid.attrib[JR_TEMPLATE]
        _keep_one_of_each_repeat(kid)


def _plain_copy(src: etree._Element, parent: etree._Element | None, nsmap: dict | None = None) -> etree._Element:
    """Copy ``src`` with elements of the default XForms namespace moved to no namespace."""
    qname = etree.QName(src)
    tag = qname.localname if qname.namespace in (None, XF) else src.tag
    attrib = {k: v for k, v in src.attrib.items() if k != JR_TEMPLATE}
    el = etree.Element(tag, attrib, nsmap=nsmap) if parent is None else etree.SubElement(parent, tag, attrib)
    el.text = src.text if len(src) == 0 else None
    for kid in src:
        if isinstance(kid.tag, str):
            _plain_copy(kid, el)
    return el


def jpeg(index: int, size: tuple[int, int] = (96, 64)) -> bytes:
    """A small real JPEG, different for each ``index``."""
    colour = ((index * 67) % 256, (index * 151 + 40) % 256, (index * 29 + 90) % 256)
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, 4 + index % 40, 30), fill=(255 - colour[0], 255 - colour[1], 255 - colour[2]))
    draw.text((8, 36), f"KNN {index}", fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _media_file(index: int, mediatype: str | None, field_name: str) -> tuple[str, bytes]:
    """(file name, bytes) for a binary answer with this upload ``mediatype``."""
    millis = _FIRST_MILLIS + index
    kind = (mediatype or "").split("/")[0].lower()
    if kind == "image":
        return f"{millis}.jpg", jpeg(index)
    if kind == "audio":
        return f"{millis}.m4a", b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + f"audio {index}".encode() * 40
    if kind == "video":
        return f"{millis}.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00" + f"video {index}".encode() * 60
    if kind == "osm":
        return f"{millis}.osm", f'<?xml version="1.0"?><osm version="0.6" generator="test {index}"/>'.encode()
    if field_name == "audit":
        return "audit.csv", f"event,node,start,end\nform start,,{millis},\n".encode()
    return f"{millis}.pdf", b"%PDF-1.4\n% test file " + str(index).encode() + b"\n%%EOF\n"


def _geo_value(geo_type: str, k: int) -> tuple[str, tuple[float, float], int]:
    """A geo answer in north-east Thailand (Khon Kaen / Udon Thani area), unique per ``k``."""
    lat0, lon0 = 15.8 + 0.0371 * k, 102.4 + 0.0533 * k
    alt, acc = 150.0 + k, 4.5

    def point(lat: float, lon: float) -> str:
        return f"{lat:.7f} {lon:.7f} {alt:.1f} {acc:.1f}"

    if geo_type == "geopoint":
        return point(lat0, lon0), (round(lat0, 7), round(lon0, 7)), 1
    if geo_type == "geotrace":
        pts = [(lat0, lon0), (lat0 + 0.001, lon0 + 0.002), (lat0 + 0.003, lon0 + 0.0025)]
    else:
        pts = [(lat0, lon0), (lat0, lon0 + 0.002), (lat0 + 0.002, lon0 + 0.002), (lat0, lon0)]
    return ";".join(point(a, b) for a, b in pts), (round(lat0, 7), round(lon0, 7)), len(pts)


def build_instance(xform_bytes: bytes, media: Mapping[str, bytes] | None = None) -> BuiltInstance:
    """A finalized instance of the XForm ``xform_bytes`` with every bound question answered.

    ``media`` are the form's media files; a select whose choices come from one of them (CSV, GeoJSON, XML)
    is answered with its first value. Returns a :class:`BuiltInstance`, which unpacks as
    ``(instance XML bytes, instanceID, attachments by file name)``.
    """
    form = _FormReader(xform_bytes, media or {})
    source = etree.fromstring(etree.tostring(form.primary_root))  # a detached copy of the primary instance
    _keep_one_of_each_repeat(source)
    src_root = form.primary_root
    nsmap = {prefix: uri for prefix, uri in src_root.nsmap.items() if prefix and uri != XF}
    root = _plain_copy(source, None, nsmap)

    repeats = form.repeats | {
        _el_steps(e) for e in src_root.iter() if isinstance(e.tag, str) and e.get(JR_TEMPLATE) is not None
    }
    instance_id = f"uuid:{uuid.uuid4()}"
    built = BuiltInstance(xml=b"", instance_id=instance_id, attachments={})
    counters = {"geo": 0, "file": 0}
    wrote_instance_id = False

    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        steps = _el_steps(el)
        rel = "/".join(steps[1:])
        parent = el.getparent()
        if _local(el) == "entity" and parent is not None and _local(parent) == "meta":
            entity_id = str(uuid.uuid4())
            el.set("id", entity_id)
            el.set("create", "1")
            built.entities[rel] = entity_id
            continue
        if len(el) or el is root:
            continue
        if parent is not None and _local(parent) == "entity":
            el.text = f"Entity {len(built.entities)}"
            continue
        if parent is not None and _local(parent) == "meta" and _local(el) == "instanceID":
            el.text = instance_id
            wrote_instance_id = True
            continue
        if parent is not None and _local(parent) == "meta" and _local(el) == "deprecatedID":
            continue
        kind = form.bind_types.get(steps)
        if kind is None:
            continue
        positions = tuple(1 for i in range(2, len(steps)) if steps[:i] in repeats)
        if kind in GEO_TYPES:
            value, first, points = _geo_value(kind, counters["geo"])
            counters["geo"] += 1
            built.geo.append(GeoAnswer(rel, kind, value, positions, first, points))
        elif kind == "binary":
            counters["file"] += 1
            mediatype = form.mediatype(steps)
            name, content = _media_file(counters["file"], mediatype, _local(el))
            built.attachments[name] = content
            built.binaries.append(BinaryAnswer(rel, name, mediatype))
            value = name
        elif kind in SELECT_TYPES or form.control_kind(steps) in SELECT_TYPES:
            choices = form.choices(steps) or ["a"]
            rank = "rank" in (kind, form.control_kind(steps))
            value = " ".join(dict.fromkeys(choices)) if rank else choices[0]
        else:
            value = _FIXED.get(kind, "text")
        el.text = value
        built.answers[rel] = value

    built.xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if not wrote_instance_id:
        built.instance_id = None
    return built
