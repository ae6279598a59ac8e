"""The one search API: the CLI and the web app both call :class:`Searcher`.

Every ranker (keyword, semantic, their fusion) returns :class:`~paperscope.index.hits.Hits`,
so filtering, fusion, sorting and paging are written once, here.  Filters are applied inside
retrieval (tantivy fields on the keyword side, an allowed-id array on the semantic side), so
a filtered query still fills its page.
"""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from ..dates import loose_day
from ..errors import PaperscopeError, QueryError
from ..index.build import keyword_dir, meta_dir
from ..index.hits import Hits
from ..index.keyword import KeywordIndex
from ..index.keyword_query import query_stems, word_stems
from ..index.meta import MetaFilter, MetaIndex, day_number
from ..store import Paper, Store
from .facets import category_counts, facets
from .fusion import fuse, keyword_weight, semantic_floor, sort_by
from .query import ParsedQuery, parse_query
from .snippet import make_snippet
from .why import Why, explain, related_why

MODES = ("hybrid", "keyword", "semantic")
SORTS = ("relevance", "date", "upvotes")
MAX_LIMIT = 200
MAX_OFFSET = 10_000
# How deep each ranker is read before fusion.  Fixed (not offset + limit) so that every page
# of one query is cut from the same fused list: no overlap, no gap.  The keyword side is read
# this deep in every mode: the result set it holds is what is sorted by date or upvotes and
# counted into facets (a larger keyword set is paged and sorted by tantivy itself, and its
# facets are counted over the best FUSION_DEPTH).  Keyword hits are cheap to read deep
# (tantivy top-1000: ~2 ms at 100k papers); the vector side costs ~27 ms for 1000 neighbours
# from HNSW at 100k but ~8 ms for 300, for 0.004 nDCG@10 (see search/fusion.py), so it is read
# 300 deep.
FUSION_DEPTH = 1000
SEMANTIC_DEPTH = 300
# Cosine similarity a paper must reach to be shown as related to another (by embedding): below
# it a paper page says "no closely related papers" rather than listing unrelated ones.  Checked
# on the 783 Daily Papers of February 2026 (tests/test_related.py): see search/fusion.py.
RELATED_FLOOR = 0.5
# Seconds before a semantic index that could not be opened is tried again.
SEMANTIC_RETRY_S = 60.0


@functools.cache
def _one_blas_thread() -> None:
    """Vector scoring (numpy's BLAS) on the calling thread only, once per process.

    A search's matrix products are small (a filtered query scores a few thousand rows);
    OpenBLAS's own threads then only wait for each other, and on a busy machine they wait
    long: scoring 5,000 rows took 5-12 ms with two BLAS threads at load average 7, 0.4 ms with
    one, and scoring 100k rows 30 ms against 12 ms.  Requests run in parallel anyway."""
    threadpool_limits(limits=1, user_api="blas")


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
    has_code: bool = False

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
    why: Why | None = None

    def as_dict(self) -> dict[str, Any]:
        p = self.paper
        out: dict[str, Any] = {
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
        if self.why is not None:
            out["why"] = self.why.as_dict()
        return out


@dataclass(slots=True)
class SearchResponse:
    results: list[SearchResult]
    total: int
    jump_to: str | None
    query: ParsedQuery
    mode: str
    warnings: list[str] = field(default_factory=list)
    took_ms: float = 0.0
    # False when ``total`` is an estimate ("about 300"): a set larger than what was read.
    total_exact: bool = True
    facets: dict[str, Any] | None = None
    # When nothing matches: the nearest papers by looser rules, offered apart from the results.
    closest: list[SearchResult] = field(default_factory=list)

    @property
    def parsed(self) -> ParsedQuery:
        """The parsed query (also ``query``)."""
        return self.query

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "total": self.total,
            "total_exact": self.total_exact,
            "jump_to": self.jump_to,
            "query": self.query.as_dict(),
            "warnings": self.warnings,
            "took_ms": round(self.took_ms, 2),
            "facets": self.facets,
            "results": [r.as_dict() for r in self.results],
            "closest": [r.as_dict() for r in self.closest],
        }


@dataclass(slots=True)
class _Found:
    """A query's result set, best first, and which side found each paper."""

    hits: Hits
    total: int  # the set's size (more than len(hits) when it is larger than what was read)
    exact: bool
    keyword: set[int] = field(default_factory=set)
    semantic: dict[int, float] = field(default_factory=dict)  # cosine of the semantic side's papers
    vector: npt.NDArray[np.float32] | None = None  # the query's embedding, when it was made
    passages: dict[int, int] = field(default_factory=dict)  # paper -> its passage that scored best

    @classmethod
    def empty(cls) -> _Found:
        return cls(Hits.empty(), 0, True)


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
        has_code=request.has_code,
    )


def _keep(hits: Hits, mask: npt.NDArray[np.bool_]) -> Hits:
    return Hits(hits.ids[mask], hits.scores[mask])


def _union(first: Hits, second: Hits) -> Hits:
    """Both lists' papers once each, best first (a paper's score is the same in both)."""
    ids = np.concatenate([first.ids, second.ids])
    scores = np.concatenate([first.scores, second.scores])
    unique, at = np.unique(ids, return_index=True)
    order = np.argsort(-scores[at], kind="stable")
    return Hits(unique[order], scores[at][order])


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
        _one_blas_thread()
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

        def respond(results: list[SearchResult], total: int, **extra: Any) -> SearchResponse:
            took = (time.perf_counter() - started) * 1000
            return SearchResponse(results, total, extra.pop("jump_to", None), parsed, mode, warnings, took, **extra)

        mode = request.mode
        if parsed.jump_to:
            paper = self.store.get_paper(parsed.jump_to)
            if paper is not None:
                result = SearchResult(paper, 1.0, make_snippet(paper.abstract, set()))
                return respond([result] if request.offset == 0 else [], 1, jump_to=paper.key)
            warnings.append(f"arXiv paper {parsed.jump_to} is not in this library; searched for it as text")
            parsed.words.append(parsed.jump_to)
        keyword, meta = self._indexes()
        flt = _filter(request, parsed)
        if not parsed.has_text and not parsed.has_constraints and not flt.active:
            warnings.append("nothing to search for: type words, a phrase, author:, cat: or an arXiv id")
            return respond([], 0)
        semantic = None
        if mode != "keyword" and parsed.has_text:
            semantic = self._semantic_index()
            if semantic is None:
                if mode == "semantic":
                    raise QueryError(f"semantic search is unavailable: {self._semantic_error}")
                warnings.append(f"semantic search unavailable ({self._semantic_error}); keyword results only")
        needed = request.offset + request.limit
        found: _Found | None = None
        if semantic is not None:
            try:
                found = self._fused(keyword, meta, semantic, parsed, flt, mode, needed)
            except PaperscopeError as error:
                # A semantic index for another model, or one being swapped: hybrid degrades to
                # keyword results rather than failing; semantic mode says why it cannot answer.
                if mode == "semantic":
                    raise
                warnings.append(f"semantic search failed ({error}); keyword results only")
                semantic = None
        if found is None:
            found = self._keyword_set(keyword, meta, parsed, flt, needed)
            if not parsed.has_text and mode != "keyword":
                warnings.append("no words to search for: showing the papers that match the filters")
        words = word_stems(parsed.words)
        closest: list[SearchResult] = []
        if found.total == 0 and parsed.has_text and not flt.has_code:
            if request.offset == 0:
                closest = self._closest(keyword, semantic, parsed, flt, mode, request.limit, words)
            warnings.append("nothing matches: no paper holds enough of the query's words or is close enough"
                            " in meaning" + ("; the closest papers are listed apart" if closest else ""))
        hits = found.hits
        page = slice(request.offset, needed)
        if request.sort != "relevance":
            if found.exact or mode != "keyword" or flt.has_code:
                hits = sort_by(hits, meta.values("day" if request.sort == "date" else "upvotes", hits.ids))
            else:
                # A keyword set larger than what was read: tantivy sorts all of it.
                hits, _ = keyword.search(parsed, flt, request.limit, request.offset, request.sort, count=False)
                page = slice(0, request.limit)
        elif needed > len(hits) and found.total > len(hits) and mode == "keyword" and not flt.has_code:
            hits, _ = keyword.search(parsed, flt, request.limit, request.offset, count=False)  # deep pages
            page = slice(0, request.limit)
        results = self._results(Hits(hits.ids[page], hits.scores[page]), parsed, words, found, semantic)
        return respond(results, found.total, total_exact=found.exact, closest=closest,
                       facets=facets(meta, found.hits.ids, found.total))

    def _keyword_set(self, keyword: KeywordIndex, meta: MetaIndex, parsed: ParsedQuery, flt: MetaFilter,
                     needed: int) -> _Found:
        hits, total = keyword.search(parsed, flt, max(FUSION_DEPTH, needed), 0, "relevance")
        exact = total <= len(hits)
        if flt.has_code:
            # The keyword index does not know code links: the set read is filtered, and a larger
            # set's size estimated from the share of it that has code.
            held = len(hits)
            hits = _keep(hits, meta.with_code(hits.ids))
            total = len(hits) if exact else round(total * len(hits) / max(held, 1))
        return _Found(hits, total, exact, keyword=set(hits.ids.tolist()))

    def _fused(
        self,
        keyword: KeywordIndex,
        meta: MetaIndex,
        semantic: Any,
        parsed: ParsedQuery,
        flt: MetaFilter,
        mode: str,
        needed: int,
    ) -> _Found:
        depth = max(SEMANTIC_DEPTH, needed)
        # The embedding starts first: the allowed ids (up to ~10 ms over 1M papers with a filter)
        # and the keyword search then run while it does.
        embedding = self._embedding.submit(semantic.embed_query, parsed.text)
        allowed = meta.allowed(flt)
        if allowed is not None and allowed.shape[0] == 0:
            return _Found.empty()
        kw: _Found | None = None
        ranking = Hits.empty()
        if mode != "semantic":
            kw = self._keyword_set(keyword, meta, parsed, flt, max(FUSION_DEPTH, needed))
            # Hybrid ranks over any query word (measured best, see fusion.py); read while the
            # query is being embedded.  With one distinct word "any" and "enough" are the same
            # query, already read (unless the code filter has thinned it since).
            if len(word_stems(parsed.words)) > 1 or flt.has_code:
                ranking, _ = keyword.search(parsed, flt, max(FUSION_DEPTH, needed), 0, "relevance", count=False,
                                            strict=False)
            else:
                ranking = kw.hits
        # Phrases, authors and exclusions are checked on the semantic candidates afterwards,
        # so read deeper to still fill the page.
        widen = 2 if parsed.has_constraints else 1
        # A filtered search must find a page's worth (the keyword side fills the rest), not all
        # of ``depth``: reading HNSW deep enough to find 300 allowed papers is what costs.
        vector = embedding.result()
        sem = semantic.search(parsed.text, depth * widen, allowed, at_least=needed * widen, vector=vector)
        if parsed.has_constraints:
            keep = keyword.satisfying(parsed, sem.ids)
            sem = _keep(sem, np.isin(sem.ids, keep))
            sem = Hits(sem.ids[:depth], sem.scores[:depth])
        if flt.has_code:
            sem = _keep(sem, meta.with_code(sem.ids))
        # Every neighbour read reached the floor: more papers may, beyond what was read.
        passages = semantic.scores_passages()
        floor = semantic_floor(semantic.model, passages=passages)
        saturated = len(sem) >= depth and bool(sem.scores[-1] >= floor)
        # The papers either side read, scored by their best passage (index/passages.py): the
        # neighbours come from the papers' own vectors, the passages decide how close each is.
        candidates = sem.ids if kw is None else np.concatenate([sem.ids, ranking.ids, kw.hits.ids])
        sem, closest = semantic.rescore(vector, candidates)
        sem = Hits(sem.ids[:depth], sem.scores[:depth])
        members = _keep(sem, sem.scores >= floor)
        if kw is None:
            cosines = dict(zip(members.ids.tolist(), members.scores.tolist(), strict=True))
            return _Found(members, len(members), not saturated, semantic=cosines, vector=vector, passages=closest)
        # Hybrid: by meaning alone a paper must reach the higher floor; from the lower one it
        # must also hold one of the query's uncommon words (see fusion.py for the measurements).
        high = semantic_floor(semantic.model, "hybrid", passages)
        members = _keep(sem, sem.scores >= semantic_floor(semantic.model, "supported", passages))
        near = members.ids[members.scores < high]
        supported = keyword.holding_a_word(parsed, near) if parsed.words else near
        members = _keep(members, (members.scores >= high) | np.isin(members.ids, supported))
        cosines = dict(zip(members.ids.tolist(), members.scores.tolist(), strict=True))
        # Ranked as if every paper were in (fused over each side's whole list, any query word on
        # the keyword side: measured best, see fusion.py), then cut to the members.
        ranked = fuse(_union(ranking, kw.hits), sem, weight=keyword_weight(passages))
        inside = np.isin(ranked.ids, np.concatenate([kw.hits.ids, members.ids]))
        union = _keep(ranked, inside)
        extra = kw.total - len(kw.hits)  # keyword matches beyond those read: not in the union
        return _Found(union, len(union) + max(extra, 0), kw.exact and not saturated, kw.keyword, cosines, vector,
                      closest)

    def _closest(self, keyword: KeywordIndex, semantic: Any, parsed: ParsedQuery, flt: MetaFilter, mode: str,
                 limit: int, words: dict[str, str]) -> list[SearchResult]:
        """The nearest papers when nothing matches: any one word, any similarity."""
        kw = sem = Hits.empty()
        if mode != "semantic":
            kw, _ = keyword.search(parsed, flt, limit, strict=False, count=False)
        vector = None
        if semantic is not None:
            try:
                vector = semantic.embed_query(parsed.text)
                allowed = self._meta.allowed(flt) if self._meta is not None else None
                sem = semantic.search(parsed.text, limit, allowed, vector=vector)
                if parsed.has_constraints:
                    sem = _keep(sem, np.isin(sem.ids, keyword.satisfying(parsed, sem.ids)))
            except PaperscopeError:
                sem = Hits.empty()
        near = fuse(kw, sem) if mode != "semantic" else sem
        found = _Found(near, len(near), True, set(kw.ids.tolist()),
                       dict(zip(sem.ids.tolist(), sem.scores.tolist(), strict=True)), vector)
        return self._results(Hits(near.ids[:limit], near.scores[:limit]), parsed, words, found, semantic)

    def _results(self, hits: Hits, parsed: ParsedQuery, words: dict[str, str], found: _Found,
                 semantic: Any) -> list[SearchResult]:
        papers = self.store.get_papers(hits.ids.tolist())
        by_id = {p.id: p for p in papers}
        cosines = dict(found.semantic)
        missing = [i for i in hits.ids.tolist() if i not in cosines]
        if missing and semantic is not None and found.vector is not None:
            # Papers the keyword side found: their similarity too, so every reason has both.
            scored, passages = semantic.rescore(found.vector, np.asarray(missing, dtype=np.int64))
            cosines.update(zip(scored.ids.tolist(), scored.scores.astype(float).tolist(), strict=True))
            found.passages.update(passages)
        stems = query_stems(parsed)
        # A passage is quoted as the reason a paper is close in meaning only where it is: below the
        # lowest floor at which meaning counts (a keyword match at 0.23, say) the "closest" passage
        # is merely the least far, and quoting it reads as a claim that it answers the query.
        close = np.inf if semantic is None else semantic_floor(semantic.model, "supported", semantic.scores_passages())
        out = []
        for i, s in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True):
            paper = by_id.get(int(i))
            if paper is None:
                continue  # a paper merged away since indexing is skipped, not an error
            found_by = [name for name, held in (("keyword", i in found.keyword), ("semantic", i in found.semantic))
                        if held]
            cosine = cosines.get(i)
            passage = found.passages.get(i) if cosine is not None and cosine >= close else None
            why = explain(paper, words, parsed, found_by, cosine, passage)
            out.append(SearchResult(paper, float(s), make_snippet(paper.abstract, stems), why))
        return out

    def library_categories(self) -> list[dict[str, Any]]:
        """The categories the library's papers list, most papers first, with names: the
        search page's category chooser."""
        try:
            _, meta = self._indexes()
        except QueryError:
            return []
        return category_counts(meta)

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
                close = _keep(hits, hits.scores >= RELATED_FLOOR)
                scored = self._scored_papers(close, paper.id)
                why = {other.id: related_why(paper, other, score) for other, score in scored}
                return RelatedPapers(scored, "semantic", why=why, floor=RELATED_FLOOR)
            except PaperscopeError as error:
                note = str(error)
        keyword, _ = self._indexes()
        # The title is text, not query syntax: its words only (no phrases, operators or ids).
        # Strict, like a search: a neighbour must share the share of title words a search asks.
        title = ParsedQuery(raw=paper.title, words=paper.title.split())
        found, _ = keyword.search(title, None, limit + 1, count=False)
        scored = self._scored_papers(found, paper.id)[:limit]
        why = {other.id: related_why(paper, other, None) for other, _ in scored}
        return RelatedPapers(scored, "keyword", note, why=why)

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
    why: dict[int, dict[str, Any]] = field(default_factory=dict)  # by paper id: see related_why
    floor: float | None = None  # the similarity a neighbour had to reach
