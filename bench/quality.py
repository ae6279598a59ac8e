"""Search quality on a BEIR dataset (SciFact): nDCG@10 and Recall@100 per search mode.

The corpus goes through the project's own path: ingested with :class:`paperscope.ingest.Ingestor`
into a fresh home, indexed with ``update_indexes`` and queried through
:class:`paperscope.search.api.Searcher`, exactly as ``paperscope search`` does.  A reference
BM25 (bm25s, Lucene variant, k1=1.5 b=0.75) over title + text is computed in the same run.
The reference tokenises with the keyword index's analyser (Snowball English stems, English
stop words dropped), so the comparison isolates ranking rather than tokenisation.

Usage::

    .venv/bin/python bench/quality.py --corpus ../shared/data/scifact/corpus.jsonl \\
        --queries ../shared/data/scifact/queries.jsonl --qrels ../shared/data/scifact/qrels/train.tsv [--json]

nDCG@10 is computed as pytrec_eval / trec_eval do (linear gain = the qrels' graded relevance,
ideal ordering from the qrels); only queries that appear in the qrels are scored.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from paperscope.index.build import update_indexes
from paperscope.index.keyword_query import QUERY_ANALYZER, TEXT_ANALYZER
from paperscope.ingest import Ingestor
from paperscope.search.api import Searcher, SearchRequest
from paperscope.store import Store

Qrels = dict[str, dict[str, int]]
Run = dict[str, list[str]]


def load_queries(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                obj = orjson.loads(line)
                out[str(obj["_id"])] = str(obj["text"])
    return out


def load_qrels(path: Path) -> Qrels:
    qrels: Qrels = defaultdict(dict)
    with path.open() as handle:
        for number, line in enumerate(handle):
            parts = line.rstrip("\n").split("\t")
            if number == 0 and not parts[-1].lstrip("-").isdigit():
                continue  # header
            if len(parts) >= 3:
                qrels[parts[0]][parts[1]] = int(parts[2])
    return dict(qrels)


def ndcg_at(ranked: list[str], judged: dict[str, int], k: int = 10) -> float:
    dcg = sum(judged.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((r for r in judged.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], judged: dict[str, int], k: int = 100) -> float:
    relevant = {d for d, r in judged.items() if r > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def evaluate(run: Run, qrels: Qrels) -> dict[str, float]:
    scored = [q for q in qrels if q in run]
    return {
        "ndcg@10": round(float(np.mean([ndcg_at(run[q], qrels[q]) for q in scored])), 4),
        "recall@100": round(float(np.mean([recall_at(run[q], qrels[q]) for q in scored])), 4),
        "queries": len(scored),
    }


def reference_bm25(corpus: Path, queries: dict[str, str], k: int = 100) -> Run:
    import bm25s

    ids: list[str] = []
    texts: list[list[str]] = []
    with corpus.open("rb") as handle:
        for line in handle:
            if line.strip():
                obj = orjson.loads(line)
                ids.append(str(obj["_id"]))
                texts.append(QUERY_ANALYZER.analyze(f"{obj.get('title', '')} {obj.get('text', '')}"))
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(texts, show_progress=False)
    vocab = retriever.vocab_dict
    run: Run = {}
    for qid, text in queries.items():
        tokens = [t for t in QUERY_ANALYZER.analyze(text) or TEXT_ANALYZER.analyze(text) if t in vocab]
        if not tokens:
            run[qid] = []
            continue
        scores = retriever.get_scores(tokens)
        top = np.argsort(-scores, kind="stable")[:k]
        run[qid] = [ids[i] for i in top if scores[i] > 0]
    return run


def ingest(store: Store, corpus: Path) -> dict[str, Any]:
    with Ingestor(store, report_rejects=False) as ingestor:
        summary = ingestor.ingest_paths([corpus])
    if summary.errors or summary.records == 0:
        raise SystemExit(f"could not ingest {corpus}: {summary.errors or 'no records'}")
    return summary.as_dict()


def run_mode(searcher: Searcher, queries: dict[str, str], mode: str, k: int = 100) -> tuple[Run, float]:
    run: Run = {}
    started = time.perf_counter()
    for qid, text in queries.items():
        response = searcher.search(SearchRequest(query=text, mode=mode, limit=k))
        run[qid] = [r.paper.key.removeprefix("beir-") for r in response.results]
    return run, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--qrels", type=Path, required=True)
    parser.add_argument("--home", type=Path, help="reuse this home (default: a fresh temporary one)")
    parser.add_argument("--modes", default="keyword,semantic,hybrid")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    qrels = load_qrels(args.qrels)
    queries = {q: t for q, t in load_queries(args.queries).items() if q in qrels}
    modes = [m for m in args.modes.split(",") if m]
    report: dict[str, Any] = {}
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="paperscope-quality-") as tmp:
        home = args.home or Path(tmp)
        with Store.open(str(home)) as store:
            started = time.perf_counter()
            if store.count_papers() == 0:
                ingest(store, args.corpus)
            timings["ingest_s"] = time.perf_counter() - started
            started = time.perf_counter()
            update_indexes(store, semantic=any(m != "keyword" for m in modes))
            timings["index_s"] = time.perf_counter() - started
            searcher = Searcher(store)
            try:
                for mode in modes:
                    run, seconds = run_mode(searcher, queries, mode)
                    report[mode] = evaluate(run, qrels)
                    timings[f"{mode}_ms_per_query"] = 1000 * seconds / max(len(queries), 1)
            finally:
                searcher.close()
    report["reference_bm25"] = evaluate(reference_bm25(args.corpus, queries), qrels)
    if args.json:
        print(orjson.dumps(report).decode())
        return 0
    print(f"{'':16} {'nDCG@10':>8} {'R@100':>8}   ({len(queries)} queries)")
    for name, figures in report.items():
        print(f"{name:16} {figures['ndcg@10']:8.4f} {figures['recall@100']:8.4f}")
    print("timings: " + ", ".join(f"{k}={v:.1f}" for k, v in timings.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
