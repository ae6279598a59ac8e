"""Server mode: refresh each process's search indexes from the change record, or search in PostgreSQL?

Usage::

    .venv/bin/python bench/refresh.py [--papers 100000] [--queries 500] [--repeats 3] [--json]

On a home holding N resampled papers (``bench/corpus.py``, built and indexed with the helpers
of ``bench/search.py``), it measures:

1. the incremental keyword + metadata update (``update_keyword``, what the background
   refresher of ``paperscope serve`` runs) after k changed papers, k = 1, 10, 100, 1000, for
   two kinds of change: k local upvotes (the store's accounts API) and k newly ingested papers;
   the median of ``--repeats`` rounds, beside the time the writes themselves took;
2. the alternative, full-text search inside PostgreSQL: the same N papers copied into a bench
   table of a throwaway cluster (``tests/pg.py``'s ``Cluster``) with a GIN-indexed tsvector
   (title weight A, abstract B, authors C), queried with ``websearch_to_tsquery`` + ``ts_rank_cd``
   ``ORDER BY rank LIMIT 20`` over the same query mix (``corpus.make_queries``), beside tantivy
   through ``Searcher`` (mode keyword: retrieval, fetching the page from the store, snippets)
   and tantivy retrieval alone, in the same run.

The PostgreSQL query is built from paperscope's own parse of each query: bare words are OR-ed
(paperscope's semantics: any word may match, ranked), phrases and ``author:`` are required,
``-word`` excluded, ``cat:``/``year:``/``since:`` become column filters.  A second pass ANDs
the words (``websearch_to_tsquery``'s own default), which matches fewer rows and so is the
cheaper case for PostgreSQL.  The bench table is not part of paperscope's schema.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "tests"))

import corpus  # noqa: E402
import pg  # noqa: E402  (tests/pg.py: a throwaway PostgreSQL cluster)
import search as search_bench  # noqa: E402  (bench/search.py: builds and indexes the corpus)
from paperscope.index.build import keyword_dir, update_keyword  # noqa: E402
from paperscope.index.keyword import KeywordIndex  # noqa: E402
from paperscope.search.api import Searcher, SearchRequest, _filter  # noqa: E402
from paperscope.search.query import ParsedQuery, parse_query  # noqa: E402
from paperscope.store import Store  # noqa: E402

KS = (1, 10, 100, 1000)
PAGE = 20
# The test cluster's settings are made for many tiny databases; give this one memory enough to
# keep the whole table and GIN index (~320 MiB at 100k papers) in its own buffers, and sorts in RAM.
PG_MEMORY = "-c shared_buffers=768MB -c work_mem=64MB -c effective_cache_size=2GB"


def percentiles(times_ms: list[float]) -> dict[str, float]:
    values = np.asarray(times_ms)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "mean_ms": round(float(values.mean()), 2),
    }


# -- 1. incremental refresh ---------------------------------------------------------------------
def refresh_timings(store: Store, papers: int, ks: tuple[int, ...], repeats: int) -> dict[str, Any]:
    """Median seconds of ``update_keyword`` after k votes and after k new papers."""
    index_dir = store.settings.index_dir
    update_keyword(store, index_dir)  # start level with the store
    user = store.accounts.get_user_by_name("bench-voter") or store.accounts.create_user(
        "bench-voter", "bench@example.org", "bench-password-123"
    )
    rng = random.Random(5)
    total_new = sum(ks) * repeats
    # generate() is sequential, so the records after the first `papers` are fresh papers with
    # fresh ids, continuing the same corpus.
    fresh: Iterator[Any] = itertools.islice(corpus.generate(papers + total_new), papers, None)
    out: dict[str, Any] = {"votes": {}, "new_papers": {}}
    for k in ks:
        for kind in ("votes", "new_papers"):
            writes, updates = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                if kind == "votes":
                    for paper_id in rng.sample(range(1, papers + 1), k):
                        store.accounts.toggle_vote(user.id, paper_id)
                else:
                    store.write_records([next(fresh) for _ in range(k)])
                writes.append(time.perf_counter() - started)
                result = update_keyword(store, index_dir)
                assert result["mode"] == "incremental" and result["indexed"] >= k, result
                updates.append(result["seconds"])
            out[kind][k] = {
                "update_s": round(statistics.median(updates), 4),
                "writes_s": round(statistics.median(writes), 4),
            }
    return out


# -- 2. keyword latency: tantivy -----------------------------------------------------------------
def time_queries(queries: list[str], run: Callable[[str], int], warmup: int = 20) -> dict[str, Any]:
    for query in queries[:warmup]:
        run(query)
    times, empty = [], 0
    for query in queries:
        started = time.perf_counter()
        found = run(query)
        times.append((time.perf_counter() - started) * 1000)
        empty += found == 0
    return {**percentiles(times), "queries": len(queries), "no_results": empty}


def tantivy_timings(store: Store, queries: list[str]) -> dict[str, Any]:
    searcher = Searcher(store)
    index_dir = store.settings.index_dir
    keyword = KeywordIndex.open(keyword_dir(index_dir))

    def full(query: str) -> int:
        return len(searcher.search(SearchRequest(query=query, mode="keyword", limit=PAGE)).results)

    def retrieval(query: str) -> int:
        parsed = parse_query(query)
        request = SearchRequest(query=query, mode="keyword", limit=PAGE)
        hits, _ = keyword.search(parsed, _filter(request, parsed), PAGE)
        return len(hits.ids)

    try:
        return {"searcher": time_queries(queries, full), "retrieval": time_queries(queries, retrieval)}
    finally:
        searcher.close()


# -- 3. keyword latency: PostgreSQL full-text search ---------------------------------------------
TABLE = """
CREATE TABLE bench_fts (
    id bigint PRIMARY KEY,
    title text NOT NULL,
    abstract text NOT NULL,
    authors text NOT NULL,
    categories text[] NOT NULL,
    published date,
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', abstract), 'B')
        || setweight(to_tsvector('english', authors), 'C')
    ) STORED
)
"""


def load_postgres(store: Store, url: str) -> dict[str, Any]:
    """COPY every paper into ``bench_fts``, then build the GIN index; seconds for each step."""
    import psycopg

    figures: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLE)
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(
            "COPY bench_fts (id, title, abstract, authors, categories, published) FROM STDIN"
        ) as copy:
            for batch in store.iter_papers(5000):
                for p in batch:
                    copy.write_row(
                        (p.id, p.title, p.abstract or "", " ".join(p.authors),
                         [c.lower() for c in p.categories], p.published or None)
                    )  # fmt: skip
        figures["copy_s"] = round(time.perf_counter() - started, 1)  # the tsvector is computed here
        started = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("CREATE INDEX bench_fts_tsv ON bench_fts USING gin (tsv)")
        conn.execute("CREATE INDEX bench_fts_published ON bench_fts (published)")
        conn.execute("ANALYZE bench_fts")
        figures["index_s"] = round(time.perf_counter() - started, 1)
        figures["rows"] = conn.execute("SELECT count(*) FROM bench_fts").fetchone()[0]  # type: ignore[index]
        figures["table_mib"] = round(
            conn.execute("SELECT pg_total_relation_size('bench_fts')").fetchone()[0] / 2**20, 1  # type: ignore[index]
        )
    return figures


def _quoted(text: str) -> str:
    return '"' + text.replace('"', " ") + '"'


def pg_query(parsed: ParsedQuery, request: SearchRequest, any_word: bool) -> tuple[str, list[Any]] | None:
    """SQL and parameters for one parsed query; None when it has no text to rank by."""
    parts: list[str] = []
    params: list[Any] = []
    if parsed.words:
        parts.append("websearch_to_tsquery('english', %s)")
        params.append((" or " if any_word else " ").join(w.replace('"', " ") for w in parsed.words))
    for required in [*parsed.phrases, *parsed.authors]:
        parts.append("websearch_to_tsquery('english', %s)")
        params.append(_quoted(required))
    if not parts:
        return None
    for excluded in parsed.excluded:
        parts.append("(!! websearch_to_tsquery('english', %s))")
        params.append(_quoted(excluded))
    where = ["tsv @@ q"]
    flt = _filter(request, parsed)
    if flt.categories:
        where.append("categories && %s")
        params.append(list(flt.categories))
    if parsed.since:
        where.append("published >= %s")
        params.append(parsed.since)
    if parsed.until:
        where.append("published <= %s")
        params.append(parsed.until)
    sql = (
        f"SELECT id, ts_rank_cd(tsv, q) AS rank FROM bench_fts, (SELECT {' && '.join(parts)}) AS t(q) "
        f"WHERE {' AND '.join(where)} ORDER BY rank DESC LIMIT {PAGE}"
    )
    # The query tsquery's placeholders come before the filters' in the SQL text, as in params.
    return sql, params


def postgres_timings(url: str, queries: list[str], any_word: bool) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:

        def run(query: str) -> int:
            parsed = parse_query(query)
            built = pg_query(parsed, SearchRequest(query=query, mode="keyword"), any_word)
            if built is None:
                return 0
            sql, params = built
            return len(conn.execute(sql, params).fetchall())

        return time_queries(queries, run)


# -- the run ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500, help="queries per engine (the same fixed mix)")
    parser.add_argument("--repeats", type=int, default=3, help="refresh rounds per k (the median is reported)")
    parser.add_argument("--home", type=Path, help="build in (or reuse) this home; default: a temporary one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    figures: dict[str, Any] = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="paperscope-bench-") as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        progress = not args.json and sys.stderr.isatty()
        started = time.perf_counter()
        figures["build"] = search_bench.build(home, args.papers, "none", progress)
        figures["build"]["seconds"] = round(time.perf_counter() - started, 1)
        queries = corpus.make_queries(args.queries)
        with Store.open(str(home)) as store:
            figures["tantivy"] = tantivy_timings(store, queries)
            pg.SERVER_OPTIONS = f"{pg.SERVER_OPTIONS} {PG_MEMORY}"  # later settings win
            cluster = pg.Cluster(pg.find_bindir())
            try:
                cluster.start()
                url = cluster.create_database()
                figures["postgres_load"] = load_postgres(store, url)
                figures["postgres_any_word"] = postgres_timings(url, queries, any_word=True)
                figures["postgres_all_words"] = postgres_timings(url, queries, any_word=False)
            finally:
                cluster.stop()
            # Last: it adds papers and votes, and both engines must search the same N papers.
            figures["refresh"] = refresh_timings(store, args.papers, KS, args.repeats)
    if args.json:
        print(orjson.dumps(figures).decode())
        return 0
    report(figures)
    return 0


def report(figures: dict[str, Any]) -> None:
    build = figures["build"]
    print(f"papers: {build['papers']} (corpus built and indexed in {build['seconds']} s)")
    print("\nincremental keyword + meta refresh (update_keyword), median seconds:")
    print(f"{'k':>6} {'k votes':>10} {'(writes)':>10} {'k new papers':>14} {'(writes)':>10}")
    refresh = figures["refresh"]
    for k in KS:
        votes, new = refresh["votes"][k], refresh["new_papers"][k]
        print(
            f"{k:>6} {votes['update_s']:>10.3f} {votes['writes_s']:>10.3f} "
            f"{new['update_s']:>14.3f} {new['writes_s']:>10.3f}"
        )
    load = figures["postgres_load"]
    print(
        f"\nPostgreSQL: {load['rows']} rows copied (tsvector computed) in {load['copy_s']} s, "
        f"GIN index in {load['index_s']} s, table + indexes {load['table_mib']} MiB"
    )
    rows = [
        ("tantivy, Searcher (keyword)", figures["tantivy"]["searcher"]),
        ("tantivy, retrieval only", figures["tantivy"]["retrieval"]),
        ("PostgreSQL, any word (OR)", figures["postgres_any_word"]),
        ("PostgreSQL, all words (AND)", figures["postgres_all_words"]),
    ]
    base = figures["tantivy"]["searcher"]
    print(f"\n{'keyword search, top 20':30} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  {'p50 / tantivy':>13}  empty")
    for name, row in rows:
        ratio = row["p50_ms"] / base["p50_ms"] if base["p50_ms"] else float("nan")
        print(
            f"{name:30} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} {row['p99_ms']:8.2f}  {ratio:>12.1f}x"
            f"  {row['no_results']}/{row['queries']}"
        )
    any_word = figures["postgres_any_word"]
    print(
        f"\nPostgreSQL (any word) / tantivy Searcher: p50 {any_word['p50_ms'] / base['p50_ms']:.1f}x, "
        f"p95 {any_word['p95_ms'] / base['p95_ms']:.1f}x, p99 {any_word['p99_ms'] / base['p99_ms']:.1f}x"
    )


if __name__ == "__main__":
    raise SystemExit(main())
