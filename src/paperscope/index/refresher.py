"""The index refresher: a background thread that keeps a serving process's search indexes current.

``paperscope serve`` starts one in every app process (each of ``--workers N``, and each host
pointing at the same database).  Every ``$PAPERSCOPE_INDEX_REFRESH`` seconds (``serve
--index-refresh``; default 5, 0 turns it off) it compares the store's last change seq with the
seq the indexes in this home have reached and, when they are behind, runs the same incremental
update as ``paperscope index``: the keyword and metadata indexes (so a new paper becomes
findable and a vote moves the upvote filter and sort), then the semantic index, which embeds
the new papers.  A semantic index is only kept up to date, never started: embedding a whole
store is an operator's decision (``paperscope index``), not a side effect of serving; so is
re-embedding an index built before passages (index/passages.py), which is kept current as it is.

One process per index folder does the work at a time: a round takes the folder's update lock
(:func:`.build.update_lock`) without waiting, and a process that finds it taken skips the
round; its readers pick up the other's commit (``Searcher`` reloads on a newer commit).  The
semantic side takes turns on a second lock, so that minutes of embedding after a big ingest in
one worker do not hold back the keyword updates another worker can make meanwhile.  A round
that fails is logged and tried again next time; nothing here can take the server down.

Why refresh per-process indexes rather than search inside PostgreSQL (measured with
``bench/refresh.py --papers 100000``: 500 queries of the fixed mix, the same papers in both, on
this project's shared 2-core machine at a load average of ~5, so absolute times are noisy):

===============================================  =======  =======  =======
keyword search, top 20 of 100,000 papers          p50 ms   p95 ms   p99 ms
===============================================  =======  =======  =======
tantivy via ``Searcher`` (+ page from the store)    6.9     13.6     17.9
tantivy retrieval alone                             0.6      5.1      6.0
PostgreSQL 15, GIN tsvector, words OR-ed           97.6   1643     2963
PostgreSQL 15, words AND-ed                         2.1     62.4    268
===============================================  =======  =======  =======

PostgreSQL ranks every matching row (``ts_rank_cd`` reads each row's tsvector; a GIN index
cannot stop early the way tantivy's block-max WAND does), so paperscope's any-word queries
cost 14x tantivy at the median and 120x at p95, and even all-words queries, which match far
fewer rows and are not what paperscope ranks, are 4.6x slower at p95.  Keeping the per-process
indexes current costs little: an incremental keyword + metadata update took 0.13 s after 1
changed paper, 0.13-0.19 s after 10 or 100, and 0.55 s (1,000 votes) to 1.05 s (1,000 new
papers) after 1,000, against a round every 5 s; the earlier run of the same benchmark gave
0.09-0.51 s.  Searching in the database would also have moved search load onto the one shared
database that every host writes to, and would have lost the BM25 ranking the quality
benchmark tuned.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..config import env_name, environment_settings
from ..errors import PaperscopeError
from ..store import Store
from . import vectorfiles as vf
from .build import keyword_seq, update_keyword, update_lock, update_semantic

log = logging.getLogger(__name__)

INTERVAL_ENV = env_name("index_refresh")
# Refreshers' own turn-taking for the semantic side (the semantic index's lock makes an updater
# wait; this one lets the other refreshers skip the round instead of queueing behind it).
SEMANTIC_LOCK = "semantic-refresh.lock"
# Index work yields to page serving: the thread runs at this nice value (Linux sets it per thread).
NICENESS = 10

Outcome = Literal["current", "updated", "busy", "failed"]


def interval_from_env() -> float:
    """Seconds between rounds, the ``index_refresh`` setting (default 5; 0 means never)."""
    return environment_settings().index_refresh


def semantic_seq(index_dir: Path) -> int | None:
    """The change seq the semantic index has reached, or None when there is none in ``index_dir``."""
    try:
        manifest = vf.read_manifest(index_dir / "semantic" / vf.MANIFEST)
    except PaperscopeError:
        return 0  # corrupt: the update (which says what to do about it) runs, and fails, after the keyword one
    return None if manifest is None else int(manifest.get("last_seq", 0))


def index_lag(store: Store) -> dict[str, int | None]:
    """Changes in the store's record that this home's indexes have not taken in yet: ``keyword``
    (with the metadata index), ``semantic`` (None when there is no semantic index to keep up)."""
    semantic = semantic_seq(store.settings.index_dir)
    return {
        "keyword": store.count_changes_since(keyword_seq(store.settings.index_dir)),
        "semantic": None if semantic is None else store.count_changes_since(semantic),
    }


@dataclass(slots=True)
class RefreshStats:
    """What the refresher has done so far (for tests, logs and curious operators)."""

    rounds: int = 0
    updated: int = 0
    busy: int = 0
    failed: int = 0
    last_outcome: Outcome | None = None
    last_error: str | None = None
    last_result: dict[str, Any] = field(default_factory=dict)


class IndexRefresher:
    """Runs :meth:`run_once` every ``interval`` seconds in a daemon thread, between :meth:`start`
    and :meth:`stop`.  ``semantic=False`` leaves the semantic index alone."""

    def __init__(self, store: Store, interval: float = 5.0, *, semantic: bool = True) -> None:
        if not interval > 0:
            raise ValueError("the refresh interval must be above 0 seconds")
        self.store = store
        self.index_dir = store.settings.index_dir
        self.interval = interval
        self.semantic = semantic
        self.stats = RefreshStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned_ahead = False

    # -- the thread -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="paperscope-index-refresh", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Ask the thread to stop and wait for it; False when a round was still running at ``timeout``.

        A round is never cut short (a half-written commit is what the locks exist to prevent);
        the thread is a daemon, so a process that exits anyway does not hang on it.
        """
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("index refresher: a round was still running after %.0f s at shutdown", timeout)
            return False
        return True

    def _loop(self) -> None:
        # Not Linux, or not allowed: run at normal priority.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        # First round at once: the store may have moved on while this process was down.
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    # -- one round -----------------------------------------------------------------------------
    def run_once(self) -> Outcome:
        """Bring this home's indexes up to the store's last change, if no other process is at it."""
        try:
            outcome, result = self._round()
        except Exception as error:  # whatever it was, the server keeps serving
            outcome, result = "failed", {}
            message = f"{type(error).__name__}: {error}"
            if self.stats.last_outcome == "failed" and self.stats.last_error == message:
                log.warning("index refresher: update failed again: %s (retry in %g s)", message, self.interval)
            else:
                log.exception("index refresher: updating %s failed (retry in %g s)", self.index_dir, self.interval)
            self.stats.last_error = message
        self.stats.rounds += 1
        if outcome in ("updated", "current"):
            self.stats.last_error = None
        if outcome == "updated":
            self.stats.updated += 1
            self.stats.last_result = result
            log.info("index refresher: %s", result)
        elif outcome == "busy":
            self.stats.busy += 1
        elif outcome == "failed":
            self.stats.failed += 1
        self.stats.last_outcome = outcome
        return outcome

    def _behind(self) -> tuple[bool, bool]:
        """Whether the keyword and the semantic index are behind the store's change record."""
        last = self.store.last_change_seq()
        keyword = keyword_seq(self.index_dir)
        if keyword > last and not self._warned_ahead:
            self._warned_ahead = True
            log.warning(
                "index refresher: the indexes in %s have seen changes up to %d but the store's last is %d: "
                "was the database replaced? run `paperscope index --rebuild`",
                self.index_dir, keyword, last,
            )  # fmt: skip
        semantic = semantic_seq(self.index_dir) if self.semantic else None
        return last > keyword, semantic is not None and last > semantic

    def _round(self) -> tuple[Outcome, dict[str, Any]]:
        keyword_due, semantic_due = self._behind()
        if not (keyword_due or semantic_due):
            return "current", {}
        started = time.perf_counter()
        result: dict[str, Any] = {}
        busy = False
        if keyword_due:
            with update_lock(self.index_dir, wait=False) as held:
                # Checked again under the lock: another process may have just done this work.
                if held and self._behind()[0]:
                    result["keyword"] = update_keyword(self.store, self.index_dir)
                busy |= not held
        if semantic_due:
            # After the keyword side, so a new paper is findable by its words while it embeds, and
            # under a lock of its own, so that embedding a big ingest in one process does not hold
            # back the keyword updates (votes, say) that the others can make meanwhile.
            with update_lock(self.index_dir, wait=False, name=SEMANTIC_LOCK) as held:
                if held and self._behind()[1]:
                    result["semantic"] = update_semantic(self.store, self.index_dir, restage=False)
                busy |= not held
        if result:
            result["seconds"] = round(time.perf_counter() - started, 3)
            return "updated", result
        return ("busy" if busy else "current"), result
