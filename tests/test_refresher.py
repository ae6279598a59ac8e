"""The background index refresher of ``paperscope serve`` (paperscope.index.refresher).

Real stores (a SQLite file, or with ``--backend postgresql`` a database on the throwaway
cluster), real indexes in the home, real threads and a real second process; nothing mocked.
A failure is made the way it happens in production: another writer holds tantivy's lock.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from paperscope.cli import main
from paperscope.errors import PaperscopeError, QueryError
from paperscope.index.build import keyword_dir, keyword_seq, update_indexes, update_keyword, update_lock
from paperscope.index.keyword import KeywordIndex
from paperscope.index.meta import MetaIndex
from paperscope.index.refresher import (
    INTERVAL_ENV,
    SEMANTIC_LOCK,
    IndexRefresher,
    interval_from_env,
    semantic_seq,
)
from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord
from paperscope.search.api import Searcher, SearchRequest
from paperscope.store import Store

SMALL_LIST = "hf-daily/daily_papers_2024-10-25.json"  # 29 papers of one daily list
DEADLINE = 10.0  # "within a few seconds", with room for a busy 2-core machine


def wait_until(what: str, check: Callable[[], bool], timeout: float = DEADLINE) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def new_paper(n: int, word: str) -> PaperRecord:
    """A paper no source has, findable by ``word`` (made-up, so it matches nothing else)."""
    return PaperRecord(
        source="json-list",
        origin="test_refresher",
        title=f"Refreshing indexes {word} in server mode",
        arxiv_id=f"2601.{90000 + n:05d}",
        abstract=f"We study {word}, a word no other paper in the library uses.",
        authors=["Ada Refresher"],
        categories=["cs.IR"],
        published="2026-01-15",
    )


@pytest.fixture()
def filled(store: Store, shared_data: Path) -> Store:
    with Ingestor(store, report_rejects=False) as ingestor:
        summary = ingestor.ingest_paths([shared_data / SMALL_LIST])
    assert summary.added == 29, summary.as_dict()
    return store


@pytest.fixture()
def refresher(filled: Store) -> Iterator[IndexRefresher]:
    made = IndexRefresher(filled, 0.1)
    yield made
    made.stop()


def keyword_ids(searcher: Searcher, query: str, **kw: Any) -> list[int]:
    """Ids found for ``query`` in the keyword index; none while there is no index yet."""
    try:
        response = searcher.search(SearchRequest(query=query, mode="keyword", limit=50, **kw))
    except QueryError as error:
        assert "no search index" in str(error)
        return []
    return [r.paper.id for r in response.results]


def test_votes_and_new_papers_become_searchable_without_paperscope_index(
    filled: Store, refresher: IndexRefresher
) -> None:
    searcher = Searcher(filled)
    paper = filled.get_papers([5])[0]
    assert not KeywordIndex.exists(keyword_dir(filled.settings.index_dir))
    refresher.start()
    # No index at all: the first round builds it from the store.
    wait_until("the refresher builds the keyword index", lambda: paper.id in keyword_ids(searcher, paper.title))

    # A vote moves the upvote filter, which lives in the index.
    wanted = paper.upvotes + 1
    assert paper.id not in keyword_ids(searcher, paper.title, min_upvotes=wanted)
    user = filled.accounts.create_user("ada", "ada@example.org", "correct horse battery")
    filled.accounts.set_vote(user.id, paper.id, True)
    took = wait_until(
        "the vote reaches the keyword index", lambda: paper.id in keyword_ids(searcher, paper.title, min_upvotes=wanted)
    )
    assert took < 5.0

    # A newly written paper is found by its words.
    assert keyword_ids(searcher, "zymurgical") == []
    filled.write_records([new_paper(1, "zymurgical")])
    added = filled.get_paper("2601.90001")
    assert added is not None
    wait_until("the new paper is found", lambda: keyword_ids(searcher, "zymurgical") == [added.id])

    # (Readers see a commit a moment before the refresher thread has counted its round.)
    wait_until("three rounds counted as updates", lambda: refresher.stats.updated >= 3)
    assert refresher.stats.failed == 0, refresher.stats
    # A semantic index is only kept up to date, never started by the refresher.
    assert semantic_seq(filled.settings.index_dir) is None
    refresher.stop()
    assert not refresher.running
    searcher.close()


def test_nothing_to_do_touches_nothing(filled: Store, refresher: IndexRefresher) -> None:
    update_indexes(filled, semantic=False)
    state = keyword_dir(filled.settings.index_dir) / "state.json"
    before = state.stat().st_mtime_ns
    assert refresher.run_once() == "current"
    assert state.stat().st_mtime_ns == before  # no commit, so readers have nothing to reload


def test_a_round_is_skipped_while_another_updater_holds_the_folder(filled: Store, refresher: IndexRefresher) -> None:
    index_dir = filled.settings.index_dir
    update_indexes(filled, semantic=False)
    filled.write_records([new_paper(2, "oenological")])
    assert keyword_seq(index_dir) < filled.last_change_seq()
    with update_lock(index_dir) as held:
        assert held
        assert refresher.run_once() == "busy"
        assert keyword_seq(index_dir) < filled.last_change_seq()  # left alone
    assert refresher.run_once() == "updated"
    assert keyword_seq(index_dir) == filled.last_change_seq()
    assert refresher.stats.busy == 1 and refresher.stats.failed == 0


def test_a_failing_update_is_logged_and_retried(
    filled: Store, refresher: IndexRefresher, caplog: pytest.LogCaptureFixture
) -> None:
    index_dir = filled.settings.index_dir
    update_indexes(filled, semantic=False)
    filled.write_records([new_paper(3, "palynological")])
    searcher = Searcher(filled)
    caplog.set_level(logging.WARNING, logger="paperscope.index.refresher")
    # Another writer (a `paperscope index` that does not take the folder lock, say) holds
    # tantivy's writer lock: every round fails until it lets go.
    with KeywordIndex.open(keyword_dir(index_dir)).writer():
        refresher.start()
        wait_until("two failed rounds", lambda: refresher.stats.failed >= 2)
        assert refresher.running  # the failure did not end the thread
    failures = [r for r in caplog.records if r.name == "paperscope.index.refresher"]
    assert failures[0].levelno == logging.ERROR and failures[0].exc_info is not None  # the first, with traceback
    assert "cannot write the keyword index" in failures[0].getMessage() + str(failures[0].exc_info[1])
    assert any("failed again" in r.getMessage() for r in failures[1:])  # repeats: one line each
    wait_until("the retried update succeeds", lambda: refresher.stats.updated >= 1)
    assert refresher.stats.last_error is None
    assert keyword_ids(searcher, "palynological") != []
    searcher.close()


def _second_refresher(home: str, url: str, stop: Any, out: Any) -> None:
    """Runs in another process: a refresher on the same index folder, polling hard until ``stop``.

    It says "ready" once its refresher has finished a first round, so the parent starts its
    writes while both are polling, whatever the time the child's interpreter took to start."""
    with Store.open(home, url) as store:
        refresher = IndexRefresher(store, 0.01, semantic=False)
        refresher.start()
        while refresher.stats.rounds == 0 and not stop.is_set():
            time.sleep(0.01)
        out.put("ready")
        stop.wait(120)
        refresher.stop()
        stats = refresher.stats
        out.put({"updated": stats.updated, "busy": stats.busy, "failed": stats.failed, "error": stats.last_error})


@pytest.mark.slow
def test_two_processes_refreshing_one_folder_take_turns_and_keep_it_whole(filled: Store) -> None:
    index_dir = filled.settings.index_dir
    update_indexes(filled, semantic=False)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    stop = context.Event()
    child = context.Process(
        target=_second_refresher, args=(str(filled.settings.home), filled.settings.database_url, stop, out)
    )
    child.start()
    mine = IndexRefresher(filled, 0.01, semantic=False)
    try:
        assert out.get(timeout=60) == "ready"
        mine.start()
        user = filled.accounts.create_user("bob", "bob@example.org", "correct horse battery")
        for batch in range(20):
            filled.write_records([new_paper(100 + batch * 5 + i, f"quokka{batch}x{i}") for i in range(5)])
            filled.accounts.set_vote(user.id, batch + 1, True)
            time.sleep(0.15)
        stop.set()
        theirs = out.get(timeout=60)
        child.join(timeout=30)
    finally:
        stop.set()
        mine.stop()
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
    ours = mine.stats
    assert ours.failed == 0 and theirs["failed"] == 0, (ours, theirs)
    # Both did some of the work, and at least once one found the other at it and stood aside.
    assert ours.updated > 0 and theirs["updated"] > 0, (ours, theirs)
    assert ours.busy + theirs["busy"] > 0, (ours, theirs)

    # The index is whole: at the last change, every paper once, each new one found by its own word.
    assert keyword_seq(index_dir) == filled.last_change_seq()
    papers = filled.count_papers()
    assert papers == 129
    keyword = KeywordIndex.open(keyword_dir(index_dir))
    assert keyword.num_docs() == papers
    meta = MetaIndex.open(index_dir / "meta")
    assert meta.count() == papers
    searcher = Searcher(filled)
    for batch in range(20):
        for i in range(5):
            found = keyword_ids(searcher, f"quokka{batch}x{i}")
            assert len(found) == 1, (batch, i, found)
    # Votes reached the metadata index: upvotes there equal the store's.
    voted = filled.get_papers(list(range(1, 21)))
    for paper in voted:
        assert int(meta.values("upvotes", np.asarray([paper.id]))[0]) == paper.upvotes
    searcher.close()


@pytest.mark.slow
def test_an_existing_semantic_index_is_kept_up_to_date(filled: Store, refresher: IndexRefresher) -> None:
    from paperscope.index.vectors import SemanticIndex

    index_dir = filled.settings.index_dir
    update_indexes(filled)  # keyword and semantic, as `paperscope index` builds them
    filled.write_records([new_paper(4, "speleothem")])
    added = filled.get_paper("2601.90004")
    assert added is not None
    # Another process is embedding: the keyword side goes ahead regardless, the semantic waits its turn.
    with update_lock(index_dir, name=SEMANTIC_LOCK):
        assert refresher.run_once() == "updated"
        assert keyword_seq(index_dir) == filled.last_change_seq()
        assert (semantic_seq(index_dir) or 0) < filled.last_change_seq()
        assert "semantic" not in refresher.stats.last_result
    assert refresher.run_once() == "updated"
    assert semantic_seq(index_dir) == keyword_seq(index_dir) == filled.last_change_seq()
    with SemanticIndex.open(index_dir) as semantic:
        assert semantic.has(added.id)
        assert added.id in semantic.search("speleothem refreshing indexes in server mode", 5).ids.tolist()
    assert refresher.stats.last_result["semantic"]["embedded"] == 1


def test_update_keyword_alone_does_not_need_the_lock(filled: Store) -> None:
    """bench/search.py and bench/refresh.py call update_keyword directly; it must not block on the lock."""
    index_dir = filled.settings.index_dir
    with update_lock(index_dir):
        assert update_keyword(filled, index_dir)["documents"] == 29


def test_the_interval_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INTERVAL_ENV, raising=False)
    assert interval_from_env() == 5.0
    monkeypatch.setenv(INTERVAL_ENV, "0.5")
    assert interval_from_env() == 0.5
    monkeypatch.setenv(INTERVAL_ENV, "0")
    assert interval_from_env() == 0.0
    for bad in ("-1", "soon", "nan", "inf"):
        monkeypatch.setenv(INTERVAL_ENV, bad)
        with pytest.raises(PaperscopeError, match=INTERVAL_ENV):
            interval_from_env()


def test_serve_rejects_a_bad_interval_before_serving(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["--home", str(home), "serve", "--index-refresh", "-1"])
    assert done.exit_code == 2 and "--index-refresh" in done.output
    monkeypatch.setenv(INTERVAL_ENV, "often")
    done = runner.invoke(main, ["--home", str(home), "serve"])
    assert done.exit_code != 0 and INTERVAL_ENV in done.output


def test_the_app_runs_a_refresher_from_startup_to_shutdown(filled: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperscope.web.app import app_from_env

    monkeypatch.setenv("PAPERSCOPE_HOME", str(filled.settings.home))
    monkeypatch.setenv("PAPERSCOPE_DATABASE_URL", filled.settings.database_url)
    monkeypatch.setenv(INTERVAL_ENV, "0.2")
    app = app_from_env()
    with TestClient(app) as client:
        refresher = app.state.index_refresher
        assert isinstance(refresher, IndexRefresher) and refresher.running and refresher.interval == 0.2

        def found(word: str) -> list[str]:
            answer = client.get("/api/papers/search", params={"q": word, "mode": "keyword"})
            return [item["paper"]["id"] for item in answer.json()] if answer.status_code == 200 else []

        filled.write_records([new_paper(5, "xerophytic")])
        wait_until("the app's search finds the new paper", lambda: found("xerophytic") == ["2601.90005"])
    assert not refresher.running  # stopped at shutdown

    monkeypatch.setenv(INTERVAL_ENV, "0")
    app = app_from_env()
    with TestClient(app):
        assert app.state.index_refresher is None
