"""Errors of the web pages are pages in Thai (HTML, with English beside it); the OpenRosa routes keep answering
OpenRosa XML and the JSON API JSON, whatever went wrong."""

from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

HTML = "text/html; charset=utf-8"


def thai_page(response: TestResponse, status: int) -> str:
    """The text of an HTML error page, after checking the answer is one with ``status``."""
    assert response.status_code == status
    assert response.content_type == HTML
    return response.get_data(as_text=True)


def assert_openrosa_xml(response: TestResponse, status: int) -> None:
    assert response.status_code == status
    assert response.content_type.startswith("text/xml")


def test_a_mistyped_address_is_a_thai_page_not_openrosa_xml(client: FlaskClient) -> None:
    page = thai_page(client.get("/submisions"), 404)
    assert '<html lang="th">' in page
    assert "ไม่พบหน้านี้" in page


def test_a_mistyped_address_when_signed_in_is_a_thai_page_with_the_navigation(signed_in) -> None:
    client = signed_in("malee", "department")

    page = thai_page(client.get("/plots/no-such-plot"), 404)
    assert "ไม่พบหน้านี้" in page
    assert "รอตรวจ" in page  # the navigation, so the supervisor can go on


def test_a_malformed_filter_is_a_thai_400_page(signed_in) -> None:
    client = signed_in("malee", "department")

    page = thai_page(client.get("/submissions?month=2026-13"), 400)
    assert "คำขอไม่ถูกต้อง" in page
    assert "เดือนต้องอยู่ในรูป" in page


def test_an_area_outside_ones_own_is_a_thai_403_page(signed_in) -> None:
    client = signed_in("somchai", "district", "4001")

    assert "ไม่มีสิทธิ์" in thai_page(client.get("/submissions?area=4002"), 403)


def test_a_web_page_asked_with_the_wrong_method_is_a_thai_405_page(client: FlaskClient) -> None:
    assert "ใช้วิธีนี้ไม่ได้" in thai_page(client.get("/signout"), 405)


def test_an_openrosa_route_keeps_answering_openrosa_xml(client: FlaskClient) -> None:
    response = client.put("/submission")

    assert_openrosa_xml(response, 405)
    assert "<OpenRosaResponse" in response.get_data(as_text=True)
    assert response.headers["X-OpenRosa-Version"] == "1.0"


def test_an_unknown_address_asked_by_collect_stays_openrosa_xml(client: FlaskClient) -> None:
    assert_openrosa_xml(client.get("/no/such/route", headers={"X-OpenRosa-Version": "1.0"}), 404)


def test_a_path_under_a_project_that_no_route_takes_is_openrosa_xml_for_collect(client: FlaskClient, collector) -> None:
    assert_openrosa_xml(client.get("/v1/projects/1/no-such-route", headers={"X-OpenRosa-Version": "1.0"}), 404)


def test_the_json_api_keeps_answering_json(signed_in) -> None:
    client = signed_in("malee", "department")

    response = client.get("/v1/projects/1/plots/6f1c2d3e-0000-4000-8000-000000000000/checks")

    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["code"]


def test_a_failure_inside_a_web_page_is_a_thai_500_page(signed_in, app, monkeypatch) -> None:
    client = signed_in("malee", "department")

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr("khoknongna.server.web_review.queries.submission_page", broken)
    assert "ระบบขัดข้อง" in thai_page(client.get("/submissions"), 500)
