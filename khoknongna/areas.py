"""Thailand's administrative areas by official code: province (2 digits), amphoe (4), tambon (6).

A lower level's code starts with its parent's, so "in the area" is a prefix test. Codes and names come from
the ``geothai`` package (Department of Provincial Administration codes; data CC-BY-4.0).
"""

from __future__ import annotations

import geothai


def area_name(code: str) -> str | None:
    """The Thai name of the area with this code, with its parents (``ต.ในเมือง อ.เมืองขอนแก่น จ.ขอนแก่น``);
    ``None`` when no province, amphoe or tambon has this code."""
    code = code.strip()
    province = geothai.province(code[:2]) if len(code) in (2, 4, 6) else None
    if province is None:
        return None
    names = [f"จ.{province.name_th}"]
    if len(code) >= 4:
        district = geothai.district(code[:4])
        if district is None:
            return None
        names.insert(0, f"อ.{district.name_th}")
    if len(code) == 6:
        tambon = geothai.subdistrict(code)
        if tambon is None:
            return None
        names.insert(0, f"ต.{tambon.name_th}")
    return " ".join(names)


class OutsideArea(ValueError):
    """The area asked for lies wholly outside the area the user may see."""


def narrow(scope: str | None, asked: str | None) -> str | None:
    """The area code to filter by when a user limited to ``scope`` (``None`` = everywhere) asks for ``asked``
    (``None`` = all they may see): the narrower of the two. Raises :class:`OutsideArea` when they do not
    overlap (a district supervisor asking for another district)."""
    if scope is None or asked is None:
        return asked if scope is None else scope
    if asked.startswith(scope):
        return asked
    if scope.startswith(asked):
        return scope
    raise OutsideArea(f"area {asked} is outside your area {scope}")
