"""The admin pages: users, app users (phones configured by QR code) and forms.

Only the ``admin`` role reaches them: any other signed-in role gets 403, a visitor who is not signed in is sent
to the sign-in page. Every POST carries the CSRF token (Flask-WTF checks it before the route runs). Every change
goes into the append-only audit log in the same transaction as the change itself (a form's publication, which
commits on its own, is logged right after it), with the subject before and after; passwords, hashes and tokens
never go there. A password or an app-user link is shown once, on the answer to the POST that made it, never
stored in the session cookie, and such pages are sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from khoknongna import account_log, accounts, wording
from khoknongna.collect_settings import collect_settings, encode_settings, link_qr, settings_qr
from khoknongna.problems import Problem
from khoknongna.publishing import publish_form
from khoknongna.server.auth import Actor
from khoknongna.server.context import db, services
from khoknongna.server.web import bp
from khoknongna.server.web_session import require_reader
from khoknongna.storage import admin as admin_queries
from khoknongna.storage import review as audit_log
from khoknongna.storage import users as user_queries
from khoknongna.storage.projects import DEFAULT_PROJECT_ID, project_name

#: The roles in Thai, with what each may do (English beside it in the templates).
ROLE_LABELS = wording.ROLES
#: Shortest password an admin may type in (generated ones have 16 characters).
MIN_PASSWORD_CHARS = 8
#: Largest upload of a form with its media files on the forms page.
MAX_FORM_UPLOAD_BYTES = 50 * 1024 * 1024
FORM_SUFFIXES = (".xlsx", ".xls", ".xml")

# Thai for the messages of accounts.AccountError, found by a phrase of the English one.
_ACCOUNT_ERRORS_TH = (
    ("already exists", "มีผู้ใช้ชื่อนี้อยู่แล้ว"),
    ("must be non-empty", "ชื่อผู้ใช้ต้องไม่ว่างและห้ามมีเครื่องหมาย ':'"),
    ("role must be one of", "บทบาทไม่ถูกต้อง"),
    ("sees every area", "บทบาทนี้เห็นทุกพื้นที่ ไม่ต้องใส่รหัสพื้นที่"),
    ("province supervisor needs", "ผู้ตรวจระดับจังหวัดต้องมีรหัสจังหวัด 2 หลัก"),
    ("district supervisor needs", "ผู้ตรวจระดับอำเภอต้องมีรหัสอำเภอ 4 หลัก"),
    ("password must not be empty", "รหัสผ่านต้องไม่ว่าง"),
    ("needs a name", "ผู้ใช้แอปต้องมีชื่อ"),
    ("is not the code of", "ไม่พบรหัสพื้นที่นี้ (จังหวัด 2 หลัก อำเภอ 4 หลัก หรือตำบล 6 หลัก)"),
    ("no active app user", "ไม่พบผู้ใช้แอปที่ยังใช้งานอยู่"),
)


@dataclass(frozen=True)
class Message:
    """A message for the page in Thai and English."""

    th: str
    en: str


def account_message(error: accounts.AccountError) -> Message:
    """The Thai and English of an :class:`~khoknongna.accounts.AccountError`."""
    en = str(error).replace(" (--area)", "")
    th = next((th for phrase, th in _ACCOUNT_ERRORS_TH if phrase in en), "ทำรายการไม่สำเร็จ")
    return Message(th, en[:1].upper() + en[1:] + ".")


def require_admin() -> Actor:
    """The signed-in admin of this request: redirects to sign-in when nobody is signed in, 403 for other roles."""
    actor = require_reader()
    if actor.role != "admin":
        abort(make_response(render_template("admin_forbidden.html"), 403))
    return actor


def _no_store(body: str, status: int = 200) -> Response:
    """A page holding a secret (a password, an app user's link): never kept by the browser or a proxy."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _area(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# --- users -------------------------------------------------------------------------------------------------


def _users_page(status: int = 200, *, error: Message | None = None, shown: dict | None = None, form=None) -> Response:
    page = render_template(
        "admin_users.html",
        users=admin_queries.list_users(db()),
        roles=accounts.ROLES,
        role_labels=ROLE_LABELS,
        error=error,
        shown=shown,
        form=form or {},
    )
    return _no_store(page, status)


@bp.get("/admin/users")
def admin_users() -> Response:
    """Every user with role, area and creation time; forms to create a user, set a password, change a role,
    deactivate a user or let them sign in again."""
    require_admin()
    return _users_page()


def _chosen_password() -> tuple[str, bool] | Message:
    """The password typed in the form, or a generated one; whether it was generated (then it is shown once)."""
    typed = request.form.get("password", "")
    if not typed:
        return accounts.new_password(), True
    if len(typed) < MIN_PASSWORD_CHARS:
        return Message(
            f"รหัสผ่านต้องมีอย่างน้อย {MIN_PASSWORD_CHARS} ตัวอักษร หรือเว้นว่างไว้ให้ระบบสร้างให้",
            f"A password needs at least {MIN_PASSWORD_CHARS} characters; leave it empty to have one generated.",
        )
    return typed, False


@bp.post("/admin/users")
def admin_create_user() -> Response:
    """Create a user; a generated password is shown once on the answer. Audit: ``user.create``."""
    actor = require_admin()
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    area_code = _area(request.form.get("area_code"))
    chosen = _chosen_password()
    if isinstance(chosen, Message):
        return _users_page(400, error=chosen, form=request.form)
    password, generated = chosen
    conn = db()
    try:
        user = accounts.create_user(conn, username, password, role, services().settings.realm, area_code)
    except accounts.AccountError as exc:
        conn.rollback()
        return _users_page(400, error=account_message(exc), form=request.form)
    account_log.user_created(conn, actor.id, user)
    conn.commit()
    shown = {"username": user.username, "password": password if generated else None, "created": True}
    return _users_page(201, shown=shown)


def _user_or_404(user_id: int):
    row = admin_queries.user_for_update(db(), user_id)
    if row is None:
        abort(404)
    return row


@bp.post("/admin/users/<int:user_id>/password")
def admin_user_password(user_id: int) -> Response:
    """Give a user a new password (a generated one is shown once); their web sessions end. Audit:
    ``user.password`` (who and when, never the password)."""
    actor = require_admin()
    conn = db()
    row = _user_or_404(user_id)
    chosen = _chosen_password()
    if isinstance(chosen, Message):
        conn.rollback()
        return _users_page(400, error=chosen)
    password, generated = chosen
    accounts.set_password(conn, row.username, password, services().settings.realm)
    account_log.password_set(conn, actor.id, row, generated=generated)
    conn.commit()
    return _users_page(shown={"username": row.username, "password": password if generated else None})


@bp.post("/admin/users/<int:user_id>/role")
def admin_user_role(user_id: int) -> Response:
    """Change a user's role and area (checked as at creation). An admin cannot take their own admin role away, so
    there is always one admin left. Audit: ``user.role`` with the role and area before and after."""
    actor = require_admin()
    conn = db()
    row = _user_or_404(user_id)
    role = request.form.get("role", "")
    area_code = _area(request.form.get("area_code"))
    if row.id == actor.id and role != "admin":
        conn.rollback()
        message = Message(
            "ไม่สามารถเปลี่ยนบทบาทผู้ดูแลระบบของตนเองได้ ให้ผู้ดูแลระบบคนอื่นเปลี่ยนให้",
            "You cannot take away your own admin role; ask another admin.",
        )
        return _users_page(400, error=message)
    try:
        accounts.check_role(role, area_code)
    except accounts.AccountError as exc:
        conn.rollback()
        return _users_page(400, error=account_message(exc))
    if (role, area_code) != (row.role, row.area_code):
        admin_queries.set_role(conn, row.id, role, area_code)
        account_log.role_changed(conn, actor.id, row, role, area_code)
    conn.commit()
    flash(f"บันทึกบทบาทของ {row.username} แล้ว · Role of {row.username} saved", "ok")
    return redirect(url_for("web.admin_users"))


@bp.post("/admin/users/<int:user_id>/active")
def admin_user_active(user_id: int) -> Response:
    """Deactivate a user (``active=0``: no sign-in of any kind, every web session ended at once) or let them sign
    in again (``active=1``). An admin cannot deactivate themselves. Audit: ``user.deactivate`` or
    ``user.activate``."""
    actor = require_admin()
    conn = db()
    row = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    if row.id == actor.id and not active:
        conn.rollback()
        message = Message(
            "ไม่สามารถระงับบัญชีของตนเองได้ ให้ผู้ดูแลระบบคนอื่นระงับให้",
            "You cannot deactivate your own account; ask another admin.",
        )
        return _users_page(400, error=message)
    if user_queries.set_active(conn, row.username, active):
        account_log.activation_set(conn, actor.id, row, active)
    conn.commit()
    if active:
        flash(f"{row.username} เข้าสู่ระบบได้อีกครั้ง · {row.username} may sign in again", "ok")
    else:
        flash(f"ระงับบัญชี {row.username} แล้ว · {row.username} deactivated", "ok")
    return redirect(url_for("web.admin_users"))


# --- app users ---------------------------------------------------------------------------------------------


def _app_users_page(status: int = 200, *, error: Message | None = None, form=None) -> Response:
    page = render_template(
        "admin_app_users.html",
        app_users=user_queries.list_app_users(db(), DEFAULT_PROJECT_ID),
        error=error,
        form=form or {},
    )
    return _no_store(page, status)


def app_user_url(token: str, project_id: int = DEFAULT_PROJECT_ID) -> str:
    """The server URL an app user's phone uses: the public URL (``KNN_PUBLIC_URL``) or the one this request came
    to, then ``/v1/key/<token>/projects/<id>``."""
    base = (services().settings.public_url or request.host_url).rstrip("/")
    return f"{base}/v1/key/{token}/projects/{project_id}"


def _qr_page(app_user_id: int, display_name: str, area_code: str | None, token: str, status: int) -> Response:
    """The page of an app user's new link: the Collect settings QR code, and the QR code of the list of web forms
    (``<link>/f``) that a phone's camera opens in the browser (iPhones, which have no Collect)."""
    url = app_user_url(token)
    payload = collect_settings(url, project_name(db(), DEFAULT_PROJECT_ID) or "", app_user=True)
    qr = settings_qr(payload)
    web_url = f"{url}/f"
    page = render_template(
        "admin_app_user_qr.html",
        app_user_id=app_user_id,
        display_name=display_name,
        area_code=area_code,
        url=url,
        qr_png=qr.png_data_uri(scale=6, border=4),
        payload=encode_settings(payload),
        web_url=web_url,
        web_qr_png=link_qr(web_url).png_data_uri(scale=6, border=4),
    )
    return _no_store(page, status)


@bp.get("/admin/app-users")
def admin_app_users() -> Response:
    """The app users of project 1: name, area, created, revoked; forms to create, show the QR code, revoke."""
    require_admin()
    return _app_users_page()


@bp.post("/admin/app-users")
def admin_create_app_user() -> Response:
    """Create an app user and show its link and QR code. Audit: ``app_user.create`` (never the token)."""
    actor = require_admin()
    display_name = request.form.get("display_name", "").strip()
    area_code = _area(request.form.get("area_code"))
    conn = db()
    try:
        app_user_id, token = accounts.create_app_user(conn, DEFAULT_PROJECT_ID, display_name, area_code)
    except accounts.AccountError as exc:
        conn.rollback()
        return _app_users_page(400, error=account_message(exc), form=request.form)
    account_log.app_user_created(conn, actor.id, app_user_id, display_name, area_code, DEFAULT_PROJECT_ID)
    conn.commit()
    return _qr_page(app_user_id, display_name, area_code, token, 201)


def _live_app_user(app_user_id: int):
    found = [r for r in user_queries.list_app_users(db(), DEFAULT_PROJECT_ID) if r.id == app_user_id]
    if not found or found[0].revoked_at is not None:
        abort(404)
    return found[0]


@bp.post("/admin/app-users/<int:app_user_id>/qr")
def admin_app_user_qr(app_user_id: int) -> Response:
    """Issue a new link for an app user and show its QR code; the previous link stops working at once (tokens are
    kept only as hashes, so an old one cannot be shown again). Audit: ``app_user.qr``."""
    actor = require_admin()
    row = _live_app_user(app_user_id)
    conn = db()
    try:
        token = accounts.reissue_app_user_token(conn, row.id)
    except accounts.AccountError:
        conn.rollback()
        abort(404)
    account_log.app_user_new_link(conn, actor.id, row)
    conn.commit()
    return _qr_page(row.id, row.display_name, row.area_code, token, 200)


@bp.post("/admin/app-users/<int:app_user_id>/revoke")
def admin_app_user_revoke(app_user_id: int) -> Response:
    """Revoke an app user: its link and QR code stop working at the next request. Audit: ``app_user.revoke``."""
    actor = require_admin()
    row = _live_app_user(app_user_id)
    conn = db()
    user_queries.revoke_app_user(conn, row.id)
    account_log.app_user_revoked(conn, actor.id, row)
    conn.commit()
    flash(
        f"ยกเลิก {row.display_name} แล้ว ลิงก์และคิวอาร์โค้ดเดิมใช้ไม่ได้อีก · "
        f"{row.display_name} revoked: its link and QR code no longer work",
        "ok",
    )
    return redirect(url_for("web.admin_app_users"))


# --- forms -------------------------------------------------------------------------------------------------


def _forms_page(status: int = 200, *, error: Message | None = None) -> Response:
    rows = admin_queries.form_versions_of_project(db(), DEFAULT_PROJECT_ID)
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row.xml_form_id, []).append(row)
    page = render_template(
        "admin_forms.html", forms=grouped, error=error, max_mb=MAX_FORM_UPLOAD_BYTES // (1024 * 1024)
    )
    return make_response(page, status)


@bp.get("/admin/forms")
def admin_forms() -> Response:
    """Every form with its versions (title, version, when and by whom published, submissions) and an upload form."""
    require_admin()
    return _forms_page()


def _upload() -> tuple[str, bytes, dict[str, bytes]] | tuple[int, Message]:
    """The uploaded form (name, bytes) and media files, or the status and message of what is wrong with it."""
    too_large = Message(
        f"ไฟล์ใหญ่เกินไป (รวมกันได้ไม่เกิน {MAX_FORM_UPLOAD_BYTES // (1024 * 1024)} MB)",
        f"The upload is too large (at most {MAX_FORM_UPLOAD_BYTES // (1024 * 1024)} MB in all).",
    )
    if request.content_length is not None and request.content_length > MAX_FORM_UPLOAD_BYTES:
        return 413, too_large
    try:
        upload = request.files.get("form")
        media_files = request.files.getlist("media")
    except RequestEntityTooLarge:
        return 413, too_large
    if upload is None or not upload.filename:
        return 400, Message("กรุณาเลือกไฟล์แบบฟอร์ม", "Choose a form file to upload.")
    if not upload.filename.lower().endswith(FORM_SUFFIXES):
        return 400, Message(
            "ไฟล์แบบฟอร์มต้องเป็น XLSForm (.xlsx, .xls) หรือ XForm (.xml)",
            f"'{upload.filename}' is not an XLSForm (.xlsx, .xls) or an XForm (.xml).",
        )
    data = upload.read(MAX_FORM_UPLOAD_BYTES + 1)
    media = {f.filename: f.read(MAX_FORM_UPLOAD_BYTES + 1) for f in media_files if f.filename}
    if len(data) + sum(len(v) for v in media.values()) > MAX_FORM_UPLOAD_BYTES:
        return 413, too_large
    if not data:
        return 400, Message("ไฟล์แบบฟอร์มว่างเปล่า", f"'{upload.filename}' is empty.")
    return upload.filename, data, media


@bp.post("/admin/forms")
def admin_publish_form() -> Response:
    """Publish an uploaded XLSForm (or XForm) with optional media files as a new version; a form that cannot be
    published (invalid, a version that exists with other content) is explained and nothing changes. Audit:
    ``form.publish`` (logged after the publication's own transaction commits)."""
    actor = require_admin()
    upload = _upload()
    if isinstance(upload[0], int):
        status, message = upload
        return _forms_page(status, error=message)
    file_name, data, media = upload
    knn = services()
    try:
        published = publish_form(knn.engine, knn.blobs, knn.settings, file_name, data, media, published_by=actor.id)
    except Problem as problem:
        return _forms_page(problem.status, error=Message(problem.message_th, problem.message_en))
    conn = db()
    audit_log.record(
        conn,
        actor.id,
        "form.publish",
        "form",
        published.form_version_id,
        after={
            "xml_form_id": published.xml_form_id,
            "version": published.version,
            "title": published.title,
            "file_name": file_name,
            "new_version": published.created,
            "media": sorted(media),
            "missing_media": published.missing_media,
        },
    )
    conn.commit()
    if published.created:
        flash(
            f"เผยแพร่ {published.xml_form_id} รุ่น {published.version or '-'} แล้ว · "
            f"Published {published.xml_form_id} version {published.version or '-'}",
            "ok",
        )
    else:
        flash(
            f"{published.xml_form_id} รุ่นนี้มีอยู่แล้ว ไม่มีการเปลี่ยนแปลง · "
            f"{published.xml_form_id}: this exact form was published before; nothing new",
            "ok",
        )
    if published.missing_media:
        flash(
            "ยังขาดไฟล์สื่อ · Media still missing: " + ", ".join(published.missing_media),
            "warning",
        )
    for warning in published.warnings:
        flash(f"คำเตือน · Warning: {warning}", "warning")
    return redirect(url_for("web.admin_forms"))
