"""The filters shared by the map and the list pages, read from the query string into a
:class:`~khoknongna.storage.selection.Selection` narrowed to the signed-in user's area.

``?form=<formID>&month=YYYY-MM&area=<code>&review_state=<state>&flag=<rule|any>&submitter=<app_user:N|user:N>``;
empty values mean "no filter". A malformed value is a 400; an area wholly outside the user's own is a 403.
"""

from __future__ import annotations

import re

from flask import abort, request

from khoknongna.areas import OutsideArea, area_name, narrow
from khoknongna.server.auth import Actor
from khoknongna.storage.selection import REVIEW_STATES, Selection

_MONTH = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")
_FLAG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SUBMITTER = re.compile(r"^(app_user|user):[0-9]{1,9}$")
_FORM = re.compile(r"^[^\x00-\x1f]{1,255}$")


def selection_from_args(actor: Actor, project_id: int = 1) -> Selection:
    """The selection of this request's query string for ``actor`` (their whole area when ``?area=`` is not
    given). Aborts with 400 for a malformed filter and 403 for an area outside the actor's."""
    args = request.args
    form = args.get("form") or None
    if form is not None and not _FORM.match(form):
        abort(400, "form: a formID")
    month = None
    if args.get("month"):
        found = _MONTH.match(args["month"])
        if found is None:
            abort(400, "month: YYYY-MM")
        month = (int(found[1]), int(found[2]))
    asked = (args.get("area") or "").strip() or None
    if asked is not None and area_name(asked) is None:
        abort(400, "area: a province, amphoe or tambon code")
    try:
        area = narrow(actor.area_code, asked)
    except OutsideArea:
        abort(403, f"area {asked} is outside your area {actor.area_code}")
    review_state = args.get("review_state") or None
    if review_state is not None and review_state not in REVIEW_STATES:
        abort(400, f"review_state: one of {', '.join(REVIEW_STATES)}")
    flag = args.get("flag") or None
    if flag is not None and not _FLAG.match(flag):
        abort(400, "flag: a rule name or 'any'")
    submitter = args.get("submitter") or None
    if submitter is not None and not _SUBMITTER.match(submitter):
        abort(400, "submitter: app_user:<id> or user:<id>")
    return Selection(
        project_id=project_id,
        area=area,
        form=form,
        month=month,
        review_state=review_state,
        flag=flag,
        submitter=submitter,
    )
