"""Fusing ranked lists (keyword and semantic) into one, and re-sorting candidates.

Two methods, both over :class:`Hits`:

* reciprocal rank fusion, ``sum 1 / (k + rank)``: needs no score calibration;
* convex combination of min-max normalised scores, ``w * keyword + (1 - w) * semantic``:
  keeps how *much* better one document scored, which rank fusion throws away.

The default was chosen by measurement on SciFact (train qrels, 809 queries; keyword alone
nDCG@10 0.704 / Recall@100 0.929, semantic alone 0.659 / 0.932), both lists 1000 deep:

=====================  =======  ==========
fusion                 nDCG@10  Recall@100
=====================  =======  ==========
RRF k=10               0.722    0.951
RRF k=60               0.715    0.956
convex w=0.4           0.728    0.958
convex w=0.5           0.738    0.957
convex w=0.6           0.736    0.956
convex w=0.5, 100 deep 0.734    0.952
=====================  =======  ==========

Reading the semantic side less deep (HNSW cost grows with k), keyword still 1000 deep:
semantic 100 deep 0.729 / 0.947, 200 deep 0.732 / 0.950, 300 deep 0.733 / 0.953.  The
searcher reads it 300 deep (``SEMANTIC_DEPTH`` in api.py): a third of the vector time for
0.004 nDCG@10.  (A fixed cosine floor of 0.2 instead of the min-max floor did as well at 200
deep, 0.735 / 0.956, but that constant belongs to one model; min-max works for any.)

Convex with equal weights wins on nDCG@10 and is as good on recall: when one side is very
sure (a near-exact title match, or a paraphrase far ahead of the rest) the score gap says so,
and rank fusion cannot see it.  Reading 1000 deep gives min-max a stable floor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..index.hits import Hits

RRF_K = 60
# Weight of the keyword side in the convex combination.
KEYWORD_WEIGHT = 0.5
DEFAULT_METHOD = "convex"


def _order(ids: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]) -> Hits:
    # Ties are broken by paper id so that pages of the same query never overlap or skip.
    order = np.lexsort((ids, -scores))
    return Hits(ids[order], scores[order].astype(np.float32))


def rrf(lists: Sequence[Hits], k: int = RRF_K, weights: Sequence[float] | None = None) -> Hits:
    weights = weights or [1.0] * len(lists)
    ids = np.concatenate([h.ids for h in lists]) if lists else np.empty(0, np.int64)
    contrib = np.concatenate(
        [w / (k + np.arange(1, len(h) + 1, dtype=np.float64)) for h, w in zip(lists, weights, strict=True)]
    ) if lists else np.empty(0, np.float64)
    unique, inverse = np.unique(ids, return_inverse=True)
    total = np.zeros(unique.shape[0], dtype=np.float64)
    np.add.at(total, inverse, contrib)
    return _order(unique, total)


def _minmax(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    if scores.shape[0] == 0:
        return np.empty(0, np.float64)
    values = scores.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if high - low <= 1e-12:
        return np.ones_like(values)
    return (values - low) / (high - low)


def convex(keyword: Hits, semantic: Hits, weight: float = KEYWORD_WEIGHT) -> Hits:
    """``weight * kw + (1 - weight) * sem`` over min-max normalised scores; absent counts as 0."""
    ids = np.concatenate([keyword.ids, semantic.ids])
    contrib = np.concatenate([weight * _minmax(keyword.scores), (1 - weight) * _minmax(semantic.scores)])
    unique, inverse = np.unique(ids, return_inverse=True)
    total = np.zeros(unique.shape[0], dtype=np.float64)
    np.add.at(total, inverse, contrib)
    return _order(unique, total)


def fuse(keyword: Hits, semantic: Hits, method: str = DEFAULT_METHOD) -> Hits:
    if len(keyword) == 0:
        return semantic
    if len(semantic) == 0:
        return keyword
    if method == "rrf":
        return rrf([keyword, semantic])
    return convex(keyword, semantic)


def sort_by(hits: Hits, keys: npt.NDArray[np.int32]) -> Hits:
    """Re-order ``hits`` by ``keys`` descending (date or upvotes), relevance breaking ties."""
    order = np.lexsort((np.arange(len(hits)), -keys.astype(np.int64)))
    return Hits(hits.ids[order], hits.scores[order])
