"""The query language people type into the search box, parsed into a plain structure.

Syntax: bare words, ``"quoted phrases"``, ``-excluded`` words or ``-"phrases"``,
``author:Name`` (or ``author:"First Last"``), ``cat:cs.CL``, ``year:2024``,
``since:2024-06-01`` / ``until:2024-12-31`` (also ``YYYY`` or ``YYYY-MM``).  A query that is
nothing but an arXiv id or an arXiv / Hugging Face URL jumps to that paper.

Written by hand rather than with shlex or an engine's own parser because it must answer
*every* input: unbalanced quotes, stray operators, control characters and 10 kB pastes are
read as well as they can be, never raised as errors, and nothing the user typed ever reaches
an engine's query language (the keyword index builds Query objects from this structure).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..arxiv_ids import parse_arxiv_id

# Bounds that keep a hostile query cheap: longer input is cut, extra terms are dropped.
MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 64

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# One clause: optional "-", optional "field:", then a quoted value (closing quote optional,
# so an unbalanced quote runs to the end of the query) or a run of non-space characters.
_CLAUSE = re.compile(
    r'(?P<neg>-)?(?:(?P<field>[A-Za-z]+):)?(?:"(?P<quoted>[^"]*)"?|(?P<bare>[^\s"]+))',
)
_WORDISH = re.compile(r"[^\W_]", re.UNICODE)
_DAY = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(?:\.[a-z\-]+)?$")
_FIELDS = {"author", "authors", "au", "cat", "category", "year", "since", "until", "from", "to"}


@dataclass(slots=True)
class ParsedQuery:
    """What a query asks for.  ``text`` is the free text (words and phrases) for semantic search."""

    raw: str
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    since: str | None = None
    until: str | None = None
    jump_to: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join([*self.phrases, *self.words])

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def has_constraints(self) -> bool:
        """Clauses a document must satisfy beyond matching well: phrases, authors, exclusions."""
        return bool(self.phrases or self.authors or self.excluded)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_day(value: str, *, end: bool = False) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as a day (first day, or with ``end`` the last); None if bad."""
    match = _DAY.match(value.strip())
    if not match:
        return None
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else (12 if end else 1)
    if not 1 <= month <= 12 or year < 1000:
        return None
    last = calendar.monthrange(year, month)[1]
    day = int(match.group(3)) if match.group(3) else (last if end else 1)
    if not 1 <= day <= last:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _clean(text: str) -> str:
    text = _CONTROL.sub(" ", text or "")
    return text[:MAX_QUERY_CHARS]


def parse_query(text: str) -> ParsedQuery:
    """Parse a user's query.  Never raises: whatever cannot be read as an operator is text."""
    cleaned = _clean(text if isinstance(text, str) else "")
    query = ParsedQuery(raw=cleaned.strip())
    stripped = cleaned.strip()
    if stripped and len(stripped) < 200 and " " not in stripped:
        arxiv = parse_arxiv_id(stripped)
        if arxiv is not None:
            query.jump_to = arxiv[0]
            return query
    clauses = 0
    for match in _CLAUSE.finditer(cleaned):
        if clauses >= MAX_CLAUSES:
            query.warnings.append(f"only the first {MAX_CLAUSES} terms of the query were used")
            break
        clauses += 1
        negated = bool(match.group("neg"))
        name = (match.group("field") or "").lower()
        quoted = match.group("quoted")
        value = (quoted if quoted is not None else match.group("bare") or "").strip()
        if name and name not in _FIELDS:
            # "title:*" or "http://..." is not an operator we know: read it all as text.
            value = f"{match.group('field')} {value}"
            name = ""
        if name:
            _apply_field(query, name, value, negated)
        elif not _WORDISH.search(value):
            continue  # stray punctuation or a lone operator character: nothing to search for
        elif negated:
            query.excluded.append(value)
        elif quoted is not None and len(value.split()) > 1:
            query.phrases.append(value)
        else:
            query.words.append(value)
    return query


def _apply_field(query: ParsedQuery, name: str, value: str, negated: bool) -> None:
    if not _WORDISH.search(value):
        return
    if negated:
        # "-author:x" and friends: exclusion of a filter is not supported; keep the words out.
        query.excluded.append(value)
        return
    if name in ("author", "authors", "au"):
        query.authors.append(value)
    elif name in ("cat", "category"):
        category = value.lower()
        if _CATEGORY.match(category):
            query.categories.append(category)
        else:
            query.warnings.append(f"ignored category {value!r}: expected a name such as cs.CL")
    elif name == "year":
        since, until = parse_day(value), parse_day(value, end=True)
        if since and until and len(value) == 4:
            query.since, query.until = since, until
        else:
            query.warnings.append(f"ignored year {value!r}: expected four digits such as 2024")
    elif name in ("since", "from"):
        day = parse_day(value)
        if day:
            query.since = day
        else:
            query.warnings.append(f"ignored {name}:{value!r}: expected a day such as 2024-06-01")
    elif name in ("until", "to"):
        day = parse_day(value, end=True)
        if day:
            query.until = day
        else:
            query.warnings.append(f"ignored {name}:{value!r}: expected a day such as 2024-12-31")
