"""Search speed at scale: build a synthetic corpus, ingest and index it, time 1,000 queries per mode.

Usage::

    .venv/bin/python bench/search.py --papers 100000 [--home DIR] [--embed full|titles|none] [--json]

Prints ingest time, keyword index build time and rate, embedding time and rate, then for
each mode (keyword, semantic, hybrid) p50/p95/p99 latency of ``Searcher.search`` end to end
(query parsing, query embedding, retrieval, fusion, fetching the page of papers from the
store and making snippets), and the resident memory of a fresh serving process.

The corpus (``bench/corpus.py``) is deterministic.  With ``--home`` an existing home that
already holds the corpus is reused, including its vectors (embedding a million abstracts
on 2 cores takes hours: build once, then re-run the queries).  ``--embed titles`` embeds
titles only (the printout says which); ``--embed none`` skips the semantic index, and only
keyword timings are taken.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import queue
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
from paperscope.index.build import update_keyword
from paperscope.store import Store


class TitlesOnly:
    """The store as the semantic index sees it, with abstracts blanked: ``--embed titles``.

    Embedding a million abstracts on 2 cores takes hours; titles are ~10x shorter.  Query
    latency does not depend on what was embedded, only the vectors' meaning does.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def last_change_seq(self) -> int:
        return self.store.last_change_seq()

    def changes_since(self, seq: int, limit: int = 10000) -> list[Any]:
        return self.store.changes_since(seq, limit)

    def get_papers(self, ids: list[int]) -> list[Any]:
        return [dataclasses.replace(p, abstract="") for p in self.store.get_papers(ids)]


def build(home: Path, papers: int, embed: str, progress: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with Store.open(str(home)) as store:
        have = store.count_papers()
        if have < papers:
            pools = corpus.load_pools()
            started = time.perf_counter()
            batch: list[Any] = []
            for record in corpus.generate(papers, pools=pools):
                batch.append(record)
                if len(batch) == 5000:
                    store.write_records(batch)
                    batch = []
            if batch:
                store.write_records(batch)
            seconds = time.perf_counter() - started
            figures["ingest_s"] = round(seconds, 1)
            figures["ingest_per_s"] = round(papers / seconds, 1)
        else:
            figures["ingest"] = f"reused {have} papers"
        keyword = update_keyword(store, store.settings.index_dir, progress=progress)
        figures["keyword_index"] = keyword
        if embed != "none":
            from paperscope.index.vectors import SemanticIndex

            source: Any = TitlesOnly(store) if embed == "titles" else store
            with SemanticIndex.open(store.settings.index_dir) as semantic:
                figures["semantic_index"] = semantic.update(source, progress=progress)
            figures["semantic_index"]["embedded_text"] = embed
        figures["papers"] = store.count_papers()
    return figures


def serve(home: str, queries: list[str], modes: list[str], out: Any) -> None:
    """Runs in a fresh process, so that its resident memory is what serving costs."""
    import psutil

    from paperscope.search.api import Searcher, SearchRequest

    process = psutil.Process()
    store = Store.open(home)
    searcher = Searcher(store)
    report: dict[str, Any] = {}
    for mode in modes:
        # Warm-up: open indexes, load the model, fault in the memory maps.
        for query in queries[:20]:
            searcher.search(SearchRequest(query=query, mode=mode))
        times = []
        empty = 0
        for query in queries:
            started = time.perf_counter()
            response = searcher.search(SearchRequest(query=query, mode=mode))
            times.append((time.perf_counter() - started) * 1000)
            empty += not response.results
        values = np.asarray(times)
        report[mode] = {
            "p50_ms": round(float(np.percentile(values, 50)), 2),
            "p95_ms": round(float(np.percentile(values, 95)), 2),
            "p99_ms": round(float(np.percentile(values, 99)), 2),
            "mean_ms": round(float(values.mean()), 2),
            "queries": len(queries),
            "no_results": empty,
        }
    report["rss_mib"] = round(process.memory_info().rss / 2**20, 1)
    searcher.close()
    store.close()
    out.put(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--home", type=Path, help="build in (or reuse) this home; default: a temporary one")
    parser.add_argument(
        "--embed",
        choices=["full", "titles", "none"],
        default="full",
        help="embed title + abstract (full), titles only (faster to build), or nothing (keyword only)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="paperscope-bench-") as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        progress = not args.json and sys.stderr.isatty()
        figures = build(home, args.papers, args.embed, progress)
        queries = corpus.make_queries(args.queries)
        modes = ["keyword"] if args.embed == "none" else ["keyword", "semantic", "hybrid"]
        context = multiprocessing.get_context("spawn")
        out = context.Queue()
        child = context.Process(target=serve, args=(str(home), queries, modes, out))
        child.start()
        while True:
            try:
                figures["serving"] = out.get(timeout=5)
                break
            except queue.Empty:
                if not child.is_alive():
                    raise SystemExit(f"the serving process died (exit status {child.exitcode})") from None
        child.join()
    figures["cpus"] = os.cpu_count()
    if args.json:
        print(orjson.dumps(figures).decode())
        return 0
    print(f"papers: {figures['papers']}  ({figures.get('ingest') or str(figures['ingest_s']) + ' s ingest'})")
    kw = figures["keyword_index"]
    print(f"keyword index: {kw['mode']} {kw['indexed']} papers in {kw['seconds']} s ({kw['rate_per_s']}/s)")
    if "semantic_index" in figures:
        sem = figures["semantic_index"]
        rate = sem["embedded"] / sem["seconds"] if sem.get("seconds") else 0
        print(
            f"semantic index: embedded {sem['embedded']} ({sem['embedded_text']}) in {sem['seconds']} s "
            f"({rate:.1f}/s), model {sem['model']}"
        )
    print(f"{'mode':10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean':>8}  empty")
    for mode in modes:
        row = figures["serving"][mode]
        print(
            f"{mode:10} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} {row['p99_ms']:8.2f} {row['mean_ms']:8.2f}"
            f"  {row['no_results']}"
        )
    print(f"serving process resident memory: {figures['serving']['rss_mib']} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
