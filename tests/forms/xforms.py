"""Reading the bundled forms' XForms for the tests: conversion with ODK Validate (once per form), binds,
body controls, choice lists and labels. lxml only, nothing from the server."""

from __future__ import annotations

from functools import cache

from lxml import etree

from khoknongna.forms_xlsform import bundled_forms
from khoknongna.openrosa.xlsform import Conversion, convert_xlsform

XF = "http://www.w3.org/2002/xforms"
XHTML = "http://www.w3.org/1999/xhtml"
JR = "http://openrosa.org/javarosa"
ODK = "http://www.opendatakit.org/xforms"
ENTITIES = "http://www.opendatakit.org/xforms/entities"
NS = {"x": XF, "h": XHTML, "odk": ODK, "entities": ENTITIES}

THAI, ENGLISH = "ไทย (th)", "English (en)"

#: form_id -> file name of every bundled form
FORM_FILES = {
    "plot_survey": "plot_survey.xlsx",
    "socio_change": "socio_change.xlsx",
    "activity_report": "activity_report.xlsx",
    "daily_log": "daily_log.xlsx",
    "potential_assessment": "potential_assessment.xlsx",
    "guru_register": "guru_register.xlsx",
}
FOLLOW_UP_FORMS = ("socio_change", "activity_report", "daily_log", "potential_assessment", "guru_register")


def xlsform_bytes(form_id: str) -> bytes:
    path = next(p for p in bundled_forms() if p.name == FORM_FILES[form_id])
    return path.read_bytes()


@cache
def conversion(form_id: str) -> Conversion:
    """The form converted by pyxform and checked by ODK Validate."""
    return convert_xlsform(xlsform_bytes(form_id), FORM_FILES[form_id], validate=True)


def xform(form_id: str) -> etree._Element:
    return etree.fromstring(conversion(form_id).xform)


def binds(root: etree._Element) -> dict[str, dict[str, str]]:
    """``nodeset -> attributes`` of every bind, with spaces taken out of the nodeset."""
    return {b.get("nodeset").replace(" ", ""): dict(b.attrib) for b in root.iterfind(".//x:bind", NS)}


def control(root: etree._Element, ref: str) -> etree._Element:
    """The body control (question, group or repeat) of ``ref``; ``setvalue`` actions are not controls."""
    found = [
        el
        for el in root.find("h:body", NS).iter()
        if isinstance(el.tag, str)
        and etree.QName(el).localname not in ("setvalue", "setgeopoint")
        and ref in (el.get("ref"), el.get("nodeset"))
    ]
    assert found, f"no control for {ref}"
    return found[0]


def choices(root: etree._Element, list_name: str) -> list[str]:
    """Choice names of a choice list, from its secondary instance."""
    instance = root.find(f".//x:instance[@id='{list_name}']", NS)
    assert instance is not None, f"no choice list {list_name}"
    return [item.findtext("x:name", namespaces=NS) for item in instance.iterfind("x:root/x:item", NS)]


def itext(root: etree._Element, text_id: str, lang: str) -> str:
    node = root.find(f".//x:itext/x:translation[@lang='{lang}']/x:text[@id='{text_id}']/x:value", NS)
    assert node is not None, f"no {lang} text {text_id}"
    return "".join(node.itertext())


def label(root: etree._Element, ref: str, lang: str = THAI) -> str:
    """The text of ``ref``'s label in ``lang`` (``<output>`` values left out)."""
    return itext(root, f"{ref}:label", lang)


def select_from_file(root: etree._Element, ref: str) -> str:
    """The file a ``select_one_from_file`` at ``ref`` reads its choices from (``plots.csv``, …)."""
    itemset = control(root, ref).find("x:itemset", NS)
    instance_id = itemset.get("nodeset").split("'")[1]
    src = root.find(f".//x:instance[@id='{instance_id}']", NS).get("src")
    assert src.startswith("jr://file-csv/"), src
    return src.removeprefix("jr://file-csv/")
