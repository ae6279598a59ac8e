"""One reader's "For you" list: the same answer for the page, the JSON route, the private feed
and the email digest's personalised section.

How a list is made (``Recommender.recommend``):

1. The reader's signals (``store.signals.reader``).  None at all: the trending list, and the
   page offers onboarding (pick categories, seed papers, import a library).
2. With positive papers that have embeddings: their model (:mod:`.model`: linear from
   :data:`~.model.MIN_LINEAR` positives, else centroid), trained when the signals changed
   since the last list (kept per reader in this process) and searched in the semantic index
   for the :data:`POOL` papers it rates best.
3. Papers of followed authors, in followed categories and matching saved searches join the
   pool (newest first from the keyword index, :data:`FOLLOW_DEPTH` each).
4. Each candidate's score: the model's z-score (standard deviations above the library mean),
   plus a boost per followed author, category or saved search it matches, plus recency
   (``RECENCY_WEIGHT * exp(-age / RECENCY_DAYS)``, age from the newest daily-list day, so a
   store of old papers still has "new" ones).  Papers the reader already upvoted, saved or judged are
   left out; so is everything in ``exclude``.
5. Each card carries why it is there: the positive paper it is most like, the followed author
   or category, the saved search.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import PaperscopeError
from ..store import Paper, Store
from ..store.signals import PaperSignal, ReaderSignals
from .authors import writes
from .model import BACKGROUND, ReaderModel, fit

if TYPE_CHECKING:
    from ..index.vectorfiles import Snapshot
    from ..index.vectors import SemanticIndex
    from ..search.api import Searcher

log = logging.getLogger(__name__)

POOL = 300  # papers read from the semantic index per list
FOLLOW_DEPTH = 50  # newest papers per followed author / category / saved search
MAX_FOLLOWS_USED = 20  # of each kind, per list (bounds the keyword queries one list makes)
AUTHOR_BOOST = 2.0
CATEGORY_BOOST = 1.0
SEARCH_BOOST = 1.0
BOOSTS = {"author": AUTHOR_BOOST, "category": CATEGORY_BOOST, "search": SEARCH_BOOST}
RECENCY_WEIGHT = 0.5
RECENCY_DAYS = 14.0
TRENDING_DAYS = 7
MODEL_CACHE = 256  # readers whose model is kept in memory
MAX_LIMIT = 200

VERBS = {"upvote": "which you upvoted", "more": "which you asked more of", "saved": "which you saved"}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a paper is in a reader's list.  ``kind``: like, author, category, search or trending."""

    kind: str
    label: str  # the liked paper's title, the author, the category or the query
    key: str | None = None  # the liked paper's key
    verb: str = ""

    @property
    def text(self) -> str:
        if self.kind == "like":
            return f"like “{self.label}”, {self.verb}"
        if self.kind == "author":
            return f"by {self.label}, whom you follow"
        if self.kind == "category":
            return f"new in {self.label}"
        if self.kind == "search":
            return f"matches your saved search “{self.label}”"
        return "trending this week"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "paper": self.key, "text": self.text}


@dataclass(slots=True)
class Recommendation:
    paper: Paper
    score: float
    reasons: list[Reason] = field(default_factory=list)


@dataclass(slots=True)
class ForYou:
    """A reader's list.  ``mode``: linear, centroid (by model), follows (follows only) or trending."""

    mode: str
    items: list[Recommendation]
    signals: ReaderSignals
    train_ms: float = 0.0
    took_ms: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def onboarding(self) -> bool:
        return self.signals.is_empty

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "onboarding": self.onboarding,
            "took_ms": round(self.took_ms, 2),
            "train_ms": round(self.train_ms, 2),
            "notes": self.notes,
            "papers": [
                {
                    "id": r.paper.key,
                    "title": r.paper.title,
                    "authors": r.paper.authors,
                    "published": r.paper.published,
                    "categories": r.paper.categories,
                    "upvotes": r.paper.upvotes,
                    "score": round(r.score, 4),
                    "reasons": [reason.as_dict() for reason in r.reasons],
                }
                for r in self.items
            ],
        }


def _day(paper: Paper) -> date | None:
    text = paper.published or (paper.list_dates[0] if paper.list_dates else None)
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


class Recommender:
    """Recommendations for any reader of one store; thread-safe, keeps reader models in memory."""

    def __init__(self, store: Store, *, index_dir: Path | None = None, searcher: Searcher | None = None) -> None:
        self.store = store
        self.index_dir = index_dir or store.settings.index_dir
        self._searcher = searcher
        self._index: SemanticIndex | None = None
        self._models: OrderedDict[int, tuple[object, ReaderModel]] = OrderedDict()
        self._lock = threading.Lock()

    # -- parts ----------------------------------------------------------------------------
    def _snapshot(self) -> tuple[SemanticIndex, Snapshot] | None:
        try:
            from ..index.vectors import SemanticIndex

            if self._index is None:
                self._index = SemanticIndex.open(self.index_dir)
            snap = self._index.snapshot()
        except (PaperscopeError, OSError) as error:
            log.warning("recommendations without the semantic index: %s", error)
            return None
        if snap is None or len(snap) == 0:
            return None
        return self._index, snap

    def searcher(self) -> Searcher:
        if self._searcher is None:
            from ..search.api import Searcher

            self._searcher = Searcher(self.store)
        return self._searcher

    def vectors(self, snap: Snapshot, ids: Iterable[int]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The ids among ``ids`` that have embeddings, and their vectors (same order as found)."""
        wanted = np.array(sorted(set(ids)), dtype=np.int64)
        found, positions = snap.lookup(wanted)
        return found, snap.rows(positions)

    def model(self, signals: ReaderSignals, snap: Snapshot) -> ReaderModel | None:
        """The reader's model, trained now unless their signals and the index are as last time."""
        key = (signals.fingerprint, snap.manifest.get("gen"), len(snap))
        with self._lock:
            cached = self._models.get(signals.user_id)
            if cached is not None and cached[0] == key:
                self._models.move_to_end(signals.user_id)
                return cached[1]
        model = self.train(signals, snap)
        if model is not None:
            with self._lock:
                self._models[signals.user_id] = (key, model)
                while len(self._models) > MODEL_CACHE:
                    self._models.popitem(last=False)
        return model

    def train(self, signals: ReaderSignals, snap: Snapshot) -> ReaderModel | None:
        _pos_ids, pos = self.vectors(snap, signals.positive_ids)
        if len(pos) == 0:
            return None
        _neg_ids, neg = self.vectors(snap, signals.negative_ids)
        # A fixed sample per reader: the same signals give the same model.
        rng = np.random.default_rng(signals.user_id)
        take = min(BACKGROUND, len(snap))
        rows = np.sort(rng.choice(snap.positions, size=take, replace=False))
        known = np.array(sorted({s.paper_id for s in signals.papers}), dtype=np.int64)
        row_ids = snap.all_ids[rows]
        rows = rows[~np.isin(row_ids, known)]
        return fit(pos, neg, snap.rows(rows))

    def _followed(self, signals: ReaderSignals) -> dict[int, list[Reason]]:
        """Candidates from followed authors and categories and saved searches, with their reasons."""
        from ..search.api import SearchRequest

        found: dict[int, list[Reason]] = {}
        asks: list[tuple[SearchRequest, Reason, str | None]] = []
        for follow in signals.authors[:MAX_FOLLOWS_USED]:
            words = follow.value.replace('"', " ").strip()
            request = SearchRequest(query=f'author:"{words}"', mode="keyword", sort="date", limit=FOLLOW_DEPTH)
            asks.append((request, Reason("author", follow.value), follow.value_norm))
        for follow in signals.categories[:MAX_FOLLOWS_USED]:
            request = SearchRequest(query=f"cat:{follow.value}", mode="keyword", sort="date", limit=FOLLOW_DEPTH)
            asks.append((request, Reason("category", follow.value), None))
        for saved in signals.searches[:MAX_FOLLOWS_USED]:
            request = SearchRequest(query=saved.query, mode="keyword", limit=FOLLOW_DEPTH)
            asks.append((request, Reason("search", saved.query), None))
        if not asks:
            return found
        try:
            searcher = self.searcher()
            for request, reason, author in asks:
                for result in searcher.search(request).results:
                    if author is not None and not writes(result.paper, author):
                        continue
                    found.setdefault(result.paper.id, []).append(reason)
        except PaperscopeError as error:  # no keyword index yet: the model's list alone
            log.warning("followed authors and categories skipped: %s", error)
        return found

    # -- the list -------------------------------------------------------------------------
    def recommend(self, user_id: int, limit: int = 20, *, exclude: Iterable[int] = ()) -> ForYou:
        started = time.perf_counter()
        limit = max(1, min(limit, MAX_LIMIT))
        signals = self.store.signals.reader(user_id)
        if signals.is_empty:
            return self._trending(signals, limit, set(exclude), started)
        skip = {s.paper_id for s in signals.papers} | set(exclude)
        result = ForYou("follows", [], signals)
        scores: dict[int, float] = {}
        opened = self._snapshot()
        model = None
        if opened is not None and signals.positive_ids:
            model = self.model(signals, opened[1])
        if model is not None and opened is not None:
            index, snap = opened
            result.mode, result.train_ms = model.kind, model.train_ms
            hits = index.search_vector(model.direction, POOL + len(skip))
            scores = self._scores(model, snap, [int(i) for i in hits.ids.tolist() if int(i) not in skip])
        elif signals.positive_ids:
            result.notes.append("Papers like the ones you chose appear once the semantic index is built.")
        followed = self._followed(signals)
        extra = [pid for pid in followed if pid not in scores and pid not in skip]
        if model is not None and opened is not None and extra:
            scores.update(self._scores(model, opened[1], extra))
        for pid in extra:
            scores.setdefault(pid, 0.0)
        # Everything but recency is known without reading the papers: read them best first, and
        # only as deep as recency (at most RECENCY_WEIGHT) could still lift one into the list.
        boosted = {
            pid: base + sum(BOOSTS[kind] for kind in {r.kind for r in followed.get(pid, [])})
            for pid, base in scores.items()
        }
        order = sorted(boosted, key=lambda pid: (-boosted[pid], pid))
        days = self.store.list_days()
        # Without daily lists (an arXiv-only store), papers are as new as they are today.
        newest = date.fromisoformat(days[-1]) if days else datetime.now(UTC).date()
        ranked: list[Recommendation] = []
        read = 0
        while read < len(order):
            if len(ranked) >= limit:
                floor = sorted((r.score for r in ranked), reverse=True)[limit - 1]
                if boosted[order[read]] + RECENCY_WEIGHT < floor:
                    break
            batch = order[read : read + limit + 20]
            read += len(batch)
            for paper in self.store.get_papers(batch):
                day = _day(paper)
                total = boosted[paper.id]
                if day is not None:
                    total += RECENCY_WEIGHT * math.exp(-max(0, (newest - day).days) / RECENCY_DAYS)
                ranked.append(Recommendation(paper, float(total), list(followed.get(paper.id, []))))
        ranked.sort(key=lambda r: (-r.score, r.paper.id))
        result.items = ranked[:limit]
        if model is not None and opened is not None:
            like = self._likes(signals, opened[1], [r.paper.id for r in result.items])
            for item in result.items:
                if item.paper.id in like:
                    item.reasons.insert(0, like[item.paper.id])
        if not result.items and not signals.positive_ids:
            trending = self._trending(signals, limit, skip, started)
            trending.notes = ["Nothing new from what you follow yet: trending papers meanwhile."]
            return trending
        result.took_ms = (time.perf_counter() - started) * 1000.0
        return result

    def _scores(self, model: ReaderModel, snap: Snapshot, ids: list[int]) -> dict[int, float]:
        found, vectors = self.vectors(snap, ids)
        return dict(zip(found.tolist(), model.zscore(vectors).tolist(), strict=True))

    def _likes(self, signals: ReaderSignals, snap: Snapshot, ids: list[int]) -> dict[int, Reason]:
        """For each candidate, the reader's positive paper it is most similar to."""
        pos_ids, pos = self.vectors(snap, signals.positive_ids)
        found, vectors = self.vectors(snap, ids)
        if len(pos_ids) == 0 or len(found) == 0:
            return {}
        nearest = (vectors @ pos.T).argmax(axis=1)
        by_id: dict[int, PaperSignal] = {}
        for s in signals.positives:  # newest first: the reader's latest reason for a paper wins
            by_id.setdefault(s.paper_id, s)
        seeds = {p.id: p for p in self.store.get_papers(pos_ids.tolist())}
        out: dict[int, Reason] = {}
        for pid, at in zip(found.tolist(), nearest.tolist(), strict=True):
            seed_id = int(pos_ids[at])
            seed, signal = seeds.get(seed_id), by_id.get(seed_id)
            if seed is None or signal is None:
                continue
            verb = VERBS[signal.kind]
            if signal.kind == "saved" and signal.detail:
                verb = f"which you saved to “{signal.detail}”"
            out[pid] = Reason("like", seed.title, seed.key, verb)
        return out

    def _trending(self, signals: ReaderSignals, limit: int, skip: set[int], started: float) -> ForYou:
        ranked = self.store.trending(window_days=TRENDING_DAYS, limit=limit + len(skip))
        items = [Recommendation(p, float(s), [Reason("trending", "")]) for p, s in ranked if p.id not in skip]
        took = (time.perf_counter() - started) * 1000.0
        return ForYou("trending", items[:limit], signals, took_ms=took)

