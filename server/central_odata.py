"""ODK Central's OData feed of a form, for Excel, Power BI, ruODK and pyodk's ``get_table``:
``…/forms/<xmlFormId>.svc`` (service document), ``….svc/$metadata`` (EDMX) and ``….svc/<table>`` (rows).

Registered on ``central_api.bp`` (same sign-in, area narrowing and problems). ``$top``, ``$skip``, ``$count``,
``$filter`` (see :mod:`khoknongna.odata`), ``$select``, ``$expand=*``, ``$wkt=true`` and ``$skiptoken``. The
rows of ``Submissions`` come oldest first from a server-side cursor and are written as they are read, so a
form of a million submissions pages in flat memory; ``@odata.nextLink`` carries a ``$skiptoken`` naming the
last row sent, so every row comes once even while new ones arrive. Repeat tables page by ``$skip``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from flask import Response, request, stream_with_context

from khoknongna import odata
from khoknongna.problems import BAD_PARAMETER, FORM_NOT_FOUND, Problem
from khoknongna.server.central_api import _FORM, bp, form_fields, form_row, user
from khoknongna.server.context import db, services
from khoknongna.storage import central as queries


def _service_url(project_id: int, xml_form_id: str) -> str:
    return f"{request.host_url.rstrip('/')}{request.script_root}/v1/projects/{project_id}/forms/{xml_form_id}.svc"


def _tree(project_id: int, xml_form_id: str) -> tuple[Any, odata.Node]:
    found = form_row(project_id, xml_form_id)
    return found, odata.tree(form_fields(found))


@bp.get(_FORM + ".svc")
@bp.get(_FORM + ".svc/")
def service_document(project_id: int, xml_form_id: str) -> Response:
    _, root = _tree(project_id, xml_form_id)
    response = Response(
        _dumps(odata.service_document(root, _service_url(project_id, xml_form_id))), content_type="application/json"
    )
    response.headers["OData-Version"] = "4.0"
    return response


def _dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


@bp.get(_FORM + ".svc/$metadata")
def metadata(project_id: int, xml_form_id: str) -> Response:
    _, root = _tree(project_id, xml_form_id)
    response = Response(odata.metadata_xml(xml_form_id, root), content_type="application/xml")
    response.headers["OData-Version"] = "4.0"
    return response


def _natural(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise Problem(BAD_PARAMETER, name=name, expected="a whole number ≥ 0", value=value)
    return int(value)


def _true(name: str) -> bool:
    return request.args.get(name, "").lower() == "true"


def _next_link(**changes: str | None) -> str:
    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update({k: v for k, v in changes.items() if v is not None})
    return f"{request.base_url}?{urlencode(args)}"


@bp.get(_FORM + ".svc/<table>")
def table(project_id: int, xml_form_id: str, table: str) -> Response:
    """The rows of ``Submissions`` or of a repeat table, as OData JSON."""
    found, root = _tree(project_id, xml_form_id)
    if table not in odata.tables(root):
        raise Problem(FORM_NOT_FOUND, form_id=f"{xml_form_id}.svc/{table}")
    top, skip = _natural("$top"), _natural("$skip") or 0
    condition, params = odata.parse_filter(request.args.get("$filter"))
    options = odata.Options(table=table, expand=request.args.get("$expand") == "*", wkt=_true("$wkt"))
    chosen = [s.strip() for s in request.args.get("$select", "").split(",") if s.strip()] or None
    after = None
    token = request.args.get("$skiptoken")
    if token:
        after = queries.submission_id_of(db(), found.form_pk, odata.read_skiptoken(token))
        if after is None:
            raise Problem(BAD_PARAMETER, name="$skiptoken", expected="a token of this feed", value=token)
        skip = 0
    area = user().area_code
    count = None
    if _true("$count"):
        count = queries.odata_count(db(), found.form_pk, area, queries.FeedQuery(condition, params))
    state: dict[str, str | None] = {"next": None}
    if table == "Submissions":
        query = queries.FeedQuery(condition, params, after, skip, None if top is None else top + 1)
        rows = _submission_rows(found.form_pk, area, query, root, options, top, chosen, state)
    else:
        rows = _repeat_rows(found.form_pk, area, queries.FeedQuery(condition, params), root, options, top, skip, state)
    context = f"{_service_url(project_id, xml_form_id)}/$metadata#{table}"

    def footer() -> dict[str, Any]:
        return {"@odata.count": count, "@odata.nextLink": state["next"]}

    response = Response(stream_with_context(odata.feed_bytes(context, rows, footer)), content_type="application/json")
    response.headers["OData-Version"] = "4.0"
    response.headers["Cache-Control"] = "no-store"
    return response


def cursor(form_pk: int, area: str | None, query: queries.FeedQuery) -> Iterator[Any]:
    """Rows of the feed on a connection of their own (a server-side cursor lives in a transaction)."""
    with services().engine.connect() as conn:
        yield from queries.odata_rows(conn, form_pk, area, query)


def _submission_rows(
    form_pk: int,
    area: str | None,
    query: queries.FeedQuery,
    root: odata.Node,
    options: odata.Options,
    top: int | None,
    chosen: list[str] | None,
    state: dict[str, str | None],
) -> Iterator[dict[str, Any]]:
    last = None
    for sent, row in enumerate(cursor(form_pk, area, query)):
        if top is not None and sent >= top:
            state["next"] = _next_link(**{"$skip": None, "$skiptoken": odata.skiptoken(last)})
            break
        yield odata.select(odata.rows_of(root, row, options)[0], chosen)
        last = row.instance_id


def _repeat_rows(
    form_pk: int,
    area: str | None,
    query: queries.FeedQuery,
    root: odata.Node,
    options: odata.Options,
    top: int | None,
    skip: int,
    state: dict[str, str | None],
) -> Iterator[dict[str, Any]]:
    seen = sent = 0
    for row in cursor(form_pk, area, query):
        for item in odata.rows_of(root, row, options):
            seen += 1
            if seen <= skip:
                continue
            if top is not None and sent >= top:
                state["next"] = _next_link(**{"$skip": str(skip + top)})
                return
            yield item
            sent += 1
