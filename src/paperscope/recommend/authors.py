"""An author's papers, found by name as written (case- and accent-folded; see :mod:`paperscope.names`).

The keyword index finds candidates by the name's words in the authors field (sorted newest
first); each is then kept only when one of its authors is the same name once folded, so
"Jane Doe" does not also bring "Jane Doe-Smith" or "Doe, Jane Q.".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import PaperscopeError
from ..names import normalize_name
from ..store import Paper

if TYPE_CHECKING:
    from ..search.api import Searcher

MAX_AUTHOR_PAPERS = 200  # the search API's page limit: one query per author page


@dataclass(slots=True)
class AuthorPapers:
    name: str  # as asked for
    papers: list[Paper] = field(default_factory=list)  # newest first
    spellings: list[str] = field(default_factory=list)  # how the papers write the name
    coauthors: list[tuple[str, int]] = field(default_factory=list)  # (name, shared papers), most first
    available: bool = True  # False when there is no keyword index to ask


def writes(paper: Paper, wanted: str) -> bool:
    """Whether ``paper`` lists the (already normalised) author name ``wanted``."""
    return any(normalize_name(a) == wanted for a in paper.authors)


def author_papers(searcher: Searcher, name: str, limit: int = MAX_AUTHOR_PAPERS) -> AuthorPapers:
    from ..search.api import SearchRequest

    result = AuthorPapers(name)
    wanted = normalize_name(name)
    words = name.replace('"', " ").strip()
    if not wanted or not words:
        return result
    try:
        response = searcher.search(
            SearchRequest(query=f'author:"{words}"', mode="keyword", sort="date", limit=min(limit, MAX_AUTHOR_PAPERS))
        )
    except PaperscopeError:
        result.available = False
        return result
    result.papers = [r.paper for r in response.results if writes(r.paper, wanted)]
    spellings: Counter[str] = Counter()
    coauthors: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for paper in result.papers:
        for author in paper.authors:
            norm = normalize_name(author)
            if norm == wanted:
                spellings[author] += 1
            elif norm:
                coauthors[norm] += 1
                shown.setdefault(norm, author)
    result.spellings = [s for s, _ in spellings.most_common()]
    result.coauthors = [(shown[n], c) for n, c in sorted(coauthors.items(), key=lambda kv: (-kv[1], kv[0]))]
    return result
