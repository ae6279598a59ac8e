"""A reference library as citation managers export it: BibTeX, RIS, or a plain list of arXiv
ids / URLs / DOIs, one a line.  Each reference becomes a :class:`LibraryItem` with the line it
starts on and whatever identifies it (arXiv id, DOI, title); what cannot be read is a
:class:`LibraryProblem` with its line and the reason.

BibTeX is read by ``bibtexparser`` and RIS by ``rispy``: the formats' quoting, continuation
lines and field names are theirs to know.  arXiv ids are found where exporters put them:
BibTeX ``eprint`` (with ``archivePrefix = arXiv``), ``arxiv``/``arxivid`` fields, arXiv URLs,
``journal = {arXiv preprint arXiv:…}``, DOIs ``10.48550/arXiv.…``; RIS the same in ``UR``,
``DO``, ``N1`` and ``JO``/``T2``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import bibtexparser
import rispy

from ..arxiv_ids import parse_arxiv_id
from ..records import clean_text

_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>{}]+)", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
# "arXiv:2410.17243", "arXiv preprint arXiv:2410.17243v2", an arxiv.org URL anywhere in a field.
_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|arxiv:\s*)([a-z\-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(v\d+)?", re.IGNORECASE
)
_BIBTEX_ENTRY = re.compile(r"^\s*@[A-Za-z]+\s*[{(]", re.MULTILINE)
_RIS_START = re.compile(r"^TY  - ", re.MULTILINE)
# Hugging Face paper pages and arXiv listing links carry the id too; parse_arxiv_id knows them.


@dataclass(slots=True)
class LibraryItem:
    line: int  # 1-based line where the reference starts
    text: str  # what the user would recognise it by (a title, or the line itself)
    arxiv_id: str | None = None
    doi: str | None = None
    title: str | None = None


@dataclass(slots=True)
class LibraryProblem:
    line: int
    text: str
    reason: str


def detect_format(text: str) -> str:
    """``bibtex``, ``ris`` or ``list`` (anything else is read one reference a line)."""
    if _RIS_START.search(text):
        return "ris"
    if _BIBTEX_ENTRY.search(text):
        return "bibtex"
    return "list"


def _arxiv_in(*values: str | None) -> str | None:
    for value in values:
        if not value:
            continue
        parsed = parse_arxiv_id(value)
        if parsed:
            return parsed[0]
        doi = _ARXIV_DOI.match(value.strip())
        if doi and parse_arxiv_id(doi.group(1)):
            return parse_arxiv_id(doi.group(1))[0]  # type: ignore[index]
        found = _ARXIV_IN_TEXT.search(value)
        if found and parse_arxiv_id(found.group(1)):
            return parse_arxiv_id(found.group(1))[0]  # type: ignore[index]
    return None


def _doi_in(value: str | None) -> str | None:
    found = _DOI.search(value or "")
    return found.group(1).rstrip(".,;").lower() if found else None


def _bibtex_value(value: str) -> str:
    # bibtexparser keeps the braces that protect capitals ({BERT}); a title match wants the words.
    return clean_text(value.replace("{", "").replace("}", ""))


def read_bibtex(text: str) -> tuple[list[LibraryItem], list[LibraryProblem]]:
    library = bibtexparser.parse_string(text)
    items: list[LibraryItem] = []
    for entry in library.entries:
        fields = {f.key.lower(): _bibtex_value(str(f.value)) for f in entry.fields}
        prefix = fields.get("archiveprefix", "").lower()
        eprint = fields.get("eprint") if prefix in ("", "arxiv") else None
        arxiv_id = _arxiv_in(eprint, fields.get("arxiv"), fields.get("arxivid"), fields.get("doi"),
                             fields.get("url"), fields.get("journal"), fields.get("note"), fields.get("howpublished"))
        title = fields.get("title") or None
        items.append(
            LibraryItem(
                line=(entry.start_line or 0) + 1,
                text=title or entry.key,
                arxiv_id=arxiv_id,
                doi=_doi_in(fields.get("doi")),
                title=title,
            )
        )
    problems = []
    for block in library.failed_blocks:
        raw = (block.raw or "").strip()
        problems.append(LibraryProblem((block.start_line or 0) + 1, raw.splitlines()[0][:200] if raw else "",
                                       f"not a BibTeX entry bibtexparser can read ({type(block).__name__})"))
    return items, problems


def read_ris(text: str) -> tuple[list[LibraryItem], list[LibraryProblem]]:
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("TY  - ")]
    items: list[LibraryItem] = []
    problems: list[LibraryProblem] = []
    for n, start in enumerate(starts):
        # One record at a time, so that a bad record is reported at its own line.
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        chunk = "\n".join(lines[start:end])
        try:
            (record,) = rispy.loads(chunk)
        except Exception as error:  # rispy raises plain IOError/ValueError on a broken record
            problems.append(LibraryProblem(start + 1, lines[start], f"not an RIS record rispy can read: {error}"))
            continue
        title = clean_text(record.get("title") or record.get("primary_title") or "") or None
        urls = [str(u) for u in record.get("urls") or []]
        notes = [str(n) for n in record.get("notes") or []]
        arxiv_id = _arxiv_in(record.get("doi"), *urls, *notes, record.get("journal_name"),
                             record.get("secondary_title"), record.get("number"))
        items.append(
            LibraryItem(line=start + 1, text=title or lines[start], arxiv_id=arxiv_id,
                        doi=_doi_in(record.get("doi")), title=title)
        )
    return items, problems


def read_list(text: str) -> tuple[list[LibraryItem], list[LibraryProblem]]:
    """One arXiv id, arXiv / Hugging Face URL or DOI a line; blank lines and ``#`` comments skipped."""
    items: list[LibraryItem] = []
    problems: list[LibraryProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        arxiv_id = _arxiv_in(line)
        doi = None if arxiv_id else _doi_in(line)
        if arxiv_id or doi:
            items.append(LibraryItem(line=number, text=line[:300], arxiv_id=arxiv_id, doi=doi))
        else:
            problems.append(LibraryProblem(number, line[:300], "no arXiv id, arXiv URL or DOI on this line"))
    return items, problems


def read_library(text: str) -> tuple[str, list[LibraryItem], list[LibraryProblem]]:
    """The format found and the references (with the lines that could not be read)."""
    kind = detect_format(text)
    reader = {"bibtex": read_bibtex, "ris": read_ris, "list": read_list}[kind]
    items, problems = reader(text)
    return kind, items, problems
