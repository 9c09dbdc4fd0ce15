"""Which month a follow-up belongs to, and which month is being reported now.

A submission belongs to the month its ``report_month`` answer names (the activity report's "ประจำเดือน"),
else the month of its ``today`` or ``start`` metadata (the day it was filled in on the phone), else the
Asia/Bangkok month the server first received it. So a November report sent on 2 December is a late November
report, in the report, coverage, exports, the map and list filters and the downloads page alike
(``storage/periods.py`` is the same rule in SQL).

Until the 20th the month being reported is the previous one (districts report by the 20th, seed 002 item ๓);
from the 21st it is the current month.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
#: The answers that name the month, in order of preference.
ANSWER_FIELDS = ("report_month", "today", "start")
#: The day of the month by which the previous month is reported (seed 002 item ๓).
DEADLINE_DAY = 20
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])")


def report_period(answers: Mapping[str, Any], received_at: datetime) -> tuple[int, int]:
    """``(year, month)`` a submission belongs to, from its answers (``report_month`` ``YYYY-MM-DD``, ``today``,
    ``start``) and when it was received (an aware datetime, read in Asia/Bangkok)."""
    for name in ANSWER_FIELDS:
        found = _MONTH.match(str(answers.get(name) or ""))
        if found:
            return int(found[1]), int(found[2])
    local = received_at.astimezone(BANGKOK)
    return local.year, local.month


def month_text(period: tuple[int, int]) -> str:
    """``(2026, 11)`` -> ``"2026-11"``."""
    return f"{period[0]}-{period[1]:02d}"


def month_being_reported(now: datetime | None = None, deadline_day: int = DEADLINE_DAY) -> tuple[int, int]:
    """The month districts are reporting on at ``now`` (default: the present, Asia/Bangkok): the previous
    month up to and including the ``deadline_day``, the current month after it."""
    local = (now or datetime.now(BANGKOK)).astimezone(BANGKOK)
    if local.day > deadline_day:
        return local.year, local.month
    return (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
