"""Web sign-in: a session cookie (Flask-Login over Flask's signed cookie), a CSRF token on every form and
every cookie-authenticated write (Flask-WTF), and the same lockout of wrong passwords as HTTP auth.

The cookie is HttpOnly and SameSite=Lax, Secure when the public URL is https, and lasts
``settings.session_hours`` without use. It names the user and their session generation
(``users.session_generation``), checked against the database on every request: signing out, a new password,
a new role or area and deactivation raise the generation, which ends every session of that user at once, in
every browser, including copies of the cookie. A user whose role no longer allows web pages is signed out.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from flask import Flask, Request, abort, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from wtforms import ValidationError

from khoknongna.server.auth import Actor, user_actor
from khoknongna.server.context import db
from khoknongna.settings import Settings, secret_key
from khoknongna.storage import users as user_queries

login_manager = LoginManager()
csrf = CSRFProtect()


class SessionUser(UserMixin):
    """The signed-in user of a web session; ``actor`` is what routes check roles and areas on."""

    def __init__(self, actor: Actor, generation: int) -> None:
        self.actor = actor
        self.generation = generation

    def get_id(self) -> str:
        return f"{self.actor.id}:{self.generation}"


def session_user(row: Any) -> SessionUser:
    """The session user of an active ``users`` row (``id, username, role, area_code, session_generation``)."""
    return SessionUser(user_actor(row), row.session_generation)


@login_manager.user_loader
def _load(session_id: str) -> SessionUser | None:
    """The user of a session cookie, unless that user is deactivated, has since raised their session generation
    or may no longer read the web pages."""
    user_id, _, generation = session_id.partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None  # a cookie of an older release (a password fingerprint) or a forged one: sign in again
    row = user_queries.user_by_id(db(), int(user_id))
    if row is None or row.session_generation != int(generation):
        return None
    user = session_user(row)
    return user if user.actor.reads_data else None


def end_sessions() -> None:
    """Sign the current user out of every browser: raise their session generation and forget this cookie's
    user. Commits the request's transaction."""
    if current_user.is_authenticated:
        user_queries.end_sessions(db(), current_user.actor.id)
        db().commit()
    logout_user()


def session_actor() -> Actor | None:
    """The actor signed in to this request's web session, or ``None``."""
    return current_user.actor if current_user.is_authenticated else None


def require_reader() -> Actor:
    """The signed-in actor of a page; redirects to the sign-in page when there is none."""
    actor = session_actor()
    if actor is None:
        abort(login_manager.unauthorized())
    return actor


def require_csrf_header() -> None:
    """Check the CSRF token of a write whose body its view streams (a multipart upload): the token must come in
    the ``X-CSRFToken`` header. Flask-WTF's own check reads ``request.form`` first, which would parse, and so
    consume, the whole body before the view gets to it; such views are ``csrf.exempt`` and call this instead.

    Raises ``CSRFError`` (400) when the header is missing or its token is not this session's.
    """
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from None


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened empty without building their signer when the request carries no
    session cookie: every request of ODK Collect, and of scripts using the API."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask, settings: Settings) -> None:
    """Configure sessions and CSRF protection on ``app``; routes that are not web pages are exempted by the
    caller with ``csrf.exempt``."""
    app.secret_key = hmac.new(secret_key(settings).encode(), b"web-session", hashlib.sha256).hexdigest()
    app.session_interface = CookieSessions()
    app.config.update(
        SESSION_COOKIE_NAME="knn_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(settings.public_url or "").startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session it is bound to
        WTF_CSRF_SSL_STRICT=False,  # SameSite and the token protect; Referer is often stripped by proxies
    )
    login_manager.init_app(app)
    login_manager.login_view = "web.signin"
    login_manager.login_message = None
    csrf.init_app(app)
