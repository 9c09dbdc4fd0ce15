"""Thai land units: square metres ↔ rai-ngan-wa, and the number formats the check messages use.

1 rai (ไร่) = 4 ngan (งาน) = 1,600 m²; 1 ngan = 100 square wa (ตารางวา) = 400 m²; 1 square wa = 4 m².
Thai land areas are written rai-ngan-wa: ``3-2-50`` is 3 rai 2 ngan 50 square wa = 5,800 m².

Source: DOMAIN.md "Units"; the Thai Land Code's units (1 wa = 2 m, so 1 square wa = 4 m²).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SQ_M_PER_SQ_WA = 4.0
SQ_WA_PER_NGAN = 100
NGAN_PER_RAI = 4
SQ_M_PER_NGAN = SQ_M_PER_SQ_WA * SQ_WA_PER_NGAN  # 400 m²
SQ_M_PER_RAI = SQ_M_PER_NGAN * NGAN_PER_RAI  # 1,600 m²

_RNW = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*-\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class RaiNganWa:
    """An area as Thai land documents write it: whole rai, whole ngan (0–3) and square wa (0 to < 100).

    ``str()`` gives ``"3-2-50"``; square wa keep one decimal only when they have one (``"0-0-12.5"``).
    """

    rai: int
    ngan: int
    wa: float

    def __post_init__(self) -> None:
        if self.rai < 0 or not 0 <= self.ngan < NGAN_PER_RAI or not 0 <= self.wa < SQ_WA_PER_NGAN:
            raise ValueError(f"not a rai-ngan-wa area: {self.rai}-{self.ngan}-{self.wa}")

    def __str__(self) -> str:
        return f"{self.rai}-{self.ngan}-{_wa_text(self.wa)}"

    @property
    def m2(self) -> float:
        """The area in m²."""
        return self.rai * SQ_M_PER_RAI + self.ngan * SQ_M_PER_NGAN + self.wa * SQ_M_PER_SQ_WA

    @classmethod
    def from_m2(cls, m2: float, wa_decimals: int = 0) -> RaiNganWa:
        """The rai-ngan-wa of ``m2`` (m², ≥ 0), square wa rounded to ``wa_decimals`` places (carried upwards).

        Raises ``ValueError`` for a negative or non-finite area.
        """
        if not math.isfinite(m2) or m2 < 0:
            raise ValueError(f"an area must be a finite number of m² ≥ 0, not {m2!r}")
        total_wa = round(m2 / SQ_M_PER_SQ_WA, wa_decimals)
        whole_ngan, wa = divmod(total_wa, SQ_WA_PER_NGAN)
        rai, ngan = divmod(int(whole_ngan), NGAN_PER_RAI)
        wa = round(wa, wa_decimals)
        if wa >= SQ_WA_PER_NGAN:  # float residue of divmod, e.g. 99.99999 rounded to 100
            wa = 0.0
            rai, ngan = divmod(rai * NGAN_PER_RAI + ngan + 1, NGAN_PER_RAI)
        return cls(rai, ngan, wa)

    @classmethod
    def parse(cls, text: str) -> RaiNganWa:
        """Parse ``"3-2-50"`` (rai-ngan-wa). Raises ``ValueError`` when ``text`` is not of that form."""
        match = _RNW.match(text)
        if not match:
            raise ValueError(f"not a rai-ngan-wa area such as '3-2-50': {text!r}")
        return cls(int(match[1]), int(match[2]), float(match[3]))


def _wa_text(wa: float) -> str:
    return str(int(wa)) if float(wa).is_integer() else f"{wa:.1f}".rstrip("0").rstrip(".")


def rai_to_m2(rai: float) -> float:
    """``rai`` (ไร่, may be fractional) in m²: ``rai × 1,600``."""
    return rai * SQ_M_PER_RAI


def m2_to_rai(m2: float) -> float:
    """``m2`` (m²) in rai: ``m2 / 1,600``."""
    return m2 / SQ_M_PER_RAI


def format_m2(m2: float) -> str:
    """An area in m² rounded to a whole number with thousands separators: ``5800.4`` → ``"5,800"``."""
    return f"{round(m2):,}"


def format_m(metres: float) -> str:
    """A distance in metres with one decimal below 100 m, whole above: ``"12.3"``, ``"1,250"``."""
    return f"{metres:,.1f}" if abs(metres) < 100 else f"{round(metres):,}"


def format_pct(share: float) -> str:
    """A share (0–1) as a percentage with one decimal: ``0.305`` → ``"30.5"``."""
    return f"{share * 100:.1f}"


def format_rnw(m2: float) -> str:
    """An area in m² as rai-ngan-wa text, e.g. ``"3-2-50"``; negative areas are written with a minus sign."""
    sign = "-" if m2 < 0 else ""
    return sign + str(RaiNganWa.from_m2(abs(m2)))
