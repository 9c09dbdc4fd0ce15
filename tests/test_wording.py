"""Dates and codes in words (``khoknongna.wording``): the Buddhist era in Thai time, Thai words for codes."""

from __future__ import annotations

from datetime import UTC, date, datetime

from khoknongna import accounts, wording
from khoknongna.storage import selection
from khoknongna.wording import REVIEW_STATES, buddhist_date, http_error, iso, thai


def test_a_moment_is_shown_in_the_buddhist_era_in_thai_time() -> None:
    moment = datetime(2026, 12, 5, 17, 30, tzinfo=UTC)

    assert buddhist_date(moment) == "6 ธ.ค. 2569 00:30"
    assert iso(moment) == "2026-12-06T00:30:00+07:00"


def test_a_date_has_no_time_and_no_shift() -> None:
    assert buddhist_date(date(2026, 1, 31)) == "31 ม.ค. 2569"
    assert buddhist_date(None) == ""


def test_a_code_without_words_is_shown_as_it_is() -> None:
    assert thai(REVIEW_STATES, "hasIssues") == "มีปัญหา"
    assert thai(REVIEW_STATES, "someday") == "someday"


def test_every_role_and_review_state_has_thai_and_english_words() -> None:
    for words, codes in ((wording.ROLES, accounts.ROLES), (wording.REVIEW_STATES, selection.REVIEW_STATES)):
        for code in codes:
            assert all(words[code]), code


def test_an_error_status_without_its_own_words_gets_general_ones() -> None:
    assert http_error(404)[0] == "ไม่พบหน้านี้"
    assert http_error(502)[0] == "ระบบขัดข้อง"
    assert http_error(418)[0] == "เกิดข้อผิดพลาด"
