"""Vector segment files: int8 storage with a scale per row, and segments from before it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paperscope.index import vectorfiles as vf


def unit_rows(count: int, seed: int, dim: int = 384) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize(("bits", "min_cosine", "max_error"), [(8, 0.999, 0.01), (4, 0.98, 0.03)])
def test_quantized_rows_keep_their_direction(bits: int, min_cosine: float, max_error: float) -> None:
    vectors = unit_rows(500, 5)
    codes, scales = vf.quantize(vectors, bits)
    assert scales.dtype == np.float32
    if bits == 8:
        assert codes.dtype == np.int8 and codes.shape == vectors.shape
        values = codes
    else:
        assert codes.dtype == np.uint8 and codes.shape == (500, 192)  # two codes a byte
        values = vf.unpack4(codes)
        assert values.min() >= -7 and values.max() <= 7
    back = values.astype(np.float32) * scales[:, None]
    cosines = np.sum(back * vectors, axis=1) / np.linalg.norm(back, axis=1)
    assert cosines.min() > min_cosine, cosines.min()
    # Scores against a query move by far less than the gaps that rank papers.
    query = vectors[0]
    assert np.abs(back @ query - vectors @ query).max() < max_error
    zero_codes, zero_scales = vf.quantize(np.zeros((2, 4), dtype=np.float32), bits)
    assert np.all(zero_scales == 1.0) and not (vf.unpack4(zero_codes) if bits == 4 else zero_codes).any()
    empty_codes, empty_scales = vf.quantize(np.empty((0, 384), dtype=np.float32), bits)
    assert empty_codes.shape == (0, 384 * bits // 8) and empty_scales.shape == (0,)


def test_four_bit_codes_need_an_even_dimension() -> None:
    with pytest.raises(ValueError, match="even"):
        vf.quantize(unit_rows(3, 1, dim=5), 4)
    assert vf.passage_bits(384) == 4 and vf.passage_bits(5) == 8


def test_dot_over_int8_rows_equals_their_float_product() -> None:
    vectors = unit_rows(2_500, 6)  # more rows than one scoring chunk
    codes, scales = vf.quantize(vectors)
    query = unit_rows(1, 7)[0]
    expected = (codes.astype(np.float32) * scales[:, None]) @ query
    assert np.allclose(vf.dot(codes, scales, query), expected, atol=1e-5)
    assert np.array_equal(vf.dot(vectors, None, query), vectors @ query)


def test_a_segment_is_written_as_int8_and_read_back(tmp_path: Path) -> None:
    vectors = unit_rows(40, 8)
    ids = np.arange(1, 41, dtype=np.int64)
    segment = vf.write_segment(tmp_path, vectors, ids, np.zeros(40, dtype=np.uint64), gen=1)
    assert segment["vectors"] == "int8"
    stored = np.load(tmp_path / f"{segment['name']}.vec.npy")
    assert stored.dtype == np.int8 and stored.shape == (40, 384)
    manifest = vf.empty_manifest("m", 384) | {"segments": [segment]}
    files = vf.referenced_files(manifest)
    assert f"{segment['name']}.vscale.npy" in files
    (tmp_path / "seg-000000000000.vscale.npy").write_bytes(b"left over")
    vf.remove_unreferenced(tmp_path, files)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)  # the scales are kept, leftovers go
    snap = vf.Snapshot.load(tmp_path, manifest)
    back = snap.rows(np.arange(40, dtype=np.intp))
    assert back.dtype == np.float32
    assert (np.sum(back * vectors, axis=1) / np.linalg.norm(back, axis=1)).min() > 0.999
    query = vectors[3]
    assert np.allclose(snap.scores(query), back @ query, atol=1e-5)
    assert int(np.argmax(snap.scores(query))) == 3


def test_a_float32_segment_from_before_int8_is_read_as_it_is(tmp_path: Path) -> None:
    old_vectors, new_vectors = unit_rows(30, 9), unit_rows(20, 10)
    # A segment as written before int8 vectors: float32 rows, no scales, no "vectors" key.
    vf.write_array(tmp_path / "seg-0000000000aa.vec.npy", old_vectors)
    vf.write_array(tmp_path / "seg-0000000000aa.ids.npy", np.arange(1, 31, dtype=np.int64))
    vf.write_array(tmp_path / "seg-0000000000aa.hash.npy", np.zeros(30, dtype=np.uint64))
    old = {"name": "seg-0000000000aa", "rows": 30, "gen": 1}
    new = vf.write_segment(tmp_path, new_vectors, np.arange(31, 51, dtype=np.int64),
                           np.zeros(20, dtype=np.uint64), gen=2)
    manifest = vf.empty_manifest("m", 384) | {"segments": [old, new]}
    assert "seg-0000000000aa.vscale.npy" not in vf.referenced_files(manifest)
    snap = vf.Snapshot.load(tmp_path, manifest)
    assert snap.scales[0] is None and snap.scales[1] is not None
    query = old_vectors[4]
    scores = snap.scores(query)
    assert np.array_equal(scores[:30], old_vectors @ query)  # float32 rows exactly as stored
    assert np.allclose(scores[30:], new_vectors @ query, atol=0.01)
    assert np.array_equal(snap.rows(np.array([4, 35], dtype=np.intp))[0], old_vectors[4])


def passages_of(rows: int, per_row: int, seed: int, bits: int) -> tuple[vf.Passages, np.ndarray]:
    vectors = unit_rows(rows * per_row, seed)
    codes, scales = vf.quantize(vectors, bits)
    offsets = np.arange(0, rows * per_row + 1, per_row, dtype=np.int64)
    return vf.Passages(codes, scales, offsets, bits), vectors


def test_passages_are_stored_in_four_bits_and_older_int8_ones_still_read(tmp_path: Path) -> None:
    old_passages, old_vectors = passages_of(10, 3, 11, bits=8)
    new_passages, new_vectors = passages_of(10, 2, 12, bits=4)
    segments = []
    for first, passages in ((1, old_passages), (11, new_passages)):
        segment = vf.write_segment(tmp_path, unit_rows(10, first), np.arange(first, first + 10, dtype=np.int64),
                                   np.zeros(10, dtype=np.uint64), gen=1, passages=passages)
        segments.append(segment)
    # The int8 segment as written before 4-bit passages: no passage_bits key.
    del segments[0]["passage_bits"]
    assert segments[1]["passage_bits"] == 4
    manifest = vf.empty_manifest("m", 384) | {"segments": segments}
    assert not vf.stored_as_now(manifest)
    snap = vf.Snapshot.load(tmp_path, manifest)
    assert [p.bits for p in snap.passages if p is not None] == [8, 4]
    query = old_vectors[7]  # passage 1 of row 2 in the old segment
    best, which = snap.best_passages(np.array([2, 12], dtype=np.intp), query)
    assert which[0] == 1 and abs(best[0] - 1.0) < 0.01
    assert abs(best[1] - float((new_vectors[4:6] @ query).max())) < 0.03
    # Folding copies them into 4 bits, the int8 ones re-quantized; the scores stay.
    folded = snap.passage_rows(np.arange(20, dtype=np.intp))
    assert folded.bits == 4 and folded.codes.shape == (50, 192)
    every = np.arange(50, dtype=np.intp)
    assert np.abs(folded.scores(every, query) - np.r_[old_vectors, new_vectors] @ query).max() < 0.03
    again = vf.write_segment(tmp_path, unit_rows(20, 1), np.arange(1, 21, dtype=np.int64),
                             np.zeros(20, dtype=np.uint64), gen=2, passages=folded)
    assert vf.stored_as_now(vf.empty_manifest("m", 384) | {"segments": [again]})
