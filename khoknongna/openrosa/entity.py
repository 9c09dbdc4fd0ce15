"""Reading the entity blocks of a submitted instance (``meta/entity`` with its label and saved properties).

Elements are matched by local name (``<entities:entity>`` and ``<entity>`` alike). An entity id may carry a
``uuid:`` prefix and any case; it is kept lowercase without the prefix, as the CSV ``name`` column has it.
A flag is on when its value is ``1`` or ``true``, and only when the form declares it.

Source: ODK entities spec; ODK Central's reading of entity data (PROTOCOL notes §9.3).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from khoknongna.openrosa.xform import EntityDeclaration
from khoknongna.openrosa.xml import child_elements, find_child, local_name


@dataclass(frozen=True)
class EntityBlock:
    """What one entity block of a submission asks for.

    ``uuid`` is ``None`` and ``problem`` says why when the id is missing or not a UUID. ``properties`` holds
    the saved fields present in the instance (an empty element gives ``""``).
    """

    dataset: str
    uuid: str | None
    create: bool
    update: bool
    base_version: int | None
    label: str
    properties: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true")


def _normalize_uuid(value: str | None) -> str | None:
    text = (value or "").strip()
    if text.lower().startswith("uuid:"):
        text = text[5:]
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _elements_at(root: etree._Element, path: str) -> Iterator[etree._Element]:
    """Every element at ``path`` under ``root`` (several when a step is a repeat)."""
    found = [root]
    for step in [s for s in path.split("/") if s]:
        found = [c for el in found for c in child_elements(el) if local_name(c) == step]
    yield from found


def _first_elements(container: etree._Element) -> dict[str, etree._Element]:
    """The first element (in document order) at each relative path under ``container`` (``owner/tambon``): one walk
    of the block's subtree, where a lookup per property would scan the same children again for each."""
    found: dict[str, etree._Element] = {}
    stack = [(container, "")]
    while stack:
        element, prefix = stack.pop()
        children = [(c, f"{prefix}{name}") for c in element if (name := local_name(c)) is not None]
        for child, path in children:
            found.setdefault(path, child)
        stack.extend((child, f"{path}/") for child, path in reversed(children) if len(child))
    return found


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def read_entity_blocks(root: etree._Element, declarations: tuple[EntityDeclaration, ...]) -> list[EntityBlock]:
    """The entity blocks of the instance under ``root`` that set ``create`` or ``update``, in document order.

    A block with neither flag on (a ``create_if`` that was false) asks for nothing and is left out.
    """
    blocks = []
    for declaration in declarations:
        for container in _elements_at(root, declaration.container):
            meta = find_child(container, "meta")
            entity = find_child(meta, "entity") if meta is not None else None
            if entity is None:
                continue
            create = declaration.create and _flag(entity.get("create"))
            update = declaration.update and _flag(entity.get("update"))
            if not (create or update):
                continue
            first = _first_elements(container) if declaration.properties else {}
            properties = {prop: _text(first[path]) for prop, path in declaration.properties if path in first}
            entity_uuid = _normalize_uuid(entity.get("id"))
            base = (entity.get("baseVersion") or "").strip()
            blocks.append(
                EntityBlock(
                    dataset=declaration.dataset,
                    uuid=entity_uuid,
                    create=create,
                    update=update,
                    base_version=int(base) if base.isdigit() else None,
                    label=_text(find_child(entity, "label")),
                    properties=properties,
                    problem=None if entity_uuid else f"entity id '{entity.get('id') or ''}' is not a UUID",
                )
            )
    return blocks
