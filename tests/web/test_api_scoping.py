"""The JSON API narrowed to the user's area, reached with the web session cookie (server/api.py).

A district supervisor never sees another district's plots, submissions or counts: another district's object
is a 404, an ``?area=`` outside theirs a 403. Writes signed in by cookie need the page's CSRF token.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from werkzeug.test import TestResponse

from tests.web.support import page_token

API = "/v1/projects/1"


def problem(response: TestResponse) -> tuple[int, str]:
    """The status and the problem code of a JSON API error."""
    return response.status_code, response.json["code"]


def test_a_district_supervisor_reads_the_checks_of_a_plot_in_their_district(two_districts, district) -> None:
    response = district.get(f"{API}/plots/{two_districts['mine'].uuid}/checks")

    assert response.status_code == 200


def test_a_plot_of_another_district_is_not_found_for_a_district_supervisor(two_districts, district) -> None:
    response = district.get(f"{API}/plots/{two_districts['other'].uuid}/checks")

    assert problem(response) == (404, "404.7")


def test_a_submission_of_another_district_is_not_found_for_a_district_supervisor(two_districts, district) -> None:
    other = two_districts["other"].survey_instance_id

    assert district.get(f"{API}/forms/plot_survey/submissions/{other}/signals").status_code == 404
    assert district.get(f"{API}/forms/plot_survey/submissions/{other}/checks").status_code == 404


def test_a_province_supervisor_sees_both_districts_of_their_province(two_districts, signed_in) -> None:
    client = signed_in("somsak", "province", "40")

    for plot in two_districts.values():
        assert client.get(f"{API}/plots/{plot.uuid}/checks").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/coverage?month=2026-11&area=4002", id="coverage"),
        pytest.param("/reports/monthly.xlsx?district=4002&month=2026-11", id="monthly-report"),
    ],
)
def test_an_area_outside_the_users_own_is_a_403(two_districts, district, path: str) -> None:
    response = district.get(f"{API}{path}")

    assert problem(response) == (403, "403.4")


def test_coverage_counts_only_the_users_district(two_districts, district, signed_in) -> None:
    own = district.get(f"{API}/coverage?month=2026-11").json
    department = signed_in("somsri", "department").get(f"{API}/coverage?month=2026-11").json

    assert own["area"] == "4001"
    assert list(own["districts"]) == ["4001"]
    assert list(department["districts"]) == ["4001", "4002"]


def test_an_export_holds_only_the_users_district(two_districts, district) -> None:
    response = district.get(f"{API}/forms/plot_survey/export.csv")

    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        main = next(n for n in archive.namelist() if n == "plot_survey.csv")
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open(main), encoding="utf-8-sig")))
    assert [r["plot_id"] for r in rows] == [two_districts["mine"].uuid]


def test_a_collector_may_not_read_the_api_with_digest(two_districts, collect) -> None:
    response = collect.get(f"{API}/plots/{two_districts['mine'].uuid}/checks")

    assert problem(response) == (403, "403.3")


def test_a_cookie_signed_write_without_the_csrf_token_is_refused(two_districts, district) -> None:
    mine = two_districts["mine"].survey_instance_id
    url = f"{API}/forms/plot_survey/submissions/{mine}/signals/gps_accuracy_zero/explanation"

    response = district.post(url, json={"reason": "ตรวจแล้ว"})

    assert problem(response) == (403, "403.5")


def test_a_cookie_signed_write_with_the_csrf_token_is_accepted(two_districts, district) -> None:
    mine = two_districts["mine"].survey_instance_id
    url = f"{API}/forms/plot_survey/submissions/{mine}/signals/gps_accuracy_zero/explanation"

    response = district.post(
        url, json={"reason": "ตรวจแล้ว"}, headers={"X-CSRFToken": page_token(district, "/downloads")}
    )

    assert problem(response) == (404, "404.9")  # past the token: this submission has no such raised signal


def test_the_gis_role_may_not_explain_signals(two_districts, signed_in) -> None:
    client = signed_in("malee", "gis")
    mine = two_districts["mine"].survey_instance_id
    url = f"{API}/forms/plot_survey/submissions/{mine}/signals/gps_accuracy_zero/explanation"

    response = client.post(url, json={"reason": "x"}, headers={"X-CSRFToken": page_token(client, "/downloads")})

    assert problem(response) == (403, "403.3")
