"""Search speed at scale: build a synthetic corpus, ingest and index it, time 1,000 queries per mode.

Usage::

    .venv/bin/python bench/search.py --papers 100000 [--home DIR] [--embed full|titles|cached|none]
        [--no-references] [--json]

Prints ingest time, keyword index build time and rate, embedding time and rate, then for
each mode (keyword, semantic, hybrid) p50/p95/p99 latency of ``Searcher.search`` end to end
(query parsing, query embedding, retrieval, fusion, fetching the page of papers from the
store and making snippets), and the resident memory of a fresh serving process.

The corpus (``bench/corpus.py``) is deterministic.  With ``--home`` an existing home that
already holds the corpus is reused, including its vectors (embedding a million abstracts
on 2 cores takes hours: build once, then re-run the queries).  ``--embed titles`` embeds
titles only (the printout says which); ``--embed cached`` composes each synthetic title's
vector from cached embeddings of the two real titles it was spliced from, and each passage's
(index/passages.py) from its paper's and a real title's (see :class:`ComposedTitles`: minutes
at a million papers, where real embedding takes hours);
``--embed none`` skips the semantic index, and only keyword timings are taken.  With an
HNSW index (100k papers and up) it also prints the index's recall@10 against exact search
on 200 real query embeddings, at several search widths.  Before timing, the serving process
reads the home's files once into the page cache (a running server's state; this machine pages
out memory left idle, so a home built an hour ago is otherwise read from disk); ``--cold``
skips that.  Then (unless ``--no-references``) the same papers and queries go through raw
tantivy (the keyword index's retrieval alone), SQLite FTS5 and bm25s (``bench/references.py``),
and each mode's p95 is printed as a ratio to theirs.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import multiprocessing
import os
import queue
import re
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
from paperscope.index.build import update_keyword
from paperscope.store import Store

CACHE = Path(__file__).resolve().parent / ".cache"


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


class ComposedTitles:
    """``--embed cached``: each synthetic title's vector composed from its two real titles' vectors.

    A synthetic title is spliced from two real ones (bench/corpus.py); its vector here is the
    unit-length mix of the real titles' embeddings (computed once with the configured model and
    cached under bench/.cache), weighted by the share of words each gave.  A million papers then
    cost ~10k real embeddings instead of a million: what latency and recall need is vectors with
    real text embeddings' geometry, not each title's exact meaning.  The paper's text (title and
    abstract) gets its title's vector.  A passage (the title and a few sentences of the abstract)
    gets the unit-length mean of its paper's vector and a real title's, picked by a hash of the
    passage: a vector near its paper's, as real passages are; rescoring costs the same for any
    vectors, so its latency is measured, while its quality is measured on SciFact
    (bench/quality.py).  A text it does not know (say, a paper added later) is embedded by the
    real model.
    """

    def __init__(self, pools: corpus.Pools, papers: int, progress: bool) -> None:
        from paperscope.index.embed import configured_model, load_embedder, paper_text

        self.model = load_embedder(configured_model())
        self.name, self.dim, self.device = self.model.name, self.model.dim, self.model.device
        digest = hashlib.sha256("\n".join(pools.titles).encode()).hexdigest()[:12]
        path = CACHE / f"title-pool-{self.name.replace('/', '_')}-{digest}.npy"
        if path.exists():
            self.pool = np.load(path)
            self.pool_seconds = 0.0
        else:
            started = time.perf_counter()
            self.pool = self.model.embed(pools.titles, progress=progress)
            self.pool_seconds = time.perf_counter() - started
            CACHE.mkdir(parents=True, exist_ok=True)
            np.save(path, self.pool)
        self.sources: dict[str, corpus.TitleSource] = {}
        self.paper_texts: set[int] = set()
        for record, source in corpus.generate_with_sources(papers, pools=pools):
            self.sources[" ".join(record.title.split())] = source
            # Checksums, not the texts: a million abstracts would take a gigabyte.
            self.paper_texts.add(zlib.crc32(" ".join(paper_text(record.title, record.abstract).split()).encode()))
        self.longest_title = max((len(title.split()) for title in self.sources), default=0)
        self.composed = self.embedded = self.passages = 0

    def _title_of(self, text: str) -> str | None:
        """The synthetic title ``text`` begins with, if any: the longest one that matches whole words."""
        words = text.split()
        for end in range(min(len(words), self.longest_title), 0, -1):
            if " ".join(words[:end]) in self.sources:
                return " ".join(words[:end])
        return None

    def embed(self, texts: Any, *, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        unknown = []
        for row, text in enumerate(texts):
            title = self._title_of(text)
            if title is None:
                unknown.append(row)
                continue
            source = self.sources[title]
            mixed = source.share * self.pool[source.first] + (1 - source.share) * self.pool[source.second]
            mixed /= max(float(np.linalg.norm(mixed)), 1e-12)
            flat = " ".join(text.split())
            if flat != title and zlib.crc32(flat.encode()) not in self.paper_texts:
                other = self.pool[zlib.crc32(flat.encode()) % len(self.pool)]
                mixed = mixed + other
                mixed /= max(float(np.linalg.norm(mixed)), 1e-12)
                self.passages += 1
            out[row] = mixed
        if unknown:
            out[unknown] = self.model.embed([texts[i] for i in unknown])
        self.composed += len(texts) - len(unknown)
        self.embedded += len(unknown)
        return out


def build(home: Path, papers: int, embed: str, progress: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with Store.open(str(home)) as store:
        have = store.count_papers()
        pools = corpus.load_pools()
        if have < papers:
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
            embedder = ComposedTitles(pools, papers, progress) if embed == "cached" else None
            with SemanticIndex.open(store.settings.index_dir) as semantic:
                figures["semantic_index"] = semantic.update(source, progress=progress, embedder=embedder)
                figures["ann_recall"] = ann_recall(semantic, corpus.make_queries(200, seed=23, pools=pools))
            figures["semantic_index"]["embedded_text"] = {
                "full": "title + abstract", "titles": "titles only",
                "cached": "titles and passages, composed from cached embeddings of real titles",
            }[embed]
            if embedder is not None:
                figures["semantic_index"]["composed"] = embedder.composed
                figures["semantic_index"]["composed_passages"] = embedder.passages
                figures["semantic_index"]["embedded_by_model"] = embedder.embedded
                figures["semantic_index"]["title_pool_seconds"] = round(embedder.pool_seconds, 1)
        figures["papers"] = store.count_papers()
    return figures


def query_kind(query: str) -> str:
    """The query mix's classes: a date or category filter, a phrase/author/exclusion, or plain words."""
    if any(op in query for op in ("cat:", "year:", "since:")):
        return "filter"
    if '"' in query or "author:" in query or " -" in query:
        return "constraint"
    return "plain"


def ann_recall(semantic: Any, queries: list[str]) -> dict[str, Any]:
    """recall@10 of the HNSW index against exact search over every vector, on real query embeddings."""
    from paperscope.index import vectors

    snap = semantic.snapshot()
    if snap is None or snap.ann is None:
        return {"ann": False}
    report: dict[str, Any] = {"ann": True, "queries": len(queries), "vectors": len(snap)}
    embedded = [semantic.embed_query(q) for q in queries]
    truth = [set(semantic._exact_all(snap, q, 10).ids.tolist()) for q in embedded]
    for expansion in sorted({64, 128, vectors.ANN_EXPANSION_SEARCH, 512}):
        snap.ann.expansion_search = expansion
        found = [set(semantic._ann_search(snap, q, 10).ids.tolist()) for q in embedded]
        recall = float(np.mean([len(f & t) / 10 for f, t in zip(found, truth, strict=True)]))
        report[f"ef{expansion}"] = round(recall, 4)
    snap.ann.expansion_search = vectors.ANN_EXPANSION_SEARCH
    report["used"] = vectors.ANN_EXPANSION_SEARCH
    return report


def warm_page_cache(home: Path) -> float:
    """Read the store and index files once, as a server that has been running has them cached.

    This machine pages out memory nobody touched for a while, so right after a long build the
    files are on disk, not in the page cache, and the first thousand queries would measure the
    disk.  Returns the GiB read."""
    total = 0
    for path in sorted(home.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 23):
                    total += len(chunk)
    return round(total / 2**30, 2)


def serve(home: str, queries: list[str], modes: list[str], out: Any, warm: bool = True) -> None:
    """Runs in a fresh process, so that its resident memory is what serving costs."""
    import psutil

    from paperscope.search.api import Searcher, SearchRequest

    process = psutil.Process()
    store = Store.open(home)
    report: dict[str, Any] = {"page_cache": f"warmed ({warm_page_cache(Path(home))} GiB read)" if warm else "cold"}
    # Warm-up queries are not among the timed ones, and each mode has a searcher of its own:
    # a searcher caches query embeddings, and the latency of a query includes embedding it.
    warmup = corpus.make_queries(20, seed=29)
    for mode in modes:
        searcher = Searcher(store)
        # Warm-up: open indexes, load the model, fault in the memory maps.
        for query in warmup:
            searcher.search(SearchRequest(query=query, mode=mode))
        times = []
        by_kind: dict[str, list[float]] = {}
        empty = 0
        for query in queries:
            started = time.perf_counter()
            response = searcher.search(SearchRequest(query=query, mode=mode))
            times.append((time.perf_counter() - started) * 1000)
            by_kind.setdefault(query_kind(query), []).append(times[-1])
            empty += not response.results
        values = np.asarray(times)
        report[mode] = {
            "p50_ms": round(float(np.percentile(values, 50)), 2),
            "p95_ms": round(float(np.percentile(values, 95)), 2),
            "p99_ms": round(float(np.percentile(values, 99)), 2),
            "mean_ms": round(float(values.mean()), 2),
            "queries": len(queries),
            "no_results": empty,
            "p95_ms_by_kind": {k: round(float(np.percentile(v, 95)), 2) for k, v in sorted(by_kind.items())},
            "count_by_kind": {k: len(v) for k, v in sorted(by_kind.items())},
        }
        if mode != modes[-1]:
            searcher.close()
    report["rss_mib"] = round(process.memory_info().rss / 2**20, 1)
    # Resident memory splits into the process's own (heap: anonymous) and pages of the index
    # files it maps (file-backed: page cache the kernel can drop and read back).
    status = Path("/proc/self/status").read_text()
    for field in ("RssAnon", "RssFile"):
        found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
        if found:
            report[f"{field.lower()}_mib"] = round(int(found.group(1)) / 1024, 1)
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
        choices=["full", "titles", "cached", "none"],
        default="full",
        help="embed title + abstract (full), titles only (faster to build), titles composed from cached "
        "embeddings of the real titles (cached: minutes at 1M), or nothing (keyword only)",
    )
    parser.add_argument("--cold", action="store_true",
                        help="do not read the home's files into the page cache before timing queries")
    parser.add_argument("--no-references", action="store_true",
                        help="skip the side-by-side run of raw tantivy, SQLite FTS5 and bm25s")
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
        child = context.Process(target=serve, args=(str(home), queries, modes, out, not args.cold))
        child.start()
        while True:
            try:
                figures["serving"] = out.get(timeout=5)
                break
            except queue.Empty:
                if not child.is_alive():
                    raise SystemExit(f"the serving process died (exit status {child.exitcode})") from None
        child.join()
        if not args.no_references:
            from references import references

            figures["references"] = references(home, queries)
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
    if figures.get("ann_recall", {}).get("ann"):
        rec = figures["ann_recall"]
        cells = "  ".join(f"{k}={v}" for k, v in rec.items() if k.startswith("ef"))
        print(f"ANN recall@10 vs exact ({rec['queries']} queries, {rec['vectors']} vectors): {cells} "
              f"(used ef{rec['used']})")
    print(f"page cache: {figures['serving']['page_cache']}")
    print(f"{'mode':10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean':>8}  empty")
    for mode in modes:
        row = figures["serving"][mode]
        print(
            f"{mode:10} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} {row['p99_ms']:8.2f} {row['mean_ms']:8.2f}"
            f"  {row['no_results']}   p95 by kind: "
            + ", ".join(f"{k} {v} ms ({row['count_by_kind'][k]})" for k, v in row["p95_ms_by_kind"].items())
        )
    if "references" in figures:
        refs = figures["references"]
        print("retrieval floors, same papers and queries (top 20): " + ", ".join(
            f"{name} p50 {r['p50_ms']} / p95 {r['p95_ms']} ms" for name, r in refs.items()))
        for mode in modes:
            row = figures["serving"][mode]
            print(f"  {mode:8} p95 / reference p95: " + ", ".join(
                f"{name} {row['p95_ms'] / max(r['p95_ms'], 1e-3):.2g}x" for name, r in refs.items()))
    serving = figures["serving"]
    print(
        f"serving process resident memory: {serving['rss_mib']} MiB "
        f"({serving.get('rssanon_mib', '?')} MiB its own, {serving.get('rssfile_mib', '?')} MiB of mapped index files)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
