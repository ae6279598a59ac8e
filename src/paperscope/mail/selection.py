"""Which papers go into one subscriber's digest.

Two sections: the period's top papers by the trending ranking (``store.trending``), narrowed
by the subscriber's categories, minimum upvotes and keywords (a saved search run through the
search API); and, for a signed-in subscriber who upvoted or collected papers, the nearest
neighbours of those papers in the semantic index.  Nothing already sent to the subscriber,
and nothing they saved, is ever selected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..store import Paper, Store
from ..store.digests import Subscription
from ..store.lists import trending_anchor
from .periods import window_days

log = logging.getLogger(__name__)

TOP_PAPERS = 10
RELATED_PAPERS = 5
# How deep into the trending ranking filters may reach: enough for narrow filters, bounded cost.
CANDIDATE_POOL = 1000

# (keywords, candidate paper ids) -> the ids among them that match the saved search.
KeywordMatcher = Callable[[str, Sequence[int]], set[int]]
# (saved paper ids, how many) -> [(paper id, similarity)], best first.
RelatedFinder = Callable[[Sequence[int], int], list[tuple[int, float]]]


@dataclass(slots=True)
class Digest:
    subscription: Subscription
    period_key: str
    start: date
    end: date
    trending: list[Paper] = field(default_factory=list)
    related: list[Paper] = field(default_factory=list)

    @property
    def paper_ids(self) -> list[int]:
        return [p.id for p in self.trending] + [p.id for p in self.related]

    @property
    def is_empty(self) -> bool:
        return not self.trending and not self.related


def category_matches(paper: Paper, wanted: Sequence[str]) -> bool:
    """``cs.CL`` matches exactly; a bare archive such as ``cs`` matches all of ``cs.*``."""
    if not wanted:
        return True
    have = set(paper.categories)
    if paper.primary_category:
        have.add(paper.primary_category)
    return any(c == w or c.startswith(w + ".") for c in have for w in wanted)


class Selector:
    def __init__(
        self,
        store: Store,
        *,
        keyword_matcher: KeywordMatcher | None = None,
        related_finder: RelatedFinder | None = None,
        top: int = TOP_PAPERS,
        related: int = RELATED_PAPERS,
    ) -> None:
        self.store = store
        self.keyword_matcher = keyword_matcher or SearchKeywordMatcher(store)
        self.related_finder = related_finder if related_finder is not None else SemanticRelatedFinder(store)
        self.top = top
        self.related = related

    def select(self, subscription: Subscription, period_key: str, today: date) -> Digest:
        days = window_days(subscription.frequency, today)
        with self.store.connect() as conn:
            anchor = trending_anchor(conn, today)
        digest = Digest(subscription, period_key, anchor - timedelta(days=days - 1), anchor)
        seen = self.store.digests.sent_paper_ids(subscription.id)
        saved: list[int] = []
        if subscription.user_id is not None:
            saved = self.store.digests.saved_paper_ids(subscription.user_id)
        excluded = seen | set(saved)

        ranked = self.store.trending(
            window_days=days, min_upvotes=subscription.min_upvotes, limit=CANDIDATE_POOL, today=today
        )
        candidates = [
            paper
            for paper, _score in ranked
            if paper.id not in excluded and category_matches(paper, subscription.categories)
        ]
        if subscription.keywords.strip() and candidates:
            matching = self.keyword_matcher(subscription.keywords, [p.id for p in candidates])
            candidates = [p for p in candidates if p.id in matching]
        digest.trending = candidates[: self.top]

        if saved and self.related:
            taken = excluded | {p.id for p in digest.trending}
            neighbours = self.related_finder(saved, self.related + len(taken))
            ids = [pid for pid, _ in neighbours if pid not in taken][: self.related]
            digest.related = self.store.get_papers(ids)
        return digest


class SearchKeywordMatcher:
    """A saved search through the keyword search API, restricted to the candidates.

    Keyword mode, not hybrid: a saved search is a filter, and semantic neighbours of any
    query would let every paper through.  Results are paged until every candidate is found
    or the matches run out (the search API caps a page at its MAX_LIMIT).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._searcher: Any = None  # opened once per run: loading the indexes is the slow part

    def __call__(self, keywords: str, candidates: Sequence[int]) -> set[int]:
        from ..search.api import MAX_LIMIT, MAX_OFFSET, Searcher, SearchRequest

        wanted = set(candidates)
        found: set[int] = set()
        if self._searcher is None:
            self._searcher = Searcher(self.store)
        searcher = self._searcher
        offset = 0
        while offset <= MAX_OFFSET and found != wanted:
            response = searcher.search(
                SearchRequest(query=keywords, mode="keyword", limit=MAX_LIMIT, offset=offset)
            )
            found |= {r.paper.id for r in response.results} & wanted
            offset += MAX_LIMIT
            if not response.results or offset >= response.total:
                break
        return found


class SemanticRelatedFinder:
    """Nearest neighbours of saved papers, summed over the saved papers (a paper close to many wins)."""

    MAX_SEEDS = 20

    def __init__(self, store: Store, index_dir: Path | None = None) -> None:
        self.index_dir = index_dir or store.settings.index_dir
        self._index: Any = None

    def __call__(self, saved: Sequence[int], k: int) -> list[tuple[int, float]]:
        try:
            from ..index.vectors import SemanticIndex

            index = self._index or SemanticIndex.open(self.index_dir)
        except Exception as error:  # an absent or unbuilt index drops the section, not the digest
            log.warning("no related-papers section: semantic index unavailable (%s)", error)
            return []
        self._index = index
        totals: dict[int, float] = {}
        for seed in saved[: self.MAX_SEEDS]:
            try:
                hits = index.related(int(seed), k)
            except Exception as error:  # a saved paper not in the index yet
                log.info("paper %s has no embedding yet: %s", seed, error)
                continue
            for pid, score in zip(hits.ids.tolist(), hits.scores.tolist(), strict=False):
                totals[int(pid)] = totals.get(int(pid), 0.0) + float(score)
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))
