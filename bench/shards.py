"""Keyword index shards side by side: the same papers in one tantivy index and in N shards.

Builds both from an existing home's store (``bench/search.py --home`` makes one) into
``<home>/bench-shards/``, then times ``KeywordIndex.search`` (top 20, with the match count, as
keyword mode asks) on ``bench/search.py``'s fixed query mix, alternating the two layouts
query by query so that machine noise falls on both alike.  Prints p50/p95/p99 per layout, the
ratio, and how much of each top 20 the sharded index shares with the single one (shards score
with their own BM25 statistics).

    .venv/bin/python bench/shards.py --home bench/.cache/search-1m --shards 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
from paperscope.index.build import update_keyword
from paperscope.index.keyword import KeywordIndex
from paperscope.search.api import SearchRequest, _filter
from paperscope.search.query import parse_query
from paperscope.store import Store
from search import query_kind


def build(store: Store, folder: Path, shards: int) -> dict[str, Any]:
    """A keyword index of every paper with ``shards`` shards (reused when it is there)."""
    return update_keyword(store, folder, shards=shards)


def percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values)
    return {f"p{p}_ms": round(float(np.percentile(array, p)), 2) for p in (50, 95, 99)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a home with papers (bench/search.py --home)")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    figures: dict[str, Any] = {}
    with Store.open(str(args.home)) as store:
        base = args.home / "bench-shards"
        layouts = {1: base / "one", args.shards: base / f"shards-{args.shards}"}
        for shards, folder in layouts.items():
            built = build(store, folder, shards)
            figures[f"build_{shards}"] = {k: built[k] for k in ("mode", "documents", "shards", "seconds")}
        indexes = {n: KeywordIndex.open(folder / "keyword") for n, folder in layouts.items()}
        queries = corpus.make_queries(args.queries)
        times: dict[int, list[float]] = {n: [] for n in indexes}
        kinds: list[str] = []
        shared: list[float] = []
        for index in indexes.values():  # warm-up: fault in the files
            for query in corpus.make_queries(20, seed=29):
                parsed = parse_query(query)
                index.search(parsed, _filter(SearchRequest(query=query), parsed), 20)
        for query in queries:
            parsed = parse_query(query)
            flt = _filter(SearchRequest(query=query), parsed)
            tops = {}
            for n, index in indexes.items():
                started = time.perf_counter()
                hits, _ = index.search(parsed, flt, 20)
                times[n].append((time.perf_counter() - started) * 1000)
                tops[n] = set(hits.ids.tolist())
            kinds.append(query_kind(query))
            if tops[1]:
                shared.append(len(tops[1] & tops[args.shards]) / len(tops[1]))
        for n, index in indexes.items():
            figures[f"shards_{n}"] = percentiles(times[n])
            figures[f"shards_{n}"]["p95_ms_by_kind"] = {
                kind: round(float(np.percentile([t for t, k in zip(times[n], kinds, strict=True) if k == kind], 95)), 2)
                for kind in sorted(set(kinds))
            }
            index.close()
        figures["top20_shared"] = round(float(np.mean(shared)), 4)
    one, many = figures["shards_1"], figures[f"shards_{args.shards}"]
    figures["p95_ratio"] = round(one["p95_ms"] / many["p95_ms"], 2)
    if args.json:
        print(orjson.dumps(figures).decode())
        return 0
    print(f"{'layout':12} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  p95 by kind")
    for n in layouts:
        row = figures[f"shards_{n}"]
        by_kind = ", ".join(f"{k} {v}" for k, v in row["p95_ms_by_kind"].items())
        label = "one index" if n == 1 else f"{n} shards"
        print(f"{label:12} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} {row['p99_ms']:8.2f}  {by_kind}")
    print(f"p95 one index / {args.shards} shards: x{figures['p95_ratio']}; "
          f"top 20 shared with one index: {figures['top20_shared']:.1%} ({len(queries)} queries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
