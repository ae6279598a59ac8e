"""ANN (usearch HNSW, the index's own parameters) against exact search: recall@10 and latency.

Vectors: ``--real`` SciFact abstracts embedded with the default int8 model (cached under
bench/.cache), resampled to ``--size`` vectors as mixtures of two real abstracts' vectors plus
a little noise (the same recipe as tests/test_vectors.py); queries are fresh mixtures.  Exact
search is the numpy matrix product the index uses below its ANN threshold.

    .venv/bin/python bench/vectors.py --size 100000 --queries 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from paperscope.index import vectors
from paperscope.index.ann import _new_index
from paperscope.index.embed import INT8_MODEL, load_embedder, paper_text

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
CORPUS = ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"


def real_vectors(count: int) -> np.ndarray:
    path = CACHE / f"scifact-int8-{count}.npy"
    if path.exists():
        return np.load(path)
    texts = []
    with open(CORPUS, encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            texts.append(paper_text(doc["title"], doc["text"]))
            if len(texts) == count:
                break
    out = load_embedder(INT8_MODEL).embed(texts, progress=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def resampled(real: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    a = real[rng.integers(0, len(real), count)]
    b = real[rng.integers(0, len(real), count)]
    w = rng.uniform(0.0, 0.5, (count, 1)).astype(np.float32)
    mixed = (1 - w) * a + w * b + rng.normal(0, 0.02, a.shape).astype(np.float32)
    return (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=int, default=1000, help="real abstracts embedded")
    parser.add_argument("--size", type=int, default=100_000, help="vectors in the index")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    real = real_vectors(args.real)
    base, queries = resampled(real, args.size, rng), resampled(real, args.queries, rng)
    keys = np.arange(args.size, dtype=np.uint64)

    start = time.perf_counter()
    index = _new_index(base.shape[1], vectors.ANN_CONNECTIVITY, vectors.ANN_EXPANSION_ADD)
    index.add(keys, base)
    build = time.perf_counter() - start
    print(f"{args.size} vectors x {base.shape[1]}: HNSW build {build:.1f} s "
          f"(connectivity {vectors.ANN_CONNECTIVITY}, expansion_add {vectors.ANN_EXPANSION_ADD})")

    exact_ms, truth = [], []
    for q in queries:
        t = time.perf_counter()
        scores = base @ q
        top = np.argpartition(-scores, 9)[:10]
        exact_ms.append((time.perf_counter() - t) * 1000)
        truth.append(set(top.tolist()))
    print(f"exact numpy:            median {statistics.median(exact_ms):7.3f} ms/query   recall@10 1.000")
    for expansion in (32, 64, vectors.ANN_EXPANSION_SEARCH, 256):
        index.expansion_search = expansion
        ann_ms, recalls = [], []
        for q, expected in zip(queries, truth, strict=True):
            t = time.perf_counter()
            found = index.search(q, 10).keys
            ann_ms.append((time.perf_counter() - t) * 1000)
            recalls.append(len(set(found.tolist()) & expected) / 10)
        mark = "  <- used" if expansion == vectors.ANN_EXPANSION_SEARCH else ""
        print(f"hnsw expansion {expansion:4}:   median {statistics.median(ann_ms):7.3f} ms/query   "
              f"recall@10 {np.mean(recalls):.4f}   x{statistics.median(exact_ms) / statistics.median(ann_ms):.0f} "
              f"faster{mark}")


if __name__ == "__main__":
    main()
