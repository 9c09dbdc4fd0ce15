"""How the web pages write the project's codes and dates: Thai first (``khoknongna.wording``), dates in the
Buddhist era with the ISO value in a tooltip. Template filters, registered on the pages' blueprint:

``|bangkok`` and ``|admin_time`` (a ``<time>`` element: ``5 ธ.ค. 2569 14:30``, title and ``datetime`` ISO),
``|state_th``, ``|rule_th``, ``|rule_en``, ``|status_th``, ``|status_en``, ``|role_th``, ``|role_en``,
``|action_th``, ``|who`` (who made an audit-log entry), and the test ``good_status`` (a check status that needs no
look).
"""

from __future__ import annotations

from datetime import date, datetime

from markupsafe import Markup
from sqlalchemy import Row

from khoknongna import wording
from khoknongna.server.web import bp


@bp.app_template_filter("bangkok")
def bangkok(moment: datetime | date | None) -> Markup:
    """A date or time as the pages show it: Buddhist era, Thai time, the ISO value as its tooltip."""
    if moment is None:
        return Markup("")
    value = wording.iso(moment)
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(value, wording.buddhist_date(moment))


bp.add_app_template_filter(bangkok, "admin_time")


def _words(table: dict[str, tuple[str, str]], index: int):
    def word(code: str | None) -> str:
        return wording.thai(table, code) if index == 0 else wording.english(table, code)

    return word


for _name, _table in (
    ("state", wording.REVIEW_STATES),
    ("rule", wording.RULES),
    ("status", wording.STATUSES),
    ("role", wording.ROLES),
    ("action", wording.ACTIONS),
):
    bp.add_app_template_filter(_words(_table, 0), f"{_name}_th")
    bp.add_app_template_filter(_words(_table, 1), f"{_name}_en")


@bp.app_template_filter("who")
def who(entry: Row) -> str:
    """Who made an audit-log entry (a row with ``username`` and ``after``): the user's name; without one, the
    command line when ``after`` says so (``"via": "command line"``), else the server itself, in Thai with the
    English beside it."""
    if entry.username:
        return entry.username
    via = (entry.after or {}).get("via")
    th, en = wording.NO_ACTOR.get(via, wording.NO_ACTOR["system"])
    return Markup("{} <small>{}</small>").format(th, en)


@bp.app_template_test("good_status")
def good_status(status: str | None) -> bool:
    """Whether a check status needs no supervisor's look (``ok``, ``inside``, …)."""
    return status in wording.GOOD_STATUSES
