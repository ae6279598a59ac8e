"""lxml set up once for untrusted XML: no entity expansion, no network, namespace-blind lookups."""

from __future__ import annotations

from lxml import etree

# resolve_entities=False and no_network=True: a response must not make us fetch or expand anything.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


ENTITIES_REFUSED = (
    "it is XML that declares entities (<!ENTITY> in its DOCTYPE), which paperscope refuses: entities can "
    "read local files or expand into gigabytes, and arXiv responses never declare any"
)


class XmlRefused(ValueError):
    """Well-formed XML that is refused all the same; the message says why."""


# What parse_xml raises: the callers turn either into a Rejected with the message.
XML_ERRORS = (etree.XMLSyntaxError, XmlRefused)


def declares_entities(head: bytes) -> bool:
    """Whether the document's prologue (its first bytes) declares entities."""
    return b"<!ENTITY" in head.split(b"]>", 1)[0] and b"<!DOCTYPE" in head


def parse_xml(data: bytes) -> etree._Element:
    """The root element; raises one of :data:`XML_ERRORS`.

    Entity references are never expanded (the parser above), and a document that declares
    entities is refused outright rather than read with its references silently dropped.
    """
    if declares_entities(data[:65536]):  # refused before libxml2 spends anything on them
        raise XmlRefused(ENTITIES_REFUSED)
    root = etree.fromstring(data, parser=PARSER)
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.entities()):
        raise XmlRefused(ENTITIES_REFUSED)
    return root


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
