"""ODK Central's REST API, the part pyodk, ruODK and scripts written for Central use: sessions, the current user,
projects, forms (versions, fields, attachments), submissions (list, one, XML, attachments, versions, review
state, comments, new ones as raw XML) and the CSV export.

Signed in by a bearer token of ``POST /v1/sessions`` (or Digest/Basic as the other routes), as a user whose role
reads data. Everything is narrowed to the user's area as on the web pages: lists and counts leave other areas
out, and another area's submission is Central's ``403.1`` (a 404 on the web pages). Errors are Central's JSON
problems (``{"code": 404.1, "message", "details"}``), rendered by ``server/app.py`` with
:func:`khoknongna.central.problem_json`.

The XForm (``…/forms/<xmlFormId>.xml``) and a form attachment (``…/forms/<xmlFormId>/attachments/<name>``)
are served by the OpenRosa routes, which have the same paths in Central and accept the same tokens.

See ``docs/central-api.md``. Source: ODK Central API documentation (https://docs.getodk.org/central-api/).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from flask import Blueprint, Response, g, jsonify, request, send_file

from khoknongna import accounts, central, review
from khoknongna.ingest import Submitter, Upload, accept_submission
from khoknongna.openrosa.instance import InstanceHeader, read_header
from khoknongna.openrosa.xform import FormDefinition
from khoknongna.openrosa.xml import parse_xml
from khoknongna.problems import (
    BAD_PARAMETER,
    DEPRECATED_ID_REQUIRED,
    EDIT_OUTDATED,
    FORM_NOT_FOUND,
    MEDIA_NOT_FOUND,
    PROJECT_NOT_FOUND,
    ROLE_FORBIDDEN,
    SUBMISSION_NOT_FOUND,
    SUBMISSION_OUTSIDE_AREA,
    TOKEN_INVALID,
    USERS_ONLY,
    Problem,
)
from khoknongna.server.auth import Actor, authenticate, password_user
from khoknongna.server.context import db, services
from khoknongna.storage import api_sessions
from khoknongna.storage import central as queries
from khoknongna.storage import forms as form_queries
from khoknongna.storage import review as review_queries
from khoknongna.storage import submissions as submission_queries

bp = Blueprint("central", __name__, url_prefix="/v1")

#: The largest id a row can have (PostgreSQL ``integer``); a larger one in a URL names nothing.
MAX_ID = 2**31 - 1

_FORM = "/projects/<int:project_id>/forms/<xml_form_id>"
_SUBMISSION = _FORM + "/submissions/<instance_id>"


def _json(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_request
def _signed_in() -> None:
    if request.endpoint == "central.create_session":
        return
    actor = authenticate(None)
    if actor.kind != "user":
        raise Problem(USERS_ONLY)
    if not actor.reads_data:
        raise Problem(ROLE_FORBIDDEN, role=actor.role, action="read data", action_th="อ่านข้อมูล")
    g.central_user = actor
    project_id = (request.view_args or {}).get("project_id")
    if project_id is not None and project_id > MAX_ID:  # beyond the database's integer: no such project
        raise Problem(PROJECT_NOT_FOUND, project_id=project_id)


def user() -> Actor:
    """The signed-in user of this request."""
    return g.central_user


def extended() -> bool:
    """Whether the client asked for Central's extended metadata (``X-Extended-Metadata: true``)."""
    return request.headers.get("X-Extended-Metadata", "").lower() == "true"


# --- sessions -------------------------------------------------------------------------------------------


@bp.post("/sessions")
def create_session() -> Response:
    """``{"email", "password"}`` (``email`` is the user name here) → ``{"token", "createdAt", "expiresAt"}``.
    Wrong passwords count towards the lockout like every other sign-in."""
    body = request.get_json(silent=True)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("email"), str)
        or not isinstance(body.get("password"), str)
    ):
        raise Problem(BAD_PARAMETER, name="body", expected='JSON {"email": …, "password": …}', value="")
    found = password_user(body["email"], body["password"])
    token = secrets.token_urlsafe(48)
    expires = datetime.now(UTC) + timedelta(hours=central.SESSION_HOURS)
    created = api_sessions.create(db(), accounts.token_sha256(token), found.id, found.session_generation, expires)
    api_sessions.forget_expired(db())
    db().commit()
    return _json(
        {"token": token, "createdAt": central.iso(created.created_at), "expiresAt": central.iso(created.expires_at)}
    )


@bp.delete("/sessions/<token>")
def end_session(token: str) -> Response:
    """End an API session: the token itself, or ``current`` for the one this request is signed in with."""
    if token == "current":  # noqa: S105 - Central's name for the session of this request
        auth = request.authorization
        token = (auth.token or "") if auth is not None and auth.type == "bearer" else ""
    if not api_sessions.end(db(), accounts.token_sha256(token)):
        db().rollback()
        raise Problem(TOKEN_INVALID)
    db().commit()
    return _json({"success": True})


@bp.get("/users/current")
def current_user() -> Response:
    """The signed-in user (pyodk checks a cached token with this)."""
    return _json(central.user_json(queries.user(db(), user().id)))


# --- projects and forms ---------------------------------------------------------------------------------


@bp.get("/projects")
def projects() -> Response:
    """Every project (Central lists those the user may see: here every user sees every project)."""
    return _json([central.project_json(p, extended=extended()) for p in queries.projects(db())])


def _project(project_id: int) -> Any:
    found = queries.projects(db(), project_id)
    if not found:
        raise Problem(PROJECT_NOT_FOUND, project_id=project_id)
    return found[0]


@bp.get("/projects/<int:project_id>")
def project(project_id: int) -> Response:
    return _json(central.project_json(_project(project_id), extended=extended()))


@bp.get("/projects/<int:project_id>/forms")
def forms(project_id: int) -> Response:
    _project(project_id)
    rows = queries.forms(db(), project_id, user().area_code)
    return _json([central.form_json(r, project_id, extended=extended()) for r in rows])


def form_row(project_id: int, xml_form_id: str) -> Any:
    """The form with its current version and counts in the user's area; 404 when there is none."""
    found = queries.forms(db(), project_id, user().area_code, xml_form_id)
    if not found:
        raise Problem(FORM_NOT_FOUND, form_id=xml_form_id)
    return found[0]


def form_fields(form: Any) -> list[central.Field]:
    """The fields of the form's current version."""
    return central.form_fields(FormDefinition.from_json(form.definition))


@bp.get(_FORM)
def form(project_id: int, xml_form_id: str) -> Response:
    return _json(central.form_json(form_row(project_id, xml_form_id), project_id, extended=extended()))


@bp.get(_FORM + "/versions")
def form_versions(project_id: int, xml_form_id: str) -> Response:
    """The published versions, newest first."""
    found = form_row(project_id, xml_form_id)
    return _json([central.form_json(v, project_id) for v in queries.form_versions(db(), found.form_pk)])


@bp.get(_FORM + "/fields")
def form_fields_route(project_id: int, xml_form_id: str) -> Response:
    """The form's nodes in document order; ``?odata=true`` gives the OData names of the feed."""
    odata = request.args.get("odata", "").lower() == "true"
    return _json([f.to_json(odata=odata) for f in form_fields(form_row(project_id, xml_form_id))])


@bp.get(_FORM + "/attachments")
def form_attachments(project_id: int, xml_form_id: str) -> Response:
    """The media files the current version expects: ``name, type, exists, blobExists, datasetExists, hash``."""
    found = form_row(project_id, xml_form_id)
    out = []
    for a in form_queries.attachments(db(), found.form_version_id):
        out.append(
            {
                "name": a.name,
                "type": _attachment_type(a.name),
                "exists": a.blob_sha256 is not None,
                "blobExists": a.blob_sha256 is not None,
                "datasetExists": False,
                "hash": a.md5,
                "updatedAt": None,
            }
        )
    return _json(out)


def _attachment_type(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower()
    if suffix in ("jpg", "jpeg", "png", "gif", "svg", "webp"):
        return "image"
    if suffix in ("mp3", "wav", "ogg", "m4a", "amr"):
        return "audio"
    if suffix in ("mp4", "3gp", "webm", "mov"):
        return "video"
    return "file"


# --- submissions ----------------------------------------------------------------------------------------


def submission_row(project_id: int, xml_form_id: str, instance_id: str) -> tuple[Any, Any]:
    """``(form, submission)`` rows; 404 when either is missing, 403 when the submission is outside the user's
    area (:func:`outside_area`)."""
    found_form = form_row(project_id, xml_form_id)
    found = queries.submissions(db(), found_form.form_pk, user().area_code, instance_id)
    if not found:
        if queries.submissions(db(), found_form.form_pk, None, instance_id):
            outside_area(xml_form_id, instance_id)
        raise Problem(SUBMISSION_NOT_FOUND, form_id=xml_form_id, instance_id=instance_id)
    return found_form, found[0]


def outside_area(xml_form_id: str, instance_id: str) -> NoReturn:
    """Refuse another area's submission with Central's ``403.1``, as Central refuses an actor without rights on
    it: its clients (pyodk, ruODK) read a 404 as "no such submission". The web pages answer 404 instead."""
    raise Problem(SUBMISSION_OUTSIDE_AREA, form_id=xml_form_id, instance_id=instance_id, scope=user().area_code)


@bp.get(_FORM + "/submissions")
def submissions(project_id: int, xml_form_id: str) -> Response:
    """The form's submissions in the user's area, newest first."""
    found = form_row(project_id, xml_form_id)
    rows = queries.submissions(db(), found.form_pk, user().area_code)
    return _json([central.submission_json(r, extended=extended()) for r in rows])


def _may_send() -> None:
    if not user().reviews and user().role != "admin":
        raise Problem(ROLE_FORBIDDEN, role=user().role, action="send submissions", action_th="ส่งข้อมูล")


def _header(xml_form_id: str, xml: bytes) -> InstanceHeader:
    """The identifiers of a raw XML body; ``400.8`` when it is of another form than the URL's."""
    header = read_header(parse_xml(xml), xml)
    if header.form_id != xml_form_id:
        raise Problem(
            BAD_PARAMETER, name="form id", expected=f"'{xml_form_id}' (the form of the URL)", value=header.form_id
        )
    return header


def _ingest(project_id: int, form: Any, xml: bytes) -> Response:
    """The raw XML through the same ingest as ODK Collect's; answers the submission."""
    svc = services()
    submitter = Submitter(
        user_id=user().id, device_id=request.args.get("deviceID"), user_agent=request.headers.get("User-Agent")
    )
    accepted = accept_submission(db(), svc.blobs, svc.form_versions, project_id, Upload(xml=xml), submitter)
    rows = queries.submissions(db(), form.form_pk, None, accepted.instance_id)
    if not rows:  # an edit: the submission keeps the instanceID it was first sent as
        first = queries.submission_of_version(db(), form.form_pk, None, accepted.instance_id)
        rows = queries.submissions(db(), form.form_pk, None, first)
    return _json(central.submission_json(rows[0]))


@bp.post(_FORM + "/submissions")
def create_submission(project_id: int, xml_form_id: str) -> Response:
    """A new submission (or an edit naming ``deprecatedID``) as the raw XML body, through the same ingest as
    ODK Collect's; answers the submission. An edit must be of a submission in the user's area."""
    _may_send()
    found = form_row(project_id, xml_form_id)
    xml = request.get_data()
    header = _header(xml_form_id, xml)
    if (
        header.deprecated_id
        and queries.submission_of_version(db(), found.form_pk, user().area_code, header.deprecated_id) is None
        and queries.submission_of_version(db(), found.form_pk, None, header.deprecated_id) is not None
    ):
        outside_area(xml_form_id, header.deprecated_id)
    return _ingest(project_id, found, xml)


@bp.put(_SUBMISSION)
def edit_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    """An edit, as Central: the raw XML of the new version, with a new instanceID and ``meta/deprecatedID``
    naming the current version (``400.19`` without one, ``409.9`` when it names an older one). The review
    state becomes ``edited``; answers the submission."""
    _may_send()
    found_form, found = submission_row(project_id, xml_form_id, instance_id)
    xml = request.get_data()
    header = _header(xml_form_id, xml)
    if not header.deprecated_id:
        raise Problem(DEPRECATED_ID_REQUIRED)
    if header.deprecated_id != found.current_instance_id:
        raise Problem(EDIT_OUTDATED, instance_id=header.deprecated_id)
    return _ingest(project_id, found_form, xml)


@bp.get(_SUBMISSION)
def submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    _, found = submission_row(project_id, xml_form_id, instance_id)
    return _json(central.submission_json(found, extended=extended()))


@bp.get(_SUBMISSION + ".xml")
def submission_xml(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    """The current version's XML as received."""
    _, found = submission_row(project_id, xml_form_id, instance_id)
    response = Response(queries.submission_xml(db(), found.version_id), content_type="application/xml")
    response.headers["Cache-Control"] = "no-store"
    return response


def _reviewer_input(
    project_id: int, xml_form_id: str, instance_id: str, key: str, action: tuple[str, str]
) -> tuple[Any, Any]:
    """The submission a reviewer acts on and ``key`` of the request's JSON object (``None`` without it). Raises
    ``ROLE_FORBIDDEN`` for a role that does not review (``action``: what it tried, in English and Thai), the
    problems of :func:`submission_row` for a submission it cannot see."""
    if not user().reviews:
        raise Problem(ROLE_FORBIDDEN, role=user().role, action=action[0], action_th=action[1])
    _, found = submission_row(project_id, xml_form_id, instance_id)
    body = request.get_json(silent=True)
    return found, body.get(key) if isinstance(body, dict) else None


@contextmanager
def _review_change(name: str, expected: str) -> Iterator[None]:
    """Commit what the block changes; a :class:`khoknongna.review.ReviewError` rolls it back and is answered as
    ``BAD_PARAMETER`` about field ``name`` (``expected`` says what it takes)."""
    try:
        yield
    except review.ReviewError as exc:
        db().rollback()
        raise Problem(BAD_PARAMETER, name=name, expected=expected, value=str(exc)) from None
    db().commit()


@bp.patch(_SUBMISSION)
def set_review_state(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    """``{"reviewState": "approved" | "hasIssues" | "rejected"}``; answers the submission."""
    found, state = _reviewer_input(project_id, xml_form_id, instance_id, "reviewState", ("review", "ตรวจสอบข้อมูล"))
    with _review_change("reviewState", "approved, hasIssues or rejected"):
        # Central takes a state without a reason; this server keeps one for hasIssues and rejected.
        review.set_state(db(), found.id, user().id, str(state), reason="" if state == "approved" else f"({state})")
    _, found = submission_row(project_id, xml_form_id, instance_id)
    return _json(central.submission_json(found))


def _listed(
    project_id: int, xml_form_id: str, instance_id: str, rows: Callable[[Any, int], list], shape: Callable[[Any], Any]
) -> Response:
    """The ``rows`` (a query by submission id) of one submission, each as Central writes it (``shape``)."""
    _, found = submission_row(project_id, xml_form_id, instance_id)
    return _json([shape(r) for r in rows(db(), found.id)])


@bp.get(_SUBMISSION + "/versions")
def versions(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    return _listed(project_id, xml_form_id, instance_id, queries.versions, central.version_json)


@bp.get(_SUBMISSION + "/attachments")
def attachments(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    """``[{"name", "exists"}]`` of the files the current version names."""
    _, found = submission_row(project_id, xml_form_id, instance_id)
    return _json(
        [
            {"name": a.name, "exists": a.blob_sha256 is not None}
            for a in submission_queries.attachments(db(), found.version_id)
        ]
    )


@bp.get(_SUBMISSION + "/attachments/<name>")
def attachment(project_id: int, xml_form_id: str, instance_id: str, name: str) -> Response:
    _, found = submission_row(project_id, xml_form_id, instance_id)
    match = submission_queries.attachments(db(), found.version_id, arrived=True, name=name)
    if not match:
        raise Problem(MEDIA_NOT_FOUND, form_id=xml_form_id, name=name)
    response = send_file(
        services().blobs.open(match[0].blob_sha256),
        mimetype=match[0].content_type or "application/octet-stream",
        as_attachment=True,
        download_name=name,
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get(_SUBMISSION + "/comments")
def comments(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    return _listed(project_id, xml_form_id, instance_id, review_queries.comments_of, central.comment_json)


@bp.post(_SUBMISSION + "/comments")
def add_comment(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    """``{"body": "…"}``; answers the comment."""
    found, text = _reviewer_input(project_id, xml_form_id, instance_id, "body", ("comment", "แสดงความคิดเห็น"))
    with _review_change("body", "1 to 2000 characters"):
        comment_id = review.comment(db(), found.id, user().id, text if isinstance(text, str) else "")
    return _json(central.comment_json(queries.comment(db(), comment_id)))
