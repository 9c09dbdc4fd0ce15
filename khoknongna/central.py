"""ODK Central's REST API shapes: the JSON of projects, forms, submissions and comments, a form's fields, problems
as Central numbers them, and the columns of Central's CSV export.

The routes (``server/central_api.py``) read rows with ``storage/central.py`` and answer what these functions
build, so that pyodk, ruODK and scripts written for ODK Central work against this server by changing the base
URL. Central's actors are users and app users in one numbering; here users keep their id and app users are
numbered from :data:`APP_USER_ACTOR_BASE`.

Source: ODK Central API documentation and central-backend (``lib/util/problem.js`` for codes and messages,
``lib/data/schema.js`` for fields, ``lib/data/briefcase.js`` for CSV columns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from khoknongna import problems
from khoknongna.openrosa.xform import FormDefinition
from khoknongna.problems import Problem

#: Actor id of app user 1 (app users and users share Central's actor numbering).
APP_USER_ACTOR_BASE = 1_000_000_000
#: How long a bearer token of ``POST /v1/sessions`` lives (Central: 24 hours).
SESSION_HOURS = 24

# (Central code, Central message) of our problems; the rest keep their own code.
_CENTRAL_PROBLEMS: dict[str, tuple[float, str]] = {}
for _kind in (problems.AUTH_REQUIRED, problems.AUTH_FAILED, problems.TOKEN_INVALID, problems.AUTH_LOCKED):
    _CENTRAL_PROBLEMS[_kind.code] = (401.2, "Could not authenticate with the provided credentials.")
_CENTRAL_PROBLEMS[problems.BASIC_NEEDS_HTTPS.code] = (401.3, "This authentication method is only available over HTTPS")
for _kind in (
    problems.KEY_INVALID,
    problems.USERS_ONLY,
    problems.ROLE_FORBIDDEN,
    problems.OUTSIDE_AREA,
    problems.SUBMISSION_OUTSIDE_AREA,
    problems.ENTITY_OUTSIDE_AREA,
    problems.CSRF_FAILED,
):
    _CENTRAL_PROBLEMS[_kind.code] = (
        403.1,
        "The authentication you provided does not have rights to perform that action.",
    )
for _kind in (
    problems.PROJECT_NOT_FOUND,
    problems.FORM_NOT_FOUND,
    problems.MEDIA_NOT_FOUND,
    problems.PLOT_NOT_FOUND,
    problems.SUBMISSION_NOT_FOUND,
    problems.DATASET_NOT_FOUND,
    problems.ENTITY_NOT_FOUND,
):
    _CENTRAL_PROBLEMS[_kind.code] = (404.1, "Could not find the resource you were looking for.")
_CENTRAL_PROBLEMS[problems.DEPRECATED_NOT_FOUND.code] = (
    404.5,
    "You tried to update an existing submission, but we can't find that submission to update.",
)
_CENTRAL_PROBLEMS[problems.FORM_VERSION_NOT_FOUND.code] = (
    404.6,
    "The form version specified in this submission does not exist.",
)
_CENTRAL_PROBLEMS[problems.SUBMISSION_CONFLICT.code] = (
    409.1,
    "A submission already exists with this ID, but with different XML. Resubmissions to attach additional "
    "multimedia must resubmit an identical xml_submission_file.",
)
_CENTRAL_PROBLEMS[problems.EDIT_OUTDATED.code] = (
    409.9,
    "You tried to update a submission, but the copy you were editing is now out of date. Please get the new "
    "version that has been submitted, and make your edits again.",
)
for _kind in (problems.XML_MALFORMED, problems.XML_FORBIDDEN_CONSTRUCT):
    _CENTRAL_PROBLEMS[_kind.code] = (400.1, "Could not parse the given data as xml.")
_CENTRAL_PROBLEMS[problems.BAD_PARAMETER.code] = (400.8, "Unexpected value.")
_CENTRAL_PROBLEMS[problems.DEPRECATED_ID_REQUIRED.code] = (
    400.19,
    "This PUT endpoint expects a deprecatedID metadata tag pointing at the current version instanceID. I cannot "
    "find that tag in your request.",
)
_CENTRAL_PROBLEMS[problems.PARAMETER_MISSING.code] = (400.2, "")
_CENTRAL_PROBLEMS[problems.ENTITY_INVALID.code] = (400.28, "")
_CENTRAL_PROBLEMS[problems.ENTITY_EXISTS.code] = (409.3, "")
_CENTRAL_PROBLEMS[problems.ENTITY_VERSION_CONFLICT.code] = (409.15, "")
_CENTRAL_PROBLEMS[problems.ODATA_FILTER.code] = (
    400.18,
    "The OData filter expression you provided could not be parsed.",
)


def problem_json(problem: Problem) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, body)`` of a problem as ODK Central answers: ``{"code": 404.1, "message", "details"}``.

    ``details`` carries this server's own code and its English and Thai sentences (more precise than Central's
    generic message). Problems Central has no code for keep ours (``code`` as a number, e.g. ``413.1``).
    """
    central = _CENTRAL_PROBLEMS.get(problem.code)
    code, message = central if central is not None else (float(problem.code), problem.message_en)
    if central is not None and (code == 400.8 or not message):  # Central's message names the value too
        message = problem.message_en
    details = {"problem": problem.code, "reason": problem.message_en, "reason_th": problem.message_th}
    return int(code), {"code": code, "message": message, "details": details}


def iso(value: datetime | None) -> str | None:
    """A timestamp as Central writes them: ISO 8601 in UTC with milliseconds and ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor_id(user_id: int | None, app_user_id: int | None) -> int | None:
    """The Central actor id of a submitter: the user's id, or :data:`APP_USER_ACTOR_BASE` + the app user's id."""
    if user_id is not None:
        return user_id
    return None if app_user_id is None else APP_USER_ACTOR_BASE + app_user_id


def user_json(row: Any) -> dict[str, Any]:
    """``GET /v1/users/current``: ``id, type, displayName, email, createdAt, updatedAt, deletedAt``."""
    return {
        "id": row.id,
        "type": "user",
        "displayName": row.username,
        "email": row.username,
        "createdAt": iso(row.created_at),
        "updatedAt": None,
        "deletedAt": None,
    }


def project_json(row: Any, *, extended: bool) -> dict[str, Any]:
    """A project (``id, name, description, keyId, archived, createdAt, updatedAt, deletedAt``); with
    ``X-Extended-Metadata: true`` also ``forms, appUsers, datasets, lastSubmission``."""
    body: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "description": None,
        "keyId": None,
        "archived": False,
        "createdAt": iso(row.created_at),
        "updatedAt": None,
        "deletedAt": None,
    }
    if extended:
        body.update(
            forms=row.forms,
            appUsers=row.app_users,
            datasets=row.datasets,
            lastSubmission=iso(row.last_submission),
        )
    return body


def form_json(row: Any, project_id: int, *, extended: bool = False) -> dict[str, Any]:
    """A form or one of its published versions, as Central: ``projectId, xmlFormId, name, version, hash (MD5
    of the XForm), keyId, state, enketoId, createdAt, updatedAt, publishedAt``; extended: the submission
    counts and the latest submission."""
    body: dict[str, Any] = {
        "projectId": project_id,
        "xmlFormId": row.xml_form_id,
        "name": row.title or None,
        "version": row.version,
        "hash": row.xform_md5,
        "keyId": None,
        "state": "open",
        "enketoId": None,
        "enketoOnceId": None,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.published_at) if row.published_at != row.created_at else None,
        "publishedAt": iso(row.published_at),
    }
    if extended:
        body.update(
            submissions=row.submissions,
            reviewStates={"received": row.received, "hasIssues": row.has_issues, "edited": row.edited},
            lastSubmission=iso(row.last_submission),
            excelContentType=None,
        )
    return body


def review_state(state: str) -> str | None:
    """Central writes ``null`` for a submission nobody has reviewed yet (our ``received``)."""
    return None if state == "received" else state


def submission_json(row: Any, *, extended: bool = False) -> dict[str, Any]:
    """A submission: ``instanceId, submitterId, deviceId, userAgent, reviewState, instanceName, createdAt,
    updatedAt, deletedAt, currentVersion``; extended: ``submitter {id, type, displayName}``."""
    submitter = actor_id(row.submitter_id, row.app_user_id)
    body: dict[str, Any] = {
        "instanceId": row.instance_id,
        "submitterId": submitter,
        "deviceId": row.device_id,
        "userAgent": row.user_agent,
        "reviewState": review_state(row.review_state),
        "instanceName": row.instance_name,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at) if row.edits else None,
        "deletedAt": None,
        "currentVersion": {
            "instanceId": row.current_instance_id,
            "instanceName": row.instance_name,
            "submitterId": submitter,
            "deviceId": row.device_id,
            "userAgent": row.user_agent,
            "createdAt": iso(row.updated_at),
            "current": True,
        },
    }
    if extended:
        body["submitter"] = {
            "id": submitter,
            "type": "user" if row.submitter_id is not None else "field_key",
            "displayName": row.submitter_name,
        }
        body["formVersion"] = row.form_version
    return body


def version_json(row: Any) -> dict[str, Any]:
    """One version of a submission (``GET …/submissions/<instanceId>/versions``), newest first."""
    return {
        "instanceId": row.instance_id,
        "instanceName": row.instance_name,
        "submitterId": actor_id(row.submitter_id, row.app_user_id),
        "deviceId": row.device_id,
        "userAgent": row.user_agent,
        "createdAt": iso(row.received_at),
        "current": row.current,
    }


def comment_json(row: Any) -> dict[str, Any]:
    """``{"body", "actorId", "createdAt"}`` of a comment."""
    return {"body": row.body, "actorId": row.user_id, "createdAt": iso(row.created_at)}


# --- fields ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A node of the form as Central lists it: ``path`` like ``/group/q``; ``kind`` the bind type, or
    ``structure`` (a group) and ``repeat``."""

    name: str
    path: str
    kind: str
    binary: bool
    select_multiple: bool

    @property
    def structural(self) -> bool:
        return self.kind in ("structure", "repeat")

    def to_json(self, *, odata: bool = False) -> dict[str, Any]:
        name, path = self.name, self.path
        if odata:
            name = odata_name(name)
            path = "/" + "/".join(odata_name(step) for step in path[1:].split("/"))
        return {
            "name": name,
            "path": path,
            "type": self.kind,
            "binary": True if self.binary else None,
            "selectMultiple": True if self.select_multiple else None,
        }


def odata_name(name: str) -> str:
    """An OData identifier from a field name, as Central makes it: a leading character other than a letter or
    ``_`` gets ``_`` before it, and every run of other characters than ``[A-Za-z0-9_]`` becomes ``_``."""
    return re.sub(r"[^a-z0-9_]+", "_", re.sub(r"^([^a-z_])", r"_\1", name, flags=re.I), flags=re.I)


def form_fields(definition: FormDefinition) -> list[Field]:
    """The nodes of a form version in document order: groups (``structure``) and repeats before what they
    hold, then the questions with their bind types.

    Central's rule (central-backend ``lib/data/schema.js``, ``getFormFields``): the fields are the elements of
    the primary instance in document order, each repeat once; a repeat or an element with children (and
    ``meta/entity``) is a container; a leaf has the type of its bind, ``unknown`` when it has none (a
    trigger, ``meta/instanceName`` without a bind), and is a field all the same: a column of the CSV export.
    Attributes (``meta/entity/@create``) are not fields. Definitions stored before the instance's elements
    were kept are read from their binds instead.
    """
    if not definition.nodes:
        return _fields_from_binds(definition)
    parents = {p.rsplit("/", 1)[0] for p in definition.nodes if "/" in p}
    out: list[Field] = []
    for path in definition.nodes:
        name = path.rsplit("/", 1)[-1]
        if path in definition.repeats:
            out.append(Field(name, "/" + path, "repeat", False, False))
        elif path in parents or (name == "entity" and "/meta/entity" in "/" + path):
            out.append(Field(name, "/" + path, "structure", False, False))
        else:
            kind = definition.fields.get(path, "unknown")
            multiple = definition.selects.get(path) == "multiple"
            out.append(Field(name, "/" + path, kind, kind == "binary", multiple))
    return out


def _fields_from_binds(definition: FormDefinition) -> list[Field]:
    """:func:`form_fields` from the binds alone, in their order (a leaf without a bind is missed)."""
    out: list[Field] = []
    seen: set[str] = set()
    containers = {p.rsplit("/", 1)[0] for p in definition.fields if "/" in p} | set(definition.repeats)
    for path, bind in definition.fields.items():
        steps = path.split("/")
        if steps[-1].startswith("@"):  # an attribute (entities' create/update): not a field in Central
            continue
        for depth in range(1, len(steps)):
            parent = "/".join(steps[:depth])
            if parent not in seen:
                seen.add(parent)
                kind = "repeat" if parent in definition.repeats else "structure"
                out.append(Field(steps[depth - 1], "/" + parent, kind, False, False))
        if path in seen:
            continue
        seen.add(path)
        if path in containers:
            kind = "repeat" if path in definition.repeats else "structure"
            out.append(Field(steps[-1], "/" + path, kind, False, False))
        else:
            multiple = definition.selects.get(path) == "multiple"
            out.append(Field(steps[-1], "/" + path, bind, bind == "binary", multiple))
    for repeat in sorted(definition.repeats - seen):  # a repeat with no question in it
        out.append(Field(repeat.rsplit("/", 1)[-1], "/" + repeat, "repeat", False, False))
    return out


# --- entities -------------------------------------------------------------------------------------------


def dataset_json(row: Any, project_id: int, *, extended: bool = False, detail: bool = False) -> dict[str, Any]:
    """An entity list (``GET …/datasets``): ``name, projectId, createdAt, approvalRequired, ownerOnly``;
    extended: ``entities, lastEntity, conflicts``; one list (``…/datasets/<name>``) also ``properties``."""
    body: dict[str, Any] = {
        "name": row.name,
        "projectId": project_id,
        "createdAt": iso(row.created_at),
        "approvalRequired": False,
        "ownerOnly": False,
    }
    if extended:
        body.update(entities=row.entities, lastEntity=iso(row.last_entity), conflicts=0)
    if detail:
        body.update(
            sourceForms=[],
            linkedForms=[],
            properties=[
                {"name": p, "odataName": odata_name(p), "publishedAt": iso(row.created_at), "forms": []}
                for p in row.properties
            ],
        )
    return body


def entity_json(row: Any, *, data: bool) -> dict[str, Any]:
    """An entity (``storage.central.entities``): ``uuid, creatorId, createdAt, updatedAt, deletedAt,
    conflict, currentVersion {label, current, createdAt, creatorId, userAgent, version, baseVersion}``; the
    current version's ``data`` (property name → text) when ``data`` (one entity, as Central)."""
    creator = actor_id(row.creator_user_id, row.creator_app_user_id)
    current: dict[str, Any] = {
        "label": row.label,
        "current": True,
        "createdAt": iso(row.version_created_at or row.created_at),
        "creatorId": actor_id(row.version_user_id, row.version_app_user_id) or creator,
        "userAgent": row.user_agent or "",
        "version": row.version,
        "baseVersion": row.base_version,
        "conflictingProperties": None,
    }
    if data:
        current["data"] = dict(row.properties or {})
    return {
        "uuid": row.uuid,
        "creatorId": creator,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "deletedAt": iso(row.deleted_at),
        "conflict": row.conflict,
        "currentVersion": current,
    }
