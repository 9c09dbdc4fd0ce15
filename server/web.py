"""The supervisors' web pages: sign-in and sign-out here; the map, the list, the detail pages and the admin
pages register their routes on the same blueprint from their own modules.

Pages speak Thai first with English beside it. Every page needs a signed-in user of a role that reads data
(not ``collector``); what it shows is narrowed to the user's area (``Actor.area_code``).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import login_user
from werkzeug.exceptions import HTTPException

from khoknongna import accounts
from khoknongna.server.auth import THAILAND
from khoknongna.server.context import client_address, db, services
from khoknongna.server.web_session import end_sessions, session_actor, session_user
from khoknongna.storage import users as user_queries

bp = Blueprint("web", __name__)


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("web.home")


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
    """An HTTP error of a page as a page (not the OpenRosa XML of the phone routes)."""
    body = render_template("error.html", code=error.code, name=error.name, description=error.description)
    response = Response(body, status=error.code or 500, content_type="text/html; charset=utf-8")
    for name, value in error.get_headers():  # e.g. Allow on a 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
