"""The files behind the semantic index: immutable vector segments, an HNSW file, and a manifest.

Layout of ``<home>/index/semantic/``::

    manifest.json            what readers use: model, dim, last change seq, segments, ann file
    manifest-next.json       a re-embedding for a new model in progress (swapped in when done)
    seg-<hex>.vec.npy        int8 [rows, dim] unit vectors, quantized (memory-mapped on open);
                             float32 in segments written before int8 (no ``vectors`` key)
    seg-<hex>.vscale.npy     float32 [rows] their scales (vector ~= int8 * scale)
    seg-<hex>.ids.npy        int64 [rows] store paper ids
    seg-<hex>.hash.npy       uint64 [rows] hash of the embedded text (re-embed only on change)
    seg-<hex>.pvec.npy       the rows' passage vectors (index/passages.py): 4-bit codes, two a
                             byte, uint8 [passages, dim / 2] (int8 [passages, dim] in segments
                             written before them: no ``passage_bits`` key)
    seg-<hex>.pscale.npy     float32 [passages] their scales (vector ~= codes * scale)
    seg-<hex>.poff.npy       int64 [rows + 1] row i's passages are pvec[poff[i]:poff[i + 1]]
    ann-<hex>.usearch        usearch HNSW over the live vectors, keys = paper ids

Segments are written once and never changed: an update writes new segments, then replaces
the manifest (write to a temporary file, fsync, ``os.replace``).  A paper re-embedded later
appears again in a newer segment and the newest row wins.  So a killed update leaves the last
manifest pointing at complete files, and a reader keeps the files it opened (memory maps
survive the unlink of a superseded file on POSIX) until it sees a new manifest.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from ..errors import PaperscopeError

FORMAT = 1
MANIFEST = "manifest.json"
NEXT_MANIFEST = "manifest-next.json"
IdArray = npt.NDArray[np.int64]


def text_hash(text: str) -> int:
    """64 bits of blake2b: enough to notice that a paper's title or abstract changed."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def new_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def fsync_replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)


def write_array(path: Path, array: np.ndarray) -> None:
    """``.npy`` written under a temporary name and moved into place only once complete."""
    tmp = path.with_name(f".tmp-{path.name}")
    with open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
    fsync_replace(tmp, path)


def quantize(vectors: npt.NDArray[np.float32], bits: int = 8) -> tuple[np.ndarray, npt.NDArray[np.float32]]:
    """Rows as integer codes and a float32 scale each (``row ~= codes * scale``).

    ``bits`` 8: int8 codes [rows, dim].  A scale per row keeps a unit vector's direction to
    cosine > 0.999 (tests) at a quarter of float32's bytes; ranking on SciFact is the same to the
    third decimal (index/passages.py).  ``bits`` 4 (even ``dim``): codes -7..7 stored as
    ``code + 8``, two to a byte (uint8 [rows, dim / 2], low nibble first): an eighth of float32's
    bytes, cosine > 0.98, and hybrid SciFact nDCG@10 0.7432 against int8's 0.7435 when passages
    are stored so (index/passages.py)."""
    levels = {8: 127.0, 4: 7.0}[bits]
    if bits == 4 and vectors.shape[1] % 2:
        raise ValueError("4-bit codes need an even dimension")
    scale = np.abs(vectors).max(axis=1) / levels if len(vectors) else np.empty(0, dtype=np.float32)
    scale[scale == 0] = 1.0
    codes = np.rint(vectors / scale[:, None]).clip(-levels, levels).astype(np.int8)
    if bits == 4:
        nibbles = (codes + 8).astype(np.uint8)
        codes = nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)
    return codes, scale.astype(np.float32)


def unpack4(packed: npt.NDArray[np.uint8]) -> npt.NDArray[np.int8]:
    """4-bit codes (two to a byte, see :func:`quantize`) as int8 rows."""
    out = np.empty((packed.shape[0], packed.shape[1] * 2), dtype=np.int8)
    out[:, 0::2] = (packed & 15).astype(np.int8) - 8
    out[:, 1::2] = (packed >> 4).astype(np.int8) - 8
    return out


def passage_bits(dim: int) -> int:
    """The code width passages are stored with: 4 bits (half int8's disk and mapped memory, 0.6 GB
    less at 1M papers, for the same ranking) where the dimension allows it."""
    return 4 if dim % 2 == 0 else 8


# Rows dequantized at a time when scoring a whole int8 segment: 1,024 x 384 floats (1.5 MiB)
# stay in cache, and the product then runs as fast as float32's (13-15 ms at 100k rows).
_SCORE_CHUNK = 1024


def dot(codes: np.ndarray, scales: npt.NDArray[np.float32] | None, query: npt.NDArray[np.float32]
        ) -> npt.NDArray[np.float32]:
    """``rows @ query`` for float32 rows (``scales`` None) or int8 rows with their scales."""
    if scales is None:
        return np.asarray(codes @ query, dtype=np.float32)
    out = np.empty(len(codes), dtype=np.float32)
    for start in range(0, len(codes), _SCORE_CHUNK):
        out[start : start + _SCORE_CHUNK] = codes[start : start + _SCORE_CHUNK].astype(np.float32) @ query
    return out * scales


def empty_manifest(model: str, dim: int) -> dict[str, Any]:
    return {"format": FORMAT, "model": model, "dim": dim, "last_seq": 0, "gen": 0, "segments": [], "ann": None}


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError as error:
        raise PaperscopeError(f"semantic index manifest {path} is corrupt ({error}); delete {path.parent} "
                              "and run `paperscope index` to rebuild it") from error
    if data.get("format") != FORMAT:
        raise PaperscopeError(f"semantic index {path.parent} has format {data.get('format')}, expected {FORMAT}; "
                              "delete it and run `paperscope index`")
    return data


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Atomic replace, after the files it names are on disk (callers write those first)."""
    manifest["written_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    fsync_replace(tmp, path)


@dataclass
class Passages:
    """Passage vectors of some rows, as codes with a scale each (:func:`quantize`, ``bits`` wide);
    row i owns codes[offsets[i]:offsets[i + 1]]."""

    codes: np.ndarray
    scales: npt.NDArray[np.float32]
    offsets: IdArray
    bits: int = 8  # segments written before 4-bit passages hold int8

    def values(self, at: npt.NDArray[np.intp]) -> npt.NDArray[np.int8]:
        """The integer codes of the passages at ``at`` (int8 rows)."""
        codes = self.codes[at]
        return unpack4(codes) if self.bits == 4 else np.asarray(codes, dtype=np.int8)

    def scores(self, at: npt.NDArray[np.intp], query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """``query``'s cosine with the passages at ``at``."""
        return np.asarray((self.values(at).astype(np.float32) @ query) * self.scales[at], dtype=np.float32)

    def select(self, rows: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """The passage positions of ``rows`` (in order) and, for each, which of ``rows`` owns it."""
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        counts = (ends - starts).astype(np.intp)
        owner = np.repeat(np.arange(len(rows), dtype=np.intp), counts)
        # Each passage's position: its row's start plus its rank within the row.
        first = np.cumsum(counts) - counts
        positions = starts[owner] + (np.arange(int(counts.sum()), dtype=np.intp) - first[owner])
        return positions.astype(np.intp), owner


def write_segment(folder: Path, vectors: np.ndarray, ids: IdArray, hashes: np.ndarray, gen: int,
                  passages: Passages | None = None) -> dict[str, Any]:
    """A new segment; the vectors are stored as int8 with a scale per row (:func:`quantize`)."""
    name = new_name("seg")
    codes, scales = quantize(np.asarray(vectors, dtype=np.float32))
    write_array(folder / f"{name}.vec.npy", codes)
    write_array(folder / f"{name}.vscale.npy", scales)
    write_array(folder / f"{name}.ids.npy", np.asarray(ids, dtype=np.int64))
    write_array(folder / f"{name}.hash.npy", np.asarray(hashes, dtype=np.uint64))
    segment: dict[str, Any] = {"name": name, "rows": len(ids), "gen": gen, "vectors": "int8"}
    if passages is not None:
        if len(passages.offsets) != len(ids) + 1 or len(passages.scales) != len(passages.codes):
            raise ValueError("passages do not match the segment's rows")
        write_array(folder / f"{name}.pvec.npy", np.ascontiguousarray(passages.codes))
        write_array(folder / f"{name}.pscale.npy", np.asarray(passages.scales, dtype=np.float32))
        write_array(folder / f"{name}.poff.npy", np.asarray(passages.offsets, dtype=np.int64))
        segment["passages"] = len(passages.codes)
        segment["passage_bits"] = passages.bits
    return segment


PASSAGE_PARTS = ("pvec", "pscale", "poff")


def referenced_files(manifest: dict[str, Any] | None) -> set[str]:
    if manifest is None:
        return set()
    names = {f"{s['name']}.{part}.npy" for s in manifest["segments"] for part in ("vec", "ids", "hash")}
    names |= {f"{s['name']}.vscale.npy" for s in manifest["segments"] if s.get("vectors") == "int8"}
    names |= {f"{s['name']}.{part}.npy" for s in manifest["segments"] if "passages" in s for part in PASSAGE_PARTS}
    if manifest.get("ann"):
        names.add(manifest["ann"]["file"])
    return names


def remove_unreferenced(folder: Path, keep: set[str]) -> None:
    """Delete superseded segments, ann files and leftovers of a killed write (caller holds the lock)."""
    for path in folder.iterdir():
        if (path.name.startswith(("seg-", "ann-", ".tmp-"))) and path.name not in keep:
            path.unlink(missing_ok=True)


@dataclass
class Snapshot:
    """The vectors of one manifest, opened: segments memory-mapped, and which row is live per paper."""

    manifest: dict[str, Any]
    vectors: list[np.ndarray] = field(default_factory=list)  # per segment, memory-mapped: int8 or float32
    scales: list[npt.NDArray[np.float32] | None] = field(default_factory=list)  # per segment (None: float32)
    seg_ids: list[IdArray] = field(default_factory=list)
    all_ids: IdArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # segments concatenated
    live: npt.NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))
    ids: IdArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # live paper ids, sorted
    positions: npt.NDArray[np.intp] = field(default_factory=lambda: np.empty(0, dtype=np.intp))  # their rows
    hashes: npt.NDArray[np.uint64] = field(default_factory=lambda: np.empty(0, dtype=np.uint64))  # per live id
    offsets: list[int] = field(default_factory=list)  # first global row of each segment
    passages: list[Passages | None] = field(default_factory=list)  # per segment (None: built without)
    ann: Any = None  # the usearch view when the manifest's ANN file is current (set by the reader)

    @property
    def model(self) -> str:
        return str(self.manifest["model"])

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> Snapshot:
        snap = cls(manifest)
        hashes = []
        offset = 0
        for seg in manifest["segments"]:
            vec = np.load(folder / f"{seg['name']}.vec.npy", mmap_mode="r", allow_pickle=False)
            ids = np.load(folder / f"{seg['name']}.ids.npy", allow_pickle=False)
            hashes.append(np.load(folder / f"{seg['name']}.hash.npy", allow_pickle=False))
            # Segments from before int8 vectors hold float32 and have no scales; both are read.
            scales = (np.load(folder / f"{seg['name']}.vscale.npy", allow_pickle=False)
                      if seg.get("vectors") == "int8" else None)
            if vec.shape != (len(ids), snap.dim) or (scales is not None and len(scales) != len(ids)):
                raise PaperscopeError(f"segment {seg['name']} in {folder} has shape {vec.shape}; "
                                      "delete the folder and run `paperscope index`")
            snap.vectors.append(vec)
            snap.scales.append(scales)
            snap.seg_ids.append(ids)
            snap.passages.append(_load_passages(folder, seg, len(ids), snap.dim))
            snap.offsets.append(offset)
            offset += len(ids)
        if not snap.vectors:
            return snap
        snap.all_ids = np.concatenate(snap.seg_ids)
        all_hashes = np.concatenate(hashes)
        # The newest row of a paper wins: unique over the reversed ids gives each id's last row.
        reversed_ids = snap.all_ids[::-1]
        snap.ids, first_in_reversed = np.unique(reversed_ids, return_index=True)
        snap.positions = (len(snap.all_ids) - 1 - first_in_reversed).astype(np.intp)
        snap.live = np.zeros(len(snap.all_ids), dtype=bool)
        snap.live[snap.positions] = True
        snap.hashes = all_hashes[snap.positions]
        return snap

    def lookup(self, paper_ids: IdArray) -> tuple[IdArray, npt.NDArray[np.intp]]:
        """The given ids that have a vector, and their global rows."""
        if len(self.ids) == 0 or len(paper_ids) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.intp)
        where = np.searchsorted(self.ids, paper_ids).clip(0, len(self.ids) - 1)
        found = self.ids[where] == paper_ids
        return paper_ids[found], self.positions[where[found]]

    def best_passages(self, positions: npt.NDArray[np.intp], query: npt.NDArray[np.float32]
                      ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.intp]]:
        """For each global row: the best cosine of ``query`` over its passages (-inf where it
        has none) and that passage's number (-1 where none)."""
        best = np.full(len(positions), -np.inf, dtype=np.float32)
        which = np.full(len(positions), -1, dtype=np.intp)
        seg_of = np.searchsorted(np.asarray(self.offsets), positions, side="right") - 1
        for s in np.unique(seg_of):
            passages = self.passages[s]
            if passages is None:
                continue
            mine = np.flatnonzero(seg_of == s)
            rows = (positions[mine] - self.offsets[s]).astype(np.intp)
            at, owner = passages.select(rows)
            if len(at) == 0:
                continue
            # Sorted positions read the memory map front to back; the codes are gathered once.
            scores = passages.scores(at, query)
            order = np.lexsort((-scores, owner))  # by owner, best first within each
            firsts = order[np.r_[0, np.flatnonzero(np.diff(owner[order])) + 1]]
            best[mine[owner[firsts]]] = scores[firsts]
            which[mine[owner[firsts]]] = at[firsts] - passages.offsets[rows[owner[firsts]]]
        return best, which

    def passage_rows(self, positions: npt.NDArray[np.intp]) -> Passages:
        """The passages of global rows, in their order (a copy), for folding segments into one;
        stored as :func:`passage_bits` says now (older segments' codes are re-quantized)."""
        seg_of = np.searchsorted(np.asarray(self.offsets), positions, side="right") - 1
        counts = np.zeros(len(positions), dtype=np.int64)
        for s in np.unique(seg_of):
            passages = self.passages[s]
            if passages is not None:
                mine = np.flatnonzero(seg_of == s)
                rows = positions[mine] - self.offsets[s]
                counts[mine] = passages.offsets[rows + 1] - passages.offsets[rows]
        offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
        bits = passage_bits(self.dim)
        total = int(offsets[-1])
        out = Passages(np.empty((total, self.dim), dtype=np.int8) if bits == 8 else
                       np.empty((total, self.dim // 2), dtype=np.uint8),
                       np.empty(total, dtype=np.float32), offsets, bits)
        for s in np.unique(seg_of):
            passages = self.passages[s]
            if passages is None:
                continue
            mine = np.flatnonzero(seg_of == s).astype(np.intp)
            at, _ = passages.select((positions[mine] - self.offsets[s]).astype(np.intp))
            targets, _ = out.select(mine)
            if passages.bits == bits:
                out.codes[targets] = passages.codes[at]
                out.scales[targets] = passages.scales[at]
            else:
                vectors = passages.values(at).astype(np.float32) * passages.scales[at, None]
                out.codes[targets], out.scales[targets] = quantize(vectors, bits)
        return out

    def rows(self, positions: npt.NDArray[np.intp]) -> np.ndarray:
        """Vectors at global rows (a float32 copy), gathered segment by segment."""
        out = np.empty((len(positions), self.dim), dtype=np.float32)
        seg_of = np.searchsorted(np.asarray(self.offsets), positions, side="right") - 1
        for s in np.unique(seg_of):
            mask = seg_of == s
            rows = positions[mask] - self.offsets[s]
            scales = self.scales[s]
            out[mask] = self.vectors[s][rows] if scales is None else self.vectors[s][rows] * scales[rows, None]
        return out

    def scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """``query``'s cosine with every row of every segment, superseded rows included."""
        if not self.vectors:
            return np.empty(0, dtype=np.float32)
        return np.concatenate([dot(vec, scales, query) for vec, scales in zip(self.vectors, self.scales, strict=True)])


def _load_passages(folder: Path, segment: dict[str, Any], rows: int, dim: int) -> Passages | None:
    if "passages" not in segment:
        return None
    name = segment["name"]
    bits = int(segment.get("passage_bits", 8))
    codes = np.load(folder / f"{name}.pvec.npy", mmap_mode="r", allow_pickle=False)
    scales = np.load(folder / f"{name}.pscale.npy", mmap_mode="r", allow_pickle=False)
    offsets = np.load(folder / f"{name}.poff.npy", allow_pickle=False)
    width = dim if bits == 8 else dim // 2
    if codes.shape != (segment["passages"], width) or len(scales) != len(codes) or len(offsets) != rows + 1:
        raise PaperscopeError(f"segment {name} in {folder} has passages of shape {codes.shape}; "
                              "delete the folder and run `paperscope index`")
    return Passages(codes, scales, offsets, bits)


def stored_as_now(manifest: dict[str, Any]) -> bool:
    """Whether every segment stores its vectors as new segments do (int8 papers, passages as
    :func:`passage_bits`); ``paperscope index`` rewrites an older index once, embedding nothing."""
    bits = passage_bits(int(manifest["dim"]))
    return all(s.get("vectors") == "int8" and ("passages" not in s or s.get("passage_bits", 8) == bits)
               for s in manifest["segments"])
