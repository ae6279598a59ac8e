"""arXiv API responses (``export.arxiv.org/api/query``): an Atom feed with opensearch paging."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ..arxiv_ids import parse_arxiv_id
from ..records import PaperRecord, ParseResult, Version, clean_text
from .common import first_doi, iso_timestamp, reject
from .xml import XML_ERRORS, XmlRefused, child, children, local, parse_xml, text_of

SOURCE = "arxiv-api"


@dataclass(slots=True)
class AtomPage:
    """One page of API results.  ``error`` is set (and ``results`` holds one Rejected) when the
    body is not a parseable Atom feed; the paging numbers are None when the feed lacks them."""

    results: list[ParseResult] = field(default_factory=list)
    total_results: int | None = None
    start_index: int | None = None
    items_per_page: int | None = None
    error: str | None = None

    @property
    def records(self) -> list[PaperRecord]:
        return [r for r in self.results if isinstance(r, PaperRecord)]


def _int(root: etree._Element, name: str) -> int | None:
    value = text_of(root, name).strip()
    return int(value) if value.isdigit() else None


def _snippet(entry: etree._Element) -> str:
    return etree.tostring(entry, encoding="unicode")


def _entry(entry: etree._Element, origin: str) -> ParseResult:
    raw_id = text_of(entry, "id").strip()
    title = clean_text(text_of(entry, "title"))
    summary = clean_text(text_of(entry, "summary"))
    # The API answers a malformed or unknown id with a pseudo-entry titled "Error" whose id points
    # at https://arxiv.org/api/errors#...: a message for us, not a paper.
    if title == "Error" and "/api/errors" in raw_id:
        return reject(SOURCE, f"{origin}#{raw_id}", f"arXiv API error: {summary or raw_id}", _snippet(entry))
    parsed = parse_arxiv_id(raw_id)
    if parsed is None:
        reason = f"entry id {raw_id!r} is not an arXiv id"
        return reject(SOURCE, f"{origin}#{raw_id}", reason, _snippet(entry))
    arxiv_id, version = parsed
    where = f"{origin}#{arxiv_id}"
    if not title:
        return reject(SOURCE, where, f"{arxiv_id}: entry has no title", _snippet(entry))
    try:
        published = iso_timestamp(text_of(entry, "published")) if text_of(entry, "published") else None
        updated = iso_timestamp(text_of(entry, "updated")) if text_of(entry, "updated") else None
    except ValueError as error:
        return reject(SOURCE, where, f"{arxiv_id}: {error}", _snippet(entry))

    # The feed gives v1's time (published) and the shown version's time (updated); versions in
    # between are unknown here and filled in by other sources.
    versions: list[Version] = []
    number = int(version[1:]) if version else 0
    if published:
        versions.append(Version("v1", published))
    if number > 1:
        versions.append(Version(version or "", updated))

    categories = [c.get("term", "") for c in children(entry, "category") if c.get("term")]
    primary = child(entry, "primary_category")
    links: dict[str, str] = {}
    for link in children(entry, "link"):
        href = link.get("href")
        if not href:
            continue
        if link.get("rel") == "alternate":
            links["abs"] = href
        elif link.get("title") == "pdf":
            links["pdf"] = href
    authors = [clean_text(text_of(a, "name")) for a in children(entry, "author")]
    return PaperRecord(
        source=SOURCE,
        origin=where,
        title=title,
        arxiv_id=arxiv_id,
        abstract=summary,
        authors=[a for a in authors if a],
        categories=categories,
        primary_category=(primary.get("term") if primary is not None else None) or (categories or [None])[0],
        published=published[:10] if published else None,
        updated=updated[:10] if updated else None,
        versions=versions,
        doi=first_doi(text_of(entry, "doi")),
        journal_ref=clean_text(text_of(entry, "journal_ref")) or None,
        comments=clean_text(text_of(entry, "comment")) or None,
        links=links,
    )


def parse_atom(data: bytes, origin: str) -> AtomPage:
    """Parse one API response body.  ``origin`` (file path or URL) prefixes each record's origin."""
    try:
        root = parse_xml(data)
    except XML_ERRORS as error:
        reason = str(error) if isinstance(error, XmlRefused) else f"not well-formed XML: {error}"
        return AtomPage(results=[reject(SOURCE, origin, reason, data)], error=reason)
    if local(root) != "feed":
        reason = f"expected an Atom <feed>, found <{local(root)}>"
        return AtomPage(results=[reject(SOURCE, origin, reason, data)], error=reason)
    return AtomPage(
        results=[_entry(entry, origin) for entry in children(root, "entry")],
        total_results=_int(root, "totalResults"),
        start_index=_int(root, "startIndex"),
        items_per_page=_int(root, "itemsPerPage"),
    )
