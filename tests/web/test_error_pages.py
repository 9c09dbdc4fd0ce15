"""Errors of the web pages are pages in Thai (HTML, with English beside it); the OpenRosa routes keep answering
OpenRosa XML and the JSON API JSON, whatever went wrong."""

from __future__ import annotations

from flask.testing import FlaskClient

HTML = "text/html; charset=utf-8"


def test_a_mistyped_address_is_a_thai_page_not_openrosa_xml(client: FlaskClient) -> None:
    response = client.get("/submisions")

    assert response.status_code == 404
    assert response.content_type == HTML
    page = response.get_data(as_text=True)
    assert '<html lang="th">' in page
    assert "ไม่พบหน้านี้" in page


def test_a_mistyped_address_when_signed_in_is_a_thai_page_with_the_navigation(signed_in) -> None:
    client = signed_in("malee", "department")

    response = client.get("/plots/no-such-plot")

    assert response.status_code == 404
    assert response.content_type == HTML
    page = response.get_data(as_text=True)
    assert "ไม่พบหน้านี้" in page
    assert "รอตรวจ" in page  # the navigation, so the supervisor can go on


def test_a_malformed_filter_is_a_thai_400_page(signed_in) -> None:
    client = signed_in("malee", "department")

    response = client.get("/submissions?month=2026-13")

    assert response.status_code == 400
    assert response.content_type == HTML
    page = response.get_data(as_text=True)
    assert "คำขอไม่ถูกต้อง" in page
    assert "เดือนต้องอยู่ในรูป" in page


def test_an_area_outside_ones_own_is_a_thai_403_page(signed_in) -> None:
    client = signed_in("somchai", "district", "4001")

    response = client.get("/submissions?area=4002")

    assert response.status_code == 403
    assert response.content_type == HTML
    assert "ไม่มีสิทธิ์" in response.get_data(as_text=True)


def test_a_web_page_asked_with_the_wrong_method_is_a_thai_405_page(client: FlaskClient) -> None:
    response = client.get("/signout")

    assert response.status_code == 405
    assert response.content_type == HTML
    assert "ใช้วิธีนี้ไม่ได้" in response.get_data(as_text=True)


def test_an_openrosa_route_keeps_answering_openrosa_xml(client: FlaskClient) -> None:
    response = client.put("/submission")

    assert response.status_code == 405
    assert response.content_type.startswith("text/xml")
    assert "<OpenRosaResponse" in response.get_data(as_text=True)
    assert response.headers["X-OpenRosa-Version"] == "1.0"


def test_an_unknown_address_asked_by_collect_stays_openrosa_xml(client: FlaskClient) -> None:
    response = client.get("/no/such/route", headers={"X-OpenRosa-Version": "1.0"})

    assert response.status_code == 404
    assert response.content_type.startswith("text/xml")


def test_an_unknown_form_of_the_project_routes_stays_openrosa_xml(client: FlaskClient, collector) -> None:
    response = client.get("/v1/projects/1/no-such-route")

    assert response.status_code == 404
    assert response.content_type.startswith("text/xml")


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
    response = client.get("/submissions")

    assert response.status_code == 500
    assert response.content_type == HTML
    assert "ระบบขัดข้อง" in response.get_data(as_text=True)
