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

import re

from ..arxiv_ids import parse_arxiv_id
from ..checks import is_category
from ..dates import loose_day
from ..query_model import ParsedQuery

__all__ = ["MAX_CLAUSES", "MAX_QUERY_CHARS", "ParsedQuery", "parse_query"]

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
_FIELDS = {"author", "authors", "au", "cat", "category", "year", "since", "until", "from", "to"}


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
        if is_category(category):
            query.categories.append(category)
        else:
            query.warnings.append(f"ignored category {value!r}: expected a name such as cs.CL")
    elif name == "year":
        since, until = loose_day(value), loose_day(value, end=True)
        if since and until and len(value) == 4:
            query.since, query.until = since, until
        else:
            query.warnings.append(f"ignored year {value!r}: expected four digits such as 2024")
    elif name in ("since", "from"):
        day = loose_day(value)
        if day:
            query.since = day
        else:
            query.warnings.append(f"ignored {name}:{value!r}: expected a day such as 2024-06-01")
    elif name in ("until", "to"):
        day = loose_day(value, end=True)
        if day:
            query.until = day
        else:
            query.warnings.append(f"ignored {name}:{value!r}: expected a day such as 2024-12-31")
