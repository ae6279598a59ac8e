"""lxml set up once for untrusted XML: no entity expansion, no network, namespace-blind lookups."""

from __future__ import annotations

from lxml import etree

# resolve_entities=False and no_network=True: a response must not make us fetch or expand anything.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


def parse_xml(data: bytes) -> etree._Element:
    """The root element; raises etree.XMLSyntaxError (the callers turn it into a Rejected)."""
    return etree.fromstring(data, parser=PARSER)


def local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(element: etree._Element, name: str) -> list[etree._Element]:
    """Child elements named ``name`` in any namespace.

    arXiv's OAI records put ``<arXiv>`` in its own namespace in some responses and leave it in the
    OAI default namespace in others (see the shared fixtures), so lookups ignore namespaces.
    """
    return [child for child in element if local(child) == name]


def child(element: etree._Element, name: str) -> etree._Element | None:
    for item in element:
        if local(item) == name:
            return item
    return None


def text_of(element: etree._Element | None, name: str | None = None) -> str:
    """All text under ``element`` (or under its child ``name``), untouched; "" when absent."""
    if element is not None and name is not None:
        element = child(element, name)
    if element is None:
        return ""
    return "".join(element.itertext())
