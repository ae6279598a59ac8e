"""Votes under real concurrency, on both backends: several processes upvote and take back their
upvotes of one paper at once, and the count ends equal to the number of distinct upvoters.

``tests/test_accounts.py`` and ``tests/test_web_security.py`` race threads inside one process
(one engine, one app); here the racers are separate processes with connections of their own:
the workers of a real ``paperscope serve --workers 3`` on loopback, and plain processes that
open the store themselves.  Each voter's actions are a seeded random sequence of vote, unvote
and toggle (its own actions in order; the voters race each other), so the expected end state
is known: a voter is counted when its sequence leaves its vote on.  The seed is in every
failure message.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from paperscope.ingest import Ingestor
from paperscope.store import Store
from pg import child_env
from serve_support import serving

SMALL_LIST = "hf-daily/daily_papers_2024-10-25.json"  # 29 papers of one daily list
SEED = int(os.environ.get("PAPERSCOPE_TEST_SEED", "0")) or random.SystemRandom().randrange(1, 2**31)
ACTIONS = ("vote", "unvote", "toggle")


def plan(rng: random.Random, voters: int, steps: int) -> list[list[str]]:
    return [[rng.choice(ACTIONS) for _ in range(steps)] for _ in range(voters)]


def ends_voted(actions: list[str], voted: bool = False) -> bool:
    """Whether a voter's vote is on after its ``actions``, starting from ``voted``."""
    for action in actions:
        voted = True if action == "vote" else False if action == "unvote" else not voted
    return voted


@pytest.fixture()
def listed(store: Store, shared_data: Path) -> Store:
    with Ingestor(store, report_rejects=False) as ingestor:
        assert ingestor.ingest_paths([shared_data / SMALL_LIST]).added == 29
    return store


def _paper(store: Store) -> tuple[int, str, int]:
    with store.connect() as conn:
        row = conn.execute(sa.text("SELECT id, arxiv_id FROM papers ORDER BY arxiv_id LIMIT 1")).one()
    paper = store.get_paper(row[1])
    assert paper is not None
    return int(row[0]), str(row[1]), paper.hf_upvotes


def _local_votes(store: Store, paper_id: int) -> int:
    with store.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM votes WHERE paper_id = :p"), {"p": paper_id}).scalar())


@pytest.fixture()
def served(listed: Store) -> Iterator[str]:
    """``paperscope serve --workers 3`` on the store's home; yields its base URL."""
    home = listed.settings.home
    env = {**child_env(home), "PAPERSCOPE_INDEX_REFRESH": "0"}
    with serving(home, ["--workers", "3", "--no-jobs"], env, probe="/static/app.css", timeout=90) as base:
        yield base


@pytest.mark.slow
def test_votes_through_a_multi_worker_server_end_exact(listed: Store, served: str) -> None:
    rng = random.Random(SEED)
    paper_id, key, hf_upvotes = _paper(listed)
    # 12 voters x 4 actions: under the per-client limit of 60 upvotes a minute even if one worker
    # took every request (all come from 127.0.0.1).
    actions = plan(rng, 12, 4)
    users = [listed.accounts.create_user(f"racer{i}", f"r{i}@example.org", "a long password") for i in range(12)]
    tokens = [listed.accounts.create_session(u.id) for u in users]
    barrier = threading.Barrier(len(users))
    failures: list[str] = []

    def voter(token: str, mine: list[str]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        barrier.wait()
        for action in mine:
            params = {"vote": "true"} if action == "vote" else {"vote": "false"} if action == "unvote" else {}
            # A new connection each time, so that the three workers (one listening socket) share them.
            answer = httpx.post(f"{served}/api/papers/{key}/upvote", params=params, headers=headers, timeout=30)
            if answer.status_code != 200:
                failures.append(f"{action}: {answer.status_code} {answer.text[:200]}")

    threads = [threading.Thread(target=voter, args=(t, a)) for t, a in zip(tokens, actions, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    expected = {u.id for u, mine in zip(users, actions, strict=True) if ends_voted(mine)}
    context = f"seed {SEED} (rerun with PAPERSCOPE_TEST_SEED={SEED}); actions {actions}"
    assert failures == [], f"{failures}; {context}"
    assert _local_votes(listed, paper_id) == len(expected), context
    assert {u.id for u in users if listed.accounts.voted(u.id, [paper_id])} == expected, context
    shown = httpx.get(f"{served}/api/papers/{key}", timeout=10).json()["upvotes"]
    assert shown == hf_upvotes + len(expected), context


def _vote_in_a_process(home: str, database_url: str, paper_id: int, work: list[tuple[int, list[str]]],
                       start: float) -> None:
    """A separate process with its own engine: waits for the common start, then runs its voters'
    sequences one step at a time across its voters (so their steps interleave too)."""
    from paperscope.config import Settings

    with Store.open(settings=Settings(home=Path(home), database_url=database_url)) as store:
        time.sleep(max(0.0, start - time.time()))
        for step in range(max(len(a) for _, a in work)):
            for user_id, actions in work:
                action = actions[step]
                if action == "toggle":
                    store.accounts.toggle_vote(user_id, paper_id)
                else:
                    store.accounts.set_vote(user_id, paper_id, action == "vote")


@pytest.mark.slow
def test_votes_from_several_processes_with_their_own_connections_end_exact(listed: Store) -> None:
    rng = random.Random(SEED)
    paper_id, _key, _hf = _paper(listed)
    users = [listed.accounts.create_user(f"proc{i}", f"p{i}@example.org", "a long password") for i in range(12)]
    actions = plan(rng, len(users), 6)
    # A few voters start with their vote in place, so that unvotes and toggles take some away.
    for user in users[::3]:
        listed.accounts.set_vote(user.id, paper_id, True)
    work = [(u.id, a) for u, a in zip(users, actions, strict=True)]
    spawn = multiprocessing.get_context("spawn")
    start = time.time() + 3.0  # every process imported and connected by then
    processes = [
        spawn.Process(
            target=_vote_in_a_process,
            args=(str(listed.settings.home), listed.settings.database_url, paper_id, work[i::4], start),
        )
        for i in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    context = f"seed {SEED} (rerun with PAPERSCOPE_TEST_SEED={SEED}); actions {actions}"
    assert [p.exitcode for p in processes] == [0] * 4, context

    expected = {u.id for i, u in enumerate(users) if ends_voted(actions[i], voted=i % 3 == 0)}
    assert _local_votes(listed, paper_id) == len(expected), context
    assert {u.id for u in users if listed.accounts.voted(u.id, [paper_id])} == expected, context
    paper = listed.get_papers([paper_id])[0]
    assert paper.local_upvotes == len(expected), context
