"""The keyword index: BM25 over title, abstract and authors in tantivy, under ``<home>/index/keyword/``.

tantivy was picked by measurement: on 1M synthetic documents it answered 3-term queries in
0.23 ms against ~37 ms for SQLite FTS5 and bm25s.  What is indexed and how queries are built
(and the ranking choices behind them) is :mod:`.keyword_query`'s; this module owns the files.

**Shards.**  A large index is split by paper id into shards (``id % shards``), each its own
tantivy index in ``keyword/shard-N/``, searched in parallel and merged by score: tantivy
searches one index on one core, and on this 2-core machine two half-size shards cut keyword
p95 at 1M papers from 17.2 to 11.2 ms and p99 from 27.4 to 17.5 ms (``bench/shards.py``:
tantivy retrieval, 1,000 queries of ``bench/search.py``'s mix; end to end, keyword p95 went
from ~22 to ~15 ms).  BM25 statistics (document frequencies, average length) are then each
shard's own, as in Elasticsearch's default search: on that mix 98.7% of the top 20 were the
same as from one index.  An index is sharded only from :data:`SHARD_PAPERS` papers per shard, so a
small library (and every quality figure measured on SciFact) ranks exactly as one index.
The shard count is fixed when the index is built from scratch (``paperscope index --rebuild``
decides it again); one shard keeps tantivy's files directly in ``keyword/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import tantivy

from ..errors import QueryError
from ..query_model import ParsedQuery
from ..store import Paper
from .hits import Hits
from .keyword_query import NAME_ANALYZER, TEXT_ANALYZER, QueryBuilder, make_schema, query_stems, word_stems
from .meta import MetaFilter, paper_day

WRITER_HEAP = 256_000_000
# Papers per shard before an index is split; below it one core answers fast enough (keyword
# p95 8 ms at 100k papers) and one index keeps BM25 statistics exact.
SHARD_PAPERS = 250_000
MAX_SHARDS = 8
LAYOUT = "layout.json"

T = TypeVar("T")


def shard_count(papers: int) -> int:
    """How many shards an index of ``papers`` papers is built with: one per ``SHARD_PAPERS``,
    at most one per core."""
    return max(1, min(MAX_SHARDS, os.cpu_count() or 1, papers // SHARD_PAPERS))


def _read_layout(directory: Path) -> int | None:
    try:
        return int(orjson.loads((directory / LAYOUT).read_bytes())["shards"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def _open_shard(path: Path) -> tantivy.Index:
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(make_schema(), path=str(path), reuse=True)
    index.register_tokenizer("ps_text", TEXT_ANALYZER)
    index.register_tokenizer("ps_name", NAME_ANALYZER)
    return index


class KeywordIndex:
    """One keyword index (one or more shards).  Readers and one writer (another process,
    even) may use it at once."""

    def __init__(self, directory: Path, shards: list[tantivy.Index]) -> None:
        self.directory = directory
        self.shards = shards
        self.schema = shards[0].schema
        self.queries = QueryBuilder(self.schema)
        self._stamp: int | None = None
        # Shard 0 is searched in the caller's thread, the others here (tantivy lets go of the GIL).
        self._pool = ThreadPoolExecutor(len(shards) - 1, "keyword-shard") if len(shards) > 1 else None

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / "state.json").exists()

    @staticmethod
    def shards_in(directory: Path) -> int | None:
        """How many shards the index in ``directory`` has (None when there is none)."""
        count = _read_layout(directory)
        if count is None and (directory / "meta.json").exists():
            return 1  # from before shards
        return count

    @classmethod
    def open(cls, directory: Path, *, shards: int = 1) -> KeywordIndex:
        """Open the index in ``directory``; a new one is created with ``shards`` shards."""
        directory.mkdir(parents=True, exist_ok=True)
        count = _read_layout(directory)
        if count is None:
            # No layout yet: a new index, or one from before shards (1, from shards_in).
            count = KeywordIndex.shards_in(directory) or max(1, shards)
            tmp = directory / "layout.tmp.json"
            tmp.write_bytes(orjson.dumps({"shards": count}))
            os.replace(tmp, directory / LAYOUT)
        paths = [directory] if count == 1 else [directory / f"shard-{i}" for i in range(count)]
        try:
            indexes = [_open_shard(path) for path in paths]
        except (OSError, ValueError) as error:
            raise QueryError(
                f"the keyword index in {directory} cannot be opened ({error}): "
                "run `paperscope index --rebuild`"
            ) from error
        opened = cls(directory, indexes)
        opened._stamp = opened._state_stamp()
        return opened

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    @staticmethod
    def remove(directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)

    # -- state -----------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    @property
    def seq(self) -> int:
        try:
            return int(orjson.loads(self.state_path.read_bytes())["seq"])
        except FileNotFoundError:
            return 0

    def _state_stamp(self) -> int | None:
        try:
            return self.state_path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def refresh(self) -> None:
        """Reload the searchers when a writer (in any process) has committed since we last looked."""
        stamp = self._state_stamp()
        if stamp == self._stamp:
            return
        try:
            if _read_layout(self.directory) != len(self.shards):
                # Rebuilt with another shard count: open the new layout.  The old thread pool is
                # not shut down (a search in another thread may be submitting to it); its
                # threads end when it is garbage.
                fresh = KeywordIndex.open(self.directory)
                self.shards, self._pool = fresh.shards, fresh._pool
            else:
                self.reload()
        except (ValueError, QueryError):
            return  # a writer is mid-swap: keep answering from the previous commit, retry next time
        self._stamp = stamp

    def reload(self) -> None:
        """See the latest commit now (``refresh`` does when the state file has changed)."""
        for shard in self.shards:
            shard.reload()

    def num_docs(self) -> int:
        return sum(int(shard.searcher().num_docs) for shard in self.shards)

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self) -> Iterator[KeywordWriter]:
        raws: list[tantivy.IndexWriter] = []
        try:
            for shard in self.shards:
                raws.append(shard.writer(heap_size=WRITER_HEAP // len(self.shards)))
        except ValueError as error:
            while raws:  # popped, so that no name keeps a shard's writer (and its lock) alive
                raws.pop().rollback()
            raise QueryError(
                f"cannot write the keyword index in {self.directory}: {error} "
                "(is another `paperscope index` running?)"
            ) from error
        writer = KeywordWriter(self, raws)
        try:
            yield writer
        except BaseException:
            for raw in raws:
                raw.rollback()
            raise
        finally:
            for raw in raws:
                with contextlib.suppress(Exception):
                    raw.wait_merging_threads()

    # -- searching -------------------------------------------------------------------------
    def build_query(
        self, parsed: ParsedQuery, flt: MetaFilter | None = None, *, strict: bool = True
    ) -> tuple[tantivy.Query, bool]:
        """The query for ``parsed`` and ``flt``, and whether it scores by text at all."""
        shares = {stem: self.doc_share(stem) for stem in word_stems(parsed.words)} if strict else None
        return self.queries.build(parsed, flt, strict=strict, shares=shares)

    def _each_shard(self, work: Callable[[int, int, tantivy.Searcher], T]) -> list[T]:
        """``work(shard number, shard count, its searcher)`` on every shard, in parallel;
        results in shard order."""
        shards, pool = self.shards, self._pool  # one layout, even if a refresh swaps it meanwhile
        searchers = [shard.searcher() for shard in shards]
        if pool is None:
            return [work(0, 1, searchers[0])]
        others = [pool.submit(work, n, len(shards), searcher) for n, searcher in enumerate(searchers) if n > 0]
        first = work(0, len(shards), searchers[0])
        return [first, *(future.result() for future in others)]

    def search(
        self,
        parsed: ParsedQuery,
        flt: MetaFilter | None,
        limit: int,
        offset: int = 0,
        order: str = "relevance",
        *,
        count: bool = True,
        strict: bool = True,
    ) -> tuple[Hits, int]:
        """Hits ``offset .. offset+limit`` in ``order``, and how many documents match in all.

        ``count=False`` skips the count (returned as 0): counting visits every matching
        document, which stops tantivy skipping blocks that cannot reach the top ``limit``, and
        costs most for the commonest words of a large index.  Fusion needs only the top hits.
        """
        query, scored = self.build_query(parsed, flt, strict=strict)
        if order == "relevance" and not scored:
            order = "date"  # nothing to rank by: newest first
        field = None if order == "relevance" else ("published" if order == "date" else "upvotes")
        # Each shard gives its best offset+limit; the page is cut from them merged.
        depth = max(offset + limit, 1)

        def run(_: int, __: int, searcher: tantivy.Searcher) -> tuple[np.ndarray, np.ndarray, int]:
            if field is None:
                result = searcher.search(query, limit=depth, count=count)
            else:
                result = searcher.search(
                    query, limit=depth, count=count, order_by_field=field, order=tantivy.Order.Desc
                )
            keys = np.asarray([key for key, _ in result.hits], dtype=np.float64)
            return keys, _ids(searcher, result.hits), _count(result)

        parts = self._each_shard(run)
        keys = np.concatenate([k for k, _, _ in parts])
        ids = np.concatenate([i for _, i, _ in parts])
        # Stable: equal keys keep shard order, then each shard's own order, so pages never overlap.
        best = np.argsort(-keys, kind="stable")[offset : offset + limit]
        ids = ids[best]
        if field is None:
            scores = keys[best].astype(np.float32)
        else:
            scores = self.scores(query, ids) if scored else np.zeros(len(ids), np.float32)
        return Hits(ids, scores), sum(n for _, _, n in parts)

    def _restricted_ids(self, query: tantivy.Query, ids: np.ndarray) -> dict[int, float]:
        """Which of ``ids`` match ``query``, with their scores."""

        def run(n: int, shards: int, searcher: tantivy.Searcher) -> dict[int, float]:
            # Each shard is asked only about the papers it holds (id % shards).
            mine = ids[ids % shards == n]
            if len(mine) == 0:
                return {}
            restrict = self.queries.id_set(mine.tolist())
            both = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, restrict)])
            result = searcher.search(both, limit=len(mine), count=False)
            return dict(zip(_ids(searcher, result.hits).tolist(), (s for s, _ in result.hits), strict=True))

        found: dict[int, float] = {}
        for part in self._each_shard(run):
            found.update(part)
        return found

    def scores(self, query: tantivy.Query, ids: np.ndarray) -> np.ndarray:
        """BM25 scores of ``query`` for the given documents (0 where it does not match)."""
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        found = self._restricted_ids(query, ids)
        return np.asarray([found.get(int(i), 0.0) for i in ids], dtype=np.float32)

    def satisfying(self, parsed: ParsedQuery, ids: np.ndarray) -> np.ndarray:
        """The subset of ``ids`` (order kept) that meet the query's phrases, authors and exclusions."""
        query = self.queries.constraint_query(parsed)
        if query is None or len(ids) == 0:
            return ids
        keep = self._restricted_ids(query, ids)
        return np.asarray([i for i in ids.tolist() if i in keep], dtype=np.int64)

    def holding_a_word(self, parsed: ParsedQuery, ids: np.ndarray) -> np.ndarray:
        """The subset of ``ids`` (order kept) whose title or abstract holds one of the query's
        uncommon words (see :data:`.keyword_query.COMMON_WORD_SHARE`)."""
        shares = {stem: self.doc_share(stem) for stem in word_stems(parsed.words)}
        query = self.queries.uncommon_word(parsed.words, shares)
        if query is None or len(ids) == 0:
            return ids[:0]
        keep = self._restricted_ids(query, ids)
        return np.asarray([i for i in ids.tolist() if i in keep], dtype=np.int64)

    def doc_share(self, stem: str) -> float:
        """The share of papers whose title or abstract holds ``stem`` (an analysed word)."""
        searchers = [shard.searcher() for shard in self.shards]
        docs = sum(int(s.num_docs) for s in searchers)
        return sum(int(s.doc_freq("body", stem)) for s in searchers) / max(docs, 1)

    def stems(self, parsed: ParsedQuery) -> set[str]:
        """The analysed forms of the query's words and phrases, for highlighting."""
        return query_stems(parsed)


class KeywordWriter:
    """Adds, replaces and deletes documents (each in its paper's shard); ``commit(seq)`` makes
    them visible and records ``seq``."""

    def __init__(self, index: KeywordIndex, raws: list[tantivy.IndexWriter]) -> None:
        self.index = index
        self.raws = raws

    def _shard(self, paper_id: int) -> tantivy.IndexWriter:
        return self.raws[paper_id % len(self.raws)]

    def put(self, papers: Iterable[Paper]) -> int:
        count = 0
        for paper in papers:
            raw = self._shard(paper.id)
            # Replace, never duplicate: delete by id first (a no-op for a new paper).
            raw.delete_documents_by_term("id", paper.id)
            raw.add_document(_document(paper))
            count += 1
        return count

    def add_new(self, papers: Iterable[Paper]) -> int:
        """Add papers known not to be in the index (a rebuild): skips the delete."""
        count = 0
        for paper in papers:
            self._shard(paper.id).add_document(_document(paper))
            count += 1
        return count

    def delete(self, ids: Iterable[int]) -> None:
        for paper_id in ids:
            self._shard(int(paper_id)).delete_documents_by_term("id", int(paper_id))

    def delete_all(self) -> None:
        for raw in self.raws:
            raw.delete_all_documents()

    def flush(self) -> None:
        """Commit what was written so far without recording a seq (progress of a rebuild)."""
        for raw in self.raws:
            raw.commit()

    def commit(self, seq: int) -> None:
        # Shards first, the seq last: a crash in between replays the changes since the old seq,
        # and replacing a document twice is harmless.
        self.flush()
        tmp = self.index.directory / "state.tmp.json"
        tmp.write_bytes(orjson.dumps({"seq": seq}))
        os.replace(tmp, self.index.state_path)


def _ids(searcher: tantivy.Searcher, hits: Sequence[tuple[Any, Any]]) -> np.ndarray:
    values = searcher.fast_field_values("id", [address for _, address in hits])
    return np.asarray(values, dtype=np.int64)


def _count(result: Any) -> int:
    # tantivy's type stubs lack SearchResult.count, which search(count=True) fills in.
    return int(getattr(result, "count", 0) or 0)


def _document(paper: Paper) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_integer("id", paper.id)
    doc.add_text("title", paper.title)
    doc.add_text("body", f"{paper.title}\n{paper.abstract or ''}")
    for author in paper.authors:
        doc.add_text("authors", author)
    for category in paper.categories:
        doc.add_text("cats", category.lower())
    doc.add_integer("published", paper_day(paper))
    doc.add_integer("upvotes", paper.upvotes)
    return doc
