"""Semantic search and related papers over paper embeddings, kept up to date incrementally.

:class:`SemanticIndex` follows the store's change record (``store.changes_since``): each
update embeds the papers added or changed since its last seq whose title + abstract text
actually changed, in checkpoints of :attr:`SemanticIndex.page_size` changes, each committed
as a new segment + manifest (see :mod:`.vectorfiles`).  Search is an exact matrix product
over the unit vectors below :attr:`ann_threshold` papers, and a usearch HNSW index above it.
"""

from __future__ import annotations

import fcntl
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from ..config import environment_settings
from ..errors import PaperscopeError, QueryError
from ..store import Store
from . import vectorfiles as vf
from .embed import Embedder, configured_model, load_embedder, load_query_embedder, paper_text
from .hits import Hits
from .passages import PASSAGES_VERSION, split_passages

# Below this many papers exact search is fast enough (~10 ms per query at 100k x 384 float32)
# and has perfect recall; above it the HNSW index answers in well under a millisecond.
ANN_THRESHOLD = 100_000
# HNSW parameters: recall@10 >= 0.98 against exact search is required (bench/vectors.py at 50k,
# bench/search.py at 1M, tests).  Connectivity 16 / expansion 128 built twice as fast but
# reached only 0.92 (search width 256) and 0.95 (512) on 1M title vectors; 32 / 200 reaches
# 0.956 at 256 and 0.981 at 512 there (1.000 at 50k), and a 512-wide search costs ~2 ms.
ANN_CONNECTIVITY = 32
ANN_EXPANSION_ADD = 200
ANN_EXPANSION_SEARCH = 512
# Filtered search: exact over the allowed rows when there are at most this many of them;
# above that, HNSW read at most FILTERED_ANN_MAX deep, then filtered.
EXACT_SUBSET_MAX = 10_000
FILTERED_ANN_MAX = 3_000
# Segments kept before everything is rewritten into one (a rewrite does not change vectors).
MAX_SEGMENTS = 8
# Recent query embeddings kept (384 float32 each: 1.5 KiB, so 1,024 of them take 1.5 MiB).
QUERY_CACHE = 1024


def _top(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the k best scores, best first."""
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class SemanticIndex:
    """Embeddings of every paper in the store, under ``<index_dir>/semantic``."""

    page_size = 10_000  # changes per checkpoint

    def __init__(self, folder: Path, model: str, ann_threshold: int, passages: bool = True) -> None:
        self.folder = folder
        self.model = model
        self.ann_threshold = ann_threshold
        # The passages version this index makes (0: papers' own vectors only).
        self.passages_version = PASSAGES_VERSION if passages else 0
        self._snap: vf.Snapshot | None = None
        self._seen: tuple[int, int] | None = None  # (inode, mtime) of the manifest we loaded
        # Query text -> embedding, most recent last.  Every page of a result list, and every
        # reader of a popular query, would otherwise embed the same text again (5-15 ms).
        self._queries: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._queries_lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: Path, model: str | None = None, *, ann_threshold: int | None = None,
             passages: bool | None = None) -> SemanticIndex:
        """Open (creating the folder); ``model`` defaults to ``$PAPERSCOPE_EMBEDDING_MODEL`` or MiniLM
        int8, ``passages`` to ``$PAPERSCOPE_EMBEDDING_PASSAGES`` (on)."""
        folder = Path(index_dir) / "semantic"
        folder.mkdir(parents=True, exist_ok=True)
        if passages is None:
            passages = environment_settings().embedding_passages
        return cls(folder, configured_model(model), ANN_THRESHOLD if ann_threshold is None else ann_threshold,
                   passages)

    def scores_passages(self) -> bool:
        """Whether the vectors searched now include passages (the floors and weights differ)."""
        snap = self.snapshot()
        return snap is not None and _with_passages(snap.manifest)

    @staticmethod
    def remove(index_dir: Path) -> None:
        """Delete the semantic index (``paperscope index --rebuild``); the next update re-embeds all."""
        folder = Path(index_dir) / "semantic"
        if folder.exists():
            shutil.rmtree(folder)

    def close(self) -> None:
        self._snap = None
        self._seen = None

    def __enter__(self) -> SemanticIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------
    def snapshot(self) -> vf.Snapshot | None:
        """The current vectors; re-opened when another process (or an update) swapped the manifest."""
        path = self.folder / vf.MANIFEST
        for _attempt in range(5):
            try:
                stat = path.stat()
            except FileNotFoundError:
                self.close()
                return None
            key = (stat.st_ino, stat.st_mtime_ns)
            if key == self._seen:
                return self._snap
            manifest = vf.read_manifest(path)
            if manifest is None:
                continue
            try:
                snap = vf.Snapshot.load(self.folder, manifest)
                snap.ann = self._open_ann(manifest)
            except FileNotFoundError:
                # An update replaced the manifest and removed its old files while we read: retry.
                time.sleep(0.05)
                continue
            # One assignment: a thread searching meanwhile sees the old or the new pair, never a mix.
            self._snap, self._seen = snap, key
            return snap
        raise PaperscopeError(f"semantic index {self.folder} keeps changing under us; try again")

    def _open_ann(self, manifest: dict[str, Any]) -> Any:
        ann = manifest.get("ann")
        if not ann or ann["gen"] != manifest["gen"]:
            return None  # missing or stale: exact search stays correct meanwhile
        from .ann import usearch_index_class

        path = str(self.folder / ann["file"])
        index = usearch_index_class().restore(path, view=True, expansion_search=ANN_EXPANSION_SEARCH)
        if index is None:
            raise FileNotFoundError(ann["file"])
        return index

    def stats(self) -> dict[str, Any]:
        snap = self.snapshot()
        if snap is None:
            return {"model": self.model, "papers": 0, "ann": False}
        # Passages: None for an index from before them (searched by paper vectors alone).
        passages = (sum(int(s.get("passages", 0)) for s in snap.manifest["segments"])
                    if _with_passages(snap.manifest) else None)
        return {"model": snap.model, "dim": snap.dim, "papers": len(snap), "segments": len(snap.vectors),
                "last_seq": snap.manifest["last_seq"], "ann": snap.ann is not None, "passages": passages}

    def has(self, paper_id: int) -> bool:
        snap = self.snapshot()
        return snap is not None and len(snap.lookup(np.array([paper_id], dtype=np.int64))[0]) == 1

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """The query's embedding (read-only), from the cache of recent queries when it is there."""
        with self._queries_lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
        vector = load_query_embedder(self.model).embed([text])[0]
        vector.flags.writeable = False  # shared by every caller that asks for this text
        with self._queries_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector

    def search(self, query: str, k: int, allowed: npt.NDArray[np.int64] | None = None, *,
               at_least: int | None = None, vector: npt.NDArray[np.float32] | None = None) -> Hits:
        """Papers nearest to the query text; ``allowed`` (sorted store ids) restricts the candidates.

        With ``allowed``, ``at_least`` (default ``k``) is how many a filtered search must find
        before it may stop short of ``k`` (see :meth:`search_vector`).  ``vector`` is the query's
        embedding when the caller made it already (:meth:`embed_query`)."""
        snap = self.snapshot()
        if snap is None or len(snap) == 0 or k <= 0:
            return Hits.empty()
        if snap.model != self.model:
            raise QueryError(
                f"the semantic index holds vectors of model {snap.model!r} but {self.model!r} is configured; "
                "run `paperscope index` to re-embed, or set $PAPERSCOPE_EMBEDDING_MODEL back"
            )
        q = self.embed_query(query) if vector is None else vector
        return self.search_vector(q, k, allowed, at_least=at_least)

    def rescore(self, vector: npt.NDArray[np.float32], ids: npt.NDArray[np.int64]
                ) -> tuple[Hits, dict[int, int]]:
        """Each of ``ids`` that has an embedding, scored by the best of its own vector and its
        passages (MaxP: see index/passages.py), best first; and, for papers whose best is a
        passage, that passage's number (``split_passages`` order)."""
        snap = self.snapshot()
        if snap is None or len(ids) == 0:
            return Hits.empty(), {}
        found, positions = snap.lookup(np.unique(np.asarray(ids, dtype=np.int64)))
        if len(found) == 0:
            return Hits.empty(), {}
        q = np.asarray(vector, dtype=np.float32)
        scores = snap.rows(positions) @ q
        if _with_passages(snap.manifest):
            best, which = snap.best_passages(positions, q)
            better = best > scores
            scores = np.where(better, best, scores).astype(np.float32)
            passage = {int(i): int(n) for i, n in zip(found[better].tolist(), which[better].tolist(), strict=True)}
        else:
            passage = {}
        order = np.lexsort((found, -scores))
        return Hits(found[order], scores[order].astype(np.float32)), passage

    def related(self, paper_id: int, k: int) -> Hits:
        """Nearest neighbours of a paper's own vector, the paper itself left out."""
        snap = self.snapshot()
        found = None if snap is None else snap.lookup(np.array([paper_id], dtype=np.int64))[1]
        if snap is None or found is None or len(found) == 0:
            raise QueryError(f"paper {paper_id} has no embedding yet; run `paperscope index`")
        hits = self.search_vector(snap.rows(found)[0], k + 1)
        keep = hits.ids != paper_id
        return Hits(hits.ids[keep][:k], hits.scores[keep][:k])

    def search_vector(self, vector: npt.NDArray[np.float32], k: int,
                      allowed: npt.NDArray[np.int64] | None = None, *, at_least: int | None = None) -> Hits:
        """The ``k`` nearest vectors, among ``allowed`` ids when given.

        A filtered search over a large allowed set reads the HNSW index a bounded number of
        neighbours deep (in proportion to how much the filter removes, at most
        :data:`FILTERED_ANN_MAX`) and keeps the allowed ones; when that finds at least
        ``at_least`` of them it returns what it found, else it scores every allowed row exactly.
        Hybrid search asks for a page's worth at least and fills the rest from keyword hits, so
        a filter never makes it read the graph thousands deep (tens of ms at 1M papers).
        """
        snap = self.snapshot()
        if snap is None or len(snap) == 0 or k <= 0:
            return Hits.empty()
        q = np.asarray(vector, dtype=np.float32)
        if allowed is None:
            if snap.ann is not None:
                hits = self._ann_search(snap, q, min(k, len(snap)))
                if len(hits) >= min(k, len(snap)):
                    return hits
            return self._exact_all(snap, q, k)
        allowed = np.asarray(allowed, dtype=np.int64)
        if len(allowed) > EXACT_SUBSET_MAX and snap.ann is not None:
            # Oversample in proportion to how much the filter removes, then fall back to exact.
            want = min(k, len(allowed))
            enough = min(want, at_least if at_least is not None else want)
            # Deep enough to expect twice ``enough`` allowed papers (and never shallower than k);
            # if that falls short, once more as deep as allowed, and only then exact.
            share = len(allowed) / len(snap)
            first = min(len(snap), FILTERED_ANN_MAX, max(want, int(2 * enough / share)))
            for count in dict.fromkeys((first, min(len(snap), FILTERED_ANN_MAX))):
                hits = self._ann_search(snap, q, count)
                # allowed is sorted: a binary search per hit.  Not snap.lookup(allowed) first,
                # which costs tens of ms when a filter allows hundreds of thousands of papers.
                at = np.minimum(np.searchsorted(allowed, hits.ids), len(allowed) - 1)
                keep = allowed[at] == hits.ids
                if keep.sum() >= enough:
                    return Hits(hits.ids[keep][:k], hits.scores[keep][:k])
        ids, positions = snap.lookup(allowed)
        if len(ids) == 0:
            return Hits.empty()
        return self._exact_rows(snap, q, k, ids, positions)

    def _ann_search(self, snap: vf.Snapshot, q: npt.NDArray[np.float32], count: int) -> Hits:
        matches = snap.ann.search(q, count)
        # metric "ip" on unit vectors: distance = 1 - cosine.
        return Hits(matches.keys.astype(np.int64), (1.0 - matches.distances).astype(np.float32))

    def _exact_all(self, snap: vf.Snapshot, q: npt.NDArray[np.float32], k: int) -> Hits:
        scores = snap.scores(q)
        scores[~snap.live] = -np.inf  # rows superseded by a newer embedding of the same paper
        best = _top(scores, min(k, len(snap)))
        return Hits(snap.all_ids[best], scores[best])

    def _exact_rows(self, snap: vf.Snapshot, q: npt.NDArray[np.float32], k: int,
                    ids: npt.NDArray[np.int64], positions: npt.NDArray[np.intp]) -> Hits:
        scores = np.empty(len(ids), dtype=np.float32)
        for start in range(0, len(ids), 65536):  # bounded memory for large allowed sets
            scores[start : start + 65536] = snap.rows(positions[start : start + 65536]) @ q
        best = _top(scores, k)
        return Hits(ids[best], scores[best])

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One updater at a time (readers never lock: they read whole files named by the manifest)."""
        with open(self.folder / "update.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def update(self, store: Store, *, progress: bool = False, embedder: Embedder | None = None,
               restage: bool = True) -> dict[str, Any]:
        """Embed what changed in the store since the last update (everything after a model change).

        ``embedder`` replaces the configured model's (loaded on first need) for this update; its
        ``name`` must be the index's model.  bench/search.py passes one at scale.  With
        ``restage=False`` (the serving refresher) an index of this model from before passages is
        kept current as it is, new papers without passages: re-embedding a whole library is
        ``paperscope index``'s to start, not a side effect of a paper arriving.
        """
        if embedder is not None and embedder.name != self.model:
            raise QueryError(f"embedder {embedder.name!r} given for an index of model {self.model!r}")
        start = time.perf_counter()
        with self._locked():
            current = vf.read_manifest(self.folder / vf.MANIFEST)
            manifest: dict[str, Any] | None
            if current is not None and not restage and current["model"] == self.model and not self._same_kind(current):
                work_path, manifest = self.folder / vf.MANIFEST, current
            elif current is None or self._same_kind(current):
                # Checkpoints go live as they are made: a first build is searchable while it runs.
                work_path, manifest = self.folder / vf.MANIFEST, current
                # A staged build for some other model was abandoned: its files go below.
                (self.folder / vf.NEXT_MANIFEST).unlink(missing_ok=True)
            else:
                # New model: build beside the current vectors and swap at the end, so searches
                # keep working on the old ones meanwhile; a killed build resumes.
                work_path = self.folder / vf.NEXT_MANIFEST
                staged = vf.read_manifest(work_path)
                manifest = staged if staged is not None and self._same_kind(staged) else None
            if manifest is None:
                embedder = embedder or load_embedder(self.model)
                manifest = vf.empty_manifest(embedder.name, embedder.dim)
                manifest["passages"] = self.passages_version
                vf.write_manifest(work_path, manifest)
            embedded, run_segments = self._follow_changes(store, manifest, work_path, embedder, progress)
            snap = self._finish(manifest, work_path, run_segments, rewrite_old=restage)
            if work_path.name == vf.NEXT_MANIFEST:
                vf.write_manifest(self.folder / vf.MANIFEST, manifest)
                (self.folder / vf.NEXT_MANIFEST).unlink()
            # A staged build left for ``paperscope index`` to resume (restage=False) keeps its files.
            staged_files = vf.referenced_files(vf.read_manifest(self.folder / vf.NEXT_MANIFEST))
            vf.remove_unreferenced(self.folder, vf.referenced_files(manifest) | staged_files)
        return {"embedded": embedded, "total": len(snap), "seconds": round(time.perf_counter() - start, 3),
                "model": manifest["model"], "dim": manifest["dim"], "ann": bool(manifest.get("ann"))}

    def _same_kind(self, manifest: dict[str, Any]) -> bool:
        """Whether ``manifest``'s vectors are what this index makes now: the same model, and
        passages cut the same way or, both, none (an index from before passages, or with passages
        turned on or off since, is re-embedded beside the old one, which keeps answering)."""
        return bool(manifest["model"] == self.model and manifest.get("passages", 0) == self.passages_version)

    def _follow_changes(self, store: Store, manifest: dict[str, Any], work_path: Path,
                        embedder: Embedder | None, progress: bool) -> tuple[int, list[dict[str, Any]]]:
        snap = vf.Snapshot.load(self.folder, manifest)
        # An index without passages (turned off, or from before them) gets none.
        with_passages = _with_passages(manifest)
        known: dict[int, int] = {}  # text hashes of papers embedded in this run
        embedded = 0
        run_segments: list[dict[str, Any]] = []
        pending = max(store.last_change_seq() - manifest["last_seq"], 0)
        with tqdm(total=pending, unit="paper", desc="embedding", disable=not progress or not pending) as bar:
            while changes := store.changes_since(manifest["last_seq"], limit=self.page_size):
                paper_ids = sorted({c.paper_id for c in changes})
                texts, ids, hashes, passages = [], [], [], []
                old_ids, _ = snap.lookup(np.asarray(paper_ids, dtype=np.int64))
                old = dict(zip(old_ids.tolist(), snap.hashes[np.searchsorted(snap.ids, old_ids)].tolist(),
                               strict=True)) if len(old_ids) else {}
                for paper in store.get_papers(paper_ids):
                    text = paper_text(paper.title, paper.abstract)
                    digest = vf.text_hash(text)
                    if known.get(paper.id, old.get(paper.id)) == digest:
                        continue  # metadata other than title/abstract changed: vector still right
                    texts.append(text)
                    ids.append(paper.id)
                    hashes.append(digest)
                    passages.append(split_passages(paper.title, paper.abstract or "") if with_passages else [])
                bar.update(len(changes) - len(texts))  # repeats and unchanged texts: nothing to embed
                if texts:
                    if embedder is None:
                        embedder = load_embedder(self.model)
                    vectors = np.empty((len(texts), int(manifest["dim"])), dtype=np.float32)
                    passage_vectors = []
                    for s in range(0, len(texts), 256):  # small steps so the bar moves
                        vectors[s : s + 256] = embedder.embed(texts[s : s + 256])
                        pieces = [p for group in passages[s : s + 256] for p in group]
                        if pieces:
                            passage_vectors.append(embedder.embed(pieces))
                        bar.update(len(texts[s : s + 256]))
                    segment = vf.write_segment(self.folder, vectors, np.asarray(ids, dtype=np.int64),
                                               np.asarray(hashes, dtype=np.uint64), manifest["gen"] + 1,
                                               _passages(passage_vectors, passages, vectors.shape[1])
                                               if with_passages else None)
                    manifest["segments"].append(segment)
                    run_segments.append(segment)
                    known.update(zip(ids, hashes, strict=True))
                    embedded += len(texts)
                    # A new generation only when the vectors changed: the HNSW index is current
                    # while its gen matches, and a vote (no new text) must not make the next
                    # update reload and rewrite a graph of a million vectors.
                    manifest["gen"] += 1
                manifest["last_seq"] = changes[-1].seq
                vf.write_manifest(work_path, manifest)  # checkpoint: after the segment is on disk
        return embedded, run_segments

    def _finish(self, manifest: dict[str, Any], work_path: Path, run_segments: list[dict[str, Any]],
                rewrite_old: bool = True) -> vf.Snapshot:
        """Bring the ANN index up to date, then fold this run's segments (or all of them) into one.

        With ``rewrite_old``, an index holding segments from before int8 paper vectors and 4-bit
        passages (float32 and int8) is folded whole, which stores them so: at 1M papers its files
        go from 3.6 to 2.0 GiB, and so does the memory a search maps; nothing is re-embedded.  The
        serving refresher leaves that one-off rewrite to ``paperscope index``, as it does
        re-embedding."""
        snap = vf.Snapshot.load(self.folder, manifest)
        ann = manifest.get("ann")
        if len(snap) >= self.ann_threshold and (not ann or ann["gen"] != manifest["gen"]):
            from .ann import refresh_ann

            manifest["ann"] = refresh_ann(self.folder, snap, ann, ANN_CONNECTIVITY, ANN_EXPANSION_ADD)
            manifest["ann"]["gen"] = manifest["gen"]
            vf.write_manifest(work_path, manifest)
        elif len(snap) < self.ann_threshold and ann:
            manifest["ann"] = None
            vf.write_manifest(work_path, manifest)
        dead = len(snap.all_ids) - len(snap)
        rewrite = rewrite_old and not vf.stored_as_now(manifest)
        if len(manifest["segments"]) > MAX_SEGMENTS or dead > 0.25 * max(len(snap), 1) or rewrite:
            fold = list(manifest["segments"])
        elif len(run_segments) > 1:
            fold = run_segments
        else:
            return snap
        self._fold(manifest, work_path, snap, fold)
        return vf.Snapshot.load(self.folder, manifest)

    def _fold(self, manifest: dict[str, Any], work_path: Path, snap: vf.Snapshot,
              fold: list[dict[str, Any]]) -> None:
        """Rewrite some segments as one holding only their live rows.  The live vectors do not
        change (a float32 one is rounded to int8, moving its cosines by < 0.01), so an ANN index
        that was current stays current."""
        names = {s["name"] for s in fold}
        chosen = [i for i, s in enumerate(manifest["segments"]) if s["name"] in names]
        positions = np.concatenate([
            np.flatnonzero(snap.live[snap.offsets[i] : snap.offsets[i] + len(snap.seg_ids[i])]) + snap.offsets[i]
            for i in chosen
        ])
        ids = snap.all_ids[positions]
        order = np.argsort(ids, kind="stable")
        positions, ids = positions[order], ids[order]
        hashes = snap.hashes[np.searchsorted(snap.ids, ids)]
        segment = vf.write_segment(self.folder, snap.rows(positions), ids, hashes, max(s["gen"] for s in fold),
                                   snap.passage_rows(positions) if _with_passages(manifest) else None)
        first = chosen[0]
        kept = [s for s in manifest["segments"] if s["name"] not in names]
        # The folded segment takes the place of the first one folded, so "newest row wins" holds.
        kept.insert(first, segment)
        was_current = bool(manifest.get("ann")) and manifest["ann"]["gen"] == manifest["gen"]
        manifest["segments"] = kept
        manifest["gen"] += 1
        if was_current:
            manifest["ann"]["gen"] = manifest["gen"]
        vf.write_manifest(work_path, manifest)


def _passages(vectors: list[npt.NDArray[np.float32]], texts: list[list[str]], dim: int) -> vf.Passages:
    """One segment's passages, quantized (``texts``: each row's passage texts, in row order)."""
    offsets = np.r_[0, np.cumsum([len(group) for group in texts])].astype(np.int64)
    bits = vf.passage_bits(dim)
    codes, scales = vf.quantize(np.concatenate(vectors) if vectors else np.empty((0, dim), dtype=np.float32), bits)
    return vf.Passages(codes, scales, offsets, bits)


def _with_passages(manifest: dict[str, Any]) -> bool:
    """Whether an index's papers are scored by their passages: it was built with this version's."""
    return bool(manifest.get("passages") == PASSAGES_VERSION)
