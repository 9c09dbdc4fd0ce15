"""Check and signal results as a person reads them: a finding that names another plot names it by its label and
its UUID (never the internal row id the overlap rule stores, ``other_plot: 1``), and a near-duplicate photo is
said in plain words ("ภาพเกือบเหมือนกับภาพของรายการ …"), not in bits of a hash.

No Flask; the plots are read through ``storage.checks``. The stored results are never changed (the overlap rule
reads its own ids back to re-check both sides of an overlap).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from khoknongna.storage import checks as check_queries

#: Finding codes whose photo is about the same picture, resized, re-compressed or cropped.
_NEAR_PICTURE = "same_picture"


@dataclass(frozen=True)
class PlotName:
    """A plot a finding names: its UUID, and its label (``None`` when it lies outside the reader's area)."""

    uuid: str
    label: str | None


def plots_named(results: Iterable[Mapping[str, Any]]) -> tuple[set[int], set[str]]:
    """The plots the findings of ``results`` name: internal entity ids (overlaps) and UUIDs (photos, GPS)."""
    ids: set[int] = set()
    uuids: set[str] = set()
    for result in results:
        for finding in result.get("findings") or ():
            other = (finding.get("numbers") or {}).get("other_plot")
            if isinstance(other, int):
                ids.add(other)
            elif isinstance(other, str) and other:
                uuids.add(other.lower())
    return ids, uuids


def _replace_plot(text: str, other: int | str, name: PlotName, word: str) -> str:
    """``text`` with the plot's id (``แปลง 7``, ``plot 7``) or UUID in brackets replaced by its quoted label (by
    ``word`` when the label may not be shown)."""
    if isinstance(other, int):
        shown = f"“{name.label}”" if name.label else word
        return re.sub(rf"(แปลง|plot) ?{other}\b", lambda m: f"{m[1]} {shown}" if name.label else shown, text)
    return text.replace(f"({other})", f"“{name.label}”" if name.label else f"({word})")


def _near_picture(numbers: Mapping[str, Any], plot: str) -> tuple[str, str]:
    name, other_name = numbers.get("attachment", ""), numbers.get("other_attachment", "")
    instance = numbers.get("other_instance_id", "")
    return (
        f"ภาพ {name} เกือบเหมือนกับภาพ {other_name} ของรายการ {instance}{plot} (อาจถูกย่อ บีบอัด หรือตัดขอบ)",
        f"Photo {name} is nearly the same as photo {other_name} of submission {instance} (resized, re-compressed "
        "or cropped).",
    )


def name_other_plots(results: Iterable[Mapping[str, Any]], plots: Mapping[int | str, PlotName]) -> list[dict[str, Any]]:
    """Copies of ``results`` (stored check or signal dicts) in which each finding naming another plot carries
    ``other_plot`` ``{"uuid", "label"}``, ``numbers.other_plot`` is that plot's UUID, and its sentences name the
    plot by its label (``plots`` maps entity ids and UUIDs to names; an unknown plot is left as it is).
    Near-duplicate photo findings are reworded without the hash's bits."""
    out = []
    for result in results:
        shown = copy.deepcopy(dict(result))
        for finding in shown.get("findings") or ():
            numbers = finding.setdefault("numbers", {})
            other = numbers.get("other_plot")
            name = plots.get(other.lower() if isinstance(other, str) else other) if other is not None else None
            if finding.get("code") == _NEAR_PICTURE:
                about = f" ของแปลง “{name.label}”" if name is not None and name.label else ""
                finding["message_th"], finding["message_en"] = _near_picture(numbers, about)
            if name is None:
                continue
            finding["other_plot"] = {"uuid": name.uuid, "label": name.label}
            if finding.get("code") != _NEAR_PICTURE:
                finding["message_th"] = _replace_plot(finding.get("message_th", ""), other, name, "แปลงอื่น")
                finding["message_en"] = _replace_plot(finding.get("message_en", ""), other, name, "another plot")
            numbers["other_plot"] = name.uuid
        out.append(shown)
    return out


def once_each(*groups: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The results of several lists (a submission's own checks, then its plot's) with each rule once: the first
    list that has a rule wins."""
    seen: set[str] = set()
    out = []
    for group in groups:
        for result in group:
            if result.get("rule") not in seen:
                seen.add(result.get("rule"))  # type: ignore[arg-type]
                out.append(result)
    return out


def with_plot_names(conn: Connection, results: Iterable[Mapping[str, Any]], scope: str | None) -> list[dict[str, Any]]:
    """:func:`name_other_plots` with the plots read from the database; a plot outside ``scope`` (the reader's
    area code, ``None`` = everywhere) keeps its UUID but not its label."""
    results = list(results)
    ids, uuids = plots_named(results)
    names: dict[int | str, PlotName] = {}
    if ids or uuids:
        for row in check_queries.plot_names(conn, sorted(ids), sorted(uuids)):
            visible = scope is None or (row.area_code or "").startswith(scope)
            name = PlotName(row.uuid, row.label if visible else None)
            names[row.entity_id] = name
            names[row.uuid] = name
    return name_other_plots(results, names)
