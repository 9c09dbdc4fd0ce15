"""The result of a spatial check: the rule, its version, a status, the numbers and a sentence in Thai and English.

Every rule in ``spatial/`` returns a :class:`CheckResult`. The numbers are what the sentences say, in SI units
named in the key (``area_m2``, ``distance_m``, ``share`` as 0–1), so that a stored result can be re-read
and compared without parsing text. A rule's version goes up whenever its logic or its defaults change, so
results computed under an older rule can be found and recomputed.

Statuses per rule (see docs/spatial.md):

=================== ===================================================================
rule                statuses
=================== ===================================================================
``plot_area``       ``ok``, ``undersized``, ``oversized``, ``uncertain``, ``not_measured``
``plot_validity``   ``ok``, ``warning`` (only harmless findings), ``invalid``
``plot_overlaps``   ``ok``, ``overlaps``
``plot_parts``      ``ok``, ``deviates``, ``no_parts``
``evidence_location`` ``inside``, ``near``, ``outside``, ``no_points``
``monthly_coverage`` ``complete``, ``incomplete``, ``no_plots``
=================== ===================================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Number = float | int | str | None
#: A finding may also list point numbers or distances.
FindingValue = Number | list[int] | list[float]


@dataclass(frozen=True)
class Finding:
    """One thing a check found, e.g. a spike at point 4: a stable ``code``, its numbers and sentences."""

    code: str
    numbers: dict[str, FindingValue]
    message_th: str
    message_en: str
    severity: str = "error"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"code", "severity", "numbers", "message_th", "message_en"}``."""
        return {
            "code": self.code,
            "severity": self.severity,
            "numbers": dict(self.numbers),
            "message_th": self.message_th,
            "message_en": self.message_en,
        }


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one rule on one subject (a plot, a submission, a district month)."""

    rule: str
    rule_version: int
    status: str
    numbers: dict[str, Number]
    message_th: str
    message_en: str
    findings: tuple[Finding, ...] = field(default=())

    @classmethod
    def passed(
        cls, rule: str, rule_version: int, numbers: dict[str, Number], message_th: str, message_en: str
    ) -> CheckResult:
        """The ``ok`` outcome of a rule that found nothing: its numbers and the sentences saying so."""
        return cls(rule, rule_version, "ok", numbers, message_th, message_en)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with every field; ``findings`` as a list of :meth:`Finding.to_dict`."""
        return {
            "rule": self.rule,
            "rule_version": self.rule_version,
            "status": self.status,
            "numbers": dict(self.numbers),
            "message_th": self.message_th,
            "message_en": self.message_en,
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text, Thai kept as UTF-8 (not ``\\u`` escapes), for a ``jsonb`` column."""
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False)
