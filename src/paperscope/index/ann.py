"""The approximate (HNSW, usearch) index over the live vectors, built or patched after an update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import vectorfiles as vf

# Patch the old graph (remove + add the re-embedded papers) while the change is small; past
# this, or once many nodes were removed (removal degrades an HNSW graph), build afresh.
MAX_PATCH_FRACTION = 0.3
MAX_REMOVED_FRACTION = 0.2
_ADD_CHUNK = 100_000


def usearch_index_class() -> Any:
    """usearch's ``Index``, imported only after onnxruntime: the other order segfaults
    (usearch 2.26 + onnxruntime 1.32: ``python -c "import usearch.index; import onnxruntime"``
    exits 139), and a search process that opens an HNSW file before embedding its first
    query would load them in that order."""
    import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index


def _new_index(dim: int, connectivity: int, expansion_add: int) -> Any:
    Index = usearch_index_class()

    # Inner product on unit vectors is cosine.  Half precision halves the file (1.7 GB -> 0.9 GB
    # of vectors at 1M papers, what a serving process maps) and moved recall@10 by under 0.005
    # on 50k vectors (bench/vectors.py); scores differ from exact search's by ~1e-3.
    return Index(ndim=dim, metric="ip", dtype="f16", connectivity=connectivity, expansion_add=expansion_add)


def refresh_ann(folder: Path, snap: vf.Snapshot, old: dict[str, Any] | None,
                connectivity: int, expansion_add: int) -> dict[str, Any]:
    """Write an HNSW file holding exactly the snapshot's live vectors; returns its manifest entry."""
    Index = usearch_index_class()

    index = None
    removed = 0
    delta_positions = np.empty(0, dtype=np.intp)
    if old and (folder / old["file"]).exists():
        newer = [i for i, s in enumerate(snap.manifest["segments"]) if s["gen"] > old["gen"]]
        if newer:
            delta_positions = np.concatenate([
                np.flatnonzero(snap.live[snap.offsets[i] : snap.offsets[i] + len(snap.seg_ids[i])]) + snap.offsets[i]
                for i in newer
            ])
        removed = int(old.get("removed", 0))
        if len(delta_positions) <= MAX_PATCH_FRACTION * len(snap) and removed <= MAX_REMOVED_FRACTION * len(snap):
            index = Index.restore(str(folder / old["file"]), expansion_add=expansion_add)
    if index is not None:
        keys = snap.all_ids[delta_positions]
        present = np.asarray(index.contains(keys.astype(np.uint64)), dtype=bool).reshape(-1)
        if present.any():
            index.remove(keys[present].astype(np.uint64))
            removed += int(present.sum())
        positions, keys_all = delta_positions, keys
    else:
        index = _new_index(snap.dim, connectivity, expansion_add)
        removed = 0
        positions, keys_all = snap.positions, snap.all_ids[snap.positions]
    for start in range(0, len(positions), _ADD_CHUNK):
        chunk = positions[start : start + _ADD_CHUNK]
        index.add(keys_all[start : start + _ADD_CHUNK].astype(np.uint64), snap.rows(chunk))
    name = f"{vf.new_name('ann')}.usearch"
    tmp = folder / f".tmp-{name}"
    index.save(str(tmp))
    vf.fsync_replace(tmp, folder / name)
    return {"file": name, "size": len(snap), "removed": removed}
