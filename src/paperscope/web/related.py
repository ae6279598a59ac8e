"""Related papers for the paper page and ``/api/papers/{id}/related``, whatever indexes exist.

``Searcher.related`` answers from the semantic index, or from the keyword index with the
paper's title while the paper has no embedding yet; only when there is no index at all does
the API say 503 (and the page shows a one-line note).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

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
    why: dict[int, dict[str, Any]] = field(default_factory=dict)  # by paper id


def related_papers(state: WebState, paper: Paper, limit: int) -> Related:
    """Related papers, kept a few seconds (a popular paper's page is opened many times a second)."""
    return state.cached(("related", paper.id, limit), lambda: _find(state, paper, limit))


def _find(state: WebState, paper: Paper, limit: int) -> Related:
    try:
        searcher = state.searcher
    except (PaperscopeError, ImportError) as error:
        return Related(unavailable=f"{NO_INDEX} ({error})")
    try:
        found = searcher.related(paper.key, limit)
    except (PaperscopeError, ImportError) as error:
        log.info("no related papers for %s: %s", paper.key, error)
        return Related(unavailable=NO_INDEX)
    return Related(found.papers, found.how, why=found.why)
