"""The JSON API against its own OpenAPI description (``server/openapi.yaml``), with schemathesis: every
request it generates, valid or not, gets an answer of a documented status whose body matches the schema,
and never a server error."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import SUPERVISOR as USER
from tests.conftest import SUPERVISOR_PASSWORD as PASSWORD

SPEC = Path(__file__).resolve().parents[2] / "server" / "openapi.yaml"
schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture
def api_app(app: Flask, supervisor: tuple[str, str]) -> Flask:
    app.extensions["knn"].settings.allow_basic_over_http = True  # schemathesis speaks Basic, not Digest
    return app


def test_the_description_is_served_without_signing_in(app: Flask) -> None:
    response = app.test_client().get("/v1/openapi.json")

    assert response.status_code == 200
    assert response.json == schema.raw_schema
    assert set(response.json["paths"]) == {
        "/v1/projects/{project_id}/plots/{plot}/checks",
        "/v1/projects/{project_id}/forms/{form_id}/submissions/{instance_id}/checks",
        "/v1/projects/{project_id}/coverage",
        "/v1/projects/{project_id}/forms/{form_id}/submissions/{instance_id}/signals",
        "/v1/projects/{project_id}/forms/{form_id}/submissions/{instance_id}/signals/{rule}/explanation",
        "/v1/projects/{project_id}/signals",
        "/v1/projects/{project_id}/reports/monthly.{format}",
        "/v1/projects/{project_id}/reports/monthly/signoffs",
        "/v1/projects/{project_id}/reports/monthly/signoffs/{revision}.{format}",
        "/v1/projects/{project_id}/reports/weekly.{format}",
        "/v1/projects/{project_id}/reports/weekly-summary.xlsx",
        "/v1/projects/{project_id}/reports/province",
        "/v1/projects/{project_id}/reports/missing-plots.xlsx",
    }


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_of_the_json_api_is_documented_and_never_a_server_error(case, api_app: Flask) -> None:
    case.operation.schema.app = api_app  # requests go through the WSGI app
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    response = case.call(app=api_app, headers={"Authorization": f"Basic {token}"})

    case.validate_response(
        response,
        checks=(not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance),
    )
