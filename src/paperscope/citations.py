"""A paper as citation managers and readers of plain text want it: BibTeX, RIS and Markdown.

BibTeX follows arXiv's own "Export BibTeX citation" form (``@misc{key, title, author, year,
eprint, archivePrefix, primaryClass, url}``), which Zotero, JabRef and biblatex all read;
entries are written by ``bibtexparser`` and RIS records by ``rispy``, so quoting and field
layout are theirs, not ours.  A paper with a DOI also carries it (``doi`` / ``DO``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import bibtexparser
import rispy
from bibtexparser.model import Entry, Field

from .store.models import Paper

# Words that never make a citation key (arXiv and Google Scholar skip them the same way).
_SKIP = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards", "toward", "via", "is"}
_WORD = re.compile(r"[A-Za-z0-9]+")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _year(paper: Paper) -> str | None:
    day = paper.published or (paper.list_dates[0] if paper.list_dates else None)
    return day[:4] if day else None


def cite_key(paper: Paper) -> str:
    """``lastname`` + ``year`` + first significant title word, as arXiv and Scholar make keys."""
    last = _ascii(paper.authors[0].split()[-1]).lower() if paper.authors and paper.authors[0].split() else ""
    words = [w.lower() for w in _WORD.findall(_ascii(paper.title))]
    first = next((w for w in words if w not in _SKIP), words[0] if words else "")
    key = re.sub(r"[^a-z0-9]", "", last) + (_year(paper) or "") + first
    return key or re.sub(r"[^A-Za-z0-9]", "", paper.key) or "paper"


def _braced(text: str) -> str:
    """Field text safe inside ``{...}``: an unbalanced brace would end the field early."""
    depth = 0
    for ch in text:
        depth += 1 if ch == "{" else -1 if ch == "}" else 0
        if depth < 0:
            break
    balanced = depth == 0
    return text if balanced else text.replace("{", "(").replace("}", ")")


def _entry(paper: Paper, key: str) -> Entry:
    fields: list[tuple[str, str | None]] = [
        ("title", paper.title),
        ("author", " and ".join(paper.authors) or None),
        ("year", _year(paper)),
        ("eprint", paper.arxiv_id),
        ("archivePrefix", "arXiv" if paper.arxiv_id else None),
        ("primaryClass", paper.primary_category or (paper.categories[0] if paper.categories else None)),
        ("doi", paper.doi),
        ("url", paper.abs_url),
    ]
    # bibtexparser's writer puts the braces around each value.
    return Entry("misc", key, [Field(name, _braced(value)) for name, value in fields if value])


def to_bibtex(papers: Iterable[Paper]) -> str:
    """One ``@misc`` entry per paper; keys made unique within the file (``…b``, ``…c``)."""
    library = bibtexparser.Library()
    used: set[str] = set()
    for paper in papers:
        key = base = cite_key(paper)
        suffix = ord("a")
        while key in used:
            suffix += 1
            key = f"{base}{chr(suffix)}"
        used.add(key)
        library.add(_entry(paper, key))
    return bibtexparser.write_string(library)


class _RisWriter(rispy.RisWriter):
    """rispy's writer without its ``1.``, ``2.`` line before each record, which Zotero and
    EndNote do not expect in a plain RIS file."""

    def set_header(self, count: int) -> str:
        return ""


def to_ris(papers: Iterable[Paper]) -> str:
    """RIS records (type ``ELEC`` for a preprint, as Zotero exports arXiv papers), one per paper."""
    records = []
    for paper in papers:
        record: dict[str, object] = {
            "type_of_reference": "ELEC" if paper.arxiv_id else "GEN",
            "title": paper.title,
            "authors": list(paper.authors),
            "abstract": paper.abstract,
            "urls": [u for u in (paper.abs_url, paper.pdf_url) if u],
        }
        if paper.published:
            record["year"] = paper.published[:4]
            record["date"] = paper.published[:10].replace("-", "/")
        if paper.doi:
            record["doi"] = paper.doi
        if paper.arxiv_id:
            record["publisher"] = "arXiv"
            record["notes"] = [f"arXiv:{paper.arxiv_id}"]
        if paper.categories:
            record["keywords"] = list(paper.categories)
        records.append(record)
    return str(rispy.dumps(records, implementation=_RisWriter))


def to_markdown(paper: Paper, page_url: str) -> str:
    """The paper page as Markdown, as ``huggingface.co/papers/{id}.md`` answers: title, authors,
    abstract and links (and the AI summary when one is stored)."""
    lines = [f"# {paper.title}", ""]
    if paper.authors:
        lines += [f"**Authors:** {', '.join(paper.authors)}", ""]
    facts = []
    if paper.published:
        facts.append(f"**Published:** {paper.published[:10]}")
    if paper.arxiv_id:
        facts.append(f"**arXiv:** [{paper.arxiv_id}]({paper.abs_url})")
    if paper.categories:
        facts.append(f"**Categories:** {', '.join(paper.categories)}")
    facts.append(f"**Upvotes:** {paper.upvotes}")
    lines += [*(f"{fact}  " for fact in facts), ""]
    summary = getattr(paper, "ai_summary", None)
    if summary:
        lines += ["## AI summary", "", str(summary), ""]
    lines += ["## Abstract", "", paper.abstract or "(no abstract)", "", "## Links", ""]
    links = [("Paper page", page_url), ("arXiv abstract", paper.abs_url), ("PDF", paper.pdf_url)]
    links += [("Code", paper.code_url), ("Project page", paper.links.get("project"))]
    lines += [f"- {name}: <{url}>" for name, url in links if url]
    return "\n".join(lines) + "\n"
