"""A finding that names another plot (an overlap, the same coordinates, a reused photo) names it by its label and
links it, on the pages and in the JSON API (its UUID, never the internal row id); a submission's page shows the
checks of the plot it registered, once each, in words."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from khoknongna.settings import Settings
from tests.web.conftest import Plot, work

LABEL = "นางสมศรี ใจดี – ม.5 บ้านหนองแวง ต.ศิลา – 1 ไร่"  # tests.plots.plot_xml's label; both plots share the boundary


@pytest.fixture
def overlapping(two_districts: dict[str, Plot], settings: Settings, db: Engine, pg_url: str) -> dict[str, Plot]:
    """The two plots of ``two_districts`` (one boundary, so they overlap wholly), checked by the worker."""
    work(settings, db, pg_url)
    return two_districts


def finding_of(checks: list[dict], rule: str) -> dict:
    (check,) = [c for c in checks if c["rule"] == rule]
    return check["findings"][0]


def test_the_api_names_the_overlapping_plot_by_uuid_and_label(overlapping, signed_in) -> None:
    mine, other = overlapping["mine"], overlapping["other"]
    client = signed_in("malee", "department")

    checks = client.get(f"/v1/projects/1/plots/{mine.uuid}/checks").get_json()["checks"]

    finding = finding_of(checks, "plot_overlaps")
    assert finding["numbers"]["other_plot"] == other.uuid
    assert finding["other_plot"] == {"uuid": other.uuid, "label": LABEL}
    assert f"ทับแปลง “{LABEL}”" in finding["message_th"]
    assert not re.search(r"plot \d+\b", finding["message_en"])


def test_the_plot_page_links_the_plot_it_overlaps(overlapping, signed_in) -> None:
    mine, other = overlapping["mine"], overlapping["other"]
    client = signed_in("malee", "department")

    html = client.get(f"/plots/{mine.uuid}").get_data(as_text=True)

    row = html.split('data-rule="plot_overlaps"')[1].split("</tr>")[0]
    assert f'href="/plots/{other.uuid}"' in row
    assert f"ทับแปลง “{LABEL}”" in row
    assert "แปลงทับซ้อน" in row and "ทับแปลงอื่น" in row  # the rule and its status in Thai


def test_a_plot_outside_ones_area_is_named_without_its_label_or_link(overlapping, signed_in) -> None:
    mine, other = overlapping["mine"], overlapping["other"]
    client = signed_in("somchai", "district", "4001")

    checks = client.get(f"/v1/projects/1/plots/{mine.uuid}/checks").get_json()["checks"]
    html = client.get(f"/plots/{mine.uuid}").get_data(as_text=True)

    assert finding_of(checks, "plot_overlaps")["other_plot"] == {"uuid": other.uuid, "label": None}
    assert f'href="/plots/{other.uuid}"' not in html
    assert "ทับแปลงแปลงอื่น" not in html and "ทับแปลงอื่น" in html


def test_a_plot_surveys_page_shows_the_checks_of_the_plot_it_registered_once_each(
    overlapping, signed_in, db: Engine
) -> None:
    mine = overlapping["mine"]
    with db.connect() as conn:
        survey = conn.execute(
            text("SELECT id FROM submissions WHERE instance_id = :id"), {"id": mine.survey_instance_id}
        ).scalar_one()
    client = signed_in("malee", "department")

    html = client.get(f"/submissions/{survey}").get_data(as_text=True)

    checks = html.split('<table class="checks">')[1].split("</table>")[0]
    rules = re.findall(r'<tr class="check" data-rule="([a-z_]+)"', checks)
    assert "plot_area" in rules and "plot_overlaps" in rules
    assert len(rules) == len(set(rules))
    assert "ยังไม่มีผลการตรวจ" not in html.split("Spatial checks")[1].split("</table>")[0]


def test_the_same_coordinates_signal_links_the_other_plot_and_submission(overlapping, signed_in, app: Flask) -> None:
    mine, other = overlapping["mine"], overlapping["other"]
    client = signed_in("malee", "department")

    signals = client.get(f"/v1/projects/1/forms/plot_survey/submissions/{other.survey_instance_id}/signals").get_json()[
        "signals"
    ]

    (gps,) = [s for s in signals if s["rule"] == "gps_untrusted"]
    same = [f for f in gps["findings"] if f["code"] == "same_coordinates_other_plot"]
    assert same and same[0]["other_plot"] == {"uuid": mine.uuid, "label": LABEL}
