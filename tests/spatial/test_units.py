"""khoknongna.spatial.units: square metres ↔ rai-ngan-wa."""

from __future__ import annotations

import pytest

from khoknongna.spatial.units import RaiNganWa, format_m2, format_rnw, m2_to_rai, rai_to_m2


def test_5800_square_metres_is_3_2_50() -> None:
    assert str(RaiNganWa.from_m2(5800)) == "3-2-50"


def test_3_2_50_is_5800_square_metres() -> None:
    assert RaiNganWa.parse("3-2-50").m2 == 5800


def test_one_rai_is_1600_square_metres_and_back() -> None:
    assert rai_to_m2(1) == 1600
    assert m2_to_rai(24_000) == 15


def test_square_wa_rounding_up_to_100_carries_into_the_next_ngan() -> None:
    assert str(RaiNganWa.from_m2(1999.9)) == "1-1-0"


def test_half_square_wa_is_kept_when_asked_for() -> None:
    assert str(RaiNganWa.from_m2(50, wa_decimals=1)) == "0-0-12.5"


def test_negative_area_is_refused() -> None:
    with pytest.raises(ValueError, match="≥ 0"):
        RaiNganWa.from_m2(-1)


def test_text_that_is_not_rai_ngan_wa_is_refused() -> None:
    with pytest.raises(ValueError, match="3-2-50"):
        RaiNganWa.parse("3 rai")


def test_ngan_above_three_is_not_rai_ngan_wa() -> None:
    with pytest.raises(ValueError):
        RaiNganWa(1, 4, 0)


def test_square_metres_are_written_with_thousands_separators() -> None:
    assert format_m2(24_000.4) == "24,000"
    assert format_rnw(24_000) == "15-0-0"
