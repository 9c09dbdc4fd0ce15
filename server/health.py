"""``GET /healthz``: 200 when the database and the blob store answer, 503 otherwise (JSON, no sign-in)."""

from __future__ import annotations

from flask import Response, jsonify

from khoknongna.health import check_services
from khoknongna.server.context import services


def healthz() -> tuple[Response, int]:
    svc = services()
    checks = check_services(svc.engine, svc.blobs)
    healthy = all(state == "ok" for state in checks.values())
    response = jsonify(status="ok" if healthy else "unavailable", **checks)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if healthy else 503
