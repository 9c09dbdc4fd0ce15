"""khoknongna.spatial.coverage: a month's reports per plot and district, on time by the 20th or late."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from khoknongna.spatial.coverage import FollowUp, RegisteredPlot, month_coverage, report_deadline

BANGKOK = ZoneInfo("Asia/Bangkok")
# November 2026. District 4001 (เมืองขอนแก่น) has plots 1-4 in two sub-districts; district 4005 has plot 5.
PLOTS = [
    RegisteredPlot(1, "400101"),
    RegisteredPlot(2, "400101"),
    RegisteredPlot(3, "400102"),
    RegisteredPlot(4, "400102"),
    RegisteredPlot(5, "400501"),
]


def bkk(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BANGKOK)


# Plot 1 reports at 23:59 on the 20th (on time); plot 2 at 00:01 on the 21st (late); plot 3 has only daily logs
# and a socio-geographic survey (report missing); plot 4 has nothing (not visited); plot 5 reports on the 5th.
MONTH = [
    FollowUp(1, "activity_report", bkk(20, 23, 59)),
    FollowUp(1, "daily_log", bkk(3)),
    FollowUp(2, "activity_report", bkk(21, 0, 1)),
    FollowUp(3, "daily_log", bkk(4)),
    FollowUp(3, "daily_log", bkk(5)),
    FollowUp(3, "socio_geo", bkk(12)),
    FollowUp(5, "activity_report", bkk(5)),
]


def test_report_at_23_59_on_the_20th_in_bangkok_is_on_time() -> None:
    assert month_coverage(2026, 11, PLOTS, MONTH).plots[1].report_status == "on_time"


def test_report_at_00_01_on_the_21st_in_bangkok_is_late() -> None:
    assert month_coverage(2026, 11, PLOTS, MONTH).plots[2].report_status == "late"


def test_plot_without_an_activity_report_is_missing() -> None:
    report = month_coverage(2026, 11, PLOTS, MONTH)
    assert report.plots[3].report_status == "missing"
    assert report.plots[3].daily_logs == 2 and report.plots[3].socio_geo == 1


def test_utc_time_is_read_in_bangkok_time() -> None:
    # 17:30 UTC on the 20th is 00:30 on the 21st in Bangkok.
    late = [FollowUp(1, "activity_report", datetime(2026, 11, 20, 17, 30, tzinfo=UTC))]
    assert month_coverage(2026, 11, PLOTS, late).plots[1].report_status == "late"


def test_deadline_is_the_end_of_the_20th_in_bangkok() -> None:
    assert report_deadline(2026, 11) == datetime(2026, 11, 21, tzinfo=BANGKOK)


def test_earliest_report_of_the_month_decides() -> None:
    two = [FollowUp(1, "activity_report", bkk(25)), FollowUp(1, "activity_report", bkk(19))]
    assert month_coverage(2026, 11, PLOTS, two).plots[1].report_status == "on_time"


def test_report_about_the_month_sent_the_next_month_is_late() -> None:
    sent_in_december = [FollowUp(1, "activity_report", bkk(2, month=12), period=(2026, 11))]
    report = month_coverage(2026, 11, PLOTS, sent_in_december)
    assert report.plots[1].report_status == "late"


def test_follow_ups_of_another_month_are_not_counted() -> None:
    october = [FollowUp(1, "activity_report", bkk(15, month=10)), FollowUp(1, "daily_log", bkk(31, 23, 59, 10))]
    report = month_coverage(2026, 11, PLOTS, october)
    assert report.plots[1].report_status == "missing"
    assert not report.plots[1].visited


def test_coverage_per_district() -> None:
    report = month_coverage(2026, 11, PLOTS, MONTH)
    muang = report.districts["4001"]
    assert (muang.plots, muang.with_activity_report, muang.on_time, muang.late, muang.missing) == (4, 2, 1, 1, 2)
    assert muang.coverage_pct == 50.0
    assert (muang.with_socio_geo, muang.with_daily_log) == (1, 2)
    assert report.districts["4005"].coverage_pct == 100.0
    assert report.total.coverage_pct == 60.0


def test_plot_with_no_follow_up_is_not_visited() -> None:
    report = month_coverage(2026, 11, PLOTS, MONTH)
    assert report.districts["4001"].not_visited == [4]


def test_area_code_restricts_the_roll_up_to_one_district() -> None:
    report = month_coverage(2026, 11, PLOTS, MONTH, area_code="4005")
    assert list(report.districts) == ["4005"]
    assert report.total.plots == 1
    assert report.unmatched == 6


def test_district_result_says_how_many_are_on_time_late_and_missing() -> None:
    result = month_coverage(2026, 11, PLOTS, MONTH).result("4001")
    assert (result.rule, result.status) == ("monthly_coverage", "incomplete")
    assert result.numbers["coverage_pct"] == 50.0
    assert "พฤศจิกายน 2569" in result.message_th
    assert "ตรงเวลา 1 ช้า 1 ขาด 2" in result.message_th
    assert "1 on time, 1 late, 2 missing" in result.message_en


def test_district_where_every_plot_reported_is_complete() -> None:
    assert month_coverage(2026, 11, PLOTS, MONTH).result("4005").status == "complete"


def test_naive_submission_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        month_coverage(2026, 11, PLOTS, [FollowUp(1, "daily_log", datetime(2026, 11, 3, 10))])


def test_unknown_follow_up_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown follow-up kind"):
        month_coverage(2026, 11, PLOTS, [FollowUp(1, "potential_assessment", bkk(3))])
