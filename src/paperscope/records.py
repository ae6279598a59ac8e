"""The record every source produces, and the rejection it produces instead when a record is bad.

Sources never touch the store: they yield :class:`PaperRecord` or :class:`Rejected`, and
:mod:`paperscope.ingest` writes them.  Keeping this one shape is what lets six formats share
one upsert path.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .checks import is_url_like, link_problem, strip_controls
from .dates import DateFormatError, parse_day

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
    # The moment it entered that list (ISO time), when the source says; None when only the day is known.
    daily_at: str | None = None
    submitted_by: str | None = None
    # The submitter's account as the source describes it (Hugging Face: ``user``/``name`` handle,
    # ``fullname``, ``_id``, ``avatarUrl``, ``type``); None when the source names nobody.
    submitter: dict[str, Any] | None = None
    num_comments: int | None = None
    # Set by the ingest stage: an earlier record of the same file named this paper, and this
    # one, the last occurrence, replaces what that one said as a whole (see store/upsert.py).
    supersedes: bool = False

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


# Bounds on what one record may carry: generous for real papers (arXiv caps abstracts at 1,920
# characters; ATLAS papers list ~3,000 authors), small enough that a hostile file cannot fill
# the store or the pages with one record.
MAX_TITLE = 1000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 5000
MAX_AUTHOR = 300
MAX_CATEGORIES = 50
MAX_CATEGORY = 40
MAX_SHORT_FIELD = 2000  # doi, journal_ref, comments, license, ids, submitter
MAX_LINKS = 20
MAX_URL = 2000
MAX_VERSIONS = 1000
MAX_COUNT = 100_000_000  # upvotes and comment counts
_TEXT_FIELDS = ("title", "arxiv_id", "local_id", "abstract", "primary_category", "published", "updated", "doi",
                "journal_ref", "comments", "license", "daily_date", "daily_at", "submitted_by", "published_at",
                "ai_summary")
_LIMITS = {"title": MAX_TITLE, "abstract": MAX_ABSTRACT, "primary_category": MAX_CATEGORY, "ai_summary": MAX_ABSTRACT}
MAX_KEYWORDS = 100


def _time_problem(name: str, value: str) -> str | None:
    """Why ``value`` is not a real day or ISO 8601 time (``25:61`` is not), or None."""
    try:
        parse_day(value[:10])
        if len(value) > 10:
            datetime.fromisoformat(value)
    except (DateFormatError, ValueError) as error:
        return f"{name} {value[:40]!r} is not a real date or time ({error})"
    return None


def vet(record: PaperRecord) -> ParseResult:
    """The record with control characters removed from every text field, or a Rejected naming
    the first field out of bounds.  Every record goes through here on its way to the store
    (:meth:`paperscope.ingest.Ingestor.write`), whatever its format."""
    for name in _TEXT_FIELDS:
        value = getattr(record, name)
        if value:
            setattr(record, name, strip_controls(value))
    record.authors = [strip_controls(a) for a in record.authors]
    record.categories = [strip_controls(c) for c in record.categories]
    record.ai_keywords = [strip_controls(k) for k in record.ai_keywords]
    record.links = {strip_controls(k): strip_controls(v) for k, v in record.links.items() if v}
    record.origin = strip_controls(record.origin)
    if record.submitter:
        record.submitter = _vetted_submitter(record.submitter)
    problem = _problem(record)
    if problem is None:
        return record
    return Rejected(record.source, record.origin, problem, record.title[:200])


def _vetted_submitter(submitter: dict[str, Any]) -> dict[str, Any] | None:
    """The submitter's short string fields, cleaned; a URL (the avatar) only when http(s)."""
    kept: dict[str, Any] = {}
    for name, value in list(submitter.items())[:20]:
        if not isinstance(value, str):
            kept[name] = value if isinstance(value, bool | int | float) or value is None else None
            continue
        value = strip_controls(value)[:MAX_SHORT_FIELD]
        if "url" in name.lower() and link_problem(value) is not None:
            continue
        kept[name] = value
    return kept or None


def _problem(record: PaperRecord) -> str | None:
    for name in _TEXT_FIELDS:
        value = getattr(record, name) or ""
        limit = _LIMITS.get(name, MAX_SHORT_FIELD)
        if len(value) > limit:
            return f"{name} is {len(value):,} characters: at most {limit:,}"
    if len(record.authors) > MAX_AUTHORS:
        return f"{len(record.authors):,} authors: at most {MAX_AUTHORS:,}"
    long_name = next((a for a in record.authors if len(a) > MAX_AUTHOR), None)
    if long_name is not None:
        return f"an author name is {len(long_name):,} characters: at most {MAX_AUTHOR}"
    if len(record.categories) > MAX_CATEGORIES or any(len(c) > MAX_CATEGORY for c in record.categories):
        return f"categories: at most {MAX_CATEGORIES}, each at most {MAX_CATEGORY} characters"
    if len(record.versions) > MAX_VERSIONS:
        return f"{len(record.versions):,} versions: at most {MAX_VERSIONS}"
    for name in ("upvotes", "num_comments"):
        count = getattr(record, name)
        if count is not None and not 0 <= count <= MAX_COUNT:
            return f"{name} {count} is out of range: 0 to {MAX_COUNT:,}"
    if len(record.ai_keywords) > MAX_KEYWORDS or any(len(k) > MAX_SHORT_FIELD for k in record.ai_keywords):
        return f"ai_keywords: at most {MAX_KEYWORDS}, each at most {MAX_SHORT_FIELD} characters"
    for name in ("published", "updated", "daily_date", "daily_at", "published_at"):
        value = getattr(record, name)
        if value and (problem := _time_problem(name, value)):
            return problem
    for version in record.versions:
        if version.date and (problem := _time_problem(f"version {version.version[:20]} date", version.date)):
            return problem
    if len(record.links) > MAX_LINKS:
        return f"{len(record.links)} links: at most {MAX_LINKS}"
    for name, url in record.links.items():
        if not is_url_like(name, url):
            if len(url) > MAX_SHORT_FIELD:
                return f"link {name[:40]!r} is {len(url):,} characters: at most {MAX_SHORT_FIELD}"
            continue
        if len(url) > MAX_URL:
            return f"link {name[:40]!r} is {len(url):,} characters: at most {MAX_URL}"
        if problem := link_problem(url):
            return f"link {name[:40]!r}: {problem}; only http(s) links are kept"
    return None

