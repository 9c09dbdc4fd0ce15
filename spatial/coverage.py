"""Monthly coverage: which plots have an activity report, a socio-geographic survey and daily logs in a month,
by district, and whether the activity reports came by the 20th.

Inputs are plain dataclasses (the plot register and the follow-up submissions, read by the caller's SQL):

* :class:`RegisteredPlot` — entity id and 6-digit tambon (sub-district) code; the amphoe (district) is its
  first 4 digits, the province its first 2 (Thai administrative codes as in the ``geothai`` package).
* :class:`FollowUp` — the plot it is about, its kind (``activity_report``, ``socio_geo``, ``daily_log``), when
  it was submitted (an aware datetime) and, when the form says so, the month it reports on.

A follow-up counts for the month it reports on (``period``) or, without one, for the month it was submitted in,
in Asia/Bangkok time. The monthly activity report of a plot is ``on_time`` when its earliest report for
the month was submitted on or before the 20th of that month (until 23:59:59 Bangkok time), ``late`` when
after, ``missing`` when there is none. A plot with no follow-up of any kind in the month was not visited.

Coverage % of a district is the share of its registered plots with an activity report for the month (on time
or late): the district must report "every plot in the district".

Source: seed 002 item 3, "รายงานผลการดำเนินงานกิจกรรมฯ ให้จังหวัดทราบทุกวันที่ ๒๐ ของเดือน ... ให้ดำเนินการให้ครบทุกแปลง
ในแต่ละอำเภอ"; seed 000 item 6 and seed 001 item 8 (the 20th); seed 004 (daily log per working day).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from khoknongna.spatial.results import CheckResult
from khoknongna.spatial.rules import CoverageRules

RULE = "monthly_coverage"
RULE_VERSION = 1

KINDS = ("activity_report", "socio_geo", "daily_log")
THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip


@dataclass(frozen=True)
class RegisteredPlot:
    """A plot in the register: its entity id and the 6-digit code of its tambon (sub-district)."""

    entity_id: int
    tambon_code: str

    @property
    def amphoe_code(self) -> str:
        """The 4-digit district (amphoe) code: the tambon code's first 4 digits."""
        return self.tambon_code[:4]


@dataclass(frozen=True)
class FollowUp:
    """A follow-up submission about plot ``plot_id``: ``kind`` is one of :data:`KINDS`, ``submitted_at`` an aware
    datetime, ``period`` the (year, month) it reports on if the form records it."""

    plot_id: int
    kind: str
    submitted_at: datetime
    period: tuple[int, int] | None = None


@dataclass
class PlotCoverage:
    """What one plot has for the month: counts per kind, the report's status (on_time / late / missing) and the
    time of its earliest activity report."""

    entity_id: int
    tambon_code: str
    activity_reports: int = 0
    socio_geo: int = 0
    daily_logs: int = 0
    first_report_at: datetime | None = None
    report_status: str = "missing"

    @property
    def visited(self) -> bool:
        """True when the plot has any follow-up in the month."""
        return bool(self.activity_reports or self.socio_geo or self.daily_logs)


def _share(count: str, doc: str) -> property:
    """A property: the share of ``plots`` that field ``count`` is, in % with one decimal (0.0 without plots)."""
    return property(lambda d: round(100.0 * getattr(d, count) / d.plots, 1) if d.plots else 0.0, doc=doc)


@dataclass
class DistrictCoverage:
    """Counts of one district (or of the whole area when ``amphoe_code`` is ``"*"``) for the month, and the
    shares of its plots they are (``*_pct``)."""

    amphoe_code: str
    plots: int = 0
    with_activity_report: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    with_socio_geo: int = 0
    with_daily_log: int = 0
    not_visited: list[int] = field(default_factory=list)

    coverage_pct = _share("with_activity_report", "Share of plots with an activity report for the month, in %.")
    socio_geo_pct = _share("with_socio_geo", "Share of plots with a socio-geographic survey in the month, in %.")
    daily_log_pct = _share("with_daily_log", "Share of plots with at least one daily log in the month, in %.")
    on_time_pct = _share("on_time", "Share of plots whose activity report came by the deadline, in %.")

    def add(self, p: PlotCoverage) -> None:
        """Count plot ``p`` in this district."""
        self.plots += 1
        if p.activity_reports:
            self.with_activity_report += 1
        if p.report_status == "on_time":
            self.on_time += 1
        elif p.report_status == "late":
            self.late += 1
        else:
            self.missing += 1
        if p.socio_geo:
            self.with_socio_geo += 1
        if p.daily_logs:
            self.with_daily_log += 1
        if not p.visited:
            self.not_visited.append(p.entity_id)


@dataclass
class CoverageReport:
    """The month's coverage: per plot, per district (amphoe code) and for the whole area (``total``)."""

    year: int
    month: int
    area_code: str | None
    deadline: datetime
    plots: dict[int, PlotCoverage]
    districts: dict[str, DistrictCoverage]
    total: DistrictCoverage
    unmatched: int = 0

    def result(self, amphoe_code: str | None = None) -> CheckResult:
        """Rule ``monthly_coverage`` v1 for one district (``amphoe_code``) or the whole area (``None``).

        Status ``complete`` (every plot has an activity report), ``incomplete`` or ``no_plots``. Numbers: the
        counts of :class:`DistrictCoverage` and its percentages. Raises ``KeyError`` for an unknown district.
        """
        d = self.total if amphoe_code is None else self.districts[amphoe_code]
        numbers: dict[str, float | int | str | None] = {
            "year": self.year,
            "month": self.month,
            "area": amphoe_code or self.area_code or "*",
            "deadline": self.deadline.isoformat(),
            "plots": d.plots,
            "with_activity_report": d.with_activity_report,
            "coverage_pct": d.coverage_pct,
            "on_time": d.on_time,
            "late": d.late,
            "missing": d.missing,
            "on_time_pct": d.on_time_pct,
            "with_socio_geo": d.with_socio_geo,
            "socio_geo_pct": d.socio_geo_pct,
            "with_daily_log": d.with_daily_log,
            "daily_log_pct": d.daily_log_pct,
            "not_visited": len(d.not_visited),
        }
        where_th = f"อำเภอรหัส {amphoe_code}" if amphoe_code else "ทั้งพื้นที่"
        where_en = f"District {amphoe_code}" if amphoe_code else "The whole area"
        month_th = f"{THAI_MONTHS[self.month - 1]} {self.year + 543}"
        month_en = f"{calendar.month_name[self.month]} {self.year}"
        if d.plots == 0:
            return CheckResult(
                RULE,
                RULE_VERSION,
                "no_plots",
                numbers,
                f"{where_th} ไม่มีแปลงที่ลงทะเบียนไว้ในเดือน{month_th}",
                f"{where_en} has no registered plots for {month_en}.",
            )
        status = "complete" if d.missing == 0 else "incomplete"
        th = (
            f"{where_th} เดือน{month_th}: รายงานกิจกรรม {d.with_activity_report} จาก {d.plots} แปลง "
            f"({d.coverage_pct:.1f}%) ตรงเวลา {d.on_time} ช้า {d.late} ขาด {d.missing}; "
            f"สำรวจภูมิสังคม {d.with_socio_geo} แปลง; บันทึกประจำวัน {d.with_daily_log} แปลง; "
            f"ไม่มีการลงพื้นที่ {len(d.not_visited)} แปลง"
        )
        en = (
            f"{where_en}, {month_en}: activity reports for {d.with_activity_report} of {d.plots} plots "
            f"({d.coverage_pct:.1f}%), {d.on_time} on time, {d.late} late, {d.missing} missing; "
            f"socio-geographic surveys for {d.with_socio_geo}; daily logs for {d.with_daily_log}; "
            f"{len(d.not_visited)} plot(s) not visited."
        )
        return CheckResult(RULE, RULE_VERSION, status, numbers, th, en)


def report_deadline(year: int, month: int, rules: CoverageRules | None = None) -> datetime:
    """The first instant after the deadline of ``month``: the day after the 20th, 00:00 Asia/Bangkok (aware).

    A report submitted strictly before this instant is on time. Source: seed 002 item 3 (ทุกวันที่ ๒๐ ของเดือน).
    """
    rules = rules or CoverageRules()
    tz = ZoneInfo(rules.timezone)
    day = min(rules.deadline_day, calendar.monthrange(year, month)[1])
    return datetime(year, month, day, tzinfo=tz) + timedelta(days=1)


def month_coverage(
    year: int,
    month: int,
    plots: Iterable[RegisteredPlot],
    follow_ups: Iterable[FollowUp],
    area_code: str | None = None,
    rules: CoverageRules | None = None,
) -> CoverageReport:
    """Coverage of ``month`` of ``year`` for the plots whose tambon code starts with ``area_code`` (2 digits: a
    province, 4: a district, 6: a sub-district; ``None``: all).

    Follow-ups about plots not in that set, or of another month, are not counted (``unmatched`` counts the
    former). Raises ``ValueError`` for a naive ``submitted_at`` or an unknown kind.
    """
    rules = rules or CoverageRules()
    tz = ZoneInfo(rules.timezone)
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    deadline = report_deadline(year, month, rules)
    by_plot: dict[int, PlotCoverage] = {}
    for p in plots:
        if area_code is None or p.tambon_code.startswith(area_code):
            by_plot[p.entity_id] = PlotCoverage(p.entity_id, p.tambon_code)
    unmatched = 0
    for f in follow_ups:
        if f.submitted_at.tzinfo is None:
            raise ValueError(f"submitted_at of a follow-up about plot {f.plot_id} has no time zone")
        if f.kind not in KINDS:
            raise ValueError(f"unknown follow-up kind {f.kind!r}; expected one of {', '.join(KINDS)}")
        in_month = f.period == (year, month) if f.period is not None else start <= f.submitted_at < end
        if not in_month:
            continue
        pc = by_plot.get(f.plot_id)
        if pc is None:
            unmatched += 1
            continue
        if f.kind == "activity_report":
            pc.activity_reports += 1
            if pc.first_report_at is None or f.submitted_at < pc.first_report_at:
                pc.first_report_at = f.submitted_at
        elif f.kind == "daily_log":
            pc.daily_logs += 1
        else:
            pc.socio_geo += 1
    districts: dict[str, DistrictCoverage] = {}
    total = DistrictCoverage("*")
    for pc in by_plot.values():
        if pc.first_report_at is not None:
            pc.report_status = "on_time" if pc.first_report_at < deadline else "late"
        amphoe = pc.tambon_code[:4]
        d = districts.get(amphoe)
        if d is None:
            d = districts[amphoe] = DistrictCoverage(amphoe)
        d.add(pc)
        total.add(pc)
    return CoverageReport(year, month, area_code, deadline, by_plot, dict(sorted(districts.items())), total, unmatched)
