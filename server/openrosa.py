"""OpenRosa routes for ODK Collect: form list, form download, manifest and media, submission.

The blueprint is registered three times, so a phone can be pointed at any of:

* ``http://host:port`` (project 1, user name and password),
* ``http://host:port/v1/projects/<id>`` (ODK Central's layout, user name and password),
* ``http://host:port/v1/key/<token>/projects/<id>`` (an app user; the secret is in the URL).

Every URL the server writes is absolute and keeps the prefix the request came in with; Collect adds
``?deviceID=…`` to all of them, which changes nothing here.

Source: OpenRosa form list, form submission and authentication APIs; PROTOCOL notes §1–§8.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, request, send_file, url_for
from sqlalchemy import Row

from khoknongna.file_names import safe_name
from khoknongna.ingest import Accepted, Submitter, accept_submission
from khoknongna.problems import (
    DATASET_NOT_FOUND,
    FORM_NOT_FOUND,
    KEY_INVALID,
    MEDIA_NOT_FOUND,
    PROJECT_NOT_FOUND,
    Problem,
)
from khoknongna.server import openrosa_xml
from khoknongna.server.auth import Actor, authenticate
from khoknongna.server.context import content_disposition, db, services
from khoknongna.server.uploads import read_upload
from khoknongna.storage import entities as entity_queries
from khoknongna.storage import forms as form_queries
from khoknongna.storage.projects import DEFAULT_PROJECT_ID, project_name

bp = Blueprint("openrosa", __name__)

#: (registration name, URL prefix) of the three ways in.
PREFIXES = (
    ("openrosa", ""),
    ("openrosa_project", "/v1/projects/<int:project_id>"),
    ("openrosa_key", "/v1/key/<token>/projects/<int:project_id>"),
)
XML_TYPE = "text/xml; charset=utf-8"


def openrosa_headers(response: Response) -> Response:
    """Headers Collect expects on OpenRosa answers (it rejects a form list without the version header)."""
    response.headers["X-OpenRosa-Version"] = "1.0"
    response.headers["X-OpenRosa-Accept-Content-Length"] = str(services().settings.accept_content_length)
    return response  # Date is added by the WSGI server (gunicorn, werkzeug)


@bp.url_value_preprocessor
def _pull_prefix(endpoint: str | None, values: dict | None) -> None:
    values = values if values is not None else {}
    g.project_id = values.pop("project_id", DEFAULT_PROJECT_ID)
    g.token = values.pop("token", None)


@bp.url_defaults
def _keep_prefix(endpoint: str, values: dict) -> None:
    if request.blueprint != "openrosa" and "project_id" not in values:
        values["project_id"] = g.project_id
    if request.blueprint == "openrosa_key" and "token" not in values:
        values["token"] = g.token


@bp.after_request
def _add_headers(response: Response) -> Response:
    return openrosa_headers(response)


def _actor() -> Actor:
    """Authenticate, then check that the project exists and that the actor may use it."""
    actor = authenticate(g.token)
    if not actor.may_use_project(g.project_id):
        raise Problem(KEY_INVALID)
    known = services().known_projects
    if g.project_id not in known:
        if project_name(db(), g.project_id) is None:
            raise Problem(PROJECT_NOT_FOUND, project_id=g.project_id)
        known.add(g.project_id)  # projects are never deleted
    return actor


def _url(endpoint: str, **values: str) -> str:
    return url_for(f"{request.blueprint}.{endpoint}", _external=True, **values)


def _xml(body: bytes, status: int = 200) -> Response:
    response = Response(body, status=status, content_type=XML_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/formList")
def form_list() -> Response:
    """The current version of every form (or of ``?formID=``), with its hash and absolute URLs."""
    _actor()
    rows = form_queries.current_versions(db(), g.project_id, request.args.get("formID"))
    entries = [
        openrosa_xml.FormListEntry(
            form_id=r.xml_form_id,
            name=r.title,
            version=r.version,
            hash_md5=r.xform_md5,
            download_url=_url("form_xml", form_id=r.xml_form_id),
            manifest_url=_url("form_manifest", form_id=r.xml_form_id) if r.attachment_count else None,
        )
        for r in rows
    ]
    return _xml(openrosa_xml.form_list(entries))


def _current_version(form_id: str):
    rows = form_queries.current_versions(db(), g.project_id, form_id)
    if not rows:
        raise Problem(FORM_NOT_FOUND, form_id=form_id)
    return rows[0]


def _send_blob(sha256: str, md5: str, content_type: str, download_name: str) -> Response:
    response = send_file(
        services().blobs.open(sha256),
        mimetype=content_type,
        as_attachment=True,
        download_name=safe_name(download_name),
        etag=md5,
        conditional=True,
        max_age=None,
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/forms/<form_id>.xml")
def form_xml(form_id: str) -> Response:
    """The XForm bytes whose MD5 the form list gives."""
    _actor()
    return form_xml_answer(form_id)


def form_xml_answer(form_id: str) -> Response:
    """The current XForm of ``form_id`` in project ``g.project_id`` (404 ``FORM_NOT_FOUND``); also used by the
    web form's routes, which authenticate by session instead."""
    version = _current_version(form_id)
    return _send_blob(version.xform_sha256, version.xform_md5, XML_TYPE, f"{form_id}.xml")


def _entity_lists(names: list[str]) -> dict[str, Row]:
    """The entity lists of the project among media file ``names``, by file name (``plots.csv``)."""
    stems = [n[: -len(".csv")] for n in names if n.endswith(".csv")]
    return {f"{k}.csv": v for k, v in entity_queries.datasets_named(db(), g.project_id, stems).items()}


@bp.get("/forms/<form_id>/manifest")
def form_manifest(form_id: str) -> Response:
    """The media files of the current version that have been uploaded, and its entity lists (whose hash
    is the list's version token as the asking actor sees it)."""
    actor = _actor()
    version = _current_version(form_id)
    media = form_queries.attachments(db(), version.form_version_id)
    lists = _entity_lists([m.name for m in media])
    entries = []
    for m in media:
        download_url = _url("form_media", form_id=form_id, name=m.name)
        if m.name in lists:
            dataset = lists[m.name]
            entries.append(
                openrosa_xml.MediaEntry(
                    filename=m.name,
                    hash_md5=entity_queries.list_token(db(), dataset.id, actor.area_code),
                    download_url=download_url,
                    integrity_url=_url("entity_integrity", name=dataset.name),
                )
            )
        elif m.blob_sha256:
            entries.append(openrosa_xml.MediaEntry(filename=m.name, hash_md5=m.md5, download_url=download_url))
    return _xml(openrosa_xml.manifest(entries))


@bp.get("/forms/<form_id>/attachments/<name>")
def form_media(form_id: str, name: str) -> Response:
    """One media file of the current version; an entity list is generated for the asking actor's area."""
    return form_media_answer(form_id, name, _actor())


def form_media_answer(form_id: str, name: str, actor: Actor) -> Response:
    """Media file ``name`` of the current version of ``form_id`` in project ``g.project_id``, an entity list
    narrowed to ``actor``'s area (404 ``MEDIA_NOT_FOUND``)."""
    version = _current_version(form_id)
    media = form_queries.attachment(db(), version.form_version_id, name)
    if media is not None and (dataset := _entity_lists([name]).get(name)) is not None:
        return _entity_list_csv(dataset, actor)
    if media is None or media.blob_sha256 is None:
        raise Problem(MEDIA_NOT_FOUND, form_id=form_id, name=name)
    return _send_blob(media.blob_sha256, media.md5, media.content_type or "application/octet-stream", name)


def _entity_list_csv(dataset: Row, actor: Actor) -> Response:
    token = entity_queries.list_token(db(), dataset.id, actor.area_code)
    if token in request.if_none_match:
        response = Response(status=304)
    else:
        chunks = entity_queries.list_csv(services().engine, dataset.id, dataset.properties, actor.area_code)
        response = Response(chunks, content_type="text/csv; charset=utf-8")
        response.headers["Content-Disposition"] = content_disposition("attachment", f"{dataset.name}.csv")
    response.set_etag(token)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/datasets/<name>/integrity")
def entity_integrity(name: str) -> Response:
    """Which of ``?id=a,b`` are deleted, for Collect to drop entities it made offline (PROTOCOL §5).

    Ids the list has never had are left out: they may be offline entities not sent yet.
    """
    _actor()
    dataset = entity_queries.datasets_named(db(), g.project_id, [name]).get(name)
    if dataset is None:
        raise Problem(DATASET_NOT_FOUND, name=name)
    ids = [i.strip().lower() for i in request.args.get("id", "").split(",") if i.strip()]
    states = entity_queries.deleted_states(db(), dataset.id, ids) if ids else []
    return _xml(openrosa_xml.integrity((s.uuid, s.deleted) for s in states))


@bp.route("/submission", methods=["GET", "HEAD"])
def submission_probe() -> Response:
    """Collect's HEAD before each upload: 204 and the size it may send per POST."""
    _actor()
    return Response(status=204)


@bp.post("/submission")
def submission() -> Response:
    """One POST of a submission (the whole of it, or one part of a split upload)."""
    db(autocommit=True)  # a new submission is stored by one statement, its own transaction (khoknongna.ingest)
    accepted = receive_submission(_actor())
    return _xml(openrosa_xml.response(accepted.message), status=201)


def receive_submission(actor: Actor) -> Accepted:
    """Ingest the submission (or the part of a split one) POSTed to this request for project ``g.project_id``,
    sent by ``actor``; raises the problem ingest raises. The web form's routes use it too."""
    svc = services()
    upload = read_upload(request, svc.settings, svc.blobs)
    submitter = Submitter(
        user_id=actor.id if actor.kind == "user" else None,
        app_user_id=actor.id if actor.kind == "app_user" else None,
        device_id=request.args.get("deviceID"),
        user_agent=request.headers.get("User-Agent"),
    )
    try:
        return accept_submission(db(), svc.blobs, svc.form_versions, g.project_id, upload, submitter)
    finally:
        for received in upload.files.values():
            received.staged.close()  # no-op for the ones ingest committed
