"""khoknongna.storage.signin_failures: wrong passwords counted per user name, in the database every worker
and every machine shares."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import Engine, event, text

from khoknongna.accounts import create_user
from khoknongna.storage.db import make_engine
from khoknongna.storage.signin_failures import MAX_NAME, SignInFailures

NOW = 1_790_000_000.0
LOCKED_UNTIL = "2026-09-21T14:18:20+00:00"  # NOW + 300 s
HERE, THERE = "192.0.2.10", "198.51.100.7"  # documentation addresses (RFC 5737)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def failures(db: Engine, clock: Clock) -> SignInFailures:
    return SignInFailures(db, limit=3, window_s=60, lockout_s=300, clock=clock)


def stored(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT username, failures FROM signin_failures ORDER BY username, address"))
        return [tuple(r) for r in rows]


def lockouts(engine: Engine) -> list[tuple]:
    """``(action, subject_id, area_code, after)`` of the audit log's lockout entries."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, subject_id, area_code, after FROM audit_log WHERE action LIKE 'signin.%' ORDER BY id")
        )
        return [tuple(r) for r in rows]


def test_a_name_with_no_failures_is_not_locked(failures: SignInFailures) -> None:
    assert failures.standing("somchai", HERE).locked_until is None


def test_the_failure_that_reaches_the_limit_starts_the_lockout(failures: SignInFailures) -> None:
    assert [failures.failed("somchai", HERE) for _ in range(3)] == [None, None, NOW + 300]
    assert failures.standing("somchai", HERE).locked_until == NOW + 300


def test_the_lockout_ends_after_its_period(failures: SignInFailures, clock: Clock) -> None:
    for _ in range(3):
        failures.failed("somchai", HERE)
    clock.now += 300

    assert failures.standing("somchai", HERE).locked_until is None


def test_failures_older_than_the_window_start_a_new_count(failures: SignInFailures, clock: Clock) -> None:
    failures.failed("somchai", HERE)
    failures.failed("somchai", HERE)
    clock.now += 61

    assert failures.failed("somchai", HERE) is None
    assert failures.failed("somchai", HERE) is None
    assert failures.failed("somchai", HERE) == clock.now + 300


def test_a_success_clears_the_count(failures: SignInFailures) -> None:
    failures.failed("somchai", HERE)
    failures.failed("somchai", HERE)
    failures.succeeded("somchai", failures.standing("somchai", HERE))

    assert [failures.failed("somchai", HERE) for _ in range(2)] == [None, None]


def test_a_success_does_not_lift_a_lockout(failures: SignInFailures) -> None:
    for _ in range(3):
        failures.failed("somchai", HERE)
    failures.succeeded("somchai", failures.standing("somchai", HERE))

    assert failures.standing("somchai", HERE).locked_until == NOW + 300


def test_names_are_counted_apart(failures: SignInFailures) -> None:
    for _ in range(3):
        failures.failed("somchai", HERE)

    assert failures.standing("somsri", HERE).locked_until is None


def test_a_lockout_from_one_address_leaves_the_name_open_at_another(failures: SignInFailures) -> None:
    for _ in range(3):
        failures.failed("somchai", THERE)

    assert failures.standing("somchai", THERE).locked_until == NOW + 300
    assert failures.standing("somchai", HERE).locked_until is None


def test_failures_from_several_addresses_are_counted_apart(failures: SignInFailures) -> None:
    failures.failed("somchai", HERE)
    failures.failed("somchai", THERE)

    assert failures.failed("somchai", HERE) is None
    assert stored(failures.engine) == [("somchai", 2), ("somchai", 1)]


def test_a_right_password_clears_the_failures_of_its_own_address_only(failures: SignInFailures) -> None:
    failures.failed("somchai", THERE)
    failures.failed("somchai", THERE)
    failures.succeeded("somchai", failures.standing("somchai", HERE))

    assert failures.failed("somchai", THERE) == NOW + 300


def test_a_lockout_is_written_once_to_the_audit_log_with_the_user_and_address(
    failures: SignInFailures, db: Engine
) -> None:
    with db.begin() as conn:
        user = create_user(conn, "somchai", "right-pass", "district", "khoknongna", "4001")
    for _ in range(4):
        failures.failed("somchai", THERE)

    assert lockouts(db) == [
        ("signin.lockout", user.id, "4001", {"username": "somchai", "address": THERE, "locked_until": LOCKED_UNTIL})
    ]


def test_a_lockout_of_a_name_that_is_no_user_is_audited_without_a_subject(failures: SignInFailures, db: Engine) -> None:
    for _ in range(3):
        failures.failed("nobody", THERE)

    assert lockouts(db) == [
        ("signin.lockout", None, None, {"username": "nobody", "address": THERE, "locked_until": LOCKED_UNTIL})
    ]


def test_wrong_passwords_below_the_limit_write_no_audit_entry(failures: SignInFailures, db: Engine) -> None:
    failures.failed("somchai", THERE)
    failures.failed("somchai", THERE)

    assert lockouts(db) == []


def test_a_huge_name_is_counted_under_its_first_255_characters(failures: SignInFailures) -> None:
    huge = "x" * 1_000_000
    failures.failed(huge, HERE)

    assert stored(failures.engine) == [("x" * MAX_NAME, 1)]


def test_rows_of_names_long_quiet_are_removed(failures: SignInFailures, clock: Clock) -> None:
    failures.failed("old", HERE)
    clock.now += 301
    failures.failed("new", HERE)

    assert [name for name, _ in stored(failures.engine)] == ["new"]


def test_a_right_password_with_no_failures_writes_nothing(failures: SignInFailures) -> None:
    failures.succeeded("somchai", failures.standing("somchai", HERE))

    assert stored(failures.engine) == []


def test_a_success_after_failures_clears_them_given_the_standing_read_before(failures: SignInFailures) -> None:
    failures.failed("somchai", HERE)
    failures.failed("somchai", HERE)
    failures.succeeded("somchai", failures.standing("somchai", HERE))

    assert stored(failures.engine) == []


def test_a_success_with_nothing_on_record_sends_no_statement(failures: SignInFailures) -> None:
    standing = failures.standing("somchai", HERE)
    sent: list[str] = []

    def record(conn, cursor, statement, *rest) -> None:
        sent.append(statement)

    event.listen(failures.engine, "before_cursor_execute", record)
    try:
        failures.succeeded("somchai", standing)
    finally:
        event.remove(failures.engine, "before_cursor_execute", record)

    assert sent == []


def test_limit_zero_counts_nothing(db: Engine) -> None:
    off = SignInFailures(db, limit=0, window_s=60, lockout_s=300)

    assert [off.failed("somchai", HERE) for _ in range(10)] == [None] * 10
    assert off.standing("somchai", HERE).locked_until is None
    assert stored(db) == []


def _fail_many(url: str, times: int) -> None:
    engine = make_engine(url, pool_size=1)
    counter = SignInFailures(engine, limit=1_000_000, window_s=3600, lockout_s=60)
    for _ in range(times):
        counter.failed("somchai", HERE)
    engine.dispose()


def test_failures_from_several_processes_at_once_are_all_counted(db: Engine, pg_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_fail_many, args=(pg_url, 50)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)

    assert [p.exitcode for p in processes] == [0] * 4
    assert stored(db) == [("somchai", 200)]
