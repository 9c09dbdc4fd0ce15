"""ODK Central's CSV exports of a form: ``…/forms/<xmlFormId>/submissions.csv.zip`` (every table, and with
``attachments`` not ``false`` the submitted files as ``media/<name>``) and ``…/submissions.csv`` (the root
table alone). Columns as Central names them (:mod:`khoknongna.central_csv`).

Registered on ``central_api.bp`` (same sign-in, area narrowing and problems). ``$filter`` as on the OData
feed, ``groupPaths=false`` for question names without their groups. Written while the submissions are read
from a server-side cursor: memory stays flat however many submissions there are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from flask import Response, request, stream_with_context

from khoknongna import central_csv, odata
from khoknongna.file_names import safe_name
from khoknongna.server.central_api import _FORM, bp, form_fields, form_row, user
from khoknongna.server.central_odata import cursor, primed
from khoknongna.server.context import services
from khoknongna.storage import central as queries


def _selection(project_id: int, xml_form_id: str) -> tuple[Any, list[central_csv.Table], queries.FeedQuery]:
    found = form_row(project_id, xml_form_id)
    condition, params = odata.parse_filter(request.args.get("$filter"))
    group_paths = request.args.get("groupPaths", "").lower() != "false"
    return (
        found,
        central_csv.tables(form_fields(found), xml_form_id, group_paths=group_paths),
        queries.FeedQuery(condition, params),
    )


def _download(body: Iterator[bytes], name: str, media_type: str) -> Response:
    response = Response(stream_with_context(body), content_type=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(_FORM + "/submissions.csv.zip")
def csv_zip(project_id: int, xml_form_id: str) -> Response:
    """Every table of the export in a zip; the submitted files too unless ``?attachments=false``."""
    found, tables, query = _selection(project_id, xml_form_id)
    area = user().area_code
    with_media = request.args.get("attachments", "").lower() != "false"

    def media() -> Iterator[tuple[str, IO[bytes]]]:
        blobs = services().blobs
        with services().engine.connect() as conn:
            for row in queries.export_media(conn, found.form_pk, area, query):
                yield row.name, blobs.open(row.blob_sha256)

    body = central_csv.stream_zip(tables, primed(cursor(found.form_pk, area, query)), media if with_media else None)
    name = safe_name(xml_form_id) + (".zip" if with_media else ".csv.zip")
    return _download(body, name, "application/zip")


@bp.get(_FORM + "/submissions.csv")
def csv_root(project_id: int, xml_form_id: str) -> Response:
    """The root table of the export alone."""
    found, tables, query = _selection(project_id, xml_form_id)
    body = central_csv.stream_csv(tables, primed(cursor(found.form_pk, user().area_code, query)))
    return _download(body, safe_name(xml_form_id) + ".csv", "text/csv; charset=utf-8")
