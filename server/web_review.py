"""The review pages: the list of what waits for review, a submission's detail (answers, photos, geometries,
checks, audit signals, review form, comments, history), a plot's detail, and the audit trail.

Everything is narrowed to the signed-in user's area: another area's submission, plot or photo is a 404 (as if it
did not exist), and a submission without an area is seen only by users without one. Writes are forms with the
page's CSRF token; they redirect back to the page with a message. ``gis`` users read everything in scope but
get no forms, and a 403 if they POST anyway.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, flash, redirect, render_template, request, url_for

from khoknongna import audit, photos, review, wording
from khoknongna.findings import once_each, with_plot_names
from khoknongna.openrosa.labels import FormLabels, read_labels
from khoknongna.review_pages import (
    answer_rows,
    bilingual,
    content_type_of,
    is_photo,
    is_safe_file_name,
    property_rows,
    sketch,
)
from khoknongna.server.auth import Actor
from khoknongna.server.context import content_disposition, db, services
from khoknongna.server.web import bp
from khoknongna.server.web_filters import selection_from_args
from khoknongna.server.web_session import require_reader
from khoknongna.spatial import evidence, gps_trust, travel
from khoknongna.storage import audit as audit_queries
from khoknongna.storage import checks as check_queries
from khoknongna.storage import review as queries
from khoknongna.storage import submissions as submission_queries
from khoknongna.storage.forms import current_versions
from khoknongna.storage.selection import REVIEW_STATES
from khoknongna.thumbnails import NotAnImage, thumbnail

PROJECT_ID = 1
#: The rules a submission can be flagged by (the list's flag filter): its evidence check and the audit signals.
FLAG_RULES = (
    evidence.RULE,
    photos.EXACT_RULE,
    photos.NEAR_RULE,
    photos.EXIF_RULE,
    gps_trust.RULE,
    travel.RULE,
    audit.CERTIFICATION_RULE,
)
PAGE_SIZE = 50


def _state_th(state: str) -> str:
    return wording.thai(wording.REVIEW_STATES, state)


def in_scope(actor: Actor, area_code: str | None) -> bool:
    """Whether an object of ``area_code`` lies in the actor's area (everything does for an unscoped actor; an
    object without an area only then)."""
    return actor.area_code is None or (area_code or "").startswith(actor.area_code)


def reviewer() -> Actor:
    """The signed-in actor when their role reviews submissions; 403 for a role that only reads."""
    actor = require_reader()
    if not actor.reviews:
        abort(403, "บทบาทนี้อ่านข้อมูลได้แต่ตรวจไม่ได้ · this role reads data but does not review it")
    return actor


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def _page_links(total: int, page: int) -> dict[str, Any]:
    """Paging of ``total`` rows: the pages and their URLs (other query arguments kept)."""
    pages = max(1, -(-total // PAGE_SIZE))
    args = {k: v for k, v in request.args.items() if k != "page" and v}

    def link(number: int) -> str:
        return f"{request.path}?{urlencode({**args, 'page': number})}"

    shown = sorted({1, pages, *range(max(1, page - 3), min(pages, page + 3) + 1)})
    return {
        "page": page,
        "pages": pages,
        "total": total,
        "links": [(n, link(n)) for n in shown],
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


@bp.get("/submissions")
def submission_list() -> str:
    """What still waits for review in the user's area (received, edited, hasIssues), newest first; a review
    state filter shows that state instead. 50 a page, with the total."""
    actor = require_reader()
    selection = selection_from_args(actor, PROJECT_ID)
    states = REVIEW_STATES if selection.review_state else review.WAITING_STATES
    page = _page_number()
    total, rows = queries.submission_page(db(), selection, states, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template(
        "review/list.html",
        rows=rows,
        paging=_page_links(total, page),
        forms=current_versions(db(), PROJECT_ID),
        states=REVIEW_STATES,
        flag_rules=FLAG_RULES,
        args=request.args,
        actor=actor,
    )


@lru_cache(maxsize=256)
def _labels_of(xform_sha256: str) -> FormLabels:
    """The labels of a stored XForm (its bytes never change under their SHA-256, so they are cached)."""
    with services().blobs.open(xform_sha256) as stream:
        return read_labels(stream.read())


def _submission(actor: Actor, submission_id: int) -> Any:
    row = queries.submission_for_page(db(), PROJECT_ID, submission_id)
    if row is None or not in_scope(actor, row.area_code):
        abort(404)
    return row


def _results(actor: Actor, rows: list[Any], **extra: Any) -> list[dict[str, Any]]:
    """Stored results as the pages show them: other plots named by label (``khoknongna.findings``)."""
    shown = [{**r.result, "computed_at": r.computed_at, **extra} for r in rows]
    return with_plot_names(db(), shown, actor.area_code)


def _signals(actor: Actor, rows: list[Any]) -> list[dict[str, Any]]:
    """A submission's signals (their explanations beside them) with other plots named by label."""
    results = with_plot_names(db(), [r.result for r in rows], actor.area_code)
    return [{**r._asdict(), "result": result} for r, result in zip(rows, results, strict=True)]


def _detail(actor: Actor, submission_id: int, **extra: Any) -> str:
    row = _submission(actor, submission_id)
    conn = db()
    files = submission_queries.attachments(conn, row.version_id, arrived=True)
    photo_names = [f.name for f in files if is_photo(f.name, f.content_type)]
    labels = _labels_of(row.xform_sha256)
    answers = answer_rows(row.data, row.definition, labels, photo_names)
    geometries = queries.geometries_of(conn, row.version_id)
    drawn: list[tuple[str, str, str]] = []
    plot = None
    if row.plot_uuid:
        plot = queries.plot_for_page(conn, PROJECT_ID, row.plot_uuid)
        if plot is not None and not in_scope(actor, plot.area_code):
            plot = None
        if plot is not None and plot.boundary:
            drawn.append(("plot", f"แปลง {plot.label}", plot.boundary))
    for g in geometries:
        if g.geojson:
            th, en = bilingual(labels.field(g.field_path), g.field_path)
            drawn.append(("answer", f"{th} {en}".strip(), g.geojson))
    return render_template(
        "review/submission.html",
        s=row,
        actor=actor,
        answers=answers,
        files=files,
        photos=photo_names,
        geometries=geometries,
        drawing=sketch(drawn),
        plot=plot,
        checks=once_each(
            _results(actor, check_queries.results_of(conn, "submission", row.id)),
            _results(actor, check_queries.results_of(conn, "plot", plot.entity_id), about_plot=True) if plot else [],
        ),
        signals=_signals(actor, audit_queries.signals_of_submission(conn, row.id)),
        comments=queries.comments_of(conn, row.id),
        history=queries.history(conn, "submission", row.id),
        chosen_states=review.CHOSEN_STATES,
        needs_reason=review.NEEDS_REASON,
        **extra,
    )


@bp.get("/submissions/<int:submission_id>")
def submission_detail(submission_id: int) -> str:
    """A submission: answers with labels, photos, geometries, checks, signals, review, comments, history."""
    return _detail(require_reader(), submission_id)


@bp.post("/submissions/<int:submission_id>/review")
def submission_review(submission_id: int) -> Response | tuple[str, int]:
    """Set the review state (``approved``, ``hasIssues`` or ``rejected``; a reason for the last two). A missing
    reason shows the page again with the error (400) and changes nothing."""
    actor = reviewer()
    row = _submission(actor, submission_id)
    state = request.form.get("state", "")
    reason = request.form.get("reason", "")
    conn = db()
    try:
        changed = review.set_state(conn, row.id, actor.id, state, reason)
    except review.ReviewError:
        conn.rollback()
        if state in review.NEEDS_REASON and not reason.strip():
            message = f"สถานะ “{_state_th(state)}” ต้องระบุเหตุผล · A reason is required for {state}."
        else:
            message = "เปลี่ยนสถานะไม่ได้ · The review state could not be changed (unknown state or reason too long)."
        return _detail(actor, submission_id, review_error=message, form_state=state, form_reason=reason), 400
    conn.commit()
    flash(
        f"สถานะเปลี่ยนจาก {_state_th(changed.before)} เป็น {_state_th(changed.after)} · "
        f"Review state changed from {changed.before} to {changed.after}.",
        "ok",
    )
    return redirect(url_for("web.submission_detail", submission_id=row.id))


@bp.post("/submissions/<int:submission_id>/comments")
def submission_comment(submission_id: int) -> Response:
    """Add a comment (1 to 2,000 characters)."""
    actor = reviewer()
    row = _submission(actor, submission_id)
    conn = db()
    try:
        review.comment(conn, row.id, actor.id, request.form.get("body", ""))
    except review.ReviewError:
        conn.rollback()
        flash("ความเห็นต้องมี 1 ถึง 2,000 ตัวอักษร · A comment has 1 to 2,000 characters.", "error")
    else:
        conn.commit()
        flash("บันทึกความเห็นแล้ว · Comment added.", "ok")
    return redirect(url_for("web.submission_detail", submission_id=row.id, _anchor="comments"))


@bp.post("/submissions/<int:submission_id>/signals/<rule>/explain")
def signal_explain(submission_id: int, rule: str) -> Response:
    """Mark a raised audit signal as explained, with a reason; it stops counting. Kept in the signal's trail of
    explanations and in the audit log, in one transaction."""
    actor = reviewer()
    row = _submission(actor, submission_id)
    reason = request.form.get("reason", "").strip()
    back = redirect(url_for("web.submission_detail", submission_id=row.id, _anchor="signals"))
    if not reason or len(reason) > review.MAX_COMMENT:
        flash("ต้องระบุเหตุผล (ไม่เกิน 2,000 ตัวอักษร) · A reason (at most 2,000 characters) is required.", "error")
        return back
    conn = db()
    queries.record(
        conn,
        actor.id,
        "signal.explain",
        "submission",
        row.id,
        area_code=row.area_code,
        before={"rule": rule, "explained": False},
        after={"rule": rule, "explained": True, "reason": reason},
    )
    # explain_signal commits both writes, or rolls both back when there is no such raised signal.
    if audit.explain_signal(conn, row.id, rule, actor.id, reason) is None:
        flash(f"ไม่มีสัญญาณ {rule} ที่รออธิบาย · There is no raised signal {rule} to explain.", "error")
    else:
        flash(f"อธิบายสัญญาณ {rule} แล้ว · Signal {rule} explained.", "ok")
    return back


@bp.get("/submissions/<int:submission_id>/files/<name>")
def submission_file(submission_id: int, name: str) -> Response:
    """A file of the submission's current version: full size, or ``?size=thumb`` for a small JPEG preview of a
    photo. Images are shown inline; anything else is a download. Out of scope or unknown: 404."""
    actor = require_reader()
    row = _submission(actor, submission_id)
    if not is_safe_file_name(name):
        abort(404)
    files = submission_queries.attachments(db(), row.version_id, arrived=True, name=name)
    if not files:
        abort(404)
    found = files[0]
    blobs = services().blobs
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    if request.args.get("size") == "thumb":
        try:
            data = thumbnail(blobs, found.blob_sha256, services().settings.data_dir / "thumbnails")
        except NotAnImage:
            abort(404)
        return Response(data, content_type="image/jpeg", headers=headers)
    content_type = content_type_of(name, found.content_type)
    disposition = "inline" if is_photo(name, found.content_type) else "attachment"
    stream = blobs.open(found.blob_sha256)

    def body() -> Any:
        with stream:
            while chunk := stream.read(256 * 1024):
                yield chunk

    response = Response(body(), content_type=content_type, headers=headers)
    response.headers["Content-Disposition"] = content_disposition(disposition, name)
    if found.size is not None:
        response.content_length = found.size
    return response


@bp.get("/plots/<plot_uuid>")
def plot_detail(plot_uuid: str) -> str:
    """A plot of the register: its properties, boundary, checks, the submissions about it and its versions."""
    actor = require_reader()
    conn = db()
    plot = queries.plot_for_page(conn, PROJECT_ID, plot_uuid.lower())
    if plot is None or not in_scope(actor, plot.area_code):
        abort(404)
    drawing = sketch([("plot", plot.label, plot.boundary)]) if plot.boundary else None
    versions = queries.plot_versions(conn, plot.entity_id)
    written_by = next((v.submission_id for v in reversed(versions) if v.submission_id), None)
    survey = queries.submission_for_page(conn, PROJECT_ID, written_by) if written_by else None
    labels = _labels_of(survey.xform_sha256) if survey else FormLabels()
    return render_template(
        "review/plot.html",
        plot=plot,
        properties=property_rows(plot.properties or {}, survey.definition if survey else None, labels),
        actor=actor,
        drawing=drawing,
        checks=_results(actor, check_queries.results_of(conn, "plot", plot.entity_id)),
        submissions=queries.submissions_about_plot(conn, plot.entity_id, plot.uuid, actor.area_code),
        versions=versions,
    )


@bp.get("/audit")
def audit_trail() -> str:
    """The audit log, newest first, 50 a page; a scoped user sees only entries about their area. Read-only:
    no route changes it (and the database refuses UPDATE and DELETE on it)."""
    actor = require_reader()
    page = _page_number()
    total = queries.audit_count(db(), actor.area_code)
    entries = queries.audit_entries(db(), actor.area_code, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("review/audit.html", entries=entries, paging=_page_links(total, page), actor=actor)
