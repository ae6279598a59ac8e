"""The one search API: the CLI and the web app both call :class:`Searcher`.

Every ranker (keyword, semantic, their fusion) returns :class:`~paperscope.index.hits.Hits`,
so filtering, fusion, sorting and paging are written once, here.  Filters are applied inside
retrieval (tantivy fields on the keyword side, an allowed-id array on the semantic side), so
a filtered query still fills its page.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dates import loose_day
from ..errors import PaperscopeError, QueryError
from ..index.build import keyword_dir, meta_dir
from ..index.hits import Hits
from ..index.keyword import KeywordIndex
from ..index.meta import MetaFilter, MetaIndex, day_number
from ..store import Paper, Store
from .fusion import fuse, sort_by
from .query import ParsedQuery, parse_query
from .snippet import make_snippet

MODES = ("hybrid", "keyword", "semantic")
SORTS = ("relevance", "date", "upvotes")
MAX_LIMIT = 200
MAX_OFFSET = 10_000
# How deep each ranker is read before fusion.  Fixed (not offset + limit) so that every page
# of one query is cut from the same fused list: no overlap, no gap.  Hybrid and semantic
# results therefore end after this many; keyword-only paging goes as deep as the matches do.
# Keyword hits are cheap to read deep (tantivy top-1000: ~2 ms at 100k papers); the vector
# side costs ~27 ms for 1000 neighbours from HNSW at 100k but ~8 ms for 300, for 0.004 nDCG@10
# (see search/fusion.py), so it is read 300 deep.
FUSION_DEPTH = 1000
SEMANTIC_DEPTH = 300
# Seconds before a semantic index that could not be opened is tried again.
SEMANTIC_RETRY_S = 60.0


@dataclass(slots=True)
class SearchRequest:
    query: str
    mode: str = "hybrid"
    limit: int = 20
    offset: int = 0
    since: str | None = None
    until: str | None = None
    categories: list[str] = field(default_factory=list)
    min_upvotes: int | None = None
    sort: str = "relevance"

    def check(self) -> None:
        """Raise :class:`QueryError` naming the parameter that cannot be used as given."""
        if self.mode not in MODES:
            raise QueryError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.sort not in SORTS:
            raise QueryError(f"sort {self.sort!r} is not one of {', '.join(SORTS)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit {self.limit} must be between 1 and {MAX_LIMIT}")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise QueryError(f"offset {self.offset} must be between 0 and {MAX_OFFSET}")
        if self.min_upvotes is not None and self.min_upvotes < 0:
            raise QueryError(f"min_upvotes {self.min_upvotes} must be 0 or more")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and loose_day(value) is None:
                raise QueryError(f"{name} {value!r} is not a date: use YYYY-MM-DD (or YYYY-MM, YYYY)")


@dataclass(slots=True)
class SearchResult:
    paper: Paper
    score: float
    snippet_html: str

    def as_dict(self) -> dict[str, Any]:
        p = self.paper
        return {
            "id": p.key,
            "arxiv_id": p.arxiv_id,
            "title": p.title,
            "authors": p.authors,
            "published": p.published,
            "categories": p.categories,
            "upvotes": p.upvotes,
            "score": round(float(self.score), 6),
            "snippet_html": self.snippet_html,
            "url": p.abs_url,
        }


@dataclass(slots=True)
class SearchResponse:
    results: list[SearchResult]
    total: int
    jump_to: str | None
    query: ParsedQuery
    mode: str
    warnings: list[str] = field(default_factory=list)
    took_ms: float = 0.0

    @property
    def parsed(self) -> ParsedQuery:
        """The parsed query (also ``query``)."""
        return self.query

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "total": self.total,
            "jump_to": self.jump_to,
            "query": self.query.as_dict(),
            "warnings": self.warnings,
            "took_ms": round(self.took_ms, 2),
            "results": [r.as_dict() for r in self.results],
        }


def _filter(request: SearchRequest, parsed: ParsedQuery) -> MetaFilter:
    """The request's filters and the query's operators together (both must hold)."""
    since = [d for d in (loose_day(request.since or ""), parsed.since) if d]
    until = [d for d in (loose_day(request.until or "", end=True), parsed.until) if d]
    cats = dict.fromkeys(c.strip().lower() for c in [*request.categories, *parsed.categories] if c.strip())
    return MetaFilter(
        since=day_number(max(since)) if since else 0,
        until=day_number(min(until)) if until else 0,
        categories=tuple(cats),
        min_upvotes=request.min_upvotes or None,
    )


class Searcher:
    """Answers searches over one store's indexes.  Safe to share between threads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.index_dir = store.settings.index_dir
        self._lock = threading.Lock()
        self._keyword: KeywordIndex | None = None
        self._meta: MetaIndex | None = None
        self._semantic: Any = None
        self._semantic_error: str | None = None
        self._semantic_failed = 0.0
        # Embeds queries while this thread reads the keyword index: onnxruntime releases the
        # GIL, so on two cores a hybrid query costs max(embedding, keyword) rather than the sum.
        self._embedding = ThreadPoolExecutor(max_workers=2, thread_name_prefix="query-embedding")

    # -- indexes, opened on first use and refreshed when a writer has saved ------------------
    def _indexes(self) -> tuple[KeywordIndex, MetaIndex]:
        with self._lock:
            if self._keyword is None or self._meta is None:
                if not KeywordIndex.exists(keyword_dir(self.index_dir)):
                    raise QueryError(
                        f"there is no search index in {self.index_dir} yet: run `paperscope index`"
                    )
                self._keyword = KeywordIndex.open(keyword_dir(self.index_dir))
                self._meta = MetaIndex.open(meta_dir(self.index_dir))
            else:
                self._keyword.refresh()
                self._meta.refresh()
            return self._keyword, self._meta

    def _semantic_index(self) -> Any:
        """The semantic index, or None (with the reason kept) when it cannot be used."""
        with self._lock:
            # A failure is retried after a while, not at every query (opening may be what is
            # slow) and not never (a long-running server outlives a missing folder or package).
            retry = self._semantic_error is not None and time.monotonic() - self._semantic_failed > SEMANTIC_RETRY_S
            if self._semantic is None and (self._semantic_error is None or retry):
                try:
                    from ..index.vectors import SemanticIndex

                    self._semantic = SemanticIndex.open(self.index_dir)
                    self._semantic_error = None
                except Exception as error:  # any failure at all means "keyword only"
                    self._semantic_error = str(error) or type(error).__name__
                    self._semantic_failed = time.monotonic()
            return self._semantic

    def close(self) -> None:
        with self._lock:
            if self._semantic is not None:
                self._semantic.close()
            if self._keyword is not None:
                self._keyword.close()
            self._semantic = self._keyword = self._meta = None
        self._embedding.shutdown(wait=False)

    # -- search ------------------------------------------------------------------------------
    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        request.check()
        parsed = parse_query(request.query)
        warnings = list(parsed.warnings)
        if parsed.jump_to:
            paper = self.store.get_paper(parsed.jump_to)
            if paper is not None:
                result = SearchResult(paper, 1.0, make_snippet(paper.abstract, set()))
                return SearchResponse(
                    [result] if request.offset == 0 else [],
                    1,
                    paper.key,
                    parsed,
                    request.mode,
                    warnings,
                    (time.perf_counter() - started) * 1000,
                )
            warnings.append(f"arXiv paper {parsed.jump_to} is not in this library; searched for it as text")
            parsed.words.append(parsed.jump_to)
        keyword, meta = self._indexes()
        flt = _filter(request, parsed)
        if not parsed.has_text and not parsed.has_constraints and not flt.active:
            warnings.append("nothing to search for: type words, a phrase, author:, cat: or an arXiv id")
            took = (time.perf_counter() - started) * 1000
            return SearchResponse([], 0, None, parsed, request.mode, warnings, took)
        mode = request.mode
        semantic = None
        if mode != "keyword" and parsed.has_text:
            semantic = self._semantic_index()
            if semantic is None:
                if mode == "semantic":
                    raise QueryError(f"semantic search is unavailable: {self._semantic_error}")
                warnings.append(f"semantic search unavailable ({self._semantic_error}); keyword results only")
        fused: Hits | None = None
        if semantic is not None:
            try:
                needed = request.offset + request.limit
                fused = self._fused(keyword, meta, semantic, parsed, flt, mode, needed)
            except PaperscopeError as error:
                # A semantic index for another model, or one being swapped: hybrid degrades to
                # keyword results rather than failing; semantic mode says why it cannot answer.
                if mode == "semantic":
                    raise
                warnings.append(f"semantic search failed ({error}); keyword results only")
        if fused is None:
            hits, total = keyword.search(parsed, flt, request.limit, request.offset, request.sort)
            if not parsed.has_text and mode != "keyword":
                warnings.append("no words to search for: showing the papers that match the filters")
        else:
            if request.sort != "relevance":
                column = "day" if request.sort == "date" else "upvotes"
                fused = sort_by(fused, meta.values(column, fused.ids))
            total = len(fused)
            page = slice(request.offset, request.offset + request.limit)
            hits = Hits(fused.ids[page], fused.scores[page])
        results = self._results(hits, keyword.stems(parsed))
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(results, total, None, parsed, mode, warnings, took)

    def _fused(
        self,
        keyword: KeywordIndex,
        meta: MetaIndex,
        semantic: Any,
        parsed: ParsedQuery,
        flt: MetaFilter,
        mode: str,
        needed: int,
    ) -> Hits:
        depth = max(SEMANTIC_DEPTH, needed)
        # The embedding starts first: the allowed ids (up to ~10 ms over 1M papers with a filter)
        # and the keyword search then run while it does.
        embedding = self._embedding.submit(semantic.embed_query, parsed.text)
        allowed = meta.allowed(flt)
        if allowed is not None and allowed.shape[0] == 0:
            return Hits.empty()
        kw = None
        if mode != "semantic":
            kw, _ = keyword.search(parsed, flt, max(FUSION_DEPTH, needed), 0, "relevance", count=False)
        # Phrases, authors and exclusions are checked on the semantic candidates afterwards,
        # so read deeper to still fill the page.
        widen = 2 if parsed.has_constraints else 1
        # A filtered search must find a page's worth (the keyword side fills the rest), not all
        # of ``depth``: reading HNSW deep enough to find 300 allowed papers is what costs.
        sem = semantic.search(parsed.text, depth * widen, allowed, at_least=needed * widen,
                              vector=embedding.result())
        if parsed.has_constraints:
            keep = keyword.satisfying(parsed, sem.ids)
            mask = np.isin(sem.ids, keep)
            sem = Hits(sem.ids[mask][:depth], sem.scores[mask][:depth])
        if kw is None:
            return sem
        return fuse(kw, sem)

    def _results(self, hits: Hits, stems: set[str]) -> list[SearchResult]:
        papers = self.store.get_papers(hits.ids.tolist())
        by_id = {p.id: p for p in papers}
        return [
            SearchResult(by_id[int(i)], float(s), make_snippet(by_id[int(i)].abstract, stems))
            for i, s in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True)
            if int(i) in by_id  # a paper merged away since indexing is skipped, not an error
        ]

    # -- related papers -----------------------------------------------------------------------
    def related(self, key: str, limit: int = 10) -> RelatedPapers:
        """Papers nearest to ``key`` (any id spelling), best first, the paper itself excluded.

        By embedding when the paper has one; otherwise (no semantic index, or the paper not
        embedded yet: keyword indexing takes seconds, embedding much longer) by its title as a
        keyword query, so that a new paper's page still shows related papers."""
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError(f"limit {limit} must be between 1 and {MAX_LIMIT}")
        paper = self.store.get_paper(key)
        if paper is None:
            raise QueryError(f"no paper {key!r} in this library: check the id or ingest it first")
        semantic = self._semantic_index()
        note = f"semantic search unavailable ({self._semantic_error})"
        if semantic is not None:
            try:
                hits = semantic.related(paper.id, limit)
                return RelatedPapers(self._scored_papers(hits, paper.id), "semantic")
            except PaperscopeError as error:
                note = str(error)
        keyword, _ = self._indexes()
        # The title is text, not query syntax: its words only (no phrases, operators or ids).
        title = ParsedQuery(raw=paper.title, words=paper.title.split())
        found, _ = keyword.search(title, None, limit + 1, count=False)
        return RelatedPapers(self._scored_papers(found, paper.id)[:limit], "keyword", note)

    def _scored_papers(self, hits: Hits, leave_out: int) -> list[tuple[Paper, float]]:
        papers = {p.id: p for p in self.store.get_papers(hits.ids.tolist())}
        return [
            (papers[int(i)], float(s))
            for i, s in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True)
            if int(i) in papers and int(i) != leave_out
        ]


@dataclass(slots=True)
class RelatedPapers:
    """Papers related to one paper, best first, and how they were found."""

    papers: list[tuple[Paper, float]]
    how: str  # "semantic" (nearest by embedding) or "keyword" (the paper's title as a query)
    note: str | None = None  # why not by embedding
