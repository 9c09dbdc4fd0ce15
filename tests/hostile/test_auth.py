"""Password guessing and replayed credentials against the real app.

Lockout (``KNN_LOCKOUT_*``, default 10 wrong passwords within 15 minutes lock a user name for 15 minutes):
while locked, the right password is refused too and no password is checked; a right password before that
clears the count; the counts are shared by every worker of the server (a PostgreSQL table).

Already covered in tests/server/test_auth.py and not repeated: a revoked app-user token (403), a token used
in another project (403), Digest computed for another URI, expired nonces answered with ``stale=true``, and
a nonce reused with a growing ``nc``.

Replays: a Digest ``nc`` is accepted once per nonce and only when higher than every one before
(``storage.digest_nonces``, shared by all workers through PostgreSQL).
"""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from khoknongna import accounts
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.hostile.support import PHOTO, assert_openrosa_error, count, multipart, new_id
from tests.instances import jpeg
from tests.plots import plot_xml
from tests.server.test_auth import basic_authorization, challenges, digest_authorization, fresh_challenge

LIMIT = 10
URI = "/formList?deviceID=collect%3ATESTDEVICE0000001"


class Clock:
    """A clock the test moves forward (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock()
    app.extensions["knn"].signin_failures.clock = clock
    return clock


def digest(client: FlaskClient, username: str, password: str, uri: str = URI):
    challenge = fresh_challenge(client)
    headers = digest_authorization(
        "GET", uri, username=username, password=password, nonce=challenge["nonce"], opaque=challenge["opaque"]
    )
    return client.get(uri, headers={"X-OpenRosa-Version": "1.0", **headers})


def basic(client: FlaskClient, username: str, password: str):
    headers = {"X-OpenRosa-Version": "1.0", **basic_authorization(username, password)}
    return client.get("/formList", headers=headers, base_url="https://localhost")


def guess(client: FlaskClient, username: str, times: int) -> list[int]:
    return [digest(client, username, f"guess-{i}").status_code for i in range(times)]


def test_the_tenth_wrong_password_locks_the_name_and_the_right_one_is_then_refused(
    client: FlaskClient, collector: tuple[str, str]
) -> None:
    user, password = collector

    assert guess(client, user, LIMIT - 1) == [401] * (LIMIT - 1)
    assert digest(client, user, password).status_code == 200, "nine wrong guesses lock nothing"
    guess(client, user, LIMIT)  # the right password cleared the count: ten more
    locked = digest(client, user, password)

    assert_openrosa_error(locked, 401, "Too many wrong passwords")
    assert locked.headers["WWW-Authenticate"].startswith("Digest ")
    assert "stale" not in locked.headers["WWW-Authenticate"], "Collect must stop retrying, not retry at once"


def test_the_lockout_answer_says_in_thai_and_english_when_to_try_again(
    client: FlaskClient, collector: tuple[str, str]
) -> None:
    user, _ = collector
    guess(client, user, LIMIT - 1)
    tenth = digest(client, user, "guess-10")

    message = assert_openrosa_error(tenth, 401, f"'{user}'")
    retry_after = int(tenth.headers["Retry-After"])

    assert 14 * 60 < retry_after <= 15 * 60
    assert "ระงับการเข้าสู่ระบบจนถึงเวลา" in message
    assert re.search(r"until \d\d:\d\d Thailand time \(about 15 minutes\)", message), message


def test_while_locked_no_password_is_checked(
    client: FlaskClient, collector: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = collector
    for i in range(LIMIT):
        basic(client, user, f"guess-{i}")
    checked = []
    monkeypatch.setattr(accounts, "verify_password", lambda *args: checked.append(args) or True)

    response = basic(client, user, password)

    assert_openrosa_error(response, 401, "Too many wrong passwords")
    assert checked == []


def test_basic_and_digest_failures_count_together(client: FlaskClient, collector: tuple[str, str]) -> None:
    user, password = collector
    for i in range(LIMIT // 2):
        basic(client, user, f"guess-{i}")
    guess(client, user, LIMIT - LIMIT // 2)

    assert_openrosa_error(digest(client, user, password), 401, "Too many wrong passwords")


def test_other_users_are_not_locked_with_a_locked_one(
    client: FlaskClient, db: Engine, settings: Settings, collector: tuple[str, str]
) -> None:
    user, _ = collector
    with db.begin() as conn:
        accounts.create_user(conn, "somsri", "pass-of-somsri", "collector", settings.realm)

    guess(client, user, LIMIT)

    assert digest(client, "somsri", "pass-of-somsri").status_code == 200


def test_an_unknown_user_name_is_locked_like_a_known_one(client: FlaskClient, collector: tuple[str, str]) -> None:
    statuses = guess(client, "no-such-user", LIMIT)

    assert statuses == [401] * LIMIT
    assert_openrosa_error(digest(client, "no-such-user", "x"), 401, "Too many wrong passwords")


def test_the_lockout_ends_after_15_minutes(client: FlaskClient, collector: tuple[str, str], clock: Clock) -> None:
    user, password = collector
    guess(client, user, LIMIT)
    clock.now += 14 * 60
    assert digest(client, user, password).status_code == 401

    clock.now += 61

    assert digest(client, user, password).status_code == 200


def test_wrong_passwords_more_than_15_minutes_apart_do_not_add_up(
    client: FlaskClient, collector: tuple[str, str], clock: Clock
) -> None:
    user, password = collector
    guess(client, user, LIMIT - 1)
    clock.now += 15 * 60 + 1
    guess(client, user, LIMIT - 1)

    assert digest(client, user, password).status_code == 200


def test_a_lockout_in_one_worker_holds_in_another(settings: Settings, db: Engine, collector: tuple[str, str]) -> None:
    user, password = collector
    # two apps on one data folder, as two gunicorn workers: nothing in memory is shared between them
    first, second = create_app(settings, engine=db).test_client(), create_app(settings, engine=db).test_client()

    guess(first, user, LIMIT // 2)
    guess(second, user, LIMIT - LIMIT // 2)

    assert_openrosa_error(digest(first, user, password), 401, "Too many wrong passwords")
    assert_openrosa_error(digest(second, user, password), 401, "Too many wrong passwords")


def test_lockout_set_to_zero_never_locks(settings: Settings, db: Engine, collector: tuple[str, str]) -> None:
    user, password = collector
    client = create_app(settings.model_copy(update={"lockout_failures": 0}), engine=db).test_client()

    guess(client, user, 3 * LIMIT)

    assert digest(client, user, password).status_code == 200


def test_a_replayed_digest_post_of_a_submission_is_refused_with_a_fresh_challenge(
    app: Flask, collect: CollectClient, db: Engine, plot_survey: None
) -> None:
    collect.request("HEAD", "/submission")
    body = multipart(
        [(b"xml_submission_file", b"s.xml", plot_xml(new_id())), (PHOTO.encode(), PHOTO.encode(), jpeg(1))]
    )
    url = collect.url("/submission")
    headers = {"X-OpenRosa-Version": "1.0", **collect._authorization("POST", url)}
    content_type = "multipart/form-data; boundary=b0undary"

    first = app.test_client().post(url, data=body, headers=headers, content_type=content_type)
    replayed = app.test_client().post(url, data=body, headers=headers, content_type=content_type)

    assert first.status_code == 201
    assert_openrosa_error(replayed, 401, "sign in")
    assert count(db, "submissions") == 1


def signed_get(client: FlaskClient, challenge: dict[str, str], nc: int, username: str, password: str):
    headers = digest_authorization(
        "GET", URI, username=username, password=password, nonce=challenge["nonce"], opaque=challenge["opaque"], nc=nc
    )
    return client.get(URI, headers={"X-OpenRosa-Version": "1.0", **headers})


def test_a_replayed_nonce_count_gets_a_fresh_nonce_marked_stale(
    client: FlaskClient, collector: tuple[str, str]
) -> None:
    challenge = fresh_challenge(client)
    assert signed_get(client, challenge, 1, *collector).status_code == 200

    replayed = signed_get(client, challenge, 1, *collector)

    assert replayed.status_code == 401
    again = challenges(replayed)["digest"]
    assert again["nonce"] != challenge["nonce"]
    assert again["stale"] == "true"  # the digest was right: Collect signs again without asking for the password


@pytest.mark.parametrize(
    ("workers", "used", "replayed"),
    [(1, 5, 4), (2, 1, 1)],
    ids=["a lower count at the same worker", "the same count at another worker"],
)
def test_a_nonce_count_not_above_one_already_used_is_refused(
    settings: Settings, db: Engine, collector: tuple[str, str], workers: int, used: int, replayed: int
) -> None:
    clients = [create_app(settings, engine=db).test_client() for _ in range(workers)]
    first, last = clients[0], clients[-1]
    challenge = fresh_challenge(first)
    assert signed_get(first, challenge, used, *collector).status_code == 200

    assert signed_get(last, challenge, replayed, *collector).status_code == 401
    assert signed_get(last, challenge, used + 1, *collector).status_code == 200


def test_collect_overtaken_by_its_own_request_signs_in_again_without_asking(
    app: Flask, collect: CollectClient, collector: tuple[str, str]
) -> None:
    assert collect.get("/formList").status_code == 200
    challenge = collect.challenge
    assert signed_get(app.test_client(), challenge, collect.nc + 5, *collector).status_code == 200  # it overtook

    responses = [collect.get("/formList") for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert collect.challenge["nonce"] != challenge["nonce"]


def test_counts_of_expired_nonces_are_removed_as_requests_come(
    client: FlaskClient, db: Engine, collector: tuple[str, str]
) -> None:
    with db.begin() as conn:
        conn.execute(
            text("INSERT INTO digest_nonce_counts (nonce, nc, expires_at) VALUES ('gone', 3, :past)"),
            {"past": time.time() - 1},
        )

    assert signed_get(client, fresh_challenge(client), 1, *collector).status_code == 200

    assert count(db, "digest_nonce_counts") == 1
