"""khoknongna.storage.signin_failures: wrong passwords counted per user name, in the database every worker
and every machine shares."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import Engine, event, text

from khoknongna.storage.db import make_engine
from khoknongna.storage.signin_failures import MAX_NAME, SignInFailures

NOW = 1_790_000_000.0


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
        return [tuple(r) for r in conn.execute(text("SELECT username, failures FROM signin_failures ORDER BY 1"))]


def test_a_name_with_no_failures_is_not_locked(failures: SignInFailures) -> None:
    assert failures.standing("somchai").locked_until is None


def test_the_failure_that_reaches_the_limit_starts_the_lockout(failures: SignInFailures) -> None:
    assert [failures.failed("somchai") for _ in range(3)] == [None, None, NOW + 300]
    assert failures.standing("somchai").locked_until == NOW + 300


def test_the_lockout_ends_after_its_period(failures: SignInFailures, clock: Clock) -> None:
    for _ in range(3):
        failures.failed("somchai")
    clock.now += 300

    assert failures.standing("somchai").locked_until is None


def test_failures_older_than_the_window_start_a_new_count(failures: SignInFailures, clock: Clock) -> None:
    failures.failed("somchai")
    failures.failed("somchai")
    clock.now += 61

    assert failures.failed("somchai") is None
    assert failures.failed("somchai") is None
    assert failures.failed("somchai") == clock.now + 300


def test_a_success_clears_the_count(failures: SignInFailures) -> None:
    failures.failed("somchai")
    failures.failed("somchai")
    failures.succeeded("somchai")

    assert [failures.failed("somchai") for _ in range(2)] == [None, None]


def test_a_success_does_not_lift_a_lockout(failures: SignInFailures) -> None:
    for _ in range(3):
        failures.failed("somchai")
    failures.succeeded("somchai")

    assert failures.standing("somchai").locked_until == NOW + 300


def test_names_are_counted_apart(failures: SignInFailures) -> None:
    for _ in range(3):
        failures.failed("somchai")

    assert failures.standing("somsri").locked_until is None


def test_a_huge_name_is_counted_under_its_first_255_characters(failures: SignInFailures) -> None:
    huge = "x" * 1_000_000
    failures.failed(huge)

    assert stored(failures.engine) == [("x" * MAX_NAME, 1)]


def test_rows_of_names_long_quiet_are_removed(failures: SignInFailures, clock: Clock) -> None:
    failures.failed("old")
    clock.now += 301
    failures.failed("new")

    assert [name for name, _ in stored(failures.engine)] == ["new"]


def test_a_right_password_with_no_failures_writes_nothing(failures: SignInFailures) -> None:
    failures.standing("somchai")
    failures.succeeded("somchai")

    assert stored(failures.engine) == []


def test_a_success_after_failures_clears_them_given_the_standing_read_before(failures: SignInFailures) -> None:
    failures.failed("somchai")
    failures.failed("somchai")
    failures.succeeded("somchai", failures.standing("somchai"))

    assert stored(failures.engine) == []


def test_a_success_with_nothing_on_record_sends_no_statement(failures: SignInFailures) -> None:
    standing = failures.standing("somchai")
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

    assert [off.failed("somchai") for _ in range(10)] == [None] * 10
    assert off.standing("somchai").locked_until is None
    assert stored(db) == []


def _fail_many(url: str, times: int) -> None:
    engine = make_engine(url, pool_size=1)
    counter = SignInFailures(engine, limit=1_000_000, window_s=3600, lockout_s=60)
    for _ in range(times):
        counter.failed("somchai")
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
