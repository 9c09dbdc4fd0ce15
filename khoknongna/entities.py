"""Applying a submission's entity blocks to the entity lists: create, update, or both (upsert).

Entities are applied in the same transaction as the submission that carries them, inside a savepoint: when
the 201 goes out, the register already holds the plot, so the very next manifest a phone fetches lists it.
A bad entity block never fails the submission (ODK Central's rule): what could not be applied is kept as
an *entity problem* of that submission version, and the submission is stored as sent.

Rules (ODK entities spec 2022.1–2025.1; ODK Central's processing, PROTOCOL notes §9.3):

* create needs a label and an id no entity of the list has; update needs an existing entity; with both
  flags, an existing entity is updated and a missing one created.
* update: properties in the block replace those of the entity (a blank answer blanks it), the others stay;
  a blank label keeps the old one; the version goes up by one.
* an update made from an older version than the current one (``baseVersion``) is still applied, and the
  entity is marked with a ``soft`` conflict, or ``hard`` when the properties it sets were changed since.
* an edit of the submission that created an entity updates that entity instead of failing as a duplicate.

An entity's ``geometry`` property (an ODK geo string, as the entities spec names it) is also kept as a
PostGIS geometry: the ``plots`` view gives the plot register with its boundaries.

An entity's *area* is its ``tambon`` code, else its ``amphoe`` code, else its ``province`` code (official
codes, nested as prefixes): app users of an area see the entities of that area and those with no area.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from khoknongna.openrosa.entity import EntityBlock, read_entity_blocks
from khoknongna.openrosa.xform import FormDefinition
from khoknongna.problems import (
    BAD_PARAMETER,
    ENTITY_EXISTS,
    ENTITY_INVALID,
    ENTITY_NOT_FOUND,
    ENTITY_OUTSIDE_AREA,
    ENTITY_VERSION_CONFLICT,
    OUTSIDE_AREA,
    PARAMETER_MISSING,
    Problem,
)
from khoknongna.spatial.odk_geo import parse_any_odk_geo
from khoknongna.storage import entities as queries
from khoknongna.storage import review as audit_log
from khoknongna.storage.db import database_unreachable

logger = logging.getLogger(__name__)

#: Properties that place an entity in an area, most specific first.
AREA_PROPERTIES = ("tambon", "amphoe", "province")


def area_code(properties: Mapping[str, str]) -> str | None:
    """The most specific area code among the entity's ``tambon``/``amphoe``/``province`` properties."""
    for name in AREA_PROPERTIES:
        value = (properties.get(name) or "").strip()
        if value:
            return value
    return None


def geometry_ewkt(properties: Mapping[str, str]) -> str | None:
    """The entity's ``geometry`` property (an ODK geo string) as EWKT, or ``None`` when absent or invalid
    (the text stays in the properties either way)."""
    value = (properties.get("geometry") or "").strip()
    parsed = parse_any_odk_geo(value) if value else None
    return parsed.geometry.ewkt() if parsed is not None and parsed.geometry is not None else None


def declare_datasets(conn: Connection, project_id: int, definition: FormDefinition) -> list[str]:
    """Create the entity lists a form fills in, with its properties; returns their names."""
    for declaration in definition.entities:
        queries.ensure_dataset(conn, project_id, declaration.dataset, [p for p, _ in declaration.properties])
    return list(dict.fromkeys(d.dataset for d in definition.entities))


class _Skip(Exception):
    """This block changes nothing; the message says why."""


@dataclass
class AppliedEntities:
    """What a submission's entity blocks did: the ids of the entities created or updated, by list name, and
    which of them it created (new rows, so no job can be waiting for them yet)."""

    by_list: dict[str, list[int]] = field(default_factory=dict)
    created: set[int] = field(default_factory=set)


def apply_entities(
    conn: Connection,
    project_id: int,
    definition: FormDefinition,
    root: etree._Element,
    submission_id: int,
    submission_version_id: int,
    lists: Mapping[str, int],
) -> AppliedEntities:
    """Apply the entity blocks of the instance under ``root``; ``lists`` gives the ids of the project's entity
    lists by name (a list the form fills in but that does not exist yet is made).

    Never raises for bad entity data or a statement the database refuses inside the entity work: both are
    rolled back to a savepoint and recorded as entity problems of the submission version, and the submission
    itself is kept. A lost database connection is not an entity problem: it is raised (SQLAlchemy's
    ``DBAPIError``, see ``storage.db.database_unreachable``) so that nothing is written and the client is
    told to send again. A block that may create an entity (the plot survey's) is first tried as one insert that
    does nothing when the id is taken (no savepoint, no lock: three round trips fewer); only then is it worked
    out in full.
    """
    applied = AppliedEntities()
    if not definition.entities:
        return applied
    problems = []
    blocks = read_entity_blocks(root, definition.entities)
    if not blocks:
        return applied
    # Given, not upserted: publishing made the lists, and an UPDATE would lock the list's row until commit,
    # queueing every concurrent submission to it behind this one.
    lists = dict(lists)
    changed = applied.by_list
    for block in blocks:
        created = _create_if_new(conn, lists, block, submission_version_id)
        if created is not None:
            changed.setdefault(block.dataset, []).append(created)
            applied.created.add(created)
            continue
        try:
            with conn.begin_nested():
                if block.dataset not in lists:  # a form published before entity lists existed
                    lists[block.dataset] = queries.ensure_dataset(conn, project_id, block.dataset, [])
                entity_id = _apply(conn, lists[block.dataset], block, submission_id, submission_version_id)
            changed.setdefault(block.dataset, []).append(entity_id)
        except _Skip as exc:
            problems.append((block, str(exc)))
        except SQLAlchemyError as exc:
            if database_unreachable(exc):
                raise  # the savepoint, and the whole transaction, went with the connection
            logger.exception("entity %s of list %s not applied", block.uuid, block.dataset)
            problems.append((block, f"the entity could not be written: {exc.__class__.__name__}"))
    for block, problem in problems:
        queries.record_problem(conn, submission_version_id, block.dataset, block.uuid, problem)
    return applied


def _create_if_new(conn: Connection, lists: dict[str, int], block: EntityBlock, version_id: int) -> int | None:
    """The id of the entity a creating block (create, or create-or-update) made when its id was free, or ``None``
    when the block needs the full rules (an update only, a missing id or label, an unknown list, an id taken)."""
    if not (block.create and block.uuid and block.label and block.dataset in lists):
        return None
    return _insert(conn, lists[block.dataset], block, version_id)


def _insert(conn: Connection, dataset_id: int, block: EntityBlock, version_id: int) -> int | None:
    """Create the block's entity at version 1 unless its id is taken (then ``None``)."""
    return queries.insert_new_entity(
        conn,
        dataset_id,
        block.uuid,
        block.label,
        block.properties,
        area_code(block.properties),
        geometry_ewkt(block.properties),
        version_id,
    )


def _apply(conn: Connection, dataset_id: int, block: EntityBlock, submission_id: int, version_id: int) -> int:
    if block.uuid is None:
        raise _Skip(block.problem or "the entity has no id")
    existing = queries.entity_for_update(conn, dataset_id, block.uuid)
    if existing is not None and existing.deleted_at is not None:
        raise _Skip(f"entity {block.uuid} was deleted")
    if existing is None:
        if not block.create:
            raise _Skip(f"there is no entity {block.uuid} in list '{block.dataset}' to update")
        if not block.label:
            raise _Skip("a new entity needs a label")
        created = _insert(conn, dataset_id, block, version_id)
        assert created is not None  # the id was free under the lock just taken
        return created
    if not block.update and existing.created_by != submission_id:
        raise _Skip(f"an entity with id {block.uuid} already exists in list '{block.dataset}'")
    properties = {**existing.properties, **block.properties}
    conflict = None
    if block.update and block.base_version is not None and block.base_version < existing.version:
        conflict = _conflict(conn, existing, block)
    queries.update_entity(
        conn,
        existing.id,
        version=existing.version + 1,
        label=block.label or existing.label,
        properties=properties,
        area_code=area_code(properties),
        geometry_ewkt=geometry_ewkt(properties),
        base_version=block.base_version if block.update else None,
        conflict=conflict or existing.conflict,
        submission_version_id=version_id,
    )
    return existing.id


def _conflict(conn: Connection, existing, block: EntityBlock) -> str:
    """``hard`` when the label or a property this update sets changed after its base version, else ``soft``."""
    base = queries.entity_version(conn, existing.id, block.base_version)
    if base is None:
        return "hard"
    changed = {
        k for k in {*base.properties, *existing.properties} if base.properties.get(k) != existing.properties.get(k)
    }
    touched = set(block.properties)
    if block.label and base.label != existing.label:
        changed.add("label")
        touched.add("label")
    return "hard" if changed & touched else "soft"


# --- writes by a user (ODK Central's POST/PATCH of an entity) -------------------------------------------------


@dataclass(frozen=True)
class EntityWrite:
    """What a user asks to write: the entity's ``uuid`` (lowercase, no ``uuid:``), its ``label`` (``None``: keep
    it, on an update) and the properties to set (name → text)."""

    uuid: str
    label: str | None
    data: dict[str, str]


def read_entity_json(body: Any, properties: Sequence[str], *, new: bool) -> EntityWrite:
    """An entity from Central's JSON body ``{"uuid", "label", "data": {property: text}}``.

    Central's rules (central-backend ``lib/data/entity.js``, ``extractEntity``): no other keys; a new entity
    needs a label (its uuid is made when absent); a label is non-blank text; every value of ``data`` is text
    and names a property of the list; an update sets a label or data. Beyond Central, the uuid must be a
    UUID (phones' lists name entities by it). Raises :class:`Problem` (``PARAMETER_MISSING``,
    ``BAD_PARAMETER``, ``ENTITY_INVALID``).
    """
    if not isinstance(body, dict):
        raise Problem(ENTITY_INVALID, reason='the body must be a JSON object {"uuid", "label", "data"}')
    unexpected = sorted(set(body) - {"uuid", "label", "data"})
    if unexpected:
        raise Problem(ENTITY_INVALID, reason=f"unexpected keys {', '.join(unexpected)} (expected uuid, label, data)")
    label, data = body.get("label"), body.get("data")
    if label is None and new:
        raise Problem(PARAMETER_MISSING, name="label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise Problem(BAD_PARAMETER, name="label", expected="text that is not blank", value=str(label))
    if data is None and label is None:
        raise Problem(ENTITY_INVALID, reason="no entity data or label given")
    if data is not None and not isinstance(data, dict):
        raise Problem(BAD_PARAMETER, name="data", expected="an object of property names and texts", value=str(data))
    for name, value in (data or {}).items():
        if not isinstance(value, str):
            raise Problem(BAD_PARAMETER, name=name, expected="text", value=str(value))
        if name not in properties:
            raise Problem(ENTITY_INVALID, reason=f"the entity list has no property '{name}'")
    return EntityWrite(_entity_uuid(body.get("uuid")) if new else "", label, dict(data or {}))


def _entity_uuid(value: Any) -> str:
    if value is None or value == "":
        return str(uuid_module.uuid4())
    text = value.removeprefix("uuid:") if isinstance(value, str) else ""
    try:
        return str(uuid_module.UUID(text))
    except ValueError:
        raise Problem(BAD_PARAMETER, name="uuid", expected="a UUID", value=str(value)) from None


def within(entity_area: str | None, scope: str | None) -> bool:
    """Whether a user whose area is ``scope`` (``None``: every area) may write an entity of ``entity_area``:
    it must lie in their area. An entity without an area is seen by every phone, so only users of every
    area may write one."""
    return scope is None or (entity_area is not None and entity_area.startswith(scope))


def _check_area(entity_area: str | None, scope: str | None) -> None:
    if not within(entity_area, scope):
        raise Problem(OUTSIDE_AREA, asked=entity_area or "(none)", scope=scope)


def _state(label: str, version: int, properties: Mapping[str, str]) -> dict[str, Any]:
    return {"label": label, "version": version, "properties": dict(properties)}


def create_by_user(
    conn: Connection, dataset_id: int, entity: EntityWrite, *, user_id: int, user_agent: str | None, scope: str | None
) -> int:
    """Create an entity written by a user (not a submission), with the rules of entity blocks: its area from
    the ``tambon``/``amphoe``/``province`` properties, its ``geometry`` property kept as PostGIS geometry,
    version 1, a new change number (phones' lists change). The area must be in the user's ``scope``
    (``OUTSIDE_AREA``); a uuid the list has (even deleted) is ``ENTITY_EXISTS``. Writes an ``entity.create``
    entry in the audit log. Returns the entity's id."""
    area = area_code(entity.data)
    _check_area(area, scope)
    label = entity.label or ""
    created = queries.insert_new_entity(
        conn,
        dataset_id,
        entity.uuid,
        label,
        entity.data,
        area,
        geometry_ewkt(entity.data),
        None,
        user_id=user_id,
        user_agent=user_agent,
    )
    if created is None:
        deleted = any(r.deleted for r in queries.deleted_states(conn, dataset_id, [entity.uuid]))
        raise Problem(
            ENTITY_EXISTS,
            name=queries.dataset_name(conn, dataset_id),
            uuid=entity.uuid,
            deleted=" (deleted)" if deleted else "",
            deleted_th=" (ถูกลบแล้ว)" if deleted else "",
        )
    audit_log.record(
        conn, user_id, "entity.create", "entity", created, area_code=area, after=_state(label, 1, entity.data)
    )
    return created


def update_by_user(
    conn: Connection,
    dataset_id: int,
    entity_uuid: str,
    entity: EntityWrite,
    *,
    base_version: str | None,
    force: bool,
    user_id: int,
    user_agent: str | None,
    scope: str | None,
) -> int:
    """Update an entity as a user (Central's ``PATCH …/entities/<uuid>?baseVersion=N`` or ``?force=true``):
    the given properties replace the entity's, the others stay; the label when given; a new version row,
    based on the current version, and a new change number. Area and geometry are recomputed as for entity
    blocks. Raises ``ENTITY_NOT_FOUND`` (missing or deleted), ``ENTITY_OUTSIDE_AREA`` (another area's),
    ``ENTITY_VERSION_CONFLICT`` (``base_version`` is not the current version and not ``force``: Central's
    rule), ``OUTSIDE_AREA`` (the entity, before or after, is not in ``scope``). Writes an ``entity.update``
    entry in the audit log. Returns the entity's id."""
    existing = queries.entity_for_update(conn, dataset_id, entity_uuid)
    seen = existing is not None and (scope is None or existing.area_code is None or within(existing.area_code, scope))
    if existing is None or existing.deleted_at is not None:
        raise Problem(ENTITY_NOT_FOUND, uuid=entity_uuid, name=queries.dataset_name(conn, dataset_id))
    if not seen:
        raise Problem(ENTITY_OUTSIDE_AREA, uuid=entity_uuid, name=queries.dataset_name(conn, dataset_id), scope=scope)
    _check_area(existing.area_code, scope)
    if not force and base_version != str(existing.version):
        raise Problem(ENTITY_VERSION_CONFLICT, uuid=entity_uuid, current=existing.version, provided=base_version)
    properties = {**existing.properties, **entity.data}
    area = area_code(properties)
    _check_area(area, scope)
    label = entity.label or existing.label
    queries.update_entity(
        conn,
        existing.id,
        version=existing.version + 1,
        label=label,
        properties=properties,
        area_code=area,
        geometry_ewkt=geometry_ewkt(properties),
        base_version=existing.version,
        conflict=existing.conflict,
        submission_version_id=None,
        user_id=user_id,
        user_agent=user_agent,
    )
    audit_log.record(
        conn,
        user_id,
        "entity.update",
        "entity",
        existing.id,
        area_code=area,
        before=_state(existing.label, existing.version, existing.properties),
        after=_state(label, existing.version + 1, properties),
    )
    return existing.id
