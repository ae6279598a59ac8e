"""Which papers go into one subscriber's digest.

Two sections: the period's top papers by the trending ranking (``store.trending``), narrowed
by the subscriber's categories, minimum upvotes and keywords (a saved search run through the
search API); and, for a signed-in subscriber with reader signals (upvotes, collections,
"more like this", follows), their "For you" list from the recommender
(:mod:`paperscope.recommend`), the same one the site shows.  Nothing already sent to the
subscriber, and nothing they saved, is ever selected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
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
# (user id, how many, paper ids to leave out) -> paper ids, best first.
RelatedFinder = Callable[[int, int, set[int]], list[int]]


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
        self.related_finder = related_finder if related_finder is not None else RecommenderFinder(store)
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

        if subscription.user_id is not None and self.related:
            taken = excluded | {p.id for p in digest.trending}
            ids = [pid for pid in self.related_finder(subscription.user_id, self.related, taken) if pid not in taken]
            digest.related = self.store.get_papers(ids[: self.related])
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


class RecommenderFinder:
    """The subscriber's "For you" list (:class:`paperscope.recommend.Recommender`), for readers
    whose signals say something about papers; a reader with none gets no section (the trending
    section already is the trending list)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._recommender: Any = None  # one per run: it keeps each reader's model

    def __call__(self, user_id: int, k: int, exclude: set[int]) -> list[int]:
        from ..recommend import Recommender

        if self._recommender is None:
            self._recommender = Recommender(self.store)
        try:
            result = self._recommender.recommend(user_id, k, exclude=exclude)
        except Exception as error:  # a broken index drops the section, not the digest
            log.warning("no For you section for user %s: %s", user_id, error)
            return []
        if result.mode == "trending":
            return []
        return [r.paper.id for r in result.items]
