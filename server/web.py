"""The supervisors' web pages: sign-in and sign-out here; the map, the list, the detail pages and the admin
pages register their routes on the same blueprint from their own modules.

Pages speak Thai first with English beside it. Every page needs a signed-in user of a role that reads data
(not ``collector``); what it shows is narrowed to the user's area (``Actor.area_code``).
"""

from __future__ import annotations

import mimetypes
from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_login import login_user
from werkzeug.exceptions import HTTPException

from khoknongna import accounts, wording
from khoknongna.server.auth import THAILAND
from khoknongna.server.context import client_address, db, services
from khoknongna.server.web_session import end_sessions, session_actor, session_user
from khoknongna.storage import users as user_queries

bp = Blueprint("web", __name__)
mimetypes.add_type("application/manifest+json", ".webmanifest")  # the web app manifest of base.html


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("web.home")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers that ask for the old address of the icon get the site's SVG icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/home")
def home() -> Response:
    """The first page after signing in: the map."""
    return redirect(url_for("web.map_page"))


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Response | str:
    """The sign-in form. Wrong passwords count towards the same lockout as HTTP auth; a collector account
    is told it has no web pages."""
    if request.method == "GET":
        if session_actor() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("signin.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    failures = services().signin_failures
    error, status = None, 200
    standing = failures.standing(username, client_address())
    until = standing.locked_until
    row = None
    if until is None:
        row = user_queries.user_by_name(db(), username)
        if row is None or not accounts.verify_password(row.password_hash, password):
            row = None
            until = failures.failed(username, client_address())
            error, status = "wrong", 401
        else:
            failures.succeeded(username, standing)
    if until is not None:
        error, status = datetime.fromtimestamp(until, THAILAND).strftime("%H:%M"), 429
    elif row is not None and row.role == "collector":
        error, status, row = "collector", 403, None
    if row is None:
        return render_template("signin.html", next=request.form.get("next", ""), error=error, username=username), status
    login_user(session_user(row))
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/signout")
def signout() -> Response:
    """End the user's sessions in every browser (a form with its CSRF token, so another site cannot sign a user
    out)."""
    end_sessions()
    return redirect(url_for("web.signin"))


def error_page(error: HTTPException) -> Response:
    """An HTTP error of a page as a page in Thai (not the OpenRosa XML of the phone routes); werkzeug's own
    English descriptions are left out, a route's own (``abort(400, "…")``) is shown below the Thai words."""
    code = error.code or 500
    title_th, text_th, text_en = wording.http_error(code)
    generic = type(error).description
    description = error.description if error.description != generic else None
    body = render_template(
        "error.html",
        code=code,
        name=error.name,
        title_th=title_th,
        text_th=text_th,
        text_en=text_en,
        description=description,
    )
    response = Response(body, status=code, content_type="text/html; charset=utf-8")
    for name, value in error.get_headers():  # e.g. Allow on a 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def is_page_request() -> bool:
    """Whether this request is for a web page (its error is an HTML page): a route of this blueprint, or a
    path no route has (an unknown or mistyped address) outside ``/v1/``, where the API and the project-scoped
    OpenRosa routes live, unless ODK Collect asks (it sends ``X-OpenRosa-Version`` with every request); a known
    path asked with the wrong method keeps the format of its route."""
    if request.blueprint is not None:
        return request.blueprint == bp.name
    if request.path.startswith("/v1/") or "X-OpenRosa-Version" in request.headers:
        return False
    allowed = getattr(request.routing_exception, "valid_methods", None)
    if not allowed:
        return True
    try:
        endpoint, _ = current_app.url_map.bind("").match(request.path, method=allowed[0])
    except HTTPException:
        return True
    return str(endpoint).startswith(f"{bp.name}.")
