"""Security headers on every response: a Content-Security-Policy without inline script, no framing
(``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``), ``Referrer-Policy: same-origin``, ``nosniff``,
HSTS when the request came over https (as seen through the trusted proxies), and ``Cache-Control: no-store``
on web pages that do not set their own caching (they hold personal data).

A hook of a few lines rather than Flask-Talisman: Talisman redirects to https and marks the session cookie
Secure by default (the server also runs on plain http on a field laptop, with ``web_session`` deciding the
cookie), and it has no ``Cache-Control``.

Source: OWASP Secure Headers Project; CSP Level 3 (``worker-src``, ``frame-ancestors``); MapLibre GL JS CSP notes
(its worker is a module file next to the library, its controls use ``data:`` images).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from khoknongna.settings import Settings

#: One year, as HSTS preload lists ask.
HSTS_MAX_AGE_S = 31_536_000


def content_security_policy(settings: Settings) -> str:
    """The CSP of every page: scripts, styles and workers from this server only (inline ``style`` attributes
    allowed, inline script not), images also as ``data:``/``blob:``, and the base map's origin
    (``KNN_BASEMAP_URL``) for its tiles."""
    basemap = ""
    if settings.basemap_url:
        parts = urlsplit(settings.basemap_url)
        basemap = f" {parts.scheme}://{parts.netloc}"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{basemap}",
            f"connect-src 'self'{basemap}",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def init_app(app: Flask, settings: Settings, page_blueprints: tuple[str, ...]) -> None:
    """Add the headers to every response of ``app``; ``page_blueprints`` name the blueprints of web pages, which
    get ``Cache-Control: no-store`` unless a route chose its own caching (tiles, photos, the map library)."""
    fixed = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    }

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in fixed.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_S}")
        if request.blueprint in page_blueprints and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
