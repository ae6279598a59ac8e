"""arXiv OAI-PMH responses (``export.arxiv.org/oai2``) in the ``arXiv`` and ``arXivRaw`` formats."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ..arxiv_ids import parse_arxiv_id
from ..records import PaperRecord, ParseResult, Version, clean_text
from .common import first_doi, iso_day, reject, rfc2822_to_iso, split_authors
from .xml import XML_ERRORS, XmlRefused, child, children, local, parse_xml, text_of

SOURCE = "arxiv-oai"


@dataclass(slots=True)
class OaiPage:
    """One OAI-PMH response.  ``error`` is the OAI ``<error code=...>`` pair (noRecordsMatch,
    badResumptionToken...) or ("badXML", message) when the body does not parse."""

    results: list[ParseResult] = field(default_factory=list)
    resumption_token: str | None = None
    complete_list_size: int | None = None
    error: tuple[str, str] | None = None

    @property
    def records(self) -> list[PaperRecord]:
        return [r for r in self.results if isinstance(r, PaperRecord)]


def _clean(metadata: etree._Element, name: str) -> str | None:
    return clean_text(text_of(metadata, name)) or None


def _arxiv_format(meta: etree._Element, arxiv_id: str, where: str) -> ParseResult:
    """``metadataPrefix=arXiv``: structured authors, ``created``/``updated`` days, no version labels."""
    authors = []
    holder = child(meta, "authors")
    for author in children(meta if holder is None else holder, "author"):
        parts = (text_of(author, "forenames"), text_of(author, "keyname"), text_of(author, "suffix"))
        name = clean_text(" ".join(p for p in parts if p.strip()))
        if name:
            authors.append(name)
    try:
        created = iso_day(text_of(meta, "created")) if text_of(meta, "created").strip() else None
        updated = iso_day(text_of(meta, "updated")) if text_of(meta, "updated").strip() else None
    except ValueError as error:
        return reject(SOURCE, where, f"{arxiv_id}: {error}", etree.tostring(meta, encoding="unicode"))
    # ``created`` is v1's submission day; the format does not say how many versions followed.
    versions = [Version("v1", created)] if created else []
    return _record(meta, arxiv_id, where, authors, versions, created, updated or created)


def _raw_format(meta: etree._Element, arxiv_id: str, where: str) -> ParseResult:
    """``metadataPrefix=arXivRaw``: every version with its RFC 2822 date, authors as one string."""
    versions = []
    for element in children(meta, "version"):
        label = element.get("version") or ""
        when = text_of(element, "date").strip()
        try:
            versions.append(Version(label, rfc2822_to_iso(when) if when else None))
        except ValueError as error:
            return reject(SOURCE, where, f"{arxiv_id}: {error}", etree.tostring(meta, encoding="unicode"))
    dated = [v.date for v in versions if v.date]
    authors = split_authors(clean_text(text_of(meta, "authors")))
    published = dated[0][:10] if dated else None
    return _record(meta, arxiv_id, where, authors, versions, published, max(dated)[:10] if dated else None)


def _record(
    meta: etree._Element,
    arxiv_id: str,
    where: str,
    authors: list[str],
    versions: list[Version],
    published: str | None,
    updated: str | None,
) -> ParseResult:
    title = clean_text(text_of(meta, "title"))
    if not title:
        snippet = etree.tostring(meta, encoding="unicode")
        return reject(SOURCE, where, f"{arxiv_id}: record has no title", snippet)
    categories = clean_text(text_of(meta, "categories")).split()
    return PaperRecord(
        source=SOURCE,
        origin=where,
        title=title,
        arxiv_id=arxiv_id,
        abstract=clean_text(text_of(meta, "abstract")),
        authors=authors,
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=published,
        updated=updated,
        versions=versions,
        doi=first_doi(text_of(meta, "doi")),
        journal_ref=_clean(meta, "journal-ref"),
        comments=_clean(meta, "comments"),
        license=_clean(meta, "license"),
    )


def _oai_record(record: etree._Element, origin: str) -> ParseResult | None:
    header = child(record, "header")
    identifier = clean_text(text_of(header, "identifier")) if header is not None else ""
    where = f"{origin}#{identifier or '?'}"
    if header is not None and header.get("status") == "deleted":
        return None  # withdrawn from the repository: nothing to import, nothing wrong either
    metadata = child(record, "metadata")
    meta = next(iter(metadata), None) if metadata is not None else None
    snippet = etree.tostring(record, encoding="unicode")
    if meta is None or local(meta) not in ("arXiv", "arXivRaw"):
        found = local(meta) if meta is not None else "nothing"
        return reject(SOURCE, where, f"expected arXiv or arXivRaw metadata, found {found}", snippet)
    raw_id = text_of(meta, "id").strip() or identifier.removeprefix("oai:arXiv.org:")
    parsed = parse_arxiv_id(raw_id)
    if parsed is None:
        return reject(SOURCE, where, f"missing or invalid arXiv id {raw_id!r}", snippet)
    if local(meta) == "arXivRaw":
        return _raw_format(meta, parsed[0], where)
    return _arxiv_format(meta, parsed[0], where)


def parse_oai(data: bytes, origin: str) -> OaiPage:
    """Parse one OAI-PMH response body; deleted records are skipped, bad ones rejected."""
    try:
        root = parse_xml(data)
    except XML_ERRORS as error:
        reason = str(error) if isinstance(error, XmlRefused) else f"not well-formed XML: {error}"
        return OaiPage(results=[reject(SOURCE, origin, reason, data)], error=("badXML", reason))
    if local(root) != "OAI-PMH":
        reason = f"expected an <OAI-PMH> response, found <{local(root)}>"
        return OaiPage(results=[reject(SOURCE, origin, reason, data)], error=("badXML", reason))
    page = OaiPage()
    problem = child(root, "error")
    if problem is not None:
        page.error = (problem.get("code") or "unknown", clean_text(text_of(problem)))
    for verb in ("ListRecords", "GetRecord"):
        container = child(root, verb)
        if container is None:
            continue
        for record in children(container, "record"):
            result = _oai_record(record, origin)
            if result is not None:
                page.results.append(result)
        token = child(container, "resumptionToken")
        if token is not None:
            # An empty token on the last page means "list complete".
            page.resumption_token = clean_text(text_of(token)) or None
            size = token.get("completeListSize")
            page.complete_list_size = int(size) if size and size.isdigit() else None
    return page
