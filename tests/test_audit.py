"""Audit signals end to end: reports with real JPEGs and positions go through Collect's protocol, the worker
computes the signals, and a supervisor reads them (and explains one) through the JSON API.

Forms (``tests/small_forms.py``): the small plot survey registers plots near Khon Kaen; ``activity_report`` (start,
end, plot, report month, a geopoint, a repeat of photos) and ``daily_log`` (start, end, plot, a geopoint, the
owner's name and signature) are the follow-ups. Photos are drawn by ``tests/photos.py``.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from khoknongna.audit import LOOKUP_LIMIT, AuditRules, audit_submission
from khoknongna.jobs import sweep_job
from khoknongna.publishing import publish_form
from khoknongna.server.cli import main
from khoknongna.settings import Settings
from khoknongna.storage.audit import AUDIT_LOCK_CLASS
from tests.collect import CollectClient
from tests.photos import FIRST_VIEW, SECOND_VIEW, frame, jpeg, resized_copy, scene
from tests.small_forms import MINI_ACTIVITY_REPORT, MINI_DAILY_LOG, MINI_PLOT_SURVEY
from tests.test_plot_checks import BANGKOK, M_PER_DEG_LAT, M_PER_DEG_LON, ORIGIN, point, register, square
from tests.test_plot_checks import work as run_worker


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Submissions named by a newer one are audited again as soon as the worker gets to them (no window), so
    that the worker run by a test sees them."""
    return settings.model_copy(update={"audit_reaudit_window_s": 0})


@pytest.fixture
def collect(supervise: CollectClient) -> CollectClient:
    """Sends forms as Collect does and reads the JSON API, which collectors may not: a department supervisor."""
    return supervise


NOW = datetime.now(BANGKOK).replace(microsecond=0)
THIS_MONTH = NOW.strftime("%Y-%m")


@pytest.fixture
def forms(app: Flask, settings: Settings) -> None:
    services = app.extensions["knn"]
    for name, data in (
        ("mini_plot_survey.xlsx", MINI_PLOT_SURVEY),
        ("activity_report.xlsx", MINI_ACTIVITY_REPORT),
        ("daily_log.xlsx", MINI_DAILY_LOG),
    ):
        publish_form(services.engine, services.blobs, settings, name, data)


@pytest.fixture(scope="module")
def photo() -> bytes:
    """A real JPEG: the first view of scene 1."""
    return jpeg(frame(scene(1), FIRST_VIEW))


def lonlat(east_m: float, north_m: float) -> tuple[float, float]:
    return ORIGIN[0] + east_m / M_PER_DEG_LON, ORIGIN[1] + north_m / M_PER_DEG_LAT


def walked_square(east_m: float, side_m: float = 40) -> str:
    """A square boundary as a phone records it walking: each corner with its own accuracy."""
    corners = [(0, 0), (side_m, 0), (side_m, side_m), (0, side_m), (0, 0)]
    accuracies = [3.2, 4.1, 2.8, 3.6, 3.2]
    return ";".join(point(east_m + x, y, a) for (x, y), a in zip(corners, accuracies, strict=True))


def new_plot(collect: CollectClient, east_m: float = 0) -> str:
    plot = str(uuid.uuid4())
    register(collect, plot, walked_square(east_m))
    return plot


def report(
    collect: CollectClient,
    plot: str,
    photos: dict[str, bytes],
    *,
    where: str | None = None,
    month: str = f"{THIS_MONTH}-01",
    start: datetime = NOW,
    minutes: int = 5,
) -> str:
    """Submit an activity report with these photos; returns its instanceID."""
    instance_id = f"uuid:{uuid.uuid4()}"
    repeats = "".join(f"<photos><photo>{name}</photo></photos>" for name in photos)
    xml = (
        f'<data id="activity_report" version="1"><start>{start.isoformat()}</start>'
        f"<end>{(start + timedelta(minutes=minutes)).isoformat()}</end><plot>{plot}</plot>"
        f"<report_month>{month}</report_month><where>{where or point(20, 20)}</where>{repeats}"
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()
    collect.send(xml, photos)
    return instance_id


def daily_log(collect: CollectClient, plot: str, *, owner: str = "นายสมชาย", signature: bytes | None) -> str:
    instance_id = f"uuid:{uuid.uuid4()}"
    signed = "<owner_signature>signature.png</owner_signature>" if signature else "<owner_signature/>"
    xml = (
        f'<data id="daily_log" version="1"><start>{NOW.isoformat()}</start><end>{NOW.isoformat()}</end>'
        f"<plot>{plot}</plot><work_date>{NOW.date().isoformat()}</work_date><where>{point(10, 10)}</where>"
        f"<certification><owner_name>{owner}</owner_name>{signed}</certification>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()
    (response,) = collect.submit(xml, {"signature.png": signature} if signature else None)
    assert response.status_code == 201, response.data
    return instance_id


def signals(collect: CollectClient, instance_id: str, form: str = "activity_report") -> dict[str, dict]:
    response = collect.get(f"/v1/projects/1/forms/{form}/submissions/{instance_id}/signals")
    assert response.status_code == 200, response.data
    return {s["rule"]: s for s in response.json["signals"]}


def the_finding(signal: dict) -> dict:
    """The one finding of a raised signal; the test fails when the signal is not raised or has more or none."""
    assert signal["status"] == "raised"
    (finding,) = signal["findings"]
    return finding


@pytest.fixture
def audited(settings: Settings, db: Engine, pg_url: str):  # type: ignore[no-untyped-def]
    """Call to run the worker until the queue is empty."""
    return lambda: run_worker(settings, db, pg_url)


# --- photos -------------------------------------------------------------------------------------------------


def test_the_same_photo_in_two_reports_is_an_exact_reuse_on_both(forms, collect, audited, photo) -> None:
    plot, other_plot = new_plot(collect), new_plot(collect, 200)
    first = report(collect, plot, {"a.jpg": photo})
    second = report(collect, other_plot, {"b.jpg": photo})

    audited()

    for mine, theirs in ((first, second), (second, first)):
        exact = signals(collect, mine)["photo_reused_exact"]
        finding = the_finding(exact)
        assert exact["numbers"]["other_plots"] == 1
        assert finding["numbers"]["other_instance_id"] == theirs
        assert exact["message_th"] and exact["message_en"]


def test_two_reports_with_the_same_photo_audited_at_the_same_moment_both_show_the_reuse(
    forms, collect, settings: Settings, db: Engine, pg_url: str, photo
) -> None:
    first = report(collect, new_plot(collect), {"a.jpg": photo})
    second = report(collect, new_plot(collect, 200), {"b.jpg": photo})

    assert compared_at_the_same_moment(settings, db, pg_url, [first, second])
    for mine in (first, second):
        assert signals(collect, mine)["photo_reused_exact"]["status"] == "raised"


def test_two_logs_of_one_plot_audited_at_the_same_moment_tell_the_other_plot_at_their_spot(
    forms, collect, audited, settings: Settings, db: Engine, pg_url: str
) -> None:
    another_phone = CollectClient(collect.client, collect.username, collect.password, device_id="collect:other")
    there_first = daily_log(another_phone, str(uuid.uuid4()), signature=None)  # not a journey to the two below
    audited()
    plot = str(uuid.uuid4())
    logs = [daily_log(collect, plot, signature=None) for _ in range(2)]  # the same point as the first

    assert compared_at_the_same_moment(settings, db, pg_url, logs)
    assert signals(collect, there_first, "daily_log")["gps_untrusted"]["status"] == "raised"
    for log in logs:
        assert signals(collect, log, "daily_log")["gps_untrusted"]["status"] == "raised"


def compared_at_the_same_moment(settings: Settings, db: Engine, pg_url: str, instance_ids: list[str]) -> bool:
    """Run the worker, two jobs at once, until its queue is empty, while this session holds the audits of
    ``instance_ids`` before they compare until all of them wait there: they then compare at the same moment,
    each having stored its own photos, points and visit. Whether all did wait."""
    ids = [submission_id(db, i) for i in instance_ids]
    with db.connect() as holder:
        for sid in ids:
            holder.execute(text("SELECT pg_advisory_lock(:c, :id)"), {"c": AUDIT_LOCK_CLASS, "id": sid})
        worker = threading.Thread(
            target=run_worker, args=(settings.model_copy(update={"worker_concurrency": 2}), db, pg_url)
        )
        worker.start()
        deadline = time.monotonic() + 60
        while advisory_lock_waiters(db) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        all_waited = advisory_lock_waiters(db) == len(ids)
        holder.execute(text("SELECT pg_advisory_unlock_all()"))
        holder.commit()
    worker.join()
    return all_waited


def advisory_lock_waiters(db: Engine) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar()


def test_a_resized_recompressed_copy_is_a_near_reuse(forms, collect, audited, photo) -> None:
    plot = new_plot(collect)
    first = report(collect, plot, {"a.jpg": photo})
    copy = report(collect, plot, {"c.jpg": resized_copy(photo, 0.5, 70)})

    audited()

    finding = the_finding(signals(collect, copy)["photo_reused_near"])
    assert finding["numbers"]["other_instance_id"] == first
    assert finding["numbers"]["distance_bits"] <= 2
    assert signals(collect, copy)["photo_reused_exact"]["status"] == "ok"


def test_another_photo_of_the_same_scene_is_not_a_reuse(forms, collect, audited, photo) -> None:
    plot = new_plot(collect)
    report(collect, plot, {"a.jpg": photo})
    other = report(collect, plot, {"d.jpg": jpeg(frame(scene(1), SECOND_VIEW))})

    audited()

    found = signals(collect, other)
    assert found["photo_reused_exact"]["status"] == "ok"
    assert found["photo_reused_near"]["status"] == "ok"


def test_a_photo_taken_long_before_the_report_month_is_flagged(forms, collect, audited) -> None:
    plot = new_plot(collect)
    picture = frame(scene(3), FIRST_VIEW)
    old = jpeg(picture, taken=datetime(2026, 6, 2, 9, 0))
    fresh = jpeg(frame(scene(4), FIRST_VIEW), taken=datetime(2026, 11, 5, 9, 0))
    instance = report(collect, plot, {"old.jpg": old, "fresh.jpg": fresh}, month="2026-11-01")

    audited()

    exif = signals(collect, instance)["photo_exif"]
    finding = the_finding(exif)
    assert finding["code"] == "taken_long_before"
    assert finding["numbers"]["attachment"] == "old.jpg"
    assert finding["numbers"]["days_before_period"] == 151
    assert exif["numbers"]["with_exif_time"] == 2


def test_a_photo_whose_position_is_far_outside_the_plot_is_flagged(forms, collect, audited) -> None:
    plot = new_plot(collect)
    inside = jpeg(frame(scene(5), FIRST_VIEW), lonlat=lonlat(20, 20))
    far = jpeg(frame(scene(6), FIRST_VIEW), lonlat=lonlat(40 + 5000, 20))  # 5 km east of the plot
    instance = report(collect, plot, {"inside.jpg": inside, "far.jpg": far})

    audited()

    finding = the_finding(signals(collect, instance)["photo_exif"])
    assert finding["code"] == "far_from_plot"
    assert finding["numbers"]["attachment"] == "far.jpg"
    assert finding["numbers"]["distance_m"] == pytest.approx(5000, abs=10)


# --- GPS -----------------------------------------------------------------------------------------------------


def test_a_point_with_accuracy_zero_is_not_trusted(forms, collect, audited, photo) -> None:
    plot = new_plot(collect)
    instance = report(collect, plot, {"a.jpg": photo}, where=point(20, 20, accuracy=0))

    audited()

    gps = signals(collect, instance)["gps_untrusted"]
    assert gps["status"] == "raised"
    assert [f["code"] for f in gps["findings"]] == ["zero_accuracy"]


def test_an_ordinary_gps_point_is_trusted(forms, collect, audited, photo) -> None:
    instance = report(collect, new_plot(collect), {"a.jpg": photo}, where=point(20, 20, accuracy=4.5))

    audited()

    assert signals(collect, instance)["gps_untrusted"]["status"] == "ok"


def test_the_same_coordinates_in_reports_for_two_plots_are_not_trusted(forms, collect, audited) -> None:
    here = point(20, 20, accuracy=3.7)
    first = report(collect, new_plot(collect), {"a.jpg": jpeg(frame(scene(7), FIRST_VIEW))}, where=here)
    second = report(collect, new_plot(collect, 200), {"b.jpg": jpeg(frame(scene(8), FIRST_VIEW))}, where=here)

    audited()

    for mine, theirs in ((first, second), (second, first)):
        finding = the_finding(signals(collect, mine)["gps_untrusted"])
        assert finding["code"] == "same_coordinates_other_plot"
        assert finding["numbers"]["other_instance_id"] == theirs


def test_a_boundary_whose_corners_share_accuracy_and_altitude_is_not_trusted(forms, collect, audited, db) -> None:
    plot = str(uuid.uuid4())
    register(collect, plot, square(0, 0, 40, accuracy=5.0))  # every corner: altitude 160, accuracy 5

    audited()

    with db.connect() as conn:
        (result,) = conn.execute(text("SELECT result FROM audit_signals WHERE rule = 'gps_untrusted'")).scalars()
    assert result["status"] == "raised"
    assert [f["code"] for f in result["findings"]] == ["uniform_shape"]


# --- travel and certification -------------------------------------------------------------------------------


def test_two_reports_300_km_apart_ten_minutes_apart_are_impossible_travel(forms, collect, audited, photo) -> None:
    plot = new_plot(collect)
    first = report(collect, plot, {"a.jpg": photo}, start=NOW - timedelta(minutes=30), minutes=20)
    far = point(20, 300_000)  # 300 km north
    second = report(collect, new_plot(collect, 500), {"e.jpg": jpeg(frame(scene(9), FIRST_VIEW))}, where=far, start=NOW)

    audited()

    for instance in (first, second):
        finding = the_finding(signals(collect, instance)["impossible_travel"])
        assert finding["numbers"]["minutes"] == 10
        assert finding["numbers"]["distance_m"] == pytest.approx(300_000, rel=0.01)
        assert finding["numbers"]["speed_kmh"] == pytest.approx(1800, rel=0.01)


def test_two_reports_an_hour_apart_on_neighbouring_plots_are_plausible(forms, collect, audited, photo) -> None:
    report(collect, new_plot(collect), {"a.jpg": photo}, start=NOW - timedelta(hours=2), minutes=20)
    second = report(collect, new_plot(collect, 3000), {"e.jpg": photo}, where=point(3020, 20), start=NOW)

    audited()

    assert signals(collect, second)["impossible_travel"]["status"] == "ok"


def test_a_daily_log_without_a_signature_misses_its_certification(forms, collect, audited) -> None:
    instance = daily_log(collect, new_plot(collect), signature=None)

    audited()

    certification = signals(collect, instance, "daily_log")["certification_missing"]
    assert certification["status"] == "raised"
    assert [f["code"] for f in certification["findings"]] == ["no_signature"]


def test_a_signed_daily_log_is_certified(forms, collect, audited) -> None:
    signature = jpeg(frame(scene(10), FIRST_VIEW))
    instance = daily_log(collect, new_plot(collect), signature=signature)

    audited()

    found = signals(collect, instance, "daily_log")
    assert found["certification_missing"]["status"] == "ok"
    assert "photo_reused_exact" not in found, "a signature is not a photo of the plot"


# --- many submissions at one spot ---------------------------------------------------------------------------


@pytest.fixture
def jobs_created(db: Engine):  # type: ignore[no-untyped-def]
    """Call for how many jobs were queued so far by task (done jobs are deleted, so a trigger counts them)."""
    with db.begin() as conn:
        conn.execute(text("CREATE TABLE jobs_created (task_name text)"))
        conn.execute(
            text(
                "CREATE FUNCTION count_job() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN INSERT INTO jobs_created VALUES (NEW.task_name); RETURN NEW; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER count_job AFTER INSERT ON procrastinate_jobs FOR EACH ROW EXECUTE FUNCTION count_job()"
            )
        )

    def count() -> dict[str, int]:
        with db.connect() as conn:
            return dict(conn.execute(text("SELECT task_name, count(*) FROM jobs_created GROUP BY task_name")).all())

    yield count
    with db.begin() as conn:
        conn.execute(text("DROP TRIGGER count_job ON procrastinate_jobs"))
        conn.execute(text("DROP FUNCTION count_job() CASCADE"))
        conn.execute(text("DROP TABLE jobs_created"))


def submission_id(db: Engine, instance_id: str) -> int:
    with db.connect() as conn:
        return conn.execute(
            text("SELECT submission_id FROM submission_versions WHERE instance_id = :i AND current"), {"i": instance_id}
        ).scalar_one()


def test_200_reports_from_one_courtyard_queue_at_most_one_re_audit_each_and_all_get_their_signals(
    forms, collect, audited, jobs_created, photo
) -> None:
    plots = [str(uuid.uuid4()) for _ in range(10)]  # ten plots, reported from one office: one point, one photo
    here = point(20, 20, accuracy=3.7)
    reports = [report(collect, plots[n % 10], {"office.jpg": photo}, where=here) for n in range(200)]

    audited()

    created = jobs_created()
    assert created["audit_submission"] == len(reports)
    assert created["reaudit_submission"] <= len(reports), "at most one re-audit waiting per submission"
    for instance in reports:
        found = signals(collect, instance)
        exact, gps = found["photo_reused_exact"], found["gps_untrusted"]
        assert exact["status"] == "raised", instance  # the first one too: the second named it
        assert 1 <= len(exact["findings"]) <= LOOKUP_LIMIT
        assert gps["status"] == "raised", instance
        assert 1 <= gps["numbers"]["same_coordinates"] <= 2 * LOOKUP_LIMIT


def test_one_audit_names_a_bounded_number_of_the_earlier_submissions_at_its_spot(
    app, forms, collect, audited, db, settings
) -> None:
    plot = str(uuid.uuid4())
    earlier = [daily_log(collect, plot, signature=None) for _ in range(3 * LOOKUP_LIMIT)]
    audited()
    newcomer = daily_log(collect, str(uuid.uuid4()), signature=None)  # another plot, the same point

    with db.connect() as conn:
        results, related = audit_submission(
            conn, app.extensions["knn"].blobs, submission_id(db, newcomer), AuditRules.from_settings(settings)
        )
        conn.commit()

    latest = {submission_id(db, i) for i in earlier[-LOOKUP_LIMIT:]}
    assert len(related) <= LOOKUP_LIMIT + 2  # the latest about the other plot there (and travel neighbours)
    assert latest <= set(related)
    assert {r.rule: r.status for r in results}["gps_untrusted"] == "raised"


def test_every_earlier_submission_at_the_spot_learns_of_another_plot_eventually(forms, collect, audited) -> None:
    plot = str(uuid.uuid4())
    earlier = [daily_log(collect, plot, signature=None) for _ in range(3 * LOOKUP_LIMIT)]
    audited()
    assert signals(collect, earlier[0], "daily_log")["gps_untrusted"]["status"] == "ok"

    daily_log(collect, str(uuid.uuid4()), signature=None)
    audited()

    for instance in earlier:
        assert signals(collect, instance, "daily_log")["gps_untrusted"]["status"] == "raised", instance


@pytest.fixture
def statements(db: Engine):  # type: ignore[no-untyped-def]
    """The SQL statements run on ``db`` while the test runs, in order."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    event.listen(db, "before_cursor_execute", note)
    yield seen
    event.remove(db, "before_cursor_execute", note)


def run_audit(app: Flask, db: Engine, settings: Settings, instance_id: str) -> None:
    with db.connect() as conn:
        audit_submission(
            conn, app.extensions["knn"].blobs, submission_id(db, instance_id), AuditRules.from_settings(settings)
        )
        conn.commit()


def test_an_audit_reads_the_collectors_visit_before_and_after_once(
    app, forms, collect, audited, db, settings, statements
) -> None:
    plot = new_plot(collect)
    logs = [daily_log(collect, plot, signature=None) for _ in range(3)]
    audited()
    statements.clear()

    run_audit(app, db, settings, logs[1])

    steps = [s for s in statements if "FROM collector_visits WHERE collector" in s]
    assert len(steps) == 2, steps  # one step back, one forward


def test_an_audit_reads_the_files_of_a_daily_log_once(app, forms, collect, audited, db, settings, statements) -> None:
    log = daily_log(collect, new_plot(collect), signature=jpeg(frame(scene(10), FIRST_VIEW)))
    audited()
    statements.clear()

    run_audit(app, db, settings, log)

    assert len([s for s in statements if "FROM submission_attachments" in s]) == 1


# --- explaining, the area list, recomputing -----------------------------------------------------------------


def test_an_explained_signal_no_longer_counts_in_the_area_summary(forms, collect, audited, db) -> None:
    plot = new_plot(collect)
    instance = daily_log(collect, plot, signature=None)
    audited()
    before = collect.get(f"/v1/projects/1/signals?month={THIS_MONTH}&area=400101")
    assert before.json["counts"] == {"certification_missing": 1}

    response = collect.request(
        "POST",
        f"/v1/projects/1/forms/daily_log/submissions/{instance}/signals/certification_missing/explanation",
        json={"reason": "เจ้าของแปลงลงนามในสมุดบันทึกแล้ว (paper log signed)"},
    )

    assert response.status_code == 200, response.data
    assert response.json["signal"]["explained"]["by"] == "supervisor"
    after = collect.get(f"/v1/projects/1/signals?month={THIS_MONTH}&area=400101")
    assert after.json["counts"] == {}
    assert after.json["signals"] == []
    listed = collect.get(f"/v1/projects/1/signals?month={THIS_MONTH}&area=400101&explained=include")
    assert [s["explained"]["reason"] for s in listed.json["signals"]] == [
        "เจ้าของแปลงลงนามในสมุดบันทึกแล้ว (paper log signed)"
    ]
    (entry,) = collect.get(f"/v1/projects/1/forms/daily_log/submissions/{instance}/signals").json["explanations"]
    assert entry["before"]["explanation"] is None
    assert entry["after"]["explanation"].startswith("เจ้าของแปลง")


def test_the_trail_of_explanations_cannot_be_changed(forms, collect, audited, db) -> None:
    instance = daily_log(collect, new_plot(collect), signature=None)
    audited()
    collect.request(
        "POST",
        f"/v1/projects/1/forms/daily_log/submissions/{instance}/signals/certification_missing/explanation",
        json={"reason": "signed on paper"},
    )

    with pytest.raises(DBAPIError, match="audit trail"), db.begin() as conn:
        conn.execute(text("UPDATE signal_explanations SET reason = 'nothing happened'"))


def test_explaining_a_signal_that_was_not_raised_is_refused(forms, collect, audited) -> None:
    instance = daily_log(collect, new_plot(collect), signature=jpeg(frame(scene(11), FIRST_VIEW)))
    audited()

    response = collect.request(
        "POST",
        f"/v1/projects/1/forms/daily_log/submissions/{instance}/signals/certification_missing/explanation",
        json={"reason": "nothing to explain"},
    )

    assert response.status_code == 404
    assert response.json["code"] == "404.9"


def test_the_area_list_gives_each_signal_with_its_position_for_the_map(forms, collect, audited) -> None:
    instance = daily_log(collect, new_plot(collect), signature=None)
    audited()

    listed = collect.get(f"/v1/projects/1/signals?month={THIS_MONTH}&area=4001").json
    (entry,) = listed["signals"]
    assert entry["instanceId"] == instance and entry["rule"] == "certification_missing"
    assert entry["area_code"] == "400101"
    assert (entry["lon"], entry["lat"]) == pytest.approx(lonlat(10, 10), abs=1e-6)
    assert collect.get(f"/v1/projects/1/signals?month={THIS_MONTH}&area=50").json["signals"] == []


def test_audit_run_recomputes_signals_with_a_progress_bar(forms, collect, db, pg_url, settings, photo) -> None:
    plot = new_plot(collect)
    instance = report(collect, plot, {"a.jpg": photo}, where=point(20, 20, accuracy=0))
    with db.begin() as conn:
        conn.execute(text("DELETE FROM procrastinate_jobs"))

    result = CliRunner().invoke(
        main,
        ["audit", "run", "--since", NOW.date().isoformat(), "--data-dir", str(settings.data_dir)],
        env={"KNN_DATABASE_URL": pg_url, "KNN_DATA_DIR": None},
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert "auditing 2 submission(s)" in result.output  # the plot survey and the report
    assert "gps_untrusted          raised" in result.output
    assert signals(collect, instance)["gps_untrusted"]["status"] == "raised"


def test_the_sweep_computes_the_signals_of_a_submission_whose_job_was_lost(
    forms, collect, db, pg_url, settings
) -> None:
    instance = daily_log(collect, new_plot(collect), signature=None)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM procrastinate_jobs"))
        conn.execute(text("UPDATE submission_versions SET received_at = now() - interval '11 minutes'"))
        conn.execute(text("UPDATE submission_attachments SET received_at = now() - interval '11 minutes'"))
        sweep_job.configure(connection=conn.connection.driver_connection).defer(timestamp=0)

    run_worker(settings, db, pg_url)

    assert signals(collect, instance, "daily_log")["certification_missing"]["status"] == "raised"


def test_the_sweep_leaves_a_submission_still_waiting_for_its_job(forms, collect, db, pg_url, settings) -> None:
    instance = daily_log(collect, new_plot(collect), signature=None)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM procrastinate_jobs"))
        sweep_job.configure(connection=conn.connection.driver_connection).defer(timestamp=0)

    run_worker(settings, db, pg_url)

    assert signals(collect, instance, "daily_log") == {}
