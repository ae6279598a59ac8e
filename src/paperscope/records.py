"""The record every source produces, and the rejection it produces instead when a record is bad.

Sources never touch the store: they yield :class:`PaperRecord` or :class:`Rejected`, and
:mod:`paperscope.ingest` writes them.  Keeping this one shape is what lets six formats share
one upsert path.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# How much we trust a source's metadata (title, abstract, authors...).  arXiv's own
# services are authoritative; Hugging Face copies arXiv; saved pages are scraped text.
SOURCE_PRIORITY: dict[str, int] = {
    "arxiv-api": 30,
    "arxiv-oai": 30,
    "arxiv-snapshot": 30,
    "hf-api": 20,
    "json-list": 15,
    "submit": 30,
    "hf-page": 10,
    "beir": 5,
}


@dataclass(slots=True)
class Version:
    """One arXiv version: label such as ``v2`` and its submission time (ISO 8601, UTC) if known."""

    version: str
    date: str | None = None

    @property
    def number(self) -> int:
        digits = self.version.lstrip("vV")
        return int(digits) if digits.isdigit() else 0


@dataclass(slots=True)
class PaperRecord:
    """What one source says about one paper.  Empty fields mean "this source does not say"."""

    source: str
    origin: str
    title: str
    arxiv_id: str | None = None
    local_id: str | None = None
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    primary_category: str | None = None
    published: str | None = None
    updated: str | None = None
    versions: list[Version] = field(default_factory=list)
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None
    license: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    # Publication time with its time of day, when the source gives one (``published`` is the day).
    published_at: str | None = None
    # Hugging Face's AI-written one-line summary and keywords: never the abstract.
    ai_summary: str = ""
    ai_keywords: list[str] = field(default_factory=list)
    # Facts about the paper on Hugging Face, stored apart from the paper itself.
    upvotes: int | None = None
    daily_date: str | None = None
    submitted_by: str | None = None
    # The submitter's account as the source describes it (Hugging Face: ``user``/``name`` handle,
    # ``fullname``, ``_id``, ``avatarUrl``, ``type``); None when the source names nobody.
    submitter: dict[str, Any] | None = None
    num_comments: int | None = None

    @property
    def priority(self) -> int:
        return SOURCE_PRIORITY.get(self.source, 0)

    @property
    def latest_version(self) -> int:
        return max((v.number for v in self.versions), default=0)


@dataclass(slots=True)
class Rejected:
    """A record that could not be used: where it came from and why."""

    source: str
    origin: str
    reason: str
    excerpt: str = ""


ParseResult = PaperRecord | Rejected

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_LATEX_CMD = re.compile(r"\\[a-zA-Z]+")


def clean_text(text: str | None) -> str:
    """Collapse the hard line wraps and runs of spaces that arXiv metadata is full of."""
    if not text:
        return ""
    # split/join is several times faster than a regex here, and this runs on every field.
    return " ".join(text.split())


def normalize_title(title: str) -> str:
    """A key under which two spellings of one title meet: case, accents, TeX and punctuation folded."""
    text = title.lower()
    if not text.isascii():
        # Only non-ASCII titles pay for decomposition (most arXiv titles are ASCII).
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    if "\\" in text:
        text = _LATEX_CMD.sub(" ", text)
    return " ".join(_NON_WORD.sub(" ", text).replace("_", " ").split())
