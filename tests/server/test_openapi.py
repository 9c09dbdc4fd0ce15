"""The JSON API and ODK Central's API against their OpenAPI description (``server/openapi.yaml``), with
schemathesis: every request it generates, valid or not, gets an answer of a documented status whose body matches
the schema, and never a server error. The JSON API is called with Basic; Central's routes (tag ``central``) with
a bearer token of ``POST /v1/sessions``, against a database holding a form with submissions and an entity list
with an entity."""

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

from khoknongna.publishing import publish_form
from khoknongna.settings import Settings
from tests.conftest import SUPERVISOR as USER
from tests.conftest import SUPERVISOR_PASSWORD as PASSWORD
from tests.server.test_central_entities import register_plot
from tests.small_forms import HOUSEHOLD, household

SPEC = Path(__file__).resolve().parents[2] / "server" / "openapi.yaml"
schema = schemathesis.openapi.from_path(SPEC)
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)
#: The instanceID of the description's examples (``components/parameters/instanceId``), sent first.
EXAMPLE_INSTANCE = schema.raw_schema["components"]["parameters"]["instanceId"]["schema"]["example"]

JSON_API_PATHS = {
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


@pytest.fixture
def api_app(app: Flask, supervisor: tuple[str, str]) -> Flask:
    app.extensions["knn"].settings.allow_basic_over_http = True  # schemathesis speaks Basic, not Digest
    return app


def test_the_description_is_served_without_signing_in(app: Flask) -> None:
    response = app.test_client().get("/v1/openapi.json")

    assert response.status_code == 200
    assert response.json == schema.raw_schema
    assert set(response.json["paths"]) > JSON_API_PATHS


def test_the_description_covers_every_route_of_centrals_api(app: Flask) -> None:
    described = {
        (path, method.upper())
        for path, operations in schema.raw_schema["paths"].items()
        for method, operation in operations.items()
        if "central" in operation.get("tags", [])
    }
    routes = {
        (_openapi_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("central.") and not rule.rule.endswith(".svc/")  # the same as without "/"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert described == routes


def _openapi_path(rule: str) -> str:
    """A Flask rule as the description names it (``<int:project_id>`` → ``{projectId}``, …)."""
    names = {"project_id": "projectId", "xml_form_id": "xmlFormId", "instance_id": "instanceId", "name": "name"}
    for flask_name, openapi_name in names.items():
        rule = rule.replace(f"<int:{flask_name}>", f"{{{openapi_name}}}").replace(
            f"<{flask_name}>", f"{{{openapi_name}}}"
        )
    # the file name of an attachment and the entity's uuid keep their names
    rule = rule.replace("/attachments/{name}", "/attachments/{filename}")
    return rule.replace("<uuid>", "{uuid}").replace("<table>", "{table}").replace("<token>", "{token}")


@schema.exclude(tag="central").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_of_the_json_api_is_documented_and_never_a_server_error(case, api_app: Flask) -> None:
    case.operation.schema.app = api_app  # requests go through the WSGI app
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    response = case.call(app=api_app, headers={"Authorization": f"Basic {token}"})

    case.validate_response(response, checks=CHECKS)


@pytest.fixture
def central_app(
    app: Flask, settings: Settings, supervisor: tuple[str, str], plot_survey, supervise
) -> tuple[Flask, str]:
    """The app with the household form and three submissions (the first of them the description's example
    instanceID), and the plot survey with one registered plot in the entity list ``plots``; and a bearer token
    of the department supervisor."""
    services = app.extensions["knn"]
    publish_form(services.engine, services.blobs, settings, "household.xml", HOUSEHOLD)
    client = app.test_client()
    token = _token(app)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    for n, instance_id in enumerate((EXAMPLE_INSTANCE, None, None)):
        xml = household(f"Household {n}", 30 + n, ["Nok"], instance_id)
        sent = client.post("/v1/projects/1/forms/household/submissions", data=xml.encode(), headers=headers)
        assert sent.status_code == 200, sent.json
    register_plot(supervise)
    return app, token


def _token(app: Flask) -> str:
    answer = app.test_client().post("/v1/sessions", json={"email": USER, "password": PASSWORD})
    assert answer.status_code == 200, answer.json
    return answer.json["token"]


@schema.include(tag="central").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_of_centrals_api_is_documented_and_never_a_server_error(
    case, central_app: tuple[Flask, str]
) -> None:
    app, token = central_app
    case.operation.schema.app = app
    response = case.call(app=app, headers={"Authorization": f"Bearer {token}"})

    case.validate_response(response, checks=CHECKS)
