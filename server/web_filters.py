"""The filters of the map, the list and the downloads, read from the query string into a
:class:`~khoknongna.storage.selection.Selection` narrowed to the signed-in user's area.

``?form=<formID>&month=YYYY-MM&area=<code>&review_state=<state>&flag=<rule|any>&submitter=<app_user:ID|user:ID>``;
empty parameters are ignored. A malformed value is a 400 and an area outside the user's a 403 (pages show them
as error pages).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import abort, request

from khoknongna.areas import OutsideArea, area_name, narrow
from khoknongna.server.auth import Actor
from khoknongna.storage.selection import REVIEW_STATES, Selection

_MONTH = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")
_SUBMITTER = re.compile(r"^(app_user|user):[0-9]{1,9}$")
_FLAG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
FILTERS = ("form", "month", "area", "review_state", "flag", "submitter")


def selection_from_args(actor: Actor, project_id: int = 1) -> Selection:
    """The :class:`Selection` of this request's query string for ``actor``; aborts 400 on a malformed value and
    403 when ``area`` lies outside the actor's area."""
    args = {name: (request.args.get(name) or "").strip() or None for name in FILTERS}
    month = None
    if args["month"]:
        found = _MONTH.match(args["month"])
        if found is None:
            abort(400, f"เดือนต้องอยู่ในรูป ปปปป-ดด · month must be YYYY-MM, not '{args['month']}'")
        month = (int(found.group(1)), int(found.group(2)))
    if args["area"] and area_name(args["area"]) is None:
        abort(400, f"ไม่พบรหัสพื้นที่ · '{args['area']}' is not a province, amphoe or tambon code")
    if args["review_state"] and args["review_state"] not in REVIEW_STATES:
        abort(400, f"สถานะการตรวจไม่ถูกต้อง · review_state must be one of {', '.join(REVIEW_STATES)}")
    if args["flag"] and not _FLAG.match(args["flag"]):
        abort(400, "ธงไม่ถูกต้อง · flag must be a rule name or 'any'")
    if args["submitter"] and not _SUBMITTER.match(args["submitter"]):
        abort(400, "ผู้ส่งต้องอยู่ในรูป app_user:<id> หรือ user:<id> · submitter must be app_user:<id> or user:<id>")
    try:
        area = narrow(actor.area_code, args["area"])
    except OutsideArea as exc:
        abort(403, f"พื้นที่นี้อยู่นอกพื้นที่ของคุณ · {exc}")
    return Selection(
        project_id=project_id,
        area=area,
        form=args["form"],
        month=month,
        review_state=args["review_state"],
        flag=args["flag"],
        submitter=args["submitter"],
    )


def filter_query() -> str:
    """This request's filter parameters (those set) as a query string, for links that keep the filters."""
    return urlencode({name: request.args[name] for name in FILTERS if request.args.get(name)})
