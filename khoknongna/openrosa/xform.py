"""Reading an XForm: its identity and the facts ingest needs (field types, repeats, media files).

Paths are relative to the primary instance's root and use local names only: ``/data/plot/boundary``
becomes ``plot/boundary``. Submissions from older tools name the root differently (``<nested_repeats>``
instead of ``<data>``), so nothing relies on the root's name.

Source: ODK XForms spec (binds, repeats, ``jr://`` media URIs); OpenRosa metadata (form identity).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree

from khoknongna.openrosa.xml import child_elements, local_name, parse_xml
from khoknongna.problems import FORM_INVALID, Problem

XF = "http://www.w3.org/2002/xforms"
XHTML = "http://www.w3.org/1999/xhtml"
JR = "http://openrosa.org/javarosa"
ENTITIES = "http://www.opendatakit.org/xforms/entities"

GEO_TYPES = frozenset({"geopoint", "geotrace", "geoshape"})

# A name runs to the end of the text or attribute value holding it, and may contain spaces.
_MEDIA_URI = re.compile(r"jr://(?:images|audio|video|file|file-csv)/([^\"'<>]+)")
_PULLDATA = re.compile(r"pulldata\(\s*['\"]([^'\"]+)['\"]")
_FORBIDDEN_ID_SUFFIXES = (".xml", ".xls", ".xlsx")
#: Entity spec versions Collect reads (PROTOCOL notes §9.1).
_ENTITY_SPEC_VERSIONS = ("2022.1.", "2023.1.", "2024.1.", "2025.1.")
_DATASET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class EntityDeclaration:
    """One entity block of a form (``meta/entity`` with a ``dataset`` attribute).

    ``container`` is the relative path of the element holding that ``meta`` (``""`` for the root, a repeat's
    path for entities made from repeats); ``properties`` pairs each property name with the path, relative
    to the container, of the field saved to it. ``create``/``update`` say which flags the form may set.
    Source: ODK entities spec (2022.1–2025.1), PROTOCOL notes §9.
    """

    dataset: str
    container: str
    create: bool
    update: bool
    properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The fields by name, each property pair as a list (as JSON gives it back)."""
        return {**asdict(self), "properties": [list(p) for p in self.properties]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EntityDeclaration:
        """The declaration :meth:`to_json` wrote."""
        return cls(**{**data, "properties": tuple((p, f) for p, f in data["properties"])})


@dataclass(frozen=True)
class FormDefinition:
    """What the server knows of one XForm version.

    ``fields`` maps relative path -> bind type (``string``, ``int``, ``geopoint``, ``binary``, ...);
    ``repeats`` holds the relative paths of repeat groups; ``media`` the file names the form expects as
    attachments (images, audio, CSV and GeoJSON for choices and ``pulldata``), in order of appearance;
    ``entities`` the entity blocks the form fills in; ``selects`` marks the select questions whose answers are
    not plain text: ``"multiple"`` (space-separated choices) and ``"yes_no"`` (a select one of exactly the
    choices ``yes`` and ``no``); ``nodes`` the relative paths of the primary instance's elements in document
    order, each once (a repeat's instances share one path). Definitions stored before ``selects`` or
    ``nodes`` existed read back with none.
    """

    form_id: str
    version: str
    title: str
    root_name: str
    encrypted: bool
    fields: dict[str, str] = field(default_factory=dict)
    repeats: frozenset[str] = frozenset()
    media: tuple[str, ...] = ()
    entities: tuple[EntityDeclaration, ...] = ()
    selects: dict[str, str] = field(default_factory=dict)
    nodes: tuple[str, ...] = ()

    def field_type(self, path: str) -> str | None:
        return self.fields.get(path)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form of the definition, kept with the form version in the database."""
        return {
            "form_id": self.form_id,
            "version": self.version,
            "title": self.title,
            "root_name": self.root_name,
            "encrypted": self.encrypted,
            "fields": self.fields,
            "field_order": list(self.fields),  # JSONB does not keep the keys' order
            "repeats": sorted(self.repeats),
            "media": list(self.media),
            "entities": [e.to_json() for e in self.entities],
            "selects": self.selects,
            "nodes": list(self.nodes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FormDefinition:
        return cls(
            form_id=data["form_id"],
            version=data["version"],
            title=data["title"],
            root_name=data["root_name"],
            encrypted=data["encrypted"],
            fields={p: data["fields"][p] for p in data.get("field_order") or data["fields"] if p in data["fields"]},
            repeats=frozenset(data["repeats"]),
            media=tuple(data["media"]),
            entities=tuple(EntityDeclaration.from_json(e) for e in data.get("entities", ())),
            selects=dict(data.get("selects") or {}),
            nodes=tuple(data.get("nodes") or ()),
        )


def relative_path(nodeset: str, root_name: str) -> str | None:
    """``/data/g/x`` -> ``g/x`` (prefixes dropped); ``None`` when the path is not under the root."""
    steps = [s.split(":")[-1] for s in nodeset.strip().split("/") if s]
    if not steps or steps[0] != root_name or not nodeset.strip().startswith("/"):
        return None
    return "/".join(steps[1:])


def read_xform(data: bytes) -> FormDefinition:
    """Read an XForm document.

    Raises :class:`Problem` ``FORM_INVALID`` when the document is not an XForm (no ``h:head/model``,
    no primary instance, no form id) or when the form id cannot be served (ends with ``.xml``/``.xls``/
    ``.xlsx``, contains ``/``); ``XML_MALFORMED``/``XML_FORBIDDEN_CONSTRUCT`` for unreadable XML.
    """
    doc = parse_xml(data)
    model = doc.find(f"{{{XHTML}}}head/{{{XF}}}model")
    if local_name(doc) != "html" or model is None:
        raise Problem(FORM_INVALID, detail="this is not an XForm (no <h:head>/<model>)")
    primary = next((i for i in model.findall(f"{{{XF}}}instance") if i.get("id") is None), None)
    roots = child_elements(primary) if primary is not None else []
    if not roots:
        raise Problem(FORM_INVALID, detail="the XForm has no primary instance")
    root = roots[0]
    root_name = local_name(root) or ""
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise Problem(FORM_INVALID, detail=f"the primary instance <{root_name}> has no id attribute (form ID)")
    if "/" in form_id or form_id.lower().endswith(_FORBIDDEN_ID_SUFFIXES):
        raise Problem(FORM_INVALID, detail=f"form ID '{form_id}' cannot contain '/' or end in .xml/.xls/.xlsx")
    version = (root.get("version") or "").strip()
    title = (doc.findtext(f"{{{XHTML}}}head/{{{XHTML}}}title") or "").strip() or form_id
    submission = model.find(f"{{{XF}}}submission")
    encrypted = submission is not None and bool((submission.get("base64RsaPublicKey") or "").strip())

    fields: dict[str, str] = {}
    saveto: dict[str, str] = {}
    for bind in model.iter(f"{{{XF}}}bind"):
        path = relative_path(bind.get("nodeset") or "", root_name)
        if path:
            fields[path] = (bind.get("type") or "string").split(":")[-1]
            if bind.get(f"{{{ENTITIES}}}saveto"):
                saveto[path] = bind.get(f"{{{ENTITIES}}}saveto", "").strip()
    repeats: set[str] = set()
    selects: dict[str, str] = {}
    body = doc.find(f"{{{XHTML}}}body")
    if body is not None:
        selects = _select_kinds(body, model, root_name)
        for ctl in body.iter(f"{{{XF}}}repeat", f"{{{XF}}}upload"):
            path = relative_path(ctl.get("nodeset") or ctl.get("ref") or "", root_name)
            if path and local_name(ctl) == "repeat":
                repeats.add(path)
            elif path:
                fields[path] = "binary"
    for el in root.iter():
        if isinstance(el.tag, str) and el.get(f"{{{JR}}}template") is not None:
            path = _element_path(el, root)
            if path:
                repeats.add(path)

    return FormDefinition(
        form_id=form_id,
        version=version,
        title=title,
        root_name=root_name,
        encrypted=encrypted,
        fields=fields,
        repeats=frozenset(repeats),
        media=_media_names(data),
        entities=_entity_declarations(model, root, saveto),
        selects=selects,
        nodes=tuple(dict.fromkeys(_element_path(el, root) for el in root.iterdescendants() if isinstance(el.tag, str))),
    )


def _select_kinds(body: etree._Element, model: etree._Element, root_name: str) -> dict[str, str]:
    """``path -> "multiple" | "yes_no"`` for select_multiple questions and yes/no select_one questions.

    A select one is yes/no when its choices (inline ``item`` values, or the ``name`` of the items of the
    secondary instance its ``itemset`` reads) are exactly ``yes`` and ``no``.
    """
    kinds: dict[str, str] = {}
    for ctl in body.iter(f"{{{XF}}}select", f"{{{XF}}}select1"):
        path = relative_path(ctl.get("ref") or ctl.get("nodeset") or "", root_name)
        if not path:
            continue
        if local_name(ctl) == "select":
            kinds[path] = "multiple"
        elif _choice_values(ctl, model) == {"yes", "no"}:
            kinds[path] = "yes_no"
    return kinds


def _choice_values(ctl: etree._Element, model: etree._Element) -> set[str]:
    values = {(v or "").strip() for v in ctl.xpath("x:item/x:value/text()", namespaces={"x": XF})}
    itemset = ctl.find(f"{{{XF}}}itemset")
    if itemset is not None:
        found = re.match(r"\s*instance\(\s*'([^']+)'\s*\)/root/item\s*$", itemset.get("nodeset") or "")
        value = itemset.find(f"{{{XF}}}value")
        ref = value.get("ref") if value is not None else None
        if found is None or not ref or "/" in ref:
            return set()  # filtered or computed choices: not a plain yes/no
        for instance in model.findall(f"{{{XF}}}instance"):
            if instance.get("id") == found[1]:
                values |= {(v or "").strip() for v in instance.xpath(f"*/*/*[local-name()='{ref}']/text()")}
    return values


def _entity_declarations(
    model: etree._Element, root: etree._Element, saveto: dict[str, str]
) -> tuple[EntityDeclaration, ...]:
    """The entity blocks of the primary instance, each with the properties saved inside its container.

    Raises :class:`Problem` ``FORM_INVALID`` for an entity spec version Collect cannot read, a dataset
    name that is not an identifier (or starts with ``__``), and reserved property names (``name``,
    ``label``, ``__…``). Source: ODK Central's dataset rules (PROTOCOL notes §9.1).
    """
    blocks = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and local_name(el) == "entity"
        and el.get("dataset") is not None
        and local_name(el.getparent()) == "meta"
    ]
    if not blocks:
        return ()
    spec = (model.get(f"{{{ENTITIES}}}entities-version") or "").strip()
    if not spec.startswith(_ENTITY_SPEC_VERSIONS):
        raise Problem(FORM_INVALID, detail=f"entities-version '{spec}' is not one ODK Collect reads (2022.1–2025.1)")
    containers = []
    for block in blocks:
        dataset = (block.get("dataset") or "").strip()
        if not _DATASET_NAME.match(dataset) or dataset.startswith("__"):
            raise Problem(FORM_INVALID, detail=f"entity list name '{dataset}' is not a valid name")
        containers.append((dataset, _element_path(block.getparent().getparent(), root), block))
    declared: dict[str, list[tuple[str, str]]] = {c: [] for _, c, _ in containers}
    for path, prop in saveto.items():
        if prop.lower() in ("name", "label") or prop.startswith("__"):
            raise Problem(FORM_INVALID, detail=f"'{prop}' cannot be an entity property name (field {path})")
        # A field belongs to the innermost entity container that holds it.
        owner = max((c for c in declared if c == "" or path.startswith(c + "/")), key=len, default=None)
        if owner is not None:
            declared[owner].append((prop, path[len(owner) + 1 :] if owner else path))
    return tuple(
        EntityDeclaration(
            dataset=dataset,
            container=container,
            create=block.get("create") is not None,
            update=block.get("update") is not None,
            properties=tuple(declared[container]),
        )
        for dataset, container, block in containers
    )


def _element_path(el: etree._Element, root: etree._Element) -> str:
    steps: list[str] = []
    while el is not None and el is not root:
        steps.append(local_name(el) or "")
        el = el.getparent()
    return "/".join(reversed(steps))


def _media_names(data: bytes) -> tuple[str, ...]:
    text = data.decode("utf-8", "replace")
    names = [m.group(1) for m in _MEDIA_URI.finditer(text)]
    names += [f"{m.group(1)}.csv" for m in _PULLDATA.finditer(text)]
    bases = (n.strip().rsplit("/", 1)[-1] for n in names)
    return tuple(dict.fromkeys(b for b in bases if b))
