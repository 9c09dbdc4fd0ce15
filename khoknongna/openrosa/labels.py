"""The labels of an XForm's questions and choices, per language, for showing answers to a person.

A label is the text of a control's ``<label>``, or the ``jr:itext(...)`` translation it refers to (pyxform
writes one ``<translation lang="Thai (th)">`` per ``label::<language>`` column). Languages are reduced to
``th``, ``en`` or ``default`` (a label with no language), so the pages can show Thai first with English
beside it. Choices come from inline ``<item>`` elements or the secondary instance an ``<itemset>`` reads.

Source: ODK XForms spec (body controls, ``itext``, ``itemset`` over secondary instances).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from khoknongna.openrosa.xform import XF, XHTML, relative_path
from khoknongna.openrosa.xml import child_elements, local_name, parse_xml

Texts = dict[str, str]
_ITEXT = re.compile(r"^\s*jr:itext\(\s*'([^']+)'\s*\)\s*$")
_ITEXT_FIELD = re.compile(r"^\s*jr:itext\(\s*([A-Za-z_][\w.-]*)\s*\)\s*$")
_INSTANCE = re.compile(r"^\s*instance\(\s*'([^']+)'\s*\)/root/item\s*$")
_CONTROLS = ("input", "select", "select1", "upload", "group", "repeat", "trigger", "range", "rank", "odk:rank")


@dataclass(frozen=True)
class FormLabels:
    """``fields``: relative path -> {language: text}; ``choices``: relative path -> {value: {language: text}}."""

    fields: dict[str, Texts] = field(default_factory=dict)
    choices: dict[str, dict[str, Texts]] = field(default_factory=dict)

    def field(self, path: str) -> Texts:
        """The labels of a question or group (``{}`` when it has none)."""
        return self.fields.get(path, {})

    def choice(self, path: str, value: str) -> Texts:
        """The labels of one choice of a select question (``{}`` when unknown)."""
        return self.choices.get(path, {}).get(value, {})


def language_key(lang: str | None) -> str:
    """``"Thai (th)"``, ``"th"``, ``"ไทย"`` -> ``th``; ``"English (en)"`` -> ``en``; none -> ``default``."""
    if not lang:
        return "default"
    code = re.search(r"\(([A-Za-z-]+)\)\s*$", lang)
    word = (code[1] if code else lang).strip().lower()
    if word in ("th", "tha", "thai", "ไทย", "ภาษาไทย") or word.startswith("th-"):
        return "th"
    if word in ("en", "eng", "english", "อังกฤษ") or word.startswith("en-"):
        return "en"
    return "default" if word == "default" else word


def _itext(model: etree._Element) -> dict[str, Texts]:
    """``text id -> {language: text}`` (the plain ``value`` of each; media forms are ignored)."""
    out: dict[str, Texts] = {}
    for translation in model.iter(f"{{{XF}}}translation"):
        lang = language_key(translation.get("lang"))
        for text in translation.iter(f"{{{XF}}}text"):
            values = [v for v in text.findall(f"{{{XF}}}value") if v.get("form") in (None, "long", "short")]
            if values:
                words = "".join(values[0].itertext()).strip()
                if words:
                    out.setdefault(text.get("id") or "", {})[lang] = words
    return out


def _label(label: etree._Element | None, itext: dict[str, Texts], context: etree._Element | None = None) -> Texts:
    if label is None:
        return {}
    ref = label.get("ref") or ""
    found = _ITEXT.match(ref)
    if found:
        return dict(itext.get(found[1], {}))
    found = _ITEXT_FIELD.match(ref)
    if found and context is not None:
        key = context.findtext(f"{{*}}{found[1]}") or context.findtext(found[1]) or ""
        return dict(itext.get(key.strip(), {}))
    if context is not None and ref and "/" not in ref:
        words = (context.findtext(f"{{*}}{ref}") or context.findtext(ref) or "").strip()
        return {"default": words} if words else {}
    words = "".join(label.itertext()).strip()
    return {"default": words} if words else {}


def _secondary_choices(ctl: etree._Element, model: etree._Element, itext: dict[str, Texts]) -> dict[str, Texts]:
    itemset = ctl.find(f"{{{XF}}}itemset")
    if itemset is None:
        return {}
    found = _INSTANCE.match(itemset.get("nodeset") or "")
    value = itemset.find(f"{{{XF}}}value")
    ref = value.get("ref") if value is not None else None
    if found is None or not ref or "/" in ref:
        return {}
    label = itemset.find(f"{{{XF}}}label")
    out: dict[str, Texts] = {}
    for instance in model.findall(f"{{{XF}}}instance"):
        if instance.get("id") != found[1]:
            continue
        for root in child_elements(instance):
            for item in child_elements(root):
                name = next((k.text or "" for k in child_elements(item) if local_name(k) == ref), "").strip()
                if name:
                    out[name] = _label(label, itext, item)
    return out


def read_labels(data: bytes) -> FormLabels:
    """The labels of the questions, groups, repeats and choices of an XForm document."""
    doc = parse_xml(data)
    model = doc.find(f"{{{XHTML}}}head/{{{XF}}}model")
    body = doc.find(f"{{{XHTML}}}body")
    if model is None or body is None:
        return FormLabels()
    primary = next((i for i in model.findall(f"{{{XF}}}instance") if i.get("id") is None), None)
    roots = child_elements(primary) if primary is not None else []
    if not roots:
        return FormLabels()
    root_name = local_name(roots[0]) or ""
    itext = _itext(model)
    labels = FormLabels()
    for ctl in body.iter(etree.Element):
        kind = local_name(ctl)
        if kind not in _CONTROLS:
            continue
        path = relative_path(ctl.get("ref") or ctl.get("nodeset") or "", root_name)
        if not path:
            continue
        texts = _label(ctl.find(f"{{{XF}}}label"), itext)
        if texts and path not in labels.fields:
            labels.fields[path] = texts
        if kind in ("select", "select1", "rank", "odk:rank"):
            choices = {
                (item.findtext(f"{{{XF}}}value") or "").strip(): _label(item.find(f"{{{XF}}}label"), itext)
                for item in ctl.findall(f"{{{XF}}}item")
            }
            choices.update(_secondary_choices(ctl, model, itext))
            labels.choices[path] = {v: t for v, t in choices.items() if v}
    return labels
