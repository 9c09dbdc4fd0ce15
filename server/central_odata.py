"""ODK Central's OData feed of a form, for Excel, Power BI, ruODK and pyodk's ``get_table``:
``…/forms/<xmlFormId>.svc`` (service document), ``….svc/$metadata`` (EDMX) and ``….svc/<table>`` (rows).

Registered on ``central_api.bp`` (same sign-in, area narrowing and problems). ``$top``, ``$skip``, ``$count``,
``$filter`` (see :mod:`khoknongna.odata`), ``$select``, ``$expand=*``, ``$wkt=true`` (Central's WKT, altitude
kept), ``$wkt=2d`` (beyond Central: WKT without altitude) and ``$skiptoken``. The
rows of ``Submissions`` come oldest first from a server-side cursor and are written as they are read, so a
form of a million submissions pages in flat memory; ``@odata.nextLink`` carries a ``$skiptoken`` naming the
last row sent, so every row comes once even while new ones arrive. Repeat tables page by ``$skip``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode

from flask import Response, request, stream_with_context

from khoknongna import odata
from khoknongna.problems import BAD_PARAMETER, FORM_NOT_FOUND, Problem
from khoknongna.server.central_api import _FORM, bp, form_fields, form_row, submission_row, user
from khoknongna.server.context import db, services
from khoknongna.storage import central as queries

T = TypeVar("T")


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


def odata_response(body: Any) -> Response:
    """A JSON body with OData's version header."""
    response = Response(_dumps(body), content_type="application/json")
    response.headers["OData-Version"] = "4.0"
    return response


def select_list() -> list[str] | None:
    """The names of ``$select`` (``None`` without one)."""
    return [s.strip() for s in request.args.get("$select", "").split(",") if s.strip()] or None


def geojson_response(features: Iterator[dict[str, Any]]) -> Response:
    """``$format=geojson``: a FeatureCollection written feature by feature."""
    response = Response(stream_with_context(odata.geojson_bytes(features)), content_type="application/geo+json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(_FORM + ".svc/$metadata")
def metadata(project_id: int, xml_form_id: str) -> Response:
    _, root = _tree(project_id, xml_form_id)
    response = Response(odata.metadata_xml(xml_form_id, root), content_type="application/xml")
    response.headers["OData-Version"] = "4.0"
    return response


#: ``$top``/``$skip`` above this mean "every row" / "past the last row" (a LIMIT beyond bigint is an error).
MOST_ROWS = 2**62


def natural(name: str) -> int | None:
    """``?<name>=`` as a whole number ≥ 0 (ASCII digits only), at most :data:`MOST_ROWS`; ``None`` without one."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()):
        raise Problem(BAD_PARAMETER, name=name, expected="a whole number ≥ 0", value=value)
    return min(int(value), MOST_ROWS)


def primed(rows: Iterator[T]) -> Iterator[T]:
    """``rows`` with the first one read now, while the request can still be answered with an error: a query the
    database refuses (a ``$filter`` value out of range) is then a 400 rather than a stream broken off."""
    first = next(rows, _NOTHING)
    return iter(()) if first is _NOTHING else itertools.chain((first,), rows)  # type: ignore[arg-type]


_NOTHING = object()


def true(name: str) -> bool:
    return request.args.get(name, "").lower() == "true"


def next_link(**changes: str | None) -> str:
    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update({k: v for k, v in changes.items() if v is not None})
    return f"{request.base_url}?{urlencode(args)}"


@bp.get(_FORM + ".svc/<table>")
def table(project_id: int, xml_form_id: str, table: str) -> Response:
    """The rows of ``Submissions`` or of a repeat table, as OData JSON."""
    found, root = _tree(project_id, xml_form_id)
    single = re.fullmatch(r"Submissions\('(.+)'\)", table)
    if single:  # one row: Submissions('uuid:…')
        table = "Submissions"
        submission_row(project_id, xml_form_id, unquote(single[1]))
    if table not in odata.tables(root):
        raise Problem(FORM_NOT_FOUND, form_id=f"{xml_form_id}.svc/{table}")
    top, skip = natural("$top"), natural("$skip") or 0
    condition, params = odata.parse_filter(request.args.get("$filter"))
    if single:
        condition, params = f"(s.instance_id = :single) AND ({condition})", {**params, "single": unquote(single[1])}
    wkt = request.args.get("$wkt", "").lower()
    options = odata.Options(
        table=table, expand=request.args.get("$expand") == "*", wkt=wkt in ("true", "2d"), flat=wkt == "2d"
    )
    chosen = select_list()
    after = None
    token = request.args.get("$skiptoken")
    if token:
        after = queries.submission_id_of(db(), found.form_pk, odata.read_skiptoken(token))
        if after is None:
            raise Problem(BAD_PARAMETER, name="$skiptoken", expected="a token of this feed", value=token)
        skip = 0
    area = user().area_code
    count = None
    if true("$count"):
        count = queries.odata_count(db(), found.form_pk, area, queries.FeedQuery(condition, params))
    state: dict[str, str | None] = {"next": None}
    if request.args.get("$format") == "geojson" and table == "Submissions":
        query = queries.FeedQuery(condition, params, after, skip, top)
        return geojson_response(primed(_features(cursor(found.form_pk, area, query), root, options, chosen)))
    if table == "Submissions":
        query = queries.FeedQuery(condition, params, after, skip, None if top is None else top + 1)
        rows = _submission_rows(cursor(found.form_pk, area, query), root, options, top, chosen, state)
    else:
        feed = cursor(found.form_pk, area, queries.FeedQuery(condition, params))
        rows = _repeat_rows(feed, root, options, top, skip, state)
    rows = primed(rows)
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
    feed: Iterator[Any],
    root: odata.Node,
    options: odata.Options,
    top: int | None,
    chosen: list[str] | None,
    state: dict[str, str | None],
) -> Iterator[dict[str, Any]]:
    last = None
    for sent, row in enumerate(feed):
        if top is not None and sent >= top:
            state["next"] = next_link(**{"$skip": None, "$skiptoken": odata.skiptoken(last)})
            break
        yield odata.select(odata.rows_of(root, row, options)[0], chosen)
        last = row.instance_id


def _repeat_rows(
    feed: Iterator[Any],
    root: odata.Node,
    options: odata.Options,
    top: int | None,
    skip: int,
    state: dict[str, str | None],
) -> Iterator[dict[str, Any]]:
    seen = sent = 0
    for row in feed:
        for item in odata.rows_of(root, row, options):
            seen += 1
            if seen <= skip:
                continue
            if top is not None and sent >= top:
                state["next"] = next_link(**{"$skip": str(skip + top)})
                return
            yield item
            sent += 1


def _features(
    feed: Iterator[Any], root: odata.Node, options: odata.Options, chosen: list[str] | None
) -> Iterator[dict[str, Any]]:
    """The submissions of ``feed`` as GeoJSON features on their first geo field, or the one ``$geometry`` names."""
    named = request.args.get("$geometry")
    geo = odata.first_geo_field(root, named)
    if named and geo is None:
        raise Problem(BAD_PARAMETER, name="$geometry", expected="a geopoint, geotrace or geoshape field", value=named)
    for row in feed:
        properties = odata.select(odata.rows_of(root, row, options)[0], chosen)
        yield odata.feature(row.instance_id, None if geo is None else odata.geometry_of(row, geo), properties)
