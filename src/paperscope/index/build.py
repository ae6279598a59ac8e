"""``paperscope index``: bring the keyword, metadata and semantic indexes up to date with the store.

Incremental by default: each index remembers the store's change seq it has reached and
processes only papers changed since (``store.changes_since``); a changed paper is replaced,
never duplicated.  An empty index, or ``rebuild=True``, reads every paper instead (faster
than replaying the whole change record).  Searches keep working meanwhile: tantivy readers see
the previous commit and the metadata files are swapped atomically.

One updater of the keyword and metadata indexes per folder at a time: :func:`update_lock` (an
``fcntl.flock`` on ``<index>/update.lock``).  ``paperscope index`` waits for it; the background
refresher of ``paperscope serve`` (:mod:`.refresher`) only tries it, and skips a round when it
is taken.  The semantic index has a lock of its own (see :mod:`.vectors`), so a long embedding
run does not hold back keyword updates.
"""

from __future__ import annotations

import contextlib
import fcntl
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from ..errors import QueryError
from ..store import Paper, Store
from .keyword import MAX_SHARDS, KeywordIndex, KeywordWriter, shard_count
from .meta import MetaIndex

BATCH = 2000
# Commit the keyword index every this many papers during a rebuild, so that an interrupted
# rebuild does not lose everything (and a reader sees progress).
COMMIT_EVERY = 200_000
UPDATE_LOCK = "update.lock"


def keyword_dir(index_dir: Path) -> Path:
    return index_dir / "keyword"


def meta_dir(index_dir: Path) -> Path:
    return index_dir / "meta"


@contextlib.contextmanager
def update_lock(index_dir: Path, *, wait: bool = True, name: str = UPDATE_LOCK) -> Iterator[bool]:
    """Hold the lock file ``name`` in the index folder (by default the keyword and metadata
    indexes' update lock); yields False, holding nothing, when ``wait`` is off and it is taken.

    An ``flock`` rather than tantivy's own writer lock: it also covers the metadata files, which
    have no lock of their own, and a process that dies lets go of it with its file descriptors.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / name, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def keyword_seq(index_dir: Path) -> int:
    """The change seq both the keyword and metadata indexes have reached (0 when either is missing).

    Read from their state files, without opening tantivy: cheap enough to ask every few seconds.
    """
    seqs = []
    for state in (keyword_dir(index_dir) / "state.json", meta_dir(index_dir) / "state.json"):
        try:
            seqs.append(int(orjson.loads(state.read_bytes())["seq"]))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return 0  # missing or unreadable: the next update rebuilds or replays it
    return min(seqs)


def _changed_batches(store: Store, seq: int) -> Iterator[tuple[list[int], int]]:
    """Distinct changed paper ids, a batch at a time, with the seq reached after the batch."""
    while True:
        changes = store.changes_since(seq, limit=BATCH * 4)
        if not changes:
            return
        seq = changes[-1].seq
        yield list(dict.fromkeys(c.paper_id for c in changes)), seq


def update_keyword(
    store: Store, index_dir: Path, *, rebuild: bool = False, progress: bool = False, shards: int | None = None
) -> dict[str, Any]:
    """Update the keyword and metadata indexes together (they index the same papers).

    ``shards`` rebuilds the keyword index with that many shards when it has another count;
    by default a build from scratch picks the count from the number of papers (:func:`shard_count`).
    """
    if shards is not None and not 1 <= shards <= MAX_SHARDS:
        raise QueryError(f"shards {shards} must be between 1 and {MAX_SHARDS}")
    started = time.perf_counter()
    meta = MetaIndex.open(meta_dir(index_dir), writable=True)
    directory = keyword_dir(index_dir)
    fresh = rebuild or not KeywordIndex.exists(directory) or not meta.state_path.exists() or meta.stale
    if shards is not None and KeywordIndex.shards_in(directory) != shards:
        fresh = True
    if shards is None:
        shards = shard_count(store.count_papers()) if fresh else 1
    try:
        keyword = KeywordIndex.open(directory, shards=shards)
    except QueryError:
        if not fresh:
            raise
        # An index that cannot be opened (say, an older schema) is only removed when we are
        # rebuilding anyway.  Otherwise the folder is kept: readers may have it open.
        KeywordIndex.remove(directory)
        keyword = KeywordIndex.open(directory, shards=shards)
    if fresh and len(keyword.shards) != shards:
        # The library has grown (or shrunk) past a shard boundary: build the new layout from
        # empty.  Readers see it filling up, as on a first build.
        keyword.close()
        KeywordIndex.remove(directory)
        keyword = KeywordIndex.open(directory, shards=shards)
    if fresh:
        meta.clear()
    # The two indexes may have reached different points (a crash between their saves):
    # replay from the earlier one; replacing a document twice is harmless.
    seq = 0 if fresh else min(keyword.seq, meta.seq)
    indexed = removed = 0
    with keyword.writer() as writer:
        if fresh:
            # Replacing a live index commits once at the end, so readers never see it half
            # built; building into an empty one commits as it goes, so a crash keeps progress.
            replacing = keyword.num_docs() > 0
            writer.delete_all()
            indexed, seq = _full(store, writer, meta, progress, commit_as_we_go=not replacing)
        else:
            indexed, removed, seq = _incremental(store, writer, meta, seq, progress)
        writer.commit(seq)
    meta.save(seq)
    keyword.reload()
    documents = keyword.num_docs()
    keyword.close()
    elapsed = time.perf_counter() - started
    return {
        "mode": "rebuild" if fresh else "incremental",
        "indexed": indexed,
        "removed": removed,
        "documents": documents,
        "shards": len(keyword.shards),
        "seq": seq,
        "seconds": round(elapsed, 3),
        "rate_per_s": round(indexed / elapsed, 1) if elapsed > 0 and indexed else 0.0,
    }


def _bar(total: int, desc: str, progress: bool) -> tqdm:
    return tqdm(total=total, unit="paper", desc=desc, disable=not progress, file=sys.stderr)


def _full(
    store: Store, writer: KeywordWriter, meta: MetaIndex, progress: bool, *, commit_as_we_go: bool
) -> tuple[int, int]:
    # Take the seq first: a paper changed while we read is then replayed by the next update.
    seq = store.last_change_seq()
    count = 0
    with _bar(store.count_papers(), "index keyword", progress) as bar:
        for batch in store.iter_papers(BATCH):
            batch = _with_list_dates(store, batch)
            writer.add_new(batch)
            meta.put(batch)
            count += len(batch)
            bar.update(len(batch))
            if commit_as_we_go and count % COMMIT_EVERY < len(batch):
                writer.flush()
    return count, seq


def _with_list_dates(store: Store, batch: list[Paper]) -> list[Paper]:
    """Papers without a publication day are dated by their daily lists, which iter_papers omits."""
    undated = [p.id for p in batch if not p.published]
    if not undated:
        return batch
    fetched = {p.id: p for p in store.get_papers(undated)}
    return [fetched.get(p.id, p) for p in batch]


def _incremental(
    store: Store, writer: KeywordWriter, meta: MetaIndex, seq: int, progress: bool
) -> tuple[int, int, int]:
    indexed = removed = 0
    pending = store.last_change_seq() - seq
    with _bar(max(pending, 0), "index keyword", progress) as bar:
        for ids, reached in _changed_batches(store, seq):
            papers: list[Paper] = store.get_papers(ids)
            found = {p.id for p in papers}
            gone = [i for i in ids if i not in found]  # merged away or deleted
            writer.put(papers)
            writer.delete(gone)
            meta.put(papers)
            meta.remove(gone)
            indexed += len(papers)
            removed += len(gone)
            bar.update(reached - seq)
            seq = reached
    return indexed, removed, seq


def update_indexes(
    store: Store, *, rebuild: bool = False, progress: bool = False, semantic: bool = True, shards: int | None = None
) -> dict[str, Any]:
    """Update every index; returns counts per index (what ``paperscope index --json`` prints).

    Waits for a background refresher that is updating the same folder to finish its round.
    """
    index_dir = store.settings.index_dir
    with update_lock(index_dir):
        keyword = update_keyword(store, index_dir, rebuild=rebuild, progress=progress, shards=shards)
        result: dict[str, Any] = {"keyword": keyword}
    if semantic:  # under the semantic index's own lock
        result["semantic"] = update_semantic(store, index_dir, rebuild=rebuild, progress=progress)
    return result


def update_semantic(store: Store, index_dir: Path, *, rebuild: bool = False, progress: bool = False,
                    restage: bool = True) -> dict[str, Any]:
    """Embed what changed since the semantic index's last update (everything with ``rebuild``);
    ``restage=False``: keep an index from before passages current rather than re-embed it
    (:meth:`SemanticIndex.update`)."""
    from .vectors import SemanticIndex

    if rebuild:
        SemanticIndex.remove(index_dir)
    started = time.perf_counter()
    sem = SemanticIndex.open(index_dir)
    try:
        counts = dict(sem.update(store, progress=progress, restage=restage))
    finally:
        sem.close()
    counts.setdefault("seconds", round(time.perf_counter() - started, 3))
    return counts
