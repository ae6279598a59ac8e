"""search/fusion.py on its own: reciprocal rank fusion, the convex combination, fuse() and sort_by(),
checked against values worked out by hand.  (bench/fusion.py reproduces the docstring's table.)"""

from __future__ import annotations

import numpy as np
import pytest

from paperscope.index.hits import Hits
from paperscope.search.fusion import convex, fuse, rrf, sort_by


def hits(ids: list[int], scores: list[float]) -> Hits:
    return Hits(np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32))


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = rrf([hits([1, 2, 3], [9, 8, 7]), hits([3, 4], [0.9, 0.1])], k=10)
    expected = {1: 1 / 11, 2: 1 / 12, 3: 1 / 13 + 1 / 11, 4: 1 / 12}
    assert fused.ids.tolist() == [3, 1, 2, 4]  # 2 and 4 tie: the lower id first
    assert fused.scores.tolist() == pytest.approx([expected[i] for i in fused.ids.tolist()], rel=1e-6)


def test_rrf_ignores_score_scale_and_weights_lists() -> None:
    a = rrf([hits([1, 2], [1000, 1]), hits([2, 1], [0.51, 0.5])])
    assert a.scores[0] == pytest.approx(a.scores[1])  # same ranks each way: a tie, broken by id
    assert a.ids.tolist() == [1, 2]
    weighted = rrf([hits([1, 2], [1, 0]), hits([2, 1], [1, 0])], weights=[1.0, 2.0])
    assert weighted.ids.tolist() == [2, 1]


def test_convex_normalises_each_side_and_counts_absence_as_zero() -> None:
    keyword = hits([1, 2, 3], [10.0, 5.0, 0.0])  # min-max: 1.0, 0.5, 0.0
    semantic = hits([3, 4], [0.8, 0.4])  # min-max: 1.0, 0.0
    fused = convex(keyword, semantic, weight=0.5)
    expected = {1: 0.5, 2: 0.25, 3: 0.5, 4: 0.0}
    assert fused.ids.tolist() == [1, 3, 2, 4]
    assert fused.scores.tolist() == pytest.approx([expected[i] for i in fused.ids.tolist()])
    # The weight moves the balance: all keyword, then all semantic.
    assert convex(keyword, semantic, weight=1.0).ids.tolist()[0] == 1
    assert convex(keyword, semantic, weight=0.0).ids.tolist()[0] == 3


def test_convex_keeps_the_size_of_a_lead_that_rrf_drops() -> None:
    # Paper 7 is far ahead on the keyword side (an exact title match), second on the other.
    keyword = hits([7, 8, 9], [30.0, 2.0, 1.0])
    semantic = hits([8, 7, 9], [0.61, 0.60, 0.10])
    assert convex(keyword, semantic).ids.tolist()[0] == 7
    assert rrf([keyword, semantic]).scores[0] == pytest.approx(rrf([keyword, semantic]).scores[1])


def test_one_equal_score_list_normalises_to_one() -> None:
    fused = convex(hits([5, 6], [2.0, 2.0]), Hits.empty(), weight=0.5)
    assert fused.scores.tolist() == pytest.approx([0.5, 0.5])


def test_fuse_passes_a_lone_side_through_and_picks_the_method() -> None:
    keyword, semantic = hits([1, 2], [3.0, 1.0]), hits([2, 3], [0.9, 0.2])
    assert fuse(Hits.empty(), semantic) is semantic
    assert fuse(keyword, Hits.empty()) is keyword
    assert fuse(keyword, semantic, "rrf").ids.tolist() == rrf([keyword, semantic]).ids.tolist()
    assert fuse(keyword, semantic).ids.tolist() == convex(keyword, semantic).ids.tolist()


def test_sort_by_orders_by_key_with_relevance_breaking_ties() -> None:
    ranked = hits([10, 11, 12, 13], [4, 3, 2, 1])
    resorted = sort_by(ranked, np.asarray([5, 9, 5, 9], dtype=np.int32))
    assert resorted.ids.tolist() == [11, 13, 10, 12]
    assert resorted.scores.tolist() == [3, 1, 4, 2]
