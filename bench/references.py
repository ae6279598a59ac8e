"""Retrieval floors for bench/search.py: the same papers and queries through raw tantivy (the
keyword index's retrieval alone, no store, snippets, reasons or facets), SQLite FTS5 (bm25,
top 20) and bm25s (Lucene BM25, top 20), each timed per query like the searcher.

bench/search.py prints each mode's p50/p95 beside these, with the ratio to each, so that what
the searcher adds over bare retrieval is visible.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from paperscope.index.build import keyword_dir
from paperscope.index.keyword import KeywordIndex
from paperscope.index.keyword_query import QUERY_ANALYZER, TEXT_ANALYZER
from paperscope.search.api import SearchRequest, _filter
from paperscope.search.query import parse_query
from paperscope.store import Store

_WORD = re.compile(r"[^\W_]+")


def _timed(queries: list[str], run: Callable[[str], object]) -> dict[str, float]:
    for query in queries[:20]:
        run(query)  # warm-up
    times = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        times.append((time.perf_counter() - started) * 1000)
    values = np.asarray(times)
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p95_ms": round(float(np.percentile(values, 95)), 3)}


def raw_tantivy(home: Path, queries: list[str]) -> dict[str, float]:
    """The keyword index's own retrieval (strict matching, top 20 with the count), nothing else."""
    with Store.open(str(home)) as store:
        index = KeywordIndex.open(keyword_dir(store.settings.index_dir))

        def run(query: str) -> object:
            parsed = parse_query(query)
            return index.search(parsed, _filter(SearchRequest(query=query), parsed), 20)

        try:
            return _timed(queries, run)
        finally:
            index.close()


def _texts(home: Path) -> tuple[list[int], list[str]]:
    ids, texts = [], []
    with Store.open(str(home)) as store:
        for batch in store.iter_papers(5000):
            for paper in batch:
                ids.append(paper.id)
                texts.append(f"{paper.title}\n{paper.abstract or ''}")
    return ids, texts


def fts5(ids: list[int], texts: list[str], queries: list[str]) -> dict[str, Any]:
    """SQLite FTS5 (porter stemmer), any query word, ordered by its bm25, top 20."""
    with tempfile.TemporaryDirectory(prefix="paperscope-fts5-") as tmp:
        db = sqlite3.connect(str(Path(tmp) / "fts.db"))
        started = time.perf_counter()
        db.execute("CREATE VIRTUAL TABLE papers USING fts5(body, tokenize='porter unicode61')")
        db.executemany("INSERT INTO papers(rowid, body) VALUES (?, ?)", zip(ids, texts, strict=True))
        db.commit()
        built = time.perf_counter() - started

        def run(query: str) -> object:
            words = [w for w in _WORD.findall(query.lower()) if QUERY_ANALYZER.analyze(w)]
            if not words:
                return []
            match = " OR ".join(f'"{w}"' for w in words)
            return db.execute(
                "SELECT rowid FROM papers WHERE papers MATCH ? ORDER BY bm25(papers) LIMIT 20", (match,)
            ).fetchall()

        figures: dict[str, Any] = _timed(queries, run)
        db.close()
    figures["build_s"] = round(built, 1)
    return figures


def bm25s_reference(texts: list[str], queries: list[str]) -> dict[str, Any]:
    """bm25s (Lucene variant), tokenised with the keyword index's analyser, top 20."""
    import bm25s

    started = time.perf_counter()
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index([TEXT_ANALYZER.analyze(t) for t in texts], show_progress=False)
    built = time.perf_counter() - started
    vocab = retriever.vocab_dict

    def run(query: str) -> object:
        tokens = [t for t in QUERY_ANALYZER.analyze(query) if t in vocab]
        if not tokens:
            return []
        scores = retriever.get_scores(tokens)
        return np.argpartition(-scores, 20)[:20] if len(scores) > 20 else scores

    figures: dict[str, Any] = _timed(queries, run)
    figures["build_s"] = round(built, 1)
    return figures


def references(home: Path, queries: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"raw tantivy": raw_tantivy(home, queries)}
    ids, texts = _texts(home)
    out["SQLite FTS5"] = fts5(ids, texts, queries)
    out["bm25s"] = bm25s_reference(texts, queries)
    return out
