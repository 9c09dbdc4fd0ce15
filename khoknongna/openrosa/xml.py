"""Parsing XML from clients safely: lxml with entity expansion, DTD loading and network access off.

OpenRosa documents (XForms, instances, envelopes) never need a DTD, so any document that declares one is
refused rather than parsed with its entities left unexpanded: that stops billion-laughs, quadratic blow-up
and external-entity (file or http) attacks before they reach our code.
"""

from __future__ import annotations

from lxml import etree

from khoknongna.problems import XML_FORBIDDEN_CONSTRUCT, XML_MALFORMED, Problem


def _parser() -> etree.XMLParser:
    # lxml's defaults already load no DTD, touch no network and keep the limits on huge trees
    return etree.XMLParser(resolve_entities=False)


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML bytes and return the root element.

    Raises :class:`Problem` ``XML_MALFORMED`` for bytes that are not well-formed XML (including invalid
    UTF-8) and ``XML_FORBIDDEN_CONSTRUCT`` for documents with a DOCTYPE or entity declarations.
    """
    if not data or not data.strip():
        raise Problem(XML_MALFORMED, detail="the XML is empty")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            # libxml2 may stop on entity amplification before our DOCTYPE check runs
            raise Problem(XML_FORBIDDEN_CONSTRUCT) from None
        raise Problem(XML_MALFORMED, detail=str(exc.msg or exc)) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Problem(XML_FORBIDDEN_CONSTRUCT)
    return root


def local_name(element: etree._Element) -> str | None:
    """Tag name without namespace, or ``None`` for comments and processing instructions."""
    tag = element.tag
    if not isinstance(tag, str):
        return None
    return tag.rpartition("}")[2]  # "{namespace}name" or "name"; cheaper than etree.QName, called per element


def child_elements(element: etree._Element) -> list[etree._Element]:
    """The element children of ``element`` (comments and processing instructions left out)."""
    return [c for c in element if isinstance(c.tag, str)]


def find_child(element: etree._Element, name: str) -> etree._Element | None:
    """First child element whose local name is ``name``, in any namespace (``orx:meta`` or ``meta``)."""
    for c in element:
        if local_name(c) == name:
            return c
    return None
