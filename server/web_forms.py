"""Web forms: fill in (and, for supervisors, edit) a published form in the browser with ODK Web Forms, for
phones without ODK Collect (iPhones) and for district offices keying in paper forms or correcting a submission.

| route | who | answer |
|---|---|---|
| ``GET /f/<xmlFormId>`` | signed-in user | the web form of the form's current version |
| ``GET /v1/key/<token>/projects/<id>/f/<xmlFormId>`` | app user (the token of Collect) | the same page |
| ``GET /v1/key/<token>/projects/<id>/f`` | app user | the list of forms, each a link to its web form |
| ``GET /f/<xmlFormId>/form.xml``, ``/f/<xmlFormId>/attachments/<name>`` | signed-in user | XForm, media, entity lists |
| ``POST /f/<xmlFormId>/submission`` | signed-in user (CSRF token in ``X-CSRFToken``) | as Collect's POST /submission |
| ``GET /submissions/<id>/edit`` | reviewer with the submission in their area | the web form on its answers |
| ``GET /submissions/<id>/instance.xml`` | reviewer with the submission in their area | the current version's XML |
| ``GET /vendor/web-forms/<file>``, ``/vendor/vue/<file>`` | anyone | the libraries from ``settings.vendor_dir`` |

An app user's page reads the XForm, media and the entity list narrowed to their area from the OpenRosa routes
of their token, and sends through the same ``POST /submission`` as Collect; a signed-in user's page uses the
``/f/...`` routes, which share the OpenRosa code (``openrosa.form_xml_answer`` and the others) and narrow the
lists to the user's area. An edit is an ordinary submission carrying ``meta/deprecatedID`` (Web Forms writes
it), so ingest makes the new version and sets the review state to ``edited``; the audit log records
``submission.edit`` with the editor.

The page needs WebAssembly (Web Forms parses XPath with tree-sitter compiled to wasm, inlined in the library):
its Content-Security-Policy adds ``'wasm-unsafe-eval'``, which allows compiling wasm but not ``eval`` of
JavaScript, and the hash of its one inline script, the import map naming Vue's runtime build (no template
compiler, so no ``eval``); fonts as ``data:`` (the library inlines Roboto) and a ``data:`` worker (the photo
resizer, pica, probes ``createImageBitmap`` in one). Web Forms draws geo questions over OpenStreetMap tiles and
cannot be told otherwise: the page's script rewrites each tile's address to the configured base map
(``KNN_BASEMAP_URL``, already in the site's CSP) or to an empty image, and the CSP does not allow OpenStreetMap,
so no field position goes to a third party the administrator did not choose.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Response, abort, g, render_template, request, send_from_directory, url_for
from markupsafe import Markup

from khoknongna.collect_settings import collect_settings, settings_qr
from khoknongna.problems import WEB_FORM_FILE_TOO_LARGE
from khoknongna.server import openrosa, openrosa_xml
from khoknongna.server.auth import Actor, app_user_actor
from khoknongna.server.context import db, services
from khoknongna.server.security_headers import content_security_policy
from khoknongna.server.web import bp
from khoknongna.server.web_review import in_scope, reviewer
from khoknongna.server.web_session import csrf, require_csrf_header, require_reader
from khoknongna.storage import forms as form_queries
from khoknongna.storage import review as review_queries
from khoknongna.storage import submissions as submission_queries
from khoknongna.storage.projects import DEFAULT_PROJECT_ID, project_name
from khoknongna.web_form_support import unsupported_questions

VUE_RUNTIME = "vue.runtime.esm-browser.prod.js"


def _package_dir(name: str) -> Path:
    return services().settings.vendor_dir / name


def _version(name: str) -> str | None:
    """The installed version of npm package ``name``, or ``None`` when it is not installed."""
    package = _package_dir(name) / "package.json"
    return str(json.loads(package.read_text())["version"]) if package.is_file() else None


def _vendor_file(folder: Path, filename: str, what: str) -> Response:
    if not folder.is_dir():
        abort(503, description=f"{what} is not installed in {folder}: run 'npm ci' in the project folder.")
    mimetype = "text/javascript" if filename.endswith(".js") else None
    response = send_from_directory(folder, filename, mimetype=mimetype, max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/vendor/web-forms/<path:filename>")
def web_forms_file(filename: str) -> Response:
    """A file of the installed ``@getodk/web-forms`` ``dist`` folder (its ES modules)."""
    return _vendor_file(_package_dir("@getodk/web-forms") / "dist", filename, "@getodk/web-forms")


@bp.get("/vendor/vue/<path:filename>")
def vue_file(filename: str) -> Response:
    """A file of the installed ``vue`` ``dist`` folder (the page loads its runtime-only ES module build)."""
    return _vendor_file(_package_dir("vue") / "dist", filename, "vue")


def _import_map() -> str:
    """The page's import map: the bare ``vue`` and ``@getodk/web-forms`` imports, versioned for caching."""
    imports = {
        "vue": url_for("web.vue_file", filename=VUE_RUNTIME, v=_version("vue")),
        "@getodk/web-forms": url_for("web.web_forms_file", filename="index.js", v=_version("@getodk/web-forms")),
    }
    return json.dumps({"imports": imports}, separators=(",", ":"))


def _page_policy(import_map: str) -> str:
    """This page's CSP: the site's (with the base map's origin), plus wasm compilation and the import map's hash."""
    digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
    policy = content_security_policy(services().settings)
    policy = policy.replace("script-src 'self'", f"script-src 'self' 'wasm-unsafe-eval' 'sha256-{digest}'", 1)
    policy = policy.replace("worker-src 'self' blob:", "worker-src 'self' blob: data:", 1)
    return f"{policy}; font-src 'self' data:"  # the library inlines its Roboto font


def _current(form_id: str) -> Any:
    rows = form_queries.current_versions(db(), g.project_id, form_id)
    if not rows:
        abort(404)
    return rows[0]


def _xform_bytes(xform_sha256: str) -> bytes:
    with services().blobs.open(xform_sha256) as stream:
        return stream.read()


def _render(form: Any, config: dict[str, Any], *, collect_url: str | None, back: str | None = None) -> Response:
    """The web form page of ``form`` (a current-version row) with the JavaScript's ``config``."""
    missing = _version("@getodk/web-forms") is None or _version("vue") is None
    import_map = _import_map()
    qr = None
    unsupported = unsupported_questions(_xform_bytes(form.xform_sha256))
    if unsupported and collect_url:
        payload = collect_settings(collect_url, project_name(db(), g.project_id) or "", app_user=True)
        qr = settings_qr(payload).png_data_uri(scale=5, border=4)
    settings = services().settings
    config = {
        **config,
        "maxSize": settings.accept_content_length,
        # filled in by the page: {name}, {size}, {limit}
        "tooLarge": {"th": WEB_FORM_FILE_TOO_LARGE.th, "en": WEB_FORM_FILE_TOO_LARGE.en},
        "formId": form.xml_form_id,
        "basemap": settings.basemap_url,
    }
    page = render_template(
        "webform.html",
        form=form,
        config=config,
        import_map=Markup(import_map),  # noqa: S704 - our own JSON, its hash is in the CSP
        unsupported=unsupported,
        collect_qr=qr,
        collect_url=collect_url,
        missing=missing,
        back=back,
    )
    response = Response(page, status=503 if missing else 200, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = _page_policy(import_map)
    return response


# --- signed-in users ----------------------------------------------------------------------------------------


def _session_form(form_id: str) -> tuple[Actor, Any]:
    actor = require_reader()
    g.project_id = DEFAULT_PROJECT_ID
    return actor, _current(form_id)


def _session_config(form_id: str) -> dict[str, Any]:
    return {
        "formUrl": url_for("web.web_form_xml", form_id=form_id),
        "mediaBase": url_for("web.web_form_media", form_id=form_id, name="_").removesuffix("_"),
        "submitUrl": url_for("web.web_form_submission", form_id=form_id),
    }


@bp.get("/f/<form_id>")
def web_form(form_id: str) -> Response:
    """The web form of ``form_id`` for the signed-in user (entity lists narrowed to their area)."""
    _, form = _session_form(form_id)
    return _render(form, _session_config(form_id), collect_url=None)


@bp.get("/f/<form_id>/form.xml")
def web_form_xml(form_id: str) -> Response:
    """The current XForm of ``form_id``, as Collect downloads it."""
    _session_form(form_id)
    return openrosa.form_xml_answer(form_id)


@bp.get("/f/<form_id>/attachments/<name>")
def web_form_media(form_id: str, name: str) -> Response:
    """A media file or entity list of ``form_id``, narrowed to the signed-in user's area."""
    actor, _ = _session_form(form_id)
    return openrosa.form_media_answer(form_id, name, actor)


@bp.post("/f/<form_id>/submission")
@csrf.exempt  # checked from the header below: the site-wide check would read the body before ingest streams it
def web_form_submission(form_id: str) -> Response:
    """A submission (or one part of it) from the web form, sent by the signed-in user through the same ingest
    as Collect; an edit (``meta/deprecatedID``) is recorded in the audit log as ``submission.edit``. The CSRF
    token comes in the ``X-CSRFToken`` header."""
    actor, _ = _session_form(form_id)
    require_csrf_header()
    accepted = openrosa.receive_submission(actor)
    if accepted.outcome.value == "edited":
        conn = db()
        row = review_queries.submission_for_page(conn, g.project_id, accepted.submission_id)
        review_queries.record(
            conn,
            actor.id,
            "submission.edit",
            "submission",
            accepted.submission_id,
            area_code=row.area_code if row is not None else None,
            after={"instance_id": accepted.instance_id, "version_id": accepted.version_id, "by": actor.name},
        )
        conn.commit()
    response = Response(openrosa_xml.response(accepted.message), status=201, content_type=openrosa.XML_TYPE)
    return openrosa.openrosa_headers(response)


def _editable(submission_id: int) -> Any:
    """The submission's page row when the reviewer may edit it; 404 outside their area."""
    actor = reviewer()
    g.project_id = DEFAULT_PROJECT_ID
    row = review_queries.submission_for_page(db(), g.project_id, submission_id)
    if row is None or not in_scope(actor, row.area_code) or row.encrypted:
        abort(404)
    return row


@bp.get("/submissions/<int:submission_id>/edit")
def submission_edit(submission_id: int) -> Response:
    """The web form of the submission's form, opened on the current version's answers and files."""
    row = _editable(submission_id)
    form = _current(row.xml_form_id)
    files = [f.name for f in submission_queries.attachments(db(), row.version_id, arrived=True)]
    config = {
        **_session_config(row.xml_form_id),
        "edit": {
            "instanceUrl": url_for("web.submission_instance", submission_id=submission_id),
            "fileBase": url_for("web.submission_file", submission_id=submission_id, name="_").removesuffix("_"),
            "files": files,
            "done": url_for("web.submission_detail", submission_id=submission_id),
        },
    }
    back = url_for("web.submission_detail", submission_id=submission_id)
    return _render(form, config, collect_url=None, back=back)


@bp.get("/submissions/<int:submission_id>/instance.xml")
def submission_instance(submission_id: int) -> Response:
    """The XML of the submission's current version, for the web form to edit."""
    row = _editable(submission_id)
    xml = review_queries.instance_xml(db(), row.version_id)
    response = Response(xml, content_type=openrosa.XML_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- app users ----------------------------------------------------------------------------------------------


def _app_user(token: str, project_id: int) -> Actor:
    actor = app_user_actor(token)
    if not actor.may_use_project(project_id):
        abort(404)
    g.project_id = project_id
    return actor


@bp.get("/v1/key/<token>/projects/<int:project_id>/f/<form_id>")
def app_user_web_form(token: str, project_id: int, form_id: str) -> Response:
    """The web form for the app user holding ``token``: the XForm, media and the entity list narrowed to their
    area come from their OpenRosa routes, and the submission goes to their ``POST /submission``."""
    _app_user(token, project_id)
    form = _current(form_id)
    base = url_for("openrosa_key.form_list", token=token, project_id=project_id).removesuffix("/formList")
    config = {
        "formUrl": f"{base}/forms/{form_id}.xml",
        "mediaBase": f"{base}/forms/{form_id}/attachments/",
        "submitUrl": f"{base}/submission",
    }
    return _render(form, config, collect_url=request.host_url.rstrip("/") + base)


@bp.get("/v1/key/<token>/projects/<int:project_id>/f")
def app_user_web_forms(token: str, project_id: int) -> str:
    """The forms an app user can fill in the browser, each a link to its web form."""
    actor = _app_user(token, project_id)
    forms = form_queries.current_versions(db(), project_id)
    return render_template("webform_list.html", forms=forms, token=token, project_id=project_id, actor=actor)
