"""Related papers for the paper page and ``/api/papers/{id}/related``, whatever indexes exist.

``Searcher.related`` answers from the semantic index; when that has no vectors yet (the
keyword index is built in seconds, embeddings take much longer) it raises a QueryError
rather than falling back.  The web layer then asks the keyword index with the paper's title,
so the page and the API still answer while only the keyword index exists; only when there
is no index at all does the API say 503 (and the page shows a one-line note).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..errors import PaperscopeError
from ..store.models import Paper
from .state import WebState

log = logging.getLogger(__name__)

NO_INDEX = "related papers need the search index: run `paperscope index`"


@dataclass(slots=True)
class Related:
    """Papers with scores, ``how`` they were found ("semantic" or "keyword"), or why there are none."""

    papers: list[tuple[Paper, float]] = field(default_factory=list)
    how: str | None = None
    unavailable: str | None = None


def related_papers(state: WebState, paper: Paper, limit: int) -> Related:
    """Related papers, kept a few seconds (a popular paper's page is opened many times a second)."""
    return state.cached(("related", paper.id, limit), lambda: _find(state, paper, limit))


def _find(state: WebState, paper: Paper, limit: int) -> Related:
    try:
        searcher = state.searcher
    except (PaperscopeError, ImportError) as error:
        return Related(unavailable=f"{NO_INDEX} ({error})")
    try:
        return Related(searcher.related(paper.key, limit), "semantic")
    except (PaperscopeError, ImportError) as error:
        semantic_error = str(error)
    from ..search.api import SearchRequest

    request = SearchRequest(query=paper.title, mode="keyword", limit=min(limit + 1, 100))
    try:
        response = searcher.search(request)
    except (PaperscopeError, ImportError) as error:
        log.info("no related papers for %s: %s; %s", paper.key, semantic_error, error)
        return Related(unavailable=NO_INDEX)
    found = [(r.paper, r.score) for r in response.results if r.paper.id != paper.id]
    return Related(found[:limit], "keyword")
