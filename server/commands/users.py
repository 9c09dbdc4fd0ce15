"""``user`` and ``appuser``: accounts with a password, and phones configured by a QR code.

Every change goes into the audit log in the transaction of the change, as on the admin pages, with no actor (nobody
is signed in at the command line) and ``"via": "command line"`` (:mod:`khoknongna.account_log`).
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import Connection

from khoknongna import account_log, accounts
from khoknongna.areas import area_name
from khoknongna.collect_settings import collect_settings, encode_settings, save_png, settings_qr
from khoknongna.server import serve as serving
from khoknongna.server.commands.common import (
    data_dir_option,
    in_transaction,
    load_settings,
    project_option,
    transaction,
)
from khoknongna.settings import Settings
from khoknongna.storage import admin as admin_queries
from khoknongna.storage import users as user_queries
from khoknongna.storage.projects import project_name


@click.group()
def user() -> None:
    """Accounts that sign in with a user name and password (Collect with Digest, admins)."""


@user.command("add")
@click.argument("name")
@click.option("--password", help="Password (default: a random one, printed once).")
@click.option("--role", type=click.Choice(accounts.ROLES), default="collector", show_default=True)
@click.option("--area", "area_code", help="Province (2 digits) or amphoe (4) code of a province or district role.")
@data_dir_option
def user_add(name: str, password: str | None, role: str, area_code: str | None, data_dir: Path) -> None:
    """Create the account NAME."""
    settings = load_settings(data_dir)
    shown = password is None
    password = password or accounts.new_password()
    with transaction(settings) as conn:
        try:
            created = accounts.create_user(conn, name, password, role, settings.realm, area_code)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        account_log.user_created(conn, None, created)
    where = f" of {area_name(area_code)}" if area_code else ""
    click.echo(f"created {role} '{name}'{where}" + (f" with password: {password}" if shown else ""))


@user.command("password")
@click.argument("name")
@click.option("--password", help="New password (default: a random one, printed once).")
@data_dir_option
def user_password(name: str, password: str | None, data_dir: Path) -> None:
    """Give the account NAME a new password."""
    settings = load_settings(data_dir)
    shown = password is None
    password = password or accounts.new_password()
    with transaction(settings) as conn:
        row = admin_queries.user_named_for_update(conn, name)
        if row is None:
            raise click.ClickException(f"there is no user named '{name}'")
        accounts.set_password(conn, name, password, settings.realm)
        account_log.password_set(conn, None, row, generated=shown)
    click.echo(f"password of '{name}' changed" + (f" to: {password}" if shown else ""))


def _activation_command(command: str, active: bool, help_text: str, done: str) -> None:
    """Add ``user COMMAND NAME``: it makes the account NAME active (``active``) or not, then prints ``done`` (with
    ``{name}``). Deactivating also ends the account's web sessions (:func:`khoknongna.storage.users.set_active`)."""

    @user.command(command, help=help_text)
    @click.argument("name")
    @data_dir_option
    def set_active(name: str, data_dir: Path) -> None:
        settings = load_settings(data_dir)
        with transaction(settings) as conn:
            row = admin_queries.user_named_for_update(conn, name)
            if row is None or not user_queries.set_active(conn, name, active):
                state = "an active" if active else "a deactivated"
                raise click.ClickException(f"there is no user named '{name}', or it is already {state} account")
            account_log.activation_set(conn, None, row, active)
        click.echo(done.format(name=name))


_activation_command(
    "deactivate",
    False,
    "Stop the account NAME from signing in anywhere and end its web sessions (its records stay).",
    "'{name}' deactivated: it can no longer sign in",
)
_activation_command(
    "activate", True, "Let the deactivated account NAME sign in again (with its old password).", "'{name}' active again"
)


@click.group()
def appuser() -> None:
    """App users: phones configured by a QR code whose URL holds a secret token."""


@appuser.command("add")
@click.argument("name")
@click.option(
    "--area",
    "area_code",
    help="Province (2 digits), amphoe (4) or tambon (6) code: the phone gets only that area's plots.",
)
@click.option("--out", "png", type=click.Path(dir_okay=False, path_type=Path), help="Also save the QR code as PNG.")
@project_option
@click.option("--server-url", help="Public URL of the server (default: KNN_PUBLIC_URL or http://<this machine>:8000).")
@data_dir_option
def appuser_add(
    name: str, area_code: str | None, png: Path | None, project_id: int, server_url: str | None, data_dir: Path
) -> None:
    """Create the app user NAME and print its URL and QR code (shown once; `appuser qr` issues a new one)."""
    settings = load_settings(data_dir)
    with transaction(settings) as conn:
        project = _project(conn, project_id)
        try:
            app_user_id, token = accounts.create_app_user(conn, project_id, name, area_code)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        account_log.app_user_created(conn, None, app_user_id, name.strip(), area_code, project_id)
    where = f", area {area_code} {area_name(area_code)}" if area_code else ""
    click.echo(f"created app user {app_user_id} '{name}' in project {project_id} ({project}){where}")
    _show_app_user_link(settings, server_url, token, project_id, project, png)


@appuser.command("qr")
@click.argument("app_user")
@click.option("--out", "png", type=click.Path(dir_okay=False, path_type=Path), help="Also save the QR code as PNG.")
@project_option
@click.option("--server-url", help="Public URL of the server (default: KNN_PUBLIC_URL or http://<this machine>:8000).")
@data_dir_option
def appuser_qr(app_user: str, png: Path | None, project_id: int, server_url: str | None, data_dir: Path) -> None:
    """Issue a new link and QR code for APP_USER (its id or name); the old ones stop working at once."""
    settings = load_settings(data_dir)
    with transaction(settings) as conn:
        project = _project(conn, project_id)
        live = [r for r in user_queries.list_app_users(conn, project_id) if r.revoked_at is None]
        found = [r for r in live if str(r.id) == app_user or r.display_name == app_user]
        if len(found) != 1:
            problem = "no active app user" if not found else f"{len(found)} active app users (use the id)"
            raise click.ClickException(f"there is {problem} called '{app_user}' in project {project_id}")
        token = accounts.reissue_app_user_token(conn, found[0].id)
        account_log.app_user_new_link(conn, None, found[0])
    click.echo(f"new link for app user {found[0].id} '{found[0].display_name}'; the previous QR code no longer works")
    _show_app_user_link(settings, server_url, token, project_id, project, png)


def _project(conn: Connection, project_id: int) -> str:
    project = project_name(conn, project_id)
    if project is None:
        raise click.ClickException(f"there is no project {project_id}")
    return project


def _show_app_user_link(
    settings: Settings, server_url: str | None, token: str, project_id: int, project: str, png: Path | None
) -> None:
    base = (server_url or serving.collect_url(settings, "0.0.0.0", 8000)).rstrip("/")  # noqa: S104
    url = f"{base}/v1/key/{token}/projects/{project_id}"
    collect = collect_settings(url, project, app_user=True)
    click.echo(f"ODK Collect server URL: {url}")
    click.echo("Scan this QR code in Collect ('Configure with QR code'); anyone holding it can submit:")
    click.echo(serving.terminal_qr(collect))
    click.echo(f"settings payload: {encode_settings(collect)}")
    if png is not None:
        save_png(settings_qr(collect), png)
        click.echo(f"QR code saved to {png}")


@appuser.command("list")
@project_option
@data_dir_option
def appuser_list(project_id: int, data_dir: Path) -> None:
    """List the project's app users (their links are never shown again)."""
    rows = in_transaction(data_dir, user_queries.list_app_users, project_id)
    if not rows:
        click.echo("no app users")
    for r in rows:
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        area = f"  area {r.area_code}" if r.area_code else ""
        click.echo(f"{r.id:>5}  {r.display_name}{area}  (created {r.created_at:%Y-%m-%d %H:%M}, {state})")


@appuser.command("revoke")
@click.argument("app_user_id", type=int)
@data_dir_option
def appuser_revoke(app_user_id: int, data_dir: Path) -> None:
    """Revoke the app user APP_USER_ID: its link and QR code stop working at once."""
    settings = load_settings(data_dir)
    with transaction(settings) as conn:
        revoked = user_queries.revoke_app_user(conn, app_user_id)
        if revoked is None:
            raise click.ClickException(f"there is no active app user {app_user_id}")
        account_log.app_user_revoked(conn, None, revoked)
    click.echo(f"app user {app_user_id} revoked; its link no longer works")
