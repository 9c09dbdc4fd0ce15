"""Spatial checks on the plot register, end to end: a submission queues them, the worker runs them, the
results are stored, served as JSON, and recomputed when a plot changes.

Plots are registered with a small plot-survey form (``mini_plot_survey`` of ``tests/small_forms.py``: owner,
size class, boundary saved to the entity's ``geometry``, parts), follow-ups with its small ``activity_report``
(the plot, one geopoint). Geometries are
squares near Khon Kaen built from metres east/north of an origin, as ODK geo strings with accuracies.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, event, text

from khoknongna import plot_checks as plot_checks_module
from khoknongna.jobs import run_worker
from khoknongna.publishing import publish_form
from khoknongna.server.cli import main
from khoknongna.settings import Settings
from khoknongna.spatial import overlaps as overlaps_module
from tests.activity import received
from tests.collect import CollectClient
from tests.small_forms import MINI_ACTIVITY_REPORT, MINI_PLOT_SURVEY


@pytest.fixture
def collect(supervise: CollectClient) -> CollectClient:
    """Sends forms as Collect does and reads the JSON API, which collectors may not: a department supervisor."""
    return supervise


ORIGIN = (102.8359, 16.4419)  # lon, lat near Khon Kaen
M_PER_DEG_LAT = 110_700.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(ORIGIN[1]))
BANGKOK = ZoneInfo("Asia/Bangkok")


def point(east_m: float, north_m: float, accuracy: float = 3.0) -> str:
    lon = ORIGIN[0] + east_m / M_PER_DEG_LON
    lat = ORIGIN[1] + north_m / M_PER_DEG_LAT
    return f"{lat:.8f} {lon:.8f} 160.0 {accuracy}"


def square(east_m: float, north_m: float, side_m: float, accuracy: float = 0.5) -> str:
    corners = [(0, 0), (side_m, 0), (side_m, side_m), (0, side_m), (0, 0)]
    return ";".join(point(east_m + x, north_m + y, accuracy) for x, y in corners)


@pytest.fixture
def forms(app: Flask, settings: Settings) -> None:
    services = app.extensions["knn"]
    for name, data in (("mini_plot_survey.xlsx", MINI_PLOT_SURVEY), ("activity_report.xlsx", MINI_ACTIVITY_REPORT)):
        publish_form(services.engine, services.blobs, settings, name, data)


def register(
    collect: CollectClient,
    plot: str,
    boundary: str,
    *,
    size_class: str = "1",
    parts: tuple[tuple[str, str], ...] = (),
    create: bool = True,
    base_version: int = 1,
) -> None:
    repeats = "".join(f"<parts><part_type>{k}</part_type><part_shape>{s}</part_shape></parts>" for k, s in parts)
    flags = 'create="1"' if create else f'update="1" baseVersion="{base_version}"'
    xml = (
        f'<data id="mini_plot_survey" version="1"><owner>นายสมชาย</owner><size_class>{size_class}</size_class>'
        f"<tambon>400101</tambon><boundary>{boundary}</boundary>{repeats}"
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID>"
        f'<entity dataset="plots" {flags} id="{plot}"><label>นายสมชาย</label></entity></meta></data>'
    ).encode()
    collect.send(xml)


def visit(collect: CollectClient, plot: str, where: str) -> str:
    instance_id = f"uuid:{uuid.uuid4()}"
    xml = (
        f'<data id="activity_report" version="1"><plot>{plot}</plot><where>{where}</where>'
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()
    collect.send(xml)
    return instance_id


def work(settings: Settings, db: Engine, pg_url: str) -> None:
    """Run the checks worker until the queue is empty."""
    run_worker(settings, db, pg_url, wait=False)


def plot_checks(collect: CollectClient, plot: str) -> dict[str, dict]:
    response = collect.get(f"/v1/projects/1/plots/{plot}/checks")
    assert response.status_code == 200, response.data
    return {c["rule"]: c for c in response.json["checks"]}


# --- queued by ingest, run by the worker ----------------------------------------------------------------------


def queued(db: Engine) -> list[tuple[str, str]]:
    """``(task, queueing lock)`` of every waiting job."""
    with db.connect() as conn:
        rows = conn.execute(text("SELECT task_name, queueing_lock FROM procrastinate_jobs WHERE status = 'todo'"))
        return sorted((r.task_name, r.queueing_lock) for r in rows)


def test_a_new_plot_is_registered_and_queued_without_a_savepoint(forms, collect: CollectClient, db: Engine) -> None:
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(db, "before_cursor_execute", record)
    try:
        register(collect, str(uuid.uuid4()), square(0, 0, 40))
    finally:
        event.remove(db, "before_cursor_execute", record)

    assert "SAVEPOINT" not in statements
    with db.connect() as conn:
        entity_id, submission_id = conn.execute(text("SELECT e.id, s.id FROM entities e, submissions s")).one()
    assert queued(db) == [
        ("audit_submission", f"audit-{submission_id}"),
        ("check_plot", f"plot-{entity_id}"),
    ]


def test_a_resurvey_while_the_plots_check_waits_queues_only_what_is_not_waiting(
    forms, collect: CollectClient, db: Engine
) -> None:
    plot = str(uuid.uuid4())
    register(collect, plot, square(0, 0, 40))

    register(collect, plot, square(0, 0, 41), create=False, base_version=1)

    locks = [lock for _, lock in queued(db)]
    assert len(locks) == 3  # one plot check (already waiting) and each submission's audit
    assert len([lock for lock in locks if lock.startswith("plot-")]) == 1


def test_a_registered_plot_gets_its_checks_from_the_worker(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    plot = str(uuid.uuid4())
    register(collect, plot, square(0, 0, 40))
    assert plot_checks(collect, plot) == {}, "checks run after the 201, in the worker"

    work(settings, db, pg_url)

    checks = plot_checks(collect, plot)
    assert set(checks) == {"plot_area", "plot_validity", "plot_overlaps", "plot_parts"}
    assert checks["plot_area"]["status"] == "ok"
    assert checks["plot_area"]["numbers"]["area_m2"] == pytest.approx(1600, rel=0.01)
    assert checks["plot_validity"]["status"] == "ok"
    assert checks["plot_overlaps"]["status"] == "ok"
    assert checks["plot_area"]["message_th"] and checks["plot_area"]["message_en"]


def test_a_plot_far_too_small_for_its_class_is_undersized(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    plot = str(uuid.uuid4())
    register(collect, plot, square(0, 0, 40), size_class="3")

    work(settings, db, pg_url)

    assert plot_checks(collect, plot)["plot_area"]["status"] == "undersized"


def test_overlapping_plots_are_reported_on_both_and_cleared_when_one_moves(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    register(collect, first, square(0, 0, 40))
    register(collect, second, square(20, 0, 40))  # overlaps the first by 20 m × 40 m
    work(settings, db, pg_url)
    for plot in (first, second):
        overlaps = plot_checks(collect, plot)["plot_overlaps"]
        assert overlaps["status"] == "overlaps"
        assert overlaps["numbers"]["total_overlap_m2"] == pytest.approx(800, rel=0.02)

    register(collect, second, square(100, 0, 40), create=False)  # re-surveyed: it was drawn in the wrong place
    work(settings, db, pg_url)

    assert plot_checks(collect, first)["plot_overlaps"]["status"] == "ok"
    assert plot_checks(collect, second)["plot_overlaps"]["status"] == "ok"


def test_a_plot_drawn_over_a_checked_plot_refreshes_that_plots_overlaps(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    register(collect, first, square(0, 0, 40))
    work(settings, db, pg_url)
    assert plot_checks(collect, first)["plot_overlaps"]["status"] == "ok"

    register(collect, second, square(20, 0, 40))  # drawn later, over the first
    work(settings, db, pg_url)

    assert plot_checks(collect, first)["plot_overlaps"]["status"] == "overlaps"


def test_parts_are_measured_against_the_new_theory_split(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    plot = str(uuid.uuid4())
    register(collect, plot, square(0, 0, 40), parts=(("pond", square(0, 0, 20)),))  # a quarter of the plot

    work(settings, db, pg_url)

    parts = plot_checks(collect, plot)["plot_parts"]
    assert parts["numbers"]["water_share"] == pytest.approx(0.25, abs=0.01)


def test_a_bowtie_boundary_is_reported_invalid(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    plot = str(uuid.uuid4())
    bowtie = ";".join(point(x, y, 2) for x, y in [(0, 0), (40, 40), (40, 0), (0, 40), (0, 0)])
    register(collect, plot, bowtie)

    work(settings, db, pg_url)

    validity = plot_checks(collect, plot)["plot_validity"]
    assert validity["status"] == "invalid"
    assert "self_intersection" in {f["code"] for f in validity["findings"]}


def test_a_follow_up_point_far_outside_its_plot_is_reported_with_the_distance(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    plot = str(uuid.uuid4())
    register(collect, plot, square(0, 0, 40))
    instance_id = visit(collect, plot, point(140, 20, accuracy=4))  # 100 m east of the east side

    work(settings, db, pg_url)

    response = collect.get(f"/v1/projects/1/forms/activity_report/submissions/{instance_id}/checks")
    assert response.status_code == 200, response.data
    (evidence,) = response.json["checks"]
    assert evidence["status"] == "outside"
    assert evidence["numbers"]["max_distance_m"] == pytest.approx(100, abs=2)


def test_a_follow_up_naming_an_unregistered_plot_says_so(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> None:
    instance_id = visit(collect, str(uuid.uuid4()), point(0, 0))

    work(settings, db, pg_url)

    response = collect.get(f"/v1/projects/1/forms/activity_report/submissions/{instance_id}/checks")
    assert [c["status"] for c in response.json["checks"]] == ["no_plot"]


def test_a_plot_whose_job_was_lost_is_checked_by_check_plots(
    forms, collect: CollectClient, db: Engine, pg_url: str, settings: Settings
) -> None:
    plot = str(uuid.uuid4())
    register(collect, plot, square(0, 0, 40))
    with db.begin() as conn:
        conn.execute(text("DELETE FROM procrastinate_jobs"))

    result = CliRunner().invoke(
        main,
        ["check", "plots", "--data-dir", str(settings.data_dir)],
        env={"KNN_DATABASE_URL": pg_url, "KNN_DATA_DIR": None},
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert "checking 1 plot(s)" in result.output
    assert "plot_area        ok" in result.output
    assert plot_checks(collect, plot)["plot_area"]["status"] == "ok"


# --- coverage -----------------------------------------------------------------------------------------------


def test_coverage_of_a_month_counts_on_time_late_and_missing_reports(forms, collect: CollectClient, db: Engine) -> None:
    on_time, late, missing = (str(uuid.uuid4()) for _ in range(3))
    for i, plot in enumerate((on_time, late, missing)):
        register(collect, plot, square(i * 100, 0, 40))
    received(db, visit(collect, on_time, point(10, 10)), datetime(2026, 11, 20, 23, 59, tzinfo=BANGKOK))
    received(db, visit(collect, late, point(110, 10)), datetime(2026, 11, 21, 0, 1, tzinfo=BANGKOK))

    response = collect.get("/v1/projects/1/coverage?month=2026-11&area=4001")

    assert response.status_code == 200, response.data
    body = response.json
    numbers = body["total"]["numbers"]
    assert (numbers["plots"], numbers["with_activity_report"], numbers["on_time"]) == (3, 2, 1)
    assert body["plots_without_report"] == [missing]
    assert body["plots_not_visited"] == [missing]
    assert set(body["districts"]) == {"4001"}


def test_coverage_needs_a_month_in_the_form_yyyy_mm(forms, collect: CollectClient) -> None:
    response = collect.get("/v1/projects/1/coverage?month=11-2026")

    assert response.status_code == 400
    assert response.json["code"] == "400.8"
    assert "YYYY-MM" in response.json["message"]


# --- the JSON API's doors -----------------------------------------------------------------------------------


def test_checks_of_an_unknown_plot_are_a_json_404(forms, collect: CollectClient) -> None:
    response = collect.get(f"/v1/projects/1/plots/{uuid.uuid4()}/checks")

    assert response.status_code == 404
    assert response.json["code"] == "404.7"
    assert response.json["message_th"]


def test_the_json_api_asks_for_a_password(forms, app: Flask) -> None:
    response = app.test_client().get("/v1/projects/1/coverage?month=2026-11")

    assert response.status_code == 401
    assert "Digest" in response.headers["WWW-Authenticate"]


def a_third_plot_over_two_checked_ones(
    collect: CollectClient, settings: Settings, db: Engine, pg_url: str
) -> tuple[str, str]:
    """Two overlapping plots, registered and checked; then a third drawn over both, checked: (first, third)."""
    first, second, third = (str(uuid.uuid4()) for _ in range(3))
    register(collect, first, square(0, 0, 40))
    register(collect, second, square(10, 0, 40))
    work(settings, db, pg_url)
    register(collect, third, square(5, 0, 40))
    work(settings, db, pg_url)
    return first, third


def test_a_plot_drawn_over_many_others_does_not_re_check_them_one_by_one(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plot_checks_module, "MAX_NEIGHBOUR_RECHECKS", 1)
    first, third = a_third_plot_over_two_checked_ones(collect, settings, db, pg_url)  # more than the limit

    assert plot_checks(collect, third)["plot_overlaps"]["numbers"]["count"] == 2
    assert plot_checks(collect, first)["plot_overlaps"]["numbers"]["count"] == 1, "not refreshed: over the limit"


def test_a_plot_drawn_over_more_plots_than_its_result_lists_does_not_re_check_them(
    forms, collect: CollectClient, settings: Settings, db: Engine, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overlaps_module, "MAX_OVERLAPS_LISTED", 1)
    first, third = a_third_plot_over_two_checked_ones(collect, settings, db, pg_url)  # more than it lists

    assert plot_checks(collect, third)["plot_overlaps"]["numbers"] == pytest.approx(
        {"count": 1, "more": True, "total_overlap_m2": 1400, "largest_share": 0.875}, rel=0.01
    )
    assert "more" not in plot_checks(collect, first)["plot_overlaps"]["numbers"], "not re-checked: a crowded spot"


def test_a_report_for_last_month_sent_this_month_counts_for_last_month_as_late(
    forms, collect: CollectClient, db: Engine
) -> None:
    plot = str(uuid.uuid4())
    register(collect, plot, square(0, 0, 40))
    instance_id = f"uuid:{uuid.uuid4()}"
    xml = (
        f'<data id="activity_report" version="1"><report_month>2026-11-01</report_month><plot>{plot}</plot>'
        f"<where>{point(10, 10)}</where><meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()
    collect.send(xml)
    received(db, instance_id, datetime(2026, 12, 2, 9, 0, tzinfo=BANGKOK))

    november = collect.get("/v1/projects/1/coverage?month=2026-11").json["total"]["numbers"]
    december = collect.get("/v1/projects/1/coverage?month=2026-12").json["total"]["numbers"]

    assert (november["with_activity_report"], november["on_time"], november["late"]) == (1, 0, 1)
    assert december["with_activity_report"] == 0
