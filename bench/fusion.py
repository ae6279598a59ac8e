"""Reproduces the table in ``search/fusion.py``'s docstring: nDCG@10 and Recall@100 on SciFact
(train qrels) for keyword alone, semantic alone, and each fusion method, both lists 1000 deep
(and the semantic side 100/200/300 deep with convex w=0.5).

The corpus goes in through the project's own path (ingest, ``update_indexes``); each query is
parsed as the searcher parses it and both sides are read once, 1000 deep, straight from the
indexes; every fusion is then computed from those same two lists, so the rows differ only by
the fusion.  Usage::

    nice -n 10 .venv/bin/python bench/fusion.py --corpus ../shared/data/scifact/corpus.jsonl \\
        --queries ../shared/data/scifact/queries.jsonl --qrels ../shared/data/scifact/qrels/train.tsv \\
        [--home DIR] [--json]

``--home`` keeps the ingested corpus and its indexes for a second run (embedding the 5,183
abstracts is most of the time).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paperscope.index.build import keyword_dir, update_indexes
from paperscope.index.hits import Hits
from paperscope.index.keyword import KeywordIndex
from paperscope.index.vectors import SemanticIndex
from paperscope.search.fusion import convex, rrf
from paperscope.search.query import parse_query
from paperscope.store import Store
from quality import evaluate, ingest, load_qrels, load_queries

DEPTH = 1000


def _cut(hits: Hits, n: int) -> Hits:
    return Hits(hits.ids[:n], hits.scores[:n])


# The docstring's rows: name -> fusion of (keyword, semantic).
ROWS: dict[str, Callable[[Hits, Hits], Hits]] = {
    "RRF k=10": lambda kw, sem: rrf([kw, sem], k=10),
    "RRF k=60": lambda kw, sem: rrf([kw, sem], k=60),
    "convex w=0.4": lambda kw, sem: convex(kw, sem, 0.4),
    "convex w=0.5": lambda kw, sem: convex(kw, sem, 0.5),
    "convex w=0.6": lambda kw, sem: convex(kw, sem, 0.6),
    "convex w=0.5, 100 deep": lambda kw, sem: convex(_cut(kw, 100), _cut(sem, 100), 0.5),
}
SEMANTIC_DEPTHS = (100, 200, 300)
# As written in fusion.py, for the side-by-side.
DOCSTRING = {
    "keyword": (0.704, 0.929), "semantic": (0.659, 0.932),
    "RRF k=10": (0.722, 0.951), "RRF k=60": (0.715, 0.956), "convex w=0.4": (0.728, 0.958),
    "convex w=0.5": (0.738, 0.957), "convex w=0.6": (0.736, 0.956), "convex w=0.5, 100 deep": (0.734, 0.952),
    "semantic 100 deep": (0.729, 0.947), "semantic 200 deep": (0.732, 0.950), "semantic 300 deep": (0.733, 0.953),
}


def lists(store: Store, queries: dict[str, str]) -> dict[str, tuple[Hits, Hits]]:
    """Each query's keyword and semantic hits, DEPTH deep."""
    index_dir = store.settings.index_dir
    keyword = KeywordIndex.open(keyword_dir(index_dir))
    semantic = SemanticIndex.open(index_dir)
    out: dict[str, tuple[Hits, Hits]] = {}
    try:
        for qid, text in queries.items():
            parsed = parse_query(text)
            kw, _ = keyword.search(parsed, None, DEPTH, 0, "relevance", count=False)
            sem = semantic.search(parsed.text, DEPTH)
            out[qid] = (kw, sem)
    finally:
        semantic.close()
        keyword.close()
    return out


def keys_of(store: Store, hits: Hits) -> list[str]:
    ids = hits.ids[:100].tolist()
    by_id = {p.id: p.key.removeprefix("beir-") for p in store.get_papers(ids)}
    return [by_id[i] for i in ids if i in by_id]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--qrels", type=Path, required=True)
    parser.add_argument("--home", type=Path, help="reuse this home (default: a fresh temporary one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    qrels = load_qrels(args.qrels)
    queries = {q: t for q, t in load_queries(args.queries).items() if q in qrels}
    report: dict[str, dict[str, float]] = {}
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="paperscope-fusion-") as tmp:
        home = args.home or Path(tmp)
        with Store.open(str(home)) as store:
            started = time.perf_counter()
            if store.count_papers() == 0:
                ingest(store, args.corpus)
            update_indexes(store, semantic=True)
            timings["ingest_and_index_s"] = time.perf_counter() - started
            started = time.perf_counter()
            both = lists(store, queries)
            timings["retrieval_s"] = time.perf_counter() - started
            runs: dict[str, Any] = {
                "keyword": {q: keys_of(store, kw) for q, (kw, _) in both.items()},
                "semantic": {q: keys_of(store, sem) for q, (_, sem) in both.items()},
            }
            for name, fusion in ROWS.items():
                runs[name] = {q: keys_of(store, fusion(kw, sem)) for q, (kw, sem) in both.items()}
            for depth in SEMANTIC_DEPTHS:
                runs[f"semantic {depth} deep"] = {
                    q: keys_of(store, convex(kw, _cut(sem, depth), 0.5)) for q, (kw, sem) in both.items()
                }
            for name, run in runs.items():
                report[name] = evaluate(run, qrels)
    if args.json:
        print(orjson.dumps({"queries": len(queries), "figures": report, "docstring": DOCSTRING}).decode())
        return 0
    print(f"{'':24} {'nDCG@10':>8} {'R@100':>8}   {'docstring':>16}   ({len(queries)} queries)")
    for name, figures in report.items():
        doc = DOCSTRING.get(name)
        ref = f"{doc[0]:.3f} / {doc[1]:.3f}" if doc else ""
        print(f"{name:24} {figures['ndcg@10']:8.3f} {figures['recall@100']:8.3f}   {ref:>16}")
    print("timings: " + ", ".join(f"{k}={v:.1f}" for k, v in timings.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
