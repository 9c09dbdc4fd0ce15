"""The province supervisor's page: every district of the province for a month, whether it submitted its
report and when, on time by the 20th, plots covered and missing, publicity, learning centres and the A/B/C
grades, with links to each frozen revision and the plots still missing by district and field developer (the
chase list, also as XLSX from the API). A department user (or admin) chooses a province, or sees the roll-up
by province.

Who may open it: province supervisors (their own province only; another is a 403), department users and
admins. A district supervisor may not (403): the district's own month is on the downloads page, and its
report is what the province reads here.
"""

from __future__ import annotations

import re

from flask import abort, render_template, request

from khoknongna import province_report
from khoknongna.areas import OutsideArea, area_name, narrow
from khoknongna.periods import month_being_reported, month_text
from khoknongna.plot_checks import CheckRules
from khoknongna.problems import ROLE_FORBIDDEN, Problem
from khoknongna.server.context import db, services
from khoknongna.server.web import bp
from khoknongna.server.web_session import require_reader

#: The roles that open the province page.
PAGE_ROLES = ("admin", "department", "province")
PROJECT_ID = 1
_MONTH = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")
_PROVINCE = re.compile(r"^[0-9]{2}$")


@bp.get("/province")
def province_page() -> str:
    """``?month=YYYY-MM`` (default: the month being reported) and, for a department user, ``?province=<2
    digits>`` (without: the roll-up by province). 403 for other roles and for another province."""
    actor = require_reader()
    if actor.role not in PAGE_ROLES:
        problem = Problem(
            ROLE_FORBIDDEN, role=actor.role, action="open the province page", action_th="เปิดหน้าภาพรวมจังหวัด"
        )
        abort(403, problem.message)
    month = (request.args.get("month") or "").strip() or month_text(month_being_reported())
    found = _MONTH.match(month)
    if found is None:
        abort(400, f"month must be YYYY-MM, not '{month}'")
    asked = (request.args.get("province") or "").strip() or None
    if asked is not None and (not _PROVINCE.match(asked) or area_name(asked) is None):
        abort(400, f"'{asked}' is not a province code (2 digits)")
    try:
        area = narrow(actor.area_code, asked)
    except OutsideArea as exc:
        abort(403, str(exc))
    rules = CheckRules.from_settings(services().settings)
    view = province_report.build_province_month(db(), PROJECT_ID, area, int(found.group(1)), int(found.group(2)), rules)
    return render_template(
        "province.html",
        view=view,
        area=area,
        month=month,
        grades=province_report.GRADES,
        rollup=area is None,
        provinces=view.provinces(),
        project_id=PROJECT_ID,
        choose_province=actor.area_code is None,
    )


@bp.app_template_filter("thai_moment")
def _thai_moment(value: str | None) -> str:
    """An ISO timestamp as the Bangkok day and time in the Buddhist Era (``๒ ธันวาคม ๒๕๖๙ 09:30``)."""
    from datetime import datetime

    from khoknongna.monthly_report import thai_date
    from khoknongna.periods import BANGKOK

    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return f"{thai_date(moment)} {moment.astimezone(BANGKOK):%H:%M}"
