"""What the review pages show of a submission, as plain data: its answers in the form's order with their labels in
Thai and English (groups and repeats kept, choices by their labels, area codes by their names, geo answers as
coordinates and accuracy), which answers are photos, and its geometries drawn as an inline SVG sketch.

No Flask and no SQL here: the routes (``server/web_review.py``) read the rows and render these.
"""

from __future__ import annotations

import json
import math
import mimetypes
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from khoknongna.areas import area_name
from khoknongna.openrosa.labels import FormLabels, Texts

#: The file types a browser may show inline; anything else is sent as a download of octet-stream.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_SAFE_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
#: Answers that are bookkeeping, not something a supervisor reads (``meta`` is shown as the instance id).
_HIDDEN = frozenset({"meta"})
#: Questions whose answer is an area code (geothai) even when the form gives no label for it (choices from a CSV).
_AREA_FIELDS = frozenset({"province", "amphoe", "district", "tambon", "subdistrict", "area_code"})


def bilingual(texts: Texts, fallback: str) -> tuple[str, str]:
    """``(thai, english)`` of a label: Thai first (else the label without a language, else ``fallback``);
    English only when it differs from what is shown first."""
    first = texts.get("th") or texts.get("default") or texts.get("en") or fallback
    second = texts.get("en") or ""
    return first, ("" if second == first else second)


@dataclass(frozen=True)
class Answer:
    """One line of the answers: a group or repeat heading (``value`` None), or a question and its answer.

    ``kind``: ``group``, ``repeat`` (one instance of it, ``position`` 1-based), ``photo`` (``value`` is the
    file name), ``file``, ``geo`` or ``text``. ``choice_th``/``choice_en`` label a select answer (``choice_th``
    is also an area code's name, and a geo answer's coordinates and accuracy in words).
    """

    path: str
    depth: int
    kind: str
    label_th: str
    label_en: str
    value: str | None = None
    choice_th: str = ""
    choice_en: str = ""
    position: int | None = None


def is_safe_file_name(name: str) -> bool:
    """Whether ``name`` can be an attachment name in a URL: no path separators, no control characters,
    not ``.`` or ``..``."""
    return bool(_SAFE_NAME.match(name)) and name not in (".", "..")


def content_type_of(name: str, stored: str | None) -> str:
    """The content type to send a file with: the stored one when it is an image type, else guessed from the
    name; ``application/octet-stream`` when unknown."""
    if stored and stored.split(";")[0].strip().lower() in INLINE_TYPES:
        return stored.split(";")[0].strip().lower()
    guessed = mimetypes.guess_type(name)[0]
    return guessed or "application/octet-stream"


def is_photo(name: str, stored_type: str | None) -> bool:
    """Whether a file is an image a browser can show (by its stored type or its name)."""
    return content_type_of(name, stored_type) in INLINE_TYPES


def _choices(labels: FormLabels, path: str, value: str, multiple: bool) -> tuple[str, str]:
    values = value.split() if multiple else [value]
    found = [bilingual(labels.choice(path, v), v) for v in values]
    if not any(labels.choice(path, v) for v in values):
        return "", ""
    return ", ".join(t for t, _ in found), ", ".join(e or t for t, e in found)


def form_order(definition: dict[str, Any], labels: FormLabels) -> dict[str, int]:
    """The rank of every question, group and repeat path in the form (``field_order`` of the stored definition,
    the binds in the form's order; else the order of the form's body). A group ranks with its first question."""
    order = list(definition.get("field_order") or ()) + list(labels.fields) + list(definition.get("fields") or ())
    rank: dict[str, int] = {}
    for index, path in enumerate(order):
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            rank.setdefault("/".join(parts[:depth]), index)
    return rank


def geo_text(value: str) -> str:
    """An ODK geo answer in words: ``16.44190, 102.83600 · ±4.8 ม.`` for a point; for a trace or shape its
    number of points, its worst accuracy and where it starts. The text itself when it cannot be read."""
    points = []
    for chunk in value.split(";"):
        numbers = chunk.split()
        try:
            points.append([float(n) for n in numbers[:4]])
        except ValueError:
            return value
    points = [p for p in points if len(p) >= 2]
    if not points:
        return value
    accuracies = [p[3] for p in points if len(p) >= 4]
    accuracy = f" · ±{max(accuracies):g} ม. m" if accuracies else ""
    where = f"{points[0][0]:.5f}, {points[0][1]:.5f}"
    if len(points) == 1:
        return f"{where}{accuracy}"
    return f"{len(points)} จุด points{accuracy} · เริ่มที่ from {where}"


def value_words(path: str, text: str | None, selects: dict[str, str], labels: FormLabels) -> tuple[str, str]:
    """``(thai, english)`` words for the answer ``text`` of the question at ``path``: its choice's labels (a
    select; several for a select multiple), else the geothai name of an area code (a select whose choices the
    form does not carry, or a question named like ``province``/``amphoe``/``tambon``); ``("", "")`` otherwise."""
    if not text:
        return "", ""
    choice_th, choice_en = ("", "")
    if path in labels.choices:
        choice_th, choice_en = _choices(labels, path, text, selects.get(path) == "multiple")
    if not choice_th and (path in labels.choices or path.rsplit("/", 1)[-1] in _AREA_FIELDS):
        choice_th = area_name(text) or ""
    return choice_th, choice_en


@dataclass(frozen=True)
class Property:
    """One property of a plot's register entry: its name, the question it came from in words, its value and the
    value in words (``choice_th``/``choice_en``, empty when the value says itself)."""

    name: str
    label_th: str
    label_en: str
    value: Any
    choice_th: str = ""
    choice_en: str = ""


def property_rows(properties: dict[str, Any], definition: dict[str, Any] | None, labels: FormLabels) -> list[Property]:
    """A register entry's properties labelled by the questions of the form that saved them (``definition`` and
    ``labels`` of that form; the names alone without one), in the form's order; ``geometry`` is left out (the
    page draws it)."""
    saved_from: dict[str, str] = {}
    for entity in (definition or {}).get("entities") or ():
        container = entity.get("container") or ""
        for name, path in entity.get("properties") or ():
            saved_from.setdefault(name, f"{container}/{path}" if container else path)
    rank = form_order(definition or {}, labels)
    selects = (definition or {}).get("selects") or {}
    rows = []
    for name, value in properties.items():
        if name == "geometry":
            continue
        path = saved_from.get(name, name)
        label_th, label_en = bilingual(labels.field(path), name)
        choice_th, choice_en = value_words(path, None if value is None else str(value), selects, labels)
        rows.append((rank.get(path, len(rank)), name, Property(name, label_th, label_en, value, choice_th, choice_en)))
    return [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]


def answer_rows(
    data: dict[str, Any] | None, definition: dict[str, Any], labels: FormLabels, photos: Iterable[str]
) -> list[Answer]:
    """The answers of ``data`` (as ingest stores them: groups as objects, repeats as lists) in the form's order
    (:func:`form_order`; answers the form does not know come last), each with its labels; ``photos`` are the
    attachment names that are images. A select answer shows its choice's labels, an area code its geothai name,
    a geo answer :func:`geo_text`."""
    fields: dict[str, str] = definition.get("fields") or {}
    rank = form_order(definition, labels)
    repeats = set(definition.get("repeats") or ())
    selects: dict[str, str] = definition.get("selects") or {}
    photo_names = set(photos)
    rows: list[Answer] = []

    def walk(node: dict[str, Any], prefix: str, depth: int) -> None:
        def place(item: tuple[int, str]) -> tuple[int, int]:
            path = f"{prefix}/{item[1]}" if prefix else item[1]
            return rank.get(path, len(rank)), item[0]

        names = [name for _, name in sorted(enumerate(node), key=place)]
        for name in names:
            value = node[name]
            if name.startswith(("@", "#")) or (not prefix and name in _HIDDEN):
                continue
            path = f"{prefix}/{name}" if prefix else name
            label_th, label_en = bilingual(labels.field(path), name)
            if isinstance(value, list):
                for position, item in enumerate(value, 1):
                    if isinstance(item, dict):
                        kind = "repeat" if path in repeats else "group"
                        rows.append(Answer(path, depth, kind, label_th, label_en, position=position))
                        walk(item, path, depth + 1)
                    else:
                        rows.append(_leaf(path, depth, label_th, label_en, item))
            elif isinstance(value, dict):
                rows.append(Answer(path, depth, "group", label_th, label_en))
                walk(value, path, depth + 1)
            else:
                rows.append(_leaf(path, depth, label_th, label_en, value))

    def _leaf(path: str, depth: int, label_th: str, label_en: str, value: Any) -> Answer:
        text = None if value is None else str(value)
        kind = fields.get(path, "string")
        if text is not None and kind == "binary":
            shown = "photo" if text in photo_names else "file"
            return Answer(path, depth, shown, label_th, label_en, text)
        if kind in ("geopoint", "geotrace", "geoshape"):
            return Answer(path, depth, "geo", label_th, label_en, text, geo_text(text) if text else "")
        choice_th, choice_en = value_words(path, text, selects, labels)
        return Answer(path, depth, "text", label_th, label_en, text, choice_th, choice_en)

    walk(data or {}, "", 0)
    return rows


# --- a sketch of the geometries, as inline SVG -----------------------------------------------------------------


@dataclass
class Sketch:
    """Geometries projected into an SVG box (``width`` x ``height`` pixels): ``shapes`` of ``(kind, d or cx/cy,
    title)`` where kind is ``polygon`` / ``line`` (an SVG path ``d``) or ``point`` (``cx``, ``cy``)."""

    width: int
    height: int
    shapes: list[dict[str, Any]] = field(default_factory=list)
    scale_m: float = 0.0


def _positions(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """The coordinate lists of a GeoJSON geometry: one per ring, line or point."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        return [[coords]]
    if kind in ("LineString", "MultiPoint"):
        return [coords]
    if kind in ("Polygon", "MultiLineString"):
        return list(coords)
    if kind == "MultiPolygon":
        return [ring for polygon in coords for ring in polygon]
    if kind == "GeometryCollection":
        return [p for g in geometry.get("geometries", []) for p in _positions(g)]
    return []


def sketch(
    items: Sequence[tuple[str, str, str]], *, width: int = 480, height: int = 320, pad: int = 16
) -> Sketch | None:
    """Draw ``(role, title, geojson text)`` items (role ``plot`` or ``answer``) in one box, north up, with
    equal metres on both axes (longitude scaled by the cosine of the latitude); ``None`` without geometries."""
    parsed = [(role, title, json.loads(text)) for role, title, text in items if text]
    points = [pt for _, _, g in parsed for line in _positions(g) for pt in line]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    mid_lat = (min(lats) + max(lats)) / 2
    kx = math.cos(math.radians(mid_lat))
    span_x = max((max(lons) - min(lons)) * kx, 1e-7)
    span_y = max(max(lats) - min(lats), 1e-7)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2

    def xy(pt: Sequence[float]) -> tuple[float, float]:
        return (off_x + (pt[0] - min(lons)) * kx * scale, height - off_y - (pt[1] - min(lats)) * scale)

    out = Sketch(width, height, scale_m=round(span_x * 111_320, 1))
    for role, title, geometry in parsed:
        kind = geometry.get("type", "")
        for line in _positions(geometry):
            if kind in ("Point", "MultiPoint"):
                for pt in line:
                    x, y = xy(pt)
                    out.shapes.append(
                        {"kind": "point", "role": role, "cx": f"{x:.1f}", "cy": f"{y:.1f}", "title": title}
                    )
                continue
            d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(map(xy, line)))
            closed = kind in ("Polygon", "MultiPolygon")
            out.shapes.append(
                {
                    "kind": "polygon" if closed else "line",
                    "role": role,
                    "d": d + (" Z" if closed else ""),
                    "title": title,
                }
            )
    return out
