"""Which questions of an XForm the browser's web form (ODK Web Forms 0.22) cannot take an answer to as the form
asks, so the page can say so in Thai before anyone starts and offer ODK Collect instead.

The rules follow what Web Forms 0.22 renders (its ``InputControl`` and ``UploadControl`` components):

* ``geoshape`` and ``geotrace`` are drawn on an OpenLayers map over OpenStreetMap tiles: walking or drawing a
  plot boundary on a phone browser without a base map of the plot is not usable in the field;
* a geopoint with the ``maps`` or ``placement-map`` appearance is placed on the same map;
* an image with the ``signature``, ``draw`` or ``annotate`` appearance gets a file chooser, not a drawing pad;
* an input with the ``bearing`` appearance (a compass reading) gets a plain number box, without the compass.

Everything else the bundled forms use (text, numbers, dates, selects with ``autocomplete``, entity lists,
repeats, photos, geopoints captured from the device, ``odk:setgeopoint``) is supported.
Source: @getodk/web-forms 0.22.0 ``dist/index-*.js`` (``InputControl``, ``UploadControl``, appearance list).
"""

from __future__ import annotations

from dataclasses import dataclass

from khoknongna.openrosa.labels import read_labels
from khoknongna.openrosa.xform import XF, relative_path
from khoknongna.openrosa.xml import local_name, parse_xml

#: Why a question cannot be answered in the browser: (Thai, English), by kind.
REASONS = {
    "geoshape": ("วาดขอบเขตแปลงบนแผนที่ในเบราว์เซอร์ยังไม่ได้", "drawing a shape on the map is not supported"),
    "geotrace": ("เดินเก็บเส้นทางบนแผนที่ในเบราว์เซอร์ยังไม่ได้", "recording a trace on the map is not supported"),
    "map": ("ปักหมุดบนแผนที่ในเบราว์เซอร์ยังไม่ได้", "placing a point on a map is not supported"),
    "drawing": ("วาดลายมือชื่อหรือภาพบนหน้าจอในเบราว์เซอร์ยังไม่ได้", "drawing or signing on the screen is not supported"),
    "bearing": ("อ่านเข็มทิศในเบราว์เซอร์ยังไม่ได้", "reading the compass is not supported"),
}
_DRAWN = frozenset({"signature", "draw", "annotate"})
_MAPPED = frozenset({"maps", "placement-map"})


@dataclass(frozen=True)
class Unsupported:
    """A question the web form cannot answer: its path (``plot/boundary``), Thai and English labels, and the
    reason's kind (a key of :data:`REASONS`)."""

    path: str
    label_th: str
    label_en: str
    kind: str

    @property
    def reason_th(self) -> str:
        return REASONS[self.kind][0]

    @property
    def reason_en(self) -> str:
        return REASONS[self.kind][1]


def unsupported_questions(xform: bytes) -> list[Unsupported]:
    """The questions of ``xform`` (XForm bytes) the web form cannot answer, in the order of the form's body.

    Raises :class:`~khoknongna.problems.Problem` ``XML_MALFORMED`` for bytes that are not XML.
    """
    root = parse_xml(xform)
    model = root.find(f".//{{{XF}}}model")
    instance = model.find(f"{{{XF}}}instance") if model is not None else None
    data = next(iter(instance), None) if instance is not None else None
    if model is None or data is None:
        return []
    root_name = local_name(data)
    types: dict[str, str] = {}
    for bind in model.iter(f"{{{XF}}}bind"):
        path = relative_path(bind.get("nodeset", ""), root_name)
        if path is not None and bind.get("type"):
            types[path] = bind.get("type", "").split(":")[-1]
    labels = read_labels(xform)
    found: list[Unsupported] = []
    for control in root.iter(f"{{{XF}}}input", f"{{{XF}}}upload"):
        path = relative_path(control.get("ref", ""), root_name)
        if path is None:
            continue
        kind = _kind(local_name(control), types.get(path, "string"), set(control.get("appearance", "").split()))
        if kind is not None:
            texts = labels.field(path)
            fallback = path.rsplit("/", 1)[-1]
            found.append(
                Unsupported(
                    path, texts.get("th") or texts.get("default") or fallback, texts.get("en") or fallback, kind
                )
            )
    return found


def _kind(control: str, bind_type: str, appearances: set[str]) -> str | None:
    if control == "upload":
        return "drawing" if appearances & _DRAWN else None
    if bind_type in ("geoshape", "geotrace"):
        return bind_type
    if bind_type == "geopoint" and appearances & _MAPPED:
        return "map"
    if "bearing" in appearances:
        return "bearing"
    return None
