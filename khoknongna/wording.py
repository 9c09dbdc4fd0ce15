"""The words the supervisors' pages use for the project's codes, Thai first with English beside it: check and
signal rules, their statuses, review states, roles, audit actions and who made an entry without a signed-in user
(the words are in ``wording.toml`` beside this module, read once at import); and dates in the Buddhist era.

One convention for dates on the pages (the PDF reports use the same era): the day, the abbreviated Thai month and
the Buddhist-era year in Arabic digits, then the time in Thai time (``5 ธ.ค. 2569 14:30``); the ISO 8601 value
goes in the element's ``title`` (a tooltip) and in every export. Source: the Royal Institute's month
abbreviations; Buddhist era = Gregorian year + 543.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from importlib.resources import files
from zoneinfo import ZoneInfo

THAILAND = ZoneInfo("Asia/Bangkok")
BUDDHIST_ERA_OFFSET = 543
MONTHS_TH = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")

#: The tables' words (code -> [Thai, English]), from ``wording.toml`` beside this module, where translators edit them.
_WORDS = tomllib.loads(files(__package__).joinpath("wording.toml").read_text(encoding="utf-8"))


def _table(name: str) -> dict[str, tuple[str, str]]:
    """The table ``name`` of ``wording.toml``, in the file's order: code -> (Thai, English). Raises ``ValueError``
    for an entry that is not two words."""
    return {code: (th, en) for code, (th, en) in _WORDS[name].items()}


#: Check and signal rules.
RULES: dict[str, tuple[str, str]] = _table("rules")
#: Statuses of check results and signals.
STATUSES: dict[str, tuple[str, str]] = _table("statuses")
#: The statuses that mean nothing needs a supervisor's look.
GOOD_STATUSES = frozenset({"ok", "warning", "inside", "near", "complete"})
#: Review states (ODK Central's names).
REVIEW_STATES: dict[str, tuple[str, str]] = _table("review_states")
#: Roles, with what each may do.
ROLES: dict[str, tuple[str, str]] = _table("roles")
#: Audit-log actions.
ACTIONS: dict[str, tuple[str, str]] = _table("actions")
#: Who made an audit-log entry that has no signed-in user, by its ``after["via"]``: a change made with the
#: ``khoknongna`` command (``khoknongna.account_log``); without ``via``, the server itself (a sign-in lockout).
NO_ACTOR: dict[str, tuple[str, str]] = _table("no_actor")


def thai(words: dict[str, tuple[str, str]], code: str | None) -> str:
    """The Thai word for ``code`` in one of the tables above; the code itself when it has none."""
    if code is None:
        return ""
    return words.get(code, (code, code))[0]


def english(words: dict[str, tuple[str, str]], code: str | None) -> str:
    """The English word for ``code``; the code itself when it has none."""
    if code is None:
        return ""
    return words.get(code, (code, code))[1]


def buddhist_date(moment: datetime | date | None, *, with_time: bool = True) -> str:
    """``5 ธ.ค. 2569 14:30`` (Thai time) for a datetime, ``5 ธ.ค. 2569`` for a date or without the time; ``""``
    for ``None``. A naive datetime is taken as UTC (the database's timestamps are aware)."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        local = (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))).astimezone(THAILAND)
        day = f"{local.day} {MONTHS_TH[local.month - 1]} {local.year + BUDDHIST_ERA_OFFSET}"
        return f"{day} {local:%H:%M}" if with_time else day
    return f"{moment.day} {MONTHS_TH[moment.month - 1]} {moment.year + BUDDHIST_ERA_OFFSET}"


def iso(moment: datetime | date | None) -> str:
    """The ISO 8601 value shown in a date's tooltip (Thai time, to the second); ``""`` for ``None``."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        local = (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))).astimezone(THAILAND)
        return local.isoformat(timespec="seconds")
    return moment.isoformat()


#: The web pages' HTTP errors: status -> (Thai title, Thai explanation, English explanation).
HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("คำขอไม่ถูกต้อง", "ค่าที่ส่งมาไม่ถูกต้อง ตรวจตัวกรองหรือแบบฟอร์มแล้วลองอีกครั้ง", "The request is not valid."),
    401: ("ต้องเข้าสู่ระบบ", "กรุณาเข้าสู่ระบบก่อน", "Please sign in first."),
    403: ("ไม่มีสิทธิ์", "คุณไม่มีสิทธิ์เข้าถึงหรือทำสิ่งนี้", "You may not see or do this."),
    404: ("ไม่พบหน้านี้", "ไม่พบสิ่งที่ต้องการ หรืออยู่นอกพื้นที่ของคุณ", "Not found, or outside your area."),
    405: ("ใช้วิธีนี้ไม่ได้", "หน้านี้ไม่รับคำขอแบบนี้", "This page does not accept this kind of request."),
    413: ("ไฟล์ใหญ่เกินไป", "ข้อมูลที่ส่งมามีขนาดใหญ่เกินกว่าที่รับได้", "What was sent is too large."),
    429: ("ลองใหม่ภายหลัง", "มีคำขอมากเกินไป กรุณารอสักครู่แล้วลองใหม่", "Too many requests: wait a little and try again."),
    500: ("ระบบขัดข้อง", "เกิดข้อผิดพลาดในระบบ ผู้ดูแลระบบได้รับแจ้งแล้ว ลองใหม่ภายหลัง", "Something went wrong on the server."),
    503: ("ระบบยังไม่พร้อม", "ระบบยังไม่พร้อมให้บริการ ลองใหม่ภายหลัง", "The service is not available yet."),
}


def http_error(status: int) -> tuple[str, str, str]:
    """The Thai title and explanation and the English explanation of an HTTP error status (a generic one for a
    status without its own words)."""
    if status in HTTP_ERRORS:
        return HTTP_ERRORS[status]
    if status >= 500:
        return HTTP_ERRORS[500]
    return ("เกิดข้อผิดพลาด", "ทำตามคำขอนี้ไม่ได้", "This request could not be done.")
