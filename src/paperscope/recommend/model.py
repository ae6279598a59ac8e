"""A reader's model over paper embeddings: a linear classifier once there are enough signals,
the centroid of their positives before that.

Linear (as Scholar Inbox and arxiv-sanity-lite do): logistic regression of the reader's
positives (upvotes, saved papers, "more like this") against their "less like this" papers and
a random sample of the library as unlabelled background.  The background is what makes it
better than a centroid: directions every paper shares ("we propose a model") get no weight,
and what sets the reader's papers apart from the rest gets it.  Explicit negatives weigh more
than background papers, which are only probably uninteresting.

Centroid (fewer than :data:`MIN_LINEAR` positives, i.e. one): cosine to the mean of the positives.

Either way, the similarity to the nearest "less like this" paper is taken off (in standard
deviations of the library's scores, :data:`NEGATIVE_PENALTY`), so a thumbs-down lowers its
neighbours as well as removing itself, even where one negative among thousands of background
papers hardly moves the classifier.

Both are linear in the paper vector (``w . x + b``, before the negative penalty), so the best
papers of a whole library are found by a maximum-inner-product search of ``w`` in the semantic
index (HNSW above 100,000 papers) rather than by scoring every row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Positives needed before the linear model: with fewer, a classifier over 384 dimensions
# mostly learns the background sample's noise, and the centroid ranks better.
MIN_LINEAR = 2
# Library papers drawn as unlabelled negatives; ~100 ms of training at 1,000 signals (README).
BACKGROUND = 2000
NEGATIVE_WEIGHT = 3.0  # an explicit "less like this" counts as this many background papers
# Standard deviations taken off per unit of cosine to the nearest "less like this" paper.  4.0
# cost bench/recommend.py 0.03-0.05 nDCG@10 (a disliked popular paper has relevant neighbours);
# at 1.0 a dislike still sinks the paper's near duplicates (cosine ~0.8: -0.8 sd).
NEGATIVE_PENALTY = 1.0
C = 1.0  # inverse regularisation of the logistic regression (sklearn's default)

Matrix = npt.NDArray[np.float32]


@dataclass(slots=True)
class ReaderModel:
    kind: str  # "linear" or "centroid"
    direction: npt.NDArray[np.float32]  # unit vector: the search direction in the index
    scale: float  # score = scale * (direction . x) + bias - penalty
    bias: float
    negatives: Matrix  # vectors of the reader's "less like this" papers
    train_ms: float = 0.0
    mean: float = 0.0  # of the score over the background sample, for z-scores
    std: float = 1.0

    def score(self, vectors: Matrix) -> npt.NDArray[np.float32]:
        """The linear part, ``scale * (direction . x) + bias``."""
        x = np.asarray(vectors, dtype=np.float32)
        if len(x) == 0:
            return np.empty(0, dtype=np.float32)
        return (self.scale * (x @ self.direction) + self.bias).astype(np.float32)

    def penalty(self, vectors: Matrix) -> npt.NDArray[np.float32]:
        """Cosine to the nearest "less like this" paper (0 when none is similar at all)."""
        x = np.asarray(vectors, dtype=np.float32)
        if len(x) == 0 or len(self.negatives) == 0:
            return np.zeros(len(x), dtype=np.float32)
        return np.maximum((x @ self.negatives.T).max(axis=1), 0.0).astype(np.float32)

    def zscore(self, vectors: Matrix) -> npt.NDArray[np.float32]:
        """Scores in standard deviations above the library's mean, comparable across readers and
        modes, so that boosts (followed authors, recency) add to them on one scale; minus the
        "less like this" penalty, which lowers a disliked paper's neighbours whatever the model."""
        linear = (self.score(vectors) - self.mean) / self.std
        return (linear - NEGATIVE_PENALTY * self.penalty(vectors)).astype(np.float32)


def _unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    norm = float(np.linalg.norm(v))
    return (v / norm if norm > 0 else v).astype(np.float32)


def fit(positives: Matrix, negatives: Matrix, background: Matrix) -> ReaderModel:
    """The reader's model from the vectors of their positives, negatives and a library sample."""
    started = time.perf_counter()
    pos = np.asarray(positives, dtype=np.float32)
    neg = np.asarray(negatives, dtype=np.float32).reshape(-1, pos.shape[1] if pos.ndim == 2 else 0)
    if len(pos) == 0:
        raise ValueError("a reader model needs at least one positive paper")
    if len(pos) >= MIN_LINEAR and len(background) > 0:
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        x = np.vstack([pos, neg, background]).astype(np.float32)
        y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(background))])
        weights = np.concatenate(
            [np.ones(len(pos)), np.full(len(neg), NEGATIVE_WEIGHT), np.ones(len(background))]
        )
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=300)
        # One BLAS thread: a 3,000 x 384 problem gains nothing from more, and on a busy 2-core
        # server their contention made a 80 ms fit take 3 s (bench/recommend.py).
        with threadpool_limits(limits=1):
            clf.fit(x, y, sample_weight=weights)
        w = clf.coef_[0].astype(np.float64)
        norm = float(np.linalg.norm(w)) or 1.0
        model = ReaderModel("linear", _unit(w), norm, float(clf.intercept_[0]), neg)
    else:
        model = ReaderModel("centroid", _unit(pos.astype(np.float64).mean(axis=0)), 1.0, 0.0, neg)
    if len(background):
        scores = model.score(background)
        model.mean = float(scores.mean())
        model.std = float(scores.std()) or 1.0
    model.train_ms = (time.perf_counter() - started) * 1000.0
    return model
