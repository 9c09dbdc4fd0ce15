"""The Flask application factory: ``create_app(settings)``."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)
from werkzeug.middleware.proxy_fix import ProxyFix

from khoknongna.areas import area_name
from khoknongna.central import problem_json
from khoknongna.problems import BAD_PARAMETER, DATABASE_UNAVAILABLE, TOO_LARGE, Problem
from khoknongna.server import (
    api,
    central_api,
    central_entities,  # noqa: F401 - registers the entity lists on central_api.bp
    central_export,  # noqa: F401 - registers the CSV exports on central_api.bp
    central_odata,  # noqa: F401 - registers the OData feed on central_api.bp
    health,
    openrosa,
    openrosa_xml,
    security_headers,
    web,
    web_admin,  # noqa: F401 - registers its pages on web.bp
    web_downloads,  # noqa: F401 - registers its pages on web.bp
    web_format,  # noqa: F401 - registers the pages' filters for words and dates on web.bp
    web_forms,  # noqa: F401 - registers the web forms, their data routes and libraries on web.bp
    web_map,  # noqa: F401 - registers the map, its tiles and the map library on web.bp
    web_province,  # noqa: F401 - registers the province page on web.bp
    web_review,  # noqa: F401 - registers its pages on web.bp
    web_session,
)
from khoknongna.server.auth import AuthChallenge, DigestNonces, challenge_headers
from khoknongna.server.context import Services, close_db, services
from khoknongna.server.uploads import drain
from khoknongna.settings import Settings, secret_key
from khoknongna.storage.blobs import open_blob_store
from khoknongna.storage.db import database_unreachable, make_engine
from khoknongna.storage.digest_nonces import NonceCounts
from khoknongna.storage.signin_failures import SignInFailures

logger = logging.getLogger(__name__)


def create_app(settings: Settings, *, engine: Engine | None = None) -> Flask:
    """Build the WSGI application for ``settings``.

    ``settings.database_url`` must name the database (the CLI resolves the private cluster's URL before
    calling this); ``engine`` may be given to share one, as the tests do.
    """
    if engine is None:
        if not settings.database_url:
            raise ValueError("create_app needs settings.database_url; 'khoknongna serve' sets it")
        engine = make_engine(settings.database_url)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions["knn"] = Services(
        settings=settings,
        engine=engine,
        blobs=open_blob_store(settings),
        nonces=DigestNonces(secret_key(settings), settings.nonce_lifetime_s),
        signin_failures=SignInFailures(
            engine,
            settings.lockout_failures,
            settings.lockout_window_s,
            settings.lockout_s,
        ),
        nonce_counts=NonceCounts(engine, settings.nonce_lifetime_s),
    )
    for name, prefix in openrosa.PREFIXES:
        app.register_blueprint(openrosa.bp, name=name, url_prefix=prefix)
    app.register_blueprint(api.bp)
    app.register_blueprint(central_api.bp)
    app.register_blueprint(web.bp)
    web_session.init_app(app, settings)
    security_headers.init_app(app, settings, page_blueprints=(web.bp.name,))
    web_session.csrf.exempt(openrosa.bp)
    web_session.csrf.exempt(api.bp)  # checks the token itself when a request is signed in by cookie
    web_session.csrf.exempt(central_api.bp)  # signed in by an Authorization header only
    app.add_template_global(area_name, "area_label")
    app.add_url_rule("/v1/openapi.json", "openapi", api.openapi, methods=["GET"])
    app.add_url_rule("/", "index", _index)
    app.add_url_rule("/healthz", "healthz", health.healthz, methods=["GET"])
    app.register_error_handler(Problem, _problem_response)
    app.register_error_handler(HTTPException, _http_error_response)
    app.register_error_handler(DBAPIError, _database_error_response)
    app.teardown_appcontext(close_db)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
            x_prefix=settings.trusted_proxies,
        )
    return app


def _index() -> Response:
    return Response(
        "This is an ODK server for the Khok Nong Na programme.\n"
        "นี่คือเซิร์ฟเวอร์ ODK ของโครงการโคก หนอง นา\n\n"
        "Enter this address in ODK Collect: Settings > Project settings > Server.\n"
        "ใส่ที่อยู่นี้ใน ODK Collect: ตั้งค่า > ตั้งค่าโครงการ > เซิร์ฟเวอร์\n\n"
        f"Supervisors sign in at / ผู้ตรวจสอบเข้าสู่ระบบที่ {request.host_url}signin\n",
        content_type="text/plain; charset=utf-8",
    )


def _problem_response(problem: Problem) -> Response:
    if request.blueprint == central_api.bp.name:
        return _central_problem(problem)
    if request.blueprint == api.bp.name:
        response = jsonify(code=problem.code, message=problem.message_en, message_th=problem.message_th)
        response.status_code = problem.status
    else:
        response = Response(
            openrosa_xml.response(problem.message, error=True), status=problem.status, content_type=openrosa.XML_TYPE
        )
    if isinstance(problem, AuthChallenge):
        for name, value in challenge_headers(stale=problem.stale):
            response.headers.add(name, value)
        if problem.retry_after is not None:
            response.headers["Retry-After"] = str(problem.retry_after)
    if problem.status >= 500:
        logger.error("%s %s: %s", request.method, request.path, problem.message_en)
    _drain_body(response)
    return openrosa.openrosa_headers(response)


def _drain_body(response: Response) -> None:
    """Let the client receive an early answer to an upload (see ``uploads.drain``): read the rest of the body
    when it is no larger than the accept content length, else ask for the connection to be closed."""
    if request.method in ("POST", "PUT", "PATCH") and not drain(request, services().settings.accept_content_length):
        response.headers["Connection"] = "close"


def _central_problem(problem: Problem) -> Response:
    """A problem as ODK Central writes it; the OData feed also challenges for Basic/Digest so that Excel and
    Power BI ask for a password."""
    status, body = problem_json(problem)
    response = jsonify(body)
    response.status_code = status
    if isinstance(problem, AuthChallenge) and ".svc" in request.path:
        for name, value in challenge_headers(stale=problem.stale):
            response.headers.add(name, value)
    if isinstance(problem, AuthChallenge) and problem.retry_after is not None:
        response.headers["Retry-After"] = str(problem.retry_after)
    return response


def _database_error_response(error: DBAPIError) -> Response:
    if isinstance(error, DataError):  # a value of the request the database cannot take: a NUL, a number too large
        logger.warning("%s %s: value refused by the database: %s", request.method, request.path, error.orig)
        return _problem_response(
            Problem(BAD_PARAMETER, name="request", expected="text without NUL characters, numbers in range", value="…")
        )
    if database_unreachable(error):
        logger.error("%s %s: database unreachable: %s", request.method, request.path, error.orig)
        return _problem_response(Problem(DATABASE_UNAVAILABLE))
    logger.error("%s %s: database error", request.method, request.path, exc_info=error)
    return _http_error_response(InternalServerError())


def _central_miss(error: HTTPException) -> bool:
    """Whether ``error`` is a path under ``/v1/`` that no route takes (``/v1/projects/null``), or takes with
    another method (405): Central's clients are answered in Central's JSON, as Central does. App-user links
    (``/v1/key/…``) and requests that carry ``X-OpenRosa-Version`` (Collect sends it on every request) are
    Collect's: XML."""
    return (
        isinstance(error, (NotFound, MethodNotAllowed))
        and request.path.startswith("/v1/")
        and not request.path.startswith("/v1/key/")
        and "X-OpenRosa-Version" not in request.headers
    )


def _http_error_response(error: HTTPException) -> Response:
    if error.response is None and web.is_page_request():
        return web.error_page(error)
    if isinstance(error, RequestEntityTooLarge):
        return _problem_response(Problem(TOO_LARGE, limit=request.max_content_length))
    if request.blueprint == central_api.bp.name or _central_miss(error):
        response = jsonify(code=float(f"{error.code}.1"), message=error.description)
        response.status_code = error.code or 500
        return _with_error_headers(response, error)
    message = f"{error.code} {error.name}: {error.description}"
    response = Response(
        openrosa_xml.response(message, error=True), status=error.code or 500, content_type=openrosa.XML_TYPE
    )
    return openrosa.openrosa_headers(_with_error_headers(response, error))


def _with_error_headers(response: Response, error: HTTPException) -> Response:
    """``response`` with the headers ``error`` carries besides its type (e.g. ``Allow`` on a 405)."""
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
