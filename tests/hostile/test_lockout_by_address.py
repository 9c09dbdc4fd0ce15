"""Lockout by user name and client address: someone who knows a user name and floods wrong passwords locks that
name out at their own address only; the owner signs in from another address as usual. The address is the
socket's peer, or with ``KNN_TRUSTED_PROXIES`` the one the proxy forwarded; Digest, Basic and the web sign-in
count together; each lockout is written once to the audit log (who, from where; the entry's time is when)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from khoknongna.accounts import create_user
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from tests.hostile.support import assert_openrosa_error
from tests.hostile.test_auth import LIMIT, digest, guess
from tests.web.support import sign_in

ATTACKER, OWNER, PROXY = "198.51.100.7", "192.0.2.10", "10.0.0.2"  # documentation and private addresses


def from_socket(app: Flask, address: str) -> FlaskClient:
    """A client whose requests come from ``address`` (the WSGI ``REMOTE_ADDR``)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def through_proxy(app: Flask, address: str) -> FlaskClient:
    """A client at ``address`` behind the reverse proxy ``PROXY``, which says so in ``X-Forwarded-For``."""
    client = from_socket(app, PROXY)
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return client


@pytest.fixture
def proxied_app(settings: Settings, db: Engine) -> Flask:
    return create_app(settings.model_copy(update={"trusted_proxies": 1}), engine=db)


def lockouts(db: Engine) -> list[tuple]:
    with db.connect() as conn:
        rows = conn.execute(text("SELECT actor_id, after FROM audit_log WHERE action = 'signin.lockout' ORDER BY id"))
        return [tuple(r) for r in rows]


@pytest.mark.parametrize(
    ("server", "client_at"),
    [("app", from_socket), ("proxied_app", through_proxy)],
    ids=["socket address", "address forwarded by a trusted proxy"],
)
def test_guesses_from_one_address_leave_the_owner_free_at_another(
    server: str,
    client_at: Callable[[Flask, str], FlaskClient],
    request: pytest.FixtureRequest,
    collector: tuple[str, str],
) -> None:
    user, password = collector
    served = request.getfixturevalue(server)
    attacker, owner = client_at(served, ATTACKER), client_at(served, OWNER)

    guess(attacker, user, LIMIT)

    assert digest(owner, user, password).status_code == 200
    assert_openrosa_error(digest(attacker, user, password), 401, "Too many wrong passwords")


def test_a_forged_forwarded_address_does_not_escape_the_lockout_without_a_trusted_proxy(
    app: Flask, collector: tuple[str, str]
) -> None:
    user, password = collector
    attacker = from_socket(app, ATTACKER)
    for i in range(LIMIT):
        attacker.environ_base["HTTP_X_FORWARDED_FOR"] = f"203.0.113.{i}"
        digest(attacker, user, f"guess-{i}")

    assert_openrosa_error(digest(attacker, user, password), 401, "Too many wrong passwords")


def test_the_web_sign_in_is_locked_per_address_too(proxied_app: Flask, db: Engine, settings: Settings) -> None:
    with db.begin() as conn:
        create_user(conn, "somchai", "district-pass", "district", settings.realm, "4001")
    attacker, owner = through_proxy(proxied_app, ATTACKER), through_proxy(proxied_app, OWNER)
    for _ in range(LIMIT):
        sign_in(attacker, "somchai", "wrong")

    assert sign_in(attacker, "somchai", "district-pass").status_code == 429
    assert sign_in(owner, "somchai", "district-pass").status_code == 302


def test_web_and_digest_guesses_from_one_address_count_together(
    app: Flask, db: Engine, settings: Settings, collector: tuple[str, str]
) -> None:
    user, password = collector
    attacker = from_socket(app, ATTACKER)
    for _ in range(LIMIT // 2):
        sign_in(attacker, user, "wrong")
    guess(attacker, user, LIMIT - LIMIT // 2)

    assert_openrosa_error(digest(attacker, user, password), 401, "Too many wrong passwords")
    assert sign_in(attacker, user, password).status_code == 429


def test_a_lockout_is_audited_once_with_the_user_and_the_forwarded_address(
    proxied_app: Flask, db: Engine, collector: tuple[str, str]
) -> None:
    user, password = collector
    attacker = through_proxy(proxied_app, ATTACKER)

    guess(attacker, user, LIMIT)
    guess(attacker, user, 3)  # refused while locked: not counted, not audited again
    digest(attacker, user, password)

    ((actor, after),) = lockouts(db)
    assert actor is None
    assert after["username"] == user
    assert after["address"] == ATTACKER
    assert after["locked_until"]
