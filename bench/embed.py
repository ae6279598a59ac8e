"""Embedding throughput (abstracts/s) and retrieval quality of the packaged models, side by side.

Speed: int8 ONNX and sentence-transformers fp32, each with and without sorting by length,
on the same real SciFact abstracts (256 tokens max), medians over ``--repeats`` runs.
Quality (``--quality``): nDCG@10 and Recall@100 on SciFact's train qrels (BEIR protocol:
title + text, exact cosine search) for both models, and the mean cosine between them.

    .venv/bin/python bench/embed.py --docs 256 --repeats 3
    .venv/bin/python bench/embed.py --quality
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np

from paperscope.index.embed import FP32_MODEL, INT8_MODEL, Embedder, create_embedder, paper_text

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"


def load_corpus() -> tuple[list[str], list[str]]:
    ids, texts = [], []
    with open(DATA / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            ids.append(str(doc["_id"]))
            texts.append(paper_text(doc["title"], doc["text"]))
    return ids, texts


def speed(args: argparse.Namespace) -> None:
    _, corpus = load_corpus()
    rng = np.random.default_rng(0)
    texts = [corpus[i] for i in rng.choice(len(corpus), size=args.docs, replace=False)]
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    configs: list[tuple[str, Embedder]] = [
        ("int8 onnx, sorted", create_embedder(INT8_MODEL, sort_by_length=True, threads=args.threads)),
        ("int8 onnx, unsorted", create_embedder(INT8_MODEL, sort_by_length=False, threads=args.threads)),
        ("fp32 st, sorted", create_embedder(FP32_MODEL, sort_by_length=True)),
        ("fp32 st, unsorted", create_embedder(FP32_MODEL, sort_by_length=False)),
    ]
    for _, embedder in configs:
        embedder.embed(texts[:16], batch_size=args.batch_size)  # warm-up: first run allocates
    wall: dict[str, list[float]] = {label: [] for label, _ in configs}
    cpu: dict[str, list[float]] = {label: [] for label, _ in configs}
    # Round-robin over the configurations, so that load from other processes on a shared
    # machine hits them all alike; CPU seconds are reported too, as they suffer less from it.
    for _ in range(args.repeats):
        for label, embedder in configs:
            w, c = time.perf_counter(), time.process_time()
            embedder.embed(texts, batch_size=args.batch_size)
            wall[label].append(time.perf_counter() - w)
            cpu[label].append(time.process_time() - c)
    rates = {label: len(texts) / statistics.median(seconds) for label, seconds in wall.items()}
    for label, rate in rates.items():
        per_cpu = len(texts) / statistics.median(cpu[label])
        print(f"{label:22} {rate:7.1f} abstracts/s wall  {per_cpu:7.1f} abstracts/CPU-s  "
              f"(median of {args.repeats}, {len(texts)} docs, load avg {os.getloadavg()[0]:.1f})")
    base = rates["fp32 st, unsorted"]
    print("ratios vs fp32 st unsorted (wall):")
    for label, rate in rates.items():
        print(f"  {label:22} x{rate / base:.2f}")
    print(f"int8 sorted vs int8 unsorted: x{rates['int8 onnx, sorted'] / rates['int8 onnx, unsorted']:.2f}")
    print(f"fp32 sorted vs fp32 unsorted: x{rates['fp32 st, sorted'] / rates['fp32 st, unsorted']:.2f}")


def ndcg_recall(
    scores: np.ndarray, doc_ids: list[str], query_ids: list[str], qrels: dict[str, dict[str, int]]
) -> tuple[float, float]:
    ndcgs, recalls = [], []
    for row, qid in enumerate(query_ids):
        relevant = qrels[qid]
        top = np.argsort(-scores[row])[:100]
        ranked = [doc_ids[i] for i in top]
        dcg = sum(relevant.get(d, 0) / math.log2(r + 2) for r, d in enumerate(ranked[:10]))
        ideal = sorted(relevant.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
        ndcgs.append(dcg / idcg if idcg else 0.0)
        recalls.append(len(set(ranked) & {d for d, g in relevant.items() if g > 0}) / len(relevant))
    return float(np.mean(ndcgs)), float(np.mean(recalls))


def quality(args: argparse.Namespace) -> None:
    doc_ids, corpus = load_corpus()
    qrels: dict[str, dict[str, int]] = {}
    with open(DATA / "qrels" / "train.tsv", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, did, grade = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(grade)
    queries = {}
    with open(DATA / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            q = json.loads(line)
            queries[str(q["_id"])] = q["text"]
    query_ids = [q for q in qrels if q in queries]
    vectors = {}
    for name in (INT8_MODEL, FP32_MODEL):
        embedder = create_embedder(name, threads=args.threads)
        start = time.perf_counter()
        docs = embedder.embed(corpus, batch_size=args.batch_size, progress=True)
        seconds = time.perf_counter() - start
        qv = embedder.embed([queries[q] for q in query_ids], batch_size=args.batch_size)
        ndcg, recall = ndcg_recall(qv @ docs.T, doc_ids, query_ids, qrels)
        vectors[name] = docs
        print(
            f"{name:24} nDCG@10 {ndcg:.4f}  Recall@100 {recall:.4f}  "
            f"({len(query_ids)} train queries, {len(corpus)} docs, embedded at {len(corpus) / seconds:.1f}/s)"
        )
    cos = np.sum(vectors[INT8_MODEL] * vectors[FP32_MODEL], axis=1)
    print(f"cosine int8 vs fp32 per abstract: min {cos.min():.4f}  median {np.median(cos):.4f}  mean {cos.mean():.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=256, help="abstracts per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None, help="default: each backend's own (8 / 32)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads and torch threads")
    parser.add_argument("--quality", action="store_true", help="SciFact nDCG@10 of both models instead")
    args = parser.parse_args()
    quality(args) if args.quality else speed(args)


if __name__ == "__main__":
    main()
