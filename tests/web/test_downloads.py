"""The downloads page: exports and monthly reports of the user's area (server/web_downloads.py)."""

from __future__ import annotations

import re


def test_the_downloads_page_counts_only_the_users_district(two_districts, signed_in) -> None:
    page = signed_in("somchai", "district", "4001").get("/downloads").get_data(as_text=True)

    row = re.search(r"<code>plot_survey</code></td>\s*<td class=\"number\">(\d+)</td>", page)
    assert row is not None and row.group(1) == "1"


def test_the_downloads_page_title_is_its_name_and_the_weekly_form_appears_once(two_districts, signed_in) -> None:
    page = signed_in("somchai", "district", "4001").get("/downloads").get_data(as_text=True)

    assert re.search(r"<title>([^<]*)</title>", page).group(1) == "ดาวน์โหลด · Khok Nong Na"
    assert page.count("/reports/weekly.pdf") == 1


def test_every_export_link_of_the_page_downloads_a_file(two_districts, signed_in) -> None:
    client = signed_in("somchai", "district", "4001")
    page = client.get("/downloads?month=2026-11").get_data(as_text=True)

    links = re.findall(r'href="(/v1/projects/1/forms/plot_survey/export\.[a-z]+\?[^"]*)"', page)

    assert len(links) == 5
    for link in links:
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, (link, response.data[:200])
        assert response.headers["Content-Disposition"].startswith("attachment")


def test_the_monthly_reports_offered_are_those_of_the_users_districts(two_districts, signed_in) -> None:
    district_page = signed_in("somchai", "district", "4001").get("/downloads?month=2026-11").get_data(as_text=True)
    province_page = signed_in("somsak", "province", "40").get("/downloads?month=2026-11").get_data(as_text=True)

    assert re.findall(r"reports/monthly\.pdf\?district=(\d+)", district_page) == ["4001"]
    assert re.findall(r"reports/monthly\.pdf\?district=(\d+)", province_page) == ["4001", "4002"]


def test_a_monthly_report_link_downloads_the_pdf(two_districts, signed_in) -> None:
    client = signed_in("somchai", "district", "4001")

    response = client.get("/v1/projects/1/reports/monthly.pdf?district=4001&month=2026-11")

    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")


def test_asking_for_another_districts_downloads_is_a_403_page(two_districts, signed_in) -> None:
    response = signed_in("somchai", "district", "4001").get("/downloads?area=4002")

    assert response.status_code == 403
    assert "นอกพื้นที่" in response.get_data(as_text=True) or "outside your area" in response.get_data(as_text=True)
