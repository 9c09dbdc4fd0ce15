"""ODK Central's entity lists (datasets): ``GET /v1/projects/<id>/datasets``, ``…/datasets/<name>``,
``…/datasets/<name>/entities`` (``pyodk``'s ``client.entities.list()``), ``…/entities/<uuid>``, and the OData
feed ``…/datasets/<name>.svc`` with ``Entities`` (``$top``, ``$skip``, ``$count``, ``$select``) and, beyond
Central, ``$format=geojson`` on the entities' geometry.

Registered on ``central_api.bp`` (same sign-in and problems). Narrowed as phones' lists are: a user sees the
entities of their area and those without one; another area's entity is Central's 403.1.

Writes, as Central: ``POST …/datasets/<name>/entities`` (``{"uuid", "label", "data"}``; pyodk's
``client.entities.create``) and ``PATCH …/entities/<uuid>?baseVersion=N`` or ``?force=true``
(``client.entities.update``), by supervisors and admins within their area, with the rules of entity blocks
(``khoknongna.entities``) and an entry in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, request, stream_with_context

from khoknongna import central, odata
from khoknongna import entities as entity_rules
from khoknongna.problems import DATASET_NOT_FOUND, ENTITY_NOT_FOUND, ENTITY_OUTSIDE_AREA, ROLE_FORBIDDEN, Problem
from khoknongna.server.central_api import _json, _project, bp, extended, user
from khoknongna.server.central_odata import (
    geojson_response,
    natural,
    next_link,
    odata_response,
    primed,
    select_list,
    true,
)
from khoknongna.server.context import db, services
from khoknongna.storage import central as queries

_DATASET = "/projects/<int:project_id>/datasets/<name>"


def _dataset(project_id: int, name: str) -> Any:
    _project(project_id)
    found = queries.datasets(db(), project_id, user().area_code, name)
    if not found:
        raise Problem(DATASET_NOT_FOUND, name=name)
    return found[0]


@bp.get("/projects/<int:project_id>/datasets")
def datasets(project_id: int) -> Response:
    _project(project_id)
    rows = queries.datasets(db(), project_id, user().area_code)
    return _json([central.dataset_json(r, project_id, extended=extended()) for r in rows])


@bp.get(_DATASET)
def dataset(project_id: int, name: str) -> Response:
    found = _dataset(project_id, name)
    return _json(central.dataset_json(found, project_id, extended=extended(), detail=True))


@bp.get(_DATASET + "/entities")
def entities(project_id: int, name: str) -> Response:
    """The live entities of the list in the user's area, oldest first (metadata, as Central lists them)."""
    found = _dataset(project_id, name)
    return _json([central.entity_json(r, data=False) for r in _cursor(found.id, user().area_code)])


@bp.get(_DATASET + "/entities/<uuid>")
def entity(project_id: int, name: str, uuid: str) -> Response:
    """One entity with its current data; 404 when the list has none, 403 when it is outside the user's area."""
    found = _dataset(project_id, name)
    rows = list(_cursor(found.id, user().area_code, uuid=uuid))
    if not rows and any(_cursor(found.id, None, uuid=uuid)):
        # Central's 403.1 for another area's entity, as for a submission (central_api.outside_area)
        raise Problem(ENTITY_OUTSIDE_AREA, uuid=uuid, name=name, scope=user().area_code)
    if not rows:
        raise Problem(ENTITY_NOT_FOUND, uuid=uuid, name=name)
    return _json(central.entity_json(rows[0], data=True))


def _may_write() -> None:
    if not user().reviews:
        raise Problem(ROLE_FORBIDDEN, role=user().role, action="change entities", action_th="แก้ไขรายการ")


def _written(dataset_id: int, entity_uuid: str) -> Response:
    db().commit()
    rows = list(_cursor(dataset_id, None, uuid=entity_uuid))
    return _json(central.entity_json(rows[0], data=True))


@bp.post(_DATASET + "/entities")
def create_entity(project_id: int, name: str) -> Response:
    """A new entity, ``{"uuid", "label", "data": {property: text}}`` (the uuid is made when absent); answers
    the entity with its data. ``409.3`` when the list has the uuid; ``403.1`` when its area (its
    tambon/amphoe/province properties) is outside the user's."""
    _may_write()
    found = _dataset(project_id, name)
    entity = entity_rules.read_entity_json(request.get_json(silent=True), list(found.properties), new=True)
    entity_rules.create_by_user(
        db(), found.id, entity, user_id=user().id, user_agent=request.headers.get("User-Agent"), scope=user().area_code
    )
    return _written(found.id, entity.uuid)


@bp.patch(_DATASET + "/entities/<uuid>")
def update_entity(project_id: int, name: str, uuid: str) -> Response:
    """Change an entity: ``{"label"?, "data"?: {property: text}}`` with ``?baseVersion=<current version>``
    (``409.15`` otherwise) or ``?force=true``; answers the entity with its data."""
    _may_write()
    found = _dataset(project_id, name)
    entity = entity_rules.read_entity_json(request.get_json(silent=True), list(found.properties), new=False)
    entity_rules.update_by_user(
        db(),
        found.id,
        uuid,
        entity,
        base_version=request.args.get("baseVersion"),
        force=request.args.get("force") == "true",
        user_id=user().id,
        user_agent=request.headers.get("User-Agent"),
        scope=user().area_code,
    )
    return _written(found.id, uuid)


def _service_url(project_id: int, name: str) -> str:
    return f"{request.host_url.rstrip('/')}{request.script_root}/v1/projects/{project_id}/datasets/{name}.svc"


@bp.get(_DATASET + ".svc")
@bp.get(_DATASET + ".svc/")
def entity_service(project_id: int, name: str) -> Response:
    _dataset(project_id, name)
    body = {
        "@odata.context": f"{_service_url(project_id, name)}/$metadata",
        "value": [{"name": "Entities", "kind": "EntitySet", "url": "Entities"}],
    }
    return odata_response(body)


@bp.get(_DATASET + ".svc/$metadata")
def entity_metadata(project_id: int, name: str) -> Response:
    found = _dataset(project_id, name)
    response = Response(odata.entity_metadata_xml(name, list(found.properties)), content_type="application/xml")
    response.headers["OData-Version"] = "4.0"
    return response


@bp.get(_DATASET + ".svc/Entities")
def entity_table(project_id: int, name: str) -> Response:
    """The entities as OData rows; ``$format=geojson`` gives a FeatureCollection on their geometry."""
    found = _dataset(project_id, name)
    top, skip = natural("$top"), natural("$skip") or 0
    if request.args.get("$filter"):
        raise Problem(odata.ODATA_FILTER, detail="$filter is not taken on entity lists here")
    area = user().area_code
    properties = list(found.properties)
    count = queries.entity_count(db(), found.id, area) if true("$count") else None
    chosen = select_list()
    state: dict[str, str | None] = {"next": None}
    if request.args.get("$format") == "geojson":
        features = (
            odata.feature(row.uuid, row.geojson, odata.select(odata.entity_row(row, properties), chosen))
            for row in _cursor(found.id, area, skip, top)
        )
        return geojson_response(primed(features))

    def rows() -> Iterator[dict[str, Any]]:
        for sent, row in enumerate(_cursor(found.id, area, skip, None if top is None else top + 1)):
            if top is not None and sent >= top:
                state["next"] = next_link(**{"$skip": str(skip + top), "$skiptoken": None})
                break
            yield odata.select(odata.entity_row(row, properties), chosen)

    def footer() -> dict[str, Any]:
        return {"@odata.count": count, "@odata.nextLink": state["next"]}

    context = f"{_service_url(project_id, name)}/$metadata#Entities"
    body = odata.feed_bytes(context, primed(rows()), footer)
    response = Response(stream_with_context(body), content_type="application/json")
    response.headers["OData-Version"] = "4.0"
    response.headers["Cache-Control"] = "no-store"
    return response


def _cursor(
    dataset_id: int, area: str | None, offset: int = 0, limit: int | None = None, uuid: str | None = None
) -> Iterator[Any]:
    """Entities on a connection of their own (a server-side cursor lives in a transaction)."""
    with services().engine.connect() as conn:
        yield from queries.entities(conn, dataset_id, area, uuid, offset=offset, limit=limit)
