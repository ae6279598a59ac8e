"""The keyword index: BM25 over title, abstract and authors in tantivy, under ``<home>/index/keyword/``.

tantivy was picked by measurement: on 1M synthetic documents it answered 3-term queries in
0.23 ms against ~37 ms for SQLite FTS5 and bm25s.  Queries are built as tantivy Query objects
from :class:`~paperscope.search.query.ParsedQuery`; user text never reaches tantivy's parser.

Ranking choices (measured with ``bench/quality.py`` on SciFact train, 809 queries, nDCG@10):
title and abstract are indexed together as one ``body`` field, and the title once more on its
own with weight ``TITLE_BOOST`` so that title matches count extra.  Scoring title and abstract
as separate BM25 fields with the title boosted 2x scored 0.627 (a short field's BM25 swamps the
abstract's); one body field 0.701; body + title at 0.1-0.2 0.705/0.704, at 0.5 0.695, at 1.0
0.669.  Words are stemmed (Snowball English, as tantivy's ``en_stem``) and ASCII-folded;
English stop words are dropped from bare query words (not from phrases).  tantivy fixes BM25's
k1 = 1.2 and b = 0.75 (not configurable from Python), so field weights are what we tune.

Filters (published day, categories, upvotes) are indexed as fields so that a filtered query
is answered inside retrieval and still returns a full page.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import tantivy

from ..errors import QueryError
from ..search.query import ParsedQuery
from ..store import Paper
from .hits import Hits
from .meta import MetaFilter, paper_day

TITLE_BOOST = 0.2
BODY_BOOST = 1.0
AUTHOR_BOOST = 1.0
WRITER_HEAP = 256_000_000

Occur = tantivy.Occur


def _analyzer(*, stem: bool, stopwords: bool = False) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if stopwords:
        builder = builder.filter(tantivy.Filter.stopword("english"))
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


TEXT_ANALYZER = _analyzer(stem=True)
QUERY_ANALYZER = _analyzer(stem=True, stopwords=True)
NAME_ANALYZER = _analyzer(stem=False)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name="ps_text", index_option="position")
    # Title and abstract together, as one BM25 field; the title alone again, to weight it up.
    builder.add_text_field("body", tokenizer_name="ps_text", index_option="position")
    builder.add_text_field("authors", tokenizer_name="ps_name", index_option="position")
    builder.add_text_field("cats", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("published", indexed=True, fast=True)
    builder.add_integer_field("upvotes", indexed=True, fast=True)
    return builder.build()


class KeywordIndex:
    """One tantivy index.  Readers and one writer (another process, even) may use it at once."""

    def __init__(self, directory: Path, index: tantivy.Index) -> None:
        self.directory = directory
        self.index = index
        self.schema = index.schema
        self._stamp: int | None = None

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / "state.json").exists()

    @classmethod
    def open(cls, directory: Path) -> KeywordIndex:
        directory.mkdir(parents=True, exist_ok=True)
        try:
            index = tantivy.Index(_schema(), path=str(directory), reuse=True)
        except (OSError, ValueError) as error:
            raise QueryError(
                f"the keyword index in {directory} cannot be opened ({error}): "
                "run `paperscope index --rebuild`"
            ) from error
        index.register_tokenizer("ps_text", TEXT_ANALYZER)
        index.register_tokenizer("ps_name", NAME_ANALYZER)
        opened = cls(directory, index)
        opened._stamp = opened._state_stamp()
        return opened

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
        """Reload the searcher when a writer (in any process) has committed since we last looked."""
        stamp = self._state_stamp()
        if stamp != self._stamp:
            try:
                self.index.reload()
            except ValueError:
                return  # a writer is mid-swap: keep answering from the previous commit, retry next time
            self._stamp = stamp

    def num_docs(self) -> int:
        return int(self.index.searcher().num_docs)

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self) -> Iterator[KeywordWriter]:
        try:
            raw = self.index.writer(heap_size=WRITER_HEAP)
        except ValueError as error:
            raise QueryError(
                f"cannot write the keyword index in {self.directory}: {error} "
                "(is another `paperscope index` running?)"
            ) from error
        writer = KeywordWriter(self, raw)
        try:
            yield writer
        except BaseException:
            raw.rollback()
            raise
        finally:
            with contextlib.suppress(Exception):
                raw.wait_merging_threads()

    # -- query building ----------------------------------------------------------------------
    def _terms(self, field: str, tokens: Sequence[str], boost: float = 1.0) -> tantivy.Query | None:
        if not tokens:
            return None
        if len(tokens) == 1:
            query = tantivy.Query.term_query(self.schema, field, tokens[0])
        else:
            query = tantivy.Query.phrase_query(self.schema, field, list(tokens))
        return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)

    def _text_phrase(self, text: str) -> tantivy.Query | None:
        """A word or phrase in the title or the abstract (title matches weighted up)."""
        tokens = TEXT_ANALYZER.analyze(text)
        clauses = [
            q
            for q in (self._terms("body", tokens, BODY_BOOST), self._terms("title", tokens, TITLE_BOOST))
            if q is not None
        ]
        if not clauses:
            return None
        return tantivy.Query.boolean_query([(Occur.Should, q) for q in clauses])

    def _author(self, name: str) -> tantivy.Query | None:
        return self._terms("authors", NAME_ANALYZER.analyze(name))

    def _word_clauses(self, words: Sequence[str]) -> list[tuple[Any, tantivy.Query]]:
        """Bare words: BM25 over title + abstract, the title again, and authors; any word may match."""
        text = " ".join(words)
        stems = QUERY_ANALYZER.analyze(text) or TEXT_ANALYZER.analyze(text)
        names = NAME_ANALYZER.analyze(text)
        clauses: list[tuple[Any, tantivy.Query]] = []

        def boosted(query: tantivy.Query, boost: float) -> tantivy.Query:
            # A boost of 1 changes no score, and leaving it out keeps the clause a plain term
            # query, which tantivy can skip through block by block (block-max WAND).
            return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)

        for stem in dict.fromkeys(stems):
            for field, boost in (("body", BODY_BOOST), ("title", TITLE_BOOST)):
                clauses.append((Occur.Should, boosted(tantivy.Query.term_query(self.schema, field, stem), boost)))
        for name in dict.fromkeys(names):
            # Stop words ("and", "the") are left out: the stop-word analyser returns nothing for them.
            if len(name) > 2 and QUERY_ANALYZER.analyze(name):
                term = tantivy.Query.term_query(self.schema, "authors", name)
                clauses.append((Occur.Should, boosted(term, AUTHOR_BOOST)))
        return clauses

    def _filters(self, flt: MetaFilter) -> list[tantivy.Query]:
        out: list[tantivy.Query] = []
        if flt.since or flt.until:
            out.append(
                tantivy.Query.range_query(
                    self.schema,
                    "published",
                    tantivy.FieldType.Integer,
                    flt.since or 1,
                    flt.until or None,
                )
            )
        if flt.min_upvotes:
            out.append(
                tantivy.Query.range_query(
                    self.schema, "upvotes", tantivy.FieldType.Integer, int(flt.min_upvotes), None
                )
            )
        if flt.categories:
            cats = [tantivy.Query.term_query(self.schema, "cats", c) for c in flt.categories]
            out.append(tantivy.Query.boolean_query([(Occur.Should, q) for q in cats]))
        # Filters select; they must not add to the score (that would skew fusion).
        return [tantivy.Query.const_score_query(q, 0.0) for q in out]

    def _constraints(self, parsed: ParsedQuery) -> list[tuple[Any, tantivy.Query]]:
        clauses: list[tuple[Any, tantivy.Query]] = []
        for phrase in parsed.phrases:
            query = self._text_phrase(phrase)
            if query is not None:
                clauses.append((Occur.Must, query))
        for author in parsed.authors:
            query = self._author(author)
            if query is not None:
                clauses.append((Occur.Must, query))
        for excluded in parsed.excluded:
            query = self._text_phrase(excluded)
            if query is not None:
                clauses.append((Occur.MustNot, query))
        return clauses

    def build_query(self, parsed: ParsedQuery, flt: MetaFilter | None = None) -> tuple[tantivy.Query, bool]:
        """The query for ``parsed`` and ``flt``, and whether it scores by text at all."""
        clauses = self._constraints(parsed)
        word_clauses = self._word_clauses(parsed.words) if parsed.words else []
        filters = self._filters(flt or MetaFilter())
        if word_clauses and not clauses and not filters:
            # Words alone: the disjunction itself, not nested in a one-clause conjunction (same
            # scores), so that tantivy's top-k pruning applies: ~25% off p95 at 1M papers.
            return tantivy.Query.boolean_query(word_clauses), True
        words = tantivy.Query.boolean_query(word_clauses) if word_clauses else None
        scored = words is not None or any(o == Occur.Must for o, _ in clauses)
        if words is not None:
            clauses.append((Occur.Must, words))
        clauses.extend((Occur.Must, q) for q in filters)
        if not any(o == Occur.Must for o, _ in clauses):
            clauses.append((Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses), scored

    # -- searching -------------------------------------------------------------------------
    def _ids(self, searcher: tantivy.Searcher, hits: list[tuple[Any, Any]]) -> np.ndarray:
        values = searcher.fast_field_values("id", [address for _, address in hits])
        return np.asarray(values, dtype=np.int64)

    def search(
        self,
        parsed: ParsedQuery,
        flt: MetaFilter | None,
        limit: int,
        offset: int = 0,
        order: str = "relevance",
        *,
        count: bool = True,
    ) -> tuple[Hits, int]:
        """Hits ``offset .. offset+limit`` in ``order``, and how many documents match in all.

        ``count=False`` skips the count (returned as 0): counting visits every matching
        document, which stops tantivy skipping blocks that cannot reach the top ``limit``, and
        costs most for the commonest words of a large index.  Fusion needs only the top hits.
        """
        query, scored = self.build_query(parsed, flt)
        searcher = self.index.searcher()
        if order == "relevance" and not scored:
            order = "date"  # nothing to rank by: newest first
        if order == "relevance":
            result = searcher.search(query, limit=max(limit, 1), count=count, offset=offset)
            ids = self._ids(searcher, result.hits)
            scores = np.asarray([score for score, _ in result.hits], dtype=np.float32)
            return Hits(ids[:limit], scores[:limit]), _count(result)
        field = "published" if order == "date" else "upvotes"
        result = searcher.search(
            query,
            limit=max(limit, 1),
            count=count,
            offset=offset,
            order_by_field=field,
            order=tantivy.Order.Desc,
        )
        ids = self._ids(searcher, result.hits)[:limit]
        scores = self.scores(query, ids) if scored else np.zeros(len(ids), np.float32)
        return Hits(ids, scores), _count(result)

    def _restricted(self, query: tantivy.Query, ids: np.ndarray) -> tuple[tantivy.Searcher, Any]:
        restrict = tantivy.Query.term_set_query(self.schema, "id", [int(i) for i in ids])
        both = tantivy.Query.boolean_query([(Occur.Must, query), (Occur.Must, restrict)])
        searcher = self.index.searcher()
        return searcher, searcher.search(both, limit=max(len(ids), 1), count=False)

    def scores(self, query: tantivy.Query, ids: np.ndarray) -> np.ndarray:
        """BM25 scores of ``query`` for the given documents (0 where it does not match)."""
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        searcher, result = self._restricted(query, ids)
        found = dict(zip(self._ids(searcher, result.hits).tolist(), (s for s, _ in result.hits), strict=True))
        return np.asarray([found.get(int(i), 0.0) for i in ids], dtype=np.float32)

    def satisfying(self, parsed: ParsedQuery, ids: np.ndarray) -> np.ndarray:
        """The subset of ``ids`` (order kept) that meet the query's phrases, authors and exclusions."""
        clauses = self._constraints(parsed)
        if not clauses or len(ids) == 0:
            return ids
        if not any(o == Occur.Must for o, _ in clauses):
            clauses.append((Occur.Must, tantivy.Query.all_query()))
        searcher, result = self._restricted(tantivy.Query.boolean_query(clauses), ids)
        keep = set(self._ids(searcher, result.hits).tolist())
        return np.asarray([i for i in ids.tolist() if i in keep], dtype=np.int64)

    def stems(self, parsed: ParsedQuery) -> set[str]:
        """The analysed forms of the query's words and phrases, for highlighting."""
        # Stop words are not marked (every "the" lit up helps nobody) unless they are all there is.
        return set(QUERY_ANALYZER.analyze(parsed.text) or TEXT_ANALYZER.analyze(parsed.text))


class KeywordWriter:
    """Adds, replaces and deletes documents; ``commit(seq)`` makes them visible and records ``seq``."""

    def __init__(self, index: KeywordIndex, raw: tantivy.IndexWriter) -> None:
        self.index = index
        self.raw = raw

    def put(self, papers: Iterable[Paper]) -> int:
        count = 0
        for paper in papers:
            # Replace, never duplicate: delete by id first (a no-op for a new paper).
            self.raw.delete_documents_by_term("id", paper.id)
            self.raw.add_document(_document(paper))
            count += 1
        return count

    def add_new(self, papers: Iterable[Paper]) -> int:
        """Add papers known not to be in the index (a rebuild): skips the delete."""
        count = 0
        for paper in papers:
            self.raw.add_document(_document(paper))
            count += 1
        return count

    def delete(self, ids: Iterable[int]) -> None:
        for paper_id in ids:
            self.raw.delete_documents_by_term("id", int(paper_id))

    def commit(self, seq: int) -> None:
        self.raw.commit()
        tmp = self.index.directory / "state.tmp.json"
        tmp.write_bytes(orjson.dumps({"seq": seq}))
        os.replace(tmp, self.index.state_path)


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
