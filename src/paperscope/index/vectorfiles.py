"""The files behind the semantic index: immutable vector segments, an HNSW file, and a manifest.

Layout of ``<home>/index/semantic/``::

    manifest.json            what readers use: model, dim, last change seq, segments, ann file
    manifest-next.json       a re-embedding for a new model in progress (swapped in when done)
    seg-<hex>.vec.npy        float32 [rows, dim] unit vectors (memory-mapped on open)
    seg-<hex>.ids.npy        int64 [rows] store paper ids
    seg-<hex>.hash.npy       uint64 [rows] hash of the embedded text (re-embed only on change)
    seg-<hex>.pvec.npy       int8 [passages, dim] the rows' passage vectors (index/passages.py)
    seg-<hex>.pscale.npy     float32 [passages] their scales (vector ~= int8 * scale)
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
    """Passage vectors of some rows, int8 with a scale each; row i owns codes[offsets[i]:offsets[i + 1]]."""

    codes: npt.NDArray[np.int8]
    scales: npt.NDArray[np.float32]
    offsets: IdArray

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
    name = new_name("seg")
    write_array(folder / f"{name}.vec.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    write_array(folder / f"{name}.ids.npy", np.asarray(ids, dtype=np.int64))
    write_array(folder / f"{name}.hash.npy", np.asarray(hashes, dtype=np.uint64))
    segment: dict[str, Any] = {"name": name, "rows": len(ids), "gen": gen}
    if passages is not None:
        if len(passages.offsets) != len(ids) + 1 or len(passages.scales) != len(passages.codes):
            raise ValueError("passages do not match the segment's rows")
        write_array(folder / f"{name}.pvec.npy", np.ascontiguousarray(passages.codes, dtype=np.int8))
        write_array(folder / f"{name}.pscale.npy", np.asarray(passages.scales, dtype=np.float32))
        write_array(folder / f"{name}.poff.npy", np.asarray(passages.offsets, dtype=np.int64))
        segment["passages"] = len(passages.codes)
    return segment


PASSAGE_PARTS = ("pvec", "pscale", "poff")


def referenced_files(manifest: dict[str, Any] | None) -> set[str]:
    if manifest is None:
        return set()
    names = {f"{s['name']}.{part}.npy" for s in manifest["segments"] for part in ("vec", "ids", "hash")}
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
    vectors: list[np.ndarray] = field(default_factory=list)  # per segment, memory-mapped
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
            if vec.shape != (len(ids), snap.dim):
                raise PaperscopeError(f"segment {seg['name']} in {folder} has shape {vec.shape}; "
                                      "delete the folder and run `paperscope index`")
            snap.vectors.append(vec)
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
            scores = (passages.codes[at].astype(np.float32) @ query) * passages.scales[at]
            order = np.lexsort((-scores, owner))  # by owner, best first within each
            firsts = order[np.r_[0, np.flatnonzero(np.diff(owner[order])) + 1]]
            best[mine[owner[firsts]]] = scores[firsts]
            which[mine[owner[firsts]]] = at[firsts] - passages.offsets[rows[owner[firsts]]]
        return best, which

    def passage_rows(self, positions: npt.NDArray[np.intp]) -> Passages:
        """The passages of global rows, in their order (a copy), for folding segments into one."""
        seg_of = np.searchsorted(np.asarray(self.offsets), positions, side="right") - 1
        counts = np.zeros(len(positions), dtype=np.int64)
        for s in np.unique(seg_of):
            passages = self.passages[s]
            if passages is not None:
                mine = np.flatnonzero(seg_of == s)
                rows = positions[mine] - self.offsets[s]
                counts[mine] = passages.offsets[rows + 1] - passages.offsets[rows]
        offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
        out = Passages(np.empty((int(offsets[-1]), self.dim), dtype=np.int8),
                       np.empty(int(offsets[-1]), dtype=np.float32), offsets)
        for s in np.unique(seg_of):
            passages = self.passages[s]
            if passages is None:
                continue
            mine = np.flatnonzero(seg_of == s).astype(np.intp)
            at, _ = passages.select((positions[mine] - self.offsets[s]).astype(np.intp))
            targets, _ = out.select(mine)
            out.codes[targets] = passages.codes[at]
            out.scales[targets] = passages.scales[at]
        return out

    def rows(self, positions: npt.NDArray[np.intp]) -> np.ndarray:
        """Vectors at global rows (a copy), gathered segment by segment."""
        out = np.empty((len(positions), self.dim), dtype=np.float32)
        seg_of = np.searchsorted(np.asarray(self.offsets), positions, side="right") - 1
        for s in np.unique(seg_of):
            mask = seg_of == s
            out[mask] = self.vectors[s][positions[mask] - self.offsets[s]]
        return out


def _load_passages(folder: Path, segment: dict[str, Any], rows: int, dim: int) -> Passages | None:
    if "passages" not in segment:
        return None
    name = segment["name"]
    codes = np.load(folder / f"{name}.pvec.npy", mmap_mode="r", allow_pickle=False)
    scales = np.load(folder / f"{name}.pscale.npy", mmap_mode="r", allow_pickle=False)
    offsets = np.load(folder / f"{name}.poff.npy", allow_pickle=False)
    if codes.shape != (segment["passages"], dim) or len(scales) != len(codes) or len(offsets) != rows + 1:
        raise PaperscopeError(f"segment {name} in {folder} has passages of shape {codes.shape}; "
                              "delete the folder and run `paperscope index`")
    return Passages(codes, scales, offsets)
