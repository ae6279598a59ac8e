"""SIGKILL at a random point of ingest, harvest (OAI-PMH and Hugging Face), enrichment and digest
sending, then a rerun: nothing committed is lost, nothing is doubled, and the end state is the
state an unkilled run leaves (issue 15's kill suite; both backends through ``pg.child_env``).

Each test runs a real ``paperscope`` subprocess against real parts (the loopback replay server,
aiosmtpd), slowed a little per response so that its run has a span to land in, and kills it a
random time after a random event: the k-th HTTP request, the k-th mail received, the store
holding k papers.  Wherever it lands -- waiting for a response, parsing one, inside a commit,
between two -- the invariants must hold.  The points come from one seed, printed in every
failure message; ``PAPERSCOPE_TEST_SEED=N`` replays a failing run's points.

The fixed-point kill tests stay where they are (``test_ingest``, ``test_harvest_arxiv``,
``test_enrich``, ``test_jobs``, ``test_digest_send``): they check what exactly a kill at one
known point leaves; these check that any point is safe.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from mail_fixtures import SmtpServer, fill_store, start_smtp_server
from paperscope.store import Store
from pg import child_env, drop_home
from replay_server import ReplayServer, Reply
from test_enrich import month_entries, serve_batches
from test_harvest_arxiv import FAST_ENV, FROM, TOKENS, XML, oai_pages
from test_ingest import write_snapshot

EXE = str(Path(sys.executable).parent / "paperscope")
SEED = int(os.environ.get("PAPERSCOPE_TEST_SEED", "0")) or random.SystemRandom().randrange(1, 2**31)
JSON = {"Content-Type": "application/json"}

pytestmark = pytest.mark.slow


def points(name: str) -> random.Random:
    """The kill points of one test: from the session's seed and the test's name."""
    return random.Random(f"{SEED}:{name}")


def where(**point: Any) -> str:
    shown = " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())
    return f"seed {SEED} (rerun with PAPERSCOPE_TEST_SEED={SEED}): {shown}"


def kill_after(process: subprocess.Popen[bytes], event: Callable[[], bool], jitter: float, context: str) -> bool:
    """Wait for ``event``, then ``jitter`` seconds more, then SIGKILL the process.  True when the
    kill found it running (False: it had finished on its own, which the caller may allow)."""
    deadline = time.monotonic() + 120
    while not event() and process.poll() is None:
        assert time.monotonic() < deadline, f"the event never came; {context}"
        time.sleep(0.002)
    time.sleep(jitter)
    alive = process.poll() is None
    if alive:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    if alive:
        assert process.returncode == -signal.SIGKILL, context
    return alive


def spawn(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    command = [EXE, "--home", str(home), "--quiet", *args]
    return subprocess.Popen(
        command, env={**child_env(home), **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [EXE, "--home", str(home), "--quiet", *args]
    return subprocess.run(command, env={**child_env(home), **(env or {})}, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


# -- the state to compare --------------------------------------------------------------------
# Everything a run writes about papers, keyed by paper_key; times of writing (created_at,
# first_seen, recorded_at, observed_at, last_tried...) and row ids are left out: they differ
# between any two runs.
_PAPER_COLUMNS = (
    "paper_key, arxiv_id, title, title_norm, title_key, abstract, authors, categories, primary_category, "
    "published, updated, versions, doi, journal_ref, comments, license, links, meta_source, content_hash, "
    "ai_summary, ai_keywords, published_at"
)
_QUERIES = {
    "papers": f"SELECT {_PAPER_COLUMNS} FROM papers",
    "sources": "SELECT p.paper_key, s.source, s.origin, s.fields FROM paper_sources s "
    "JOIN papers p ON p.id = s.paper_id",
    "daily": "SELECT p.paper_key, d.list_date, d.submitted_by, d.num_comments, d.source, d.submitter_user, "
    "d.submitter FROM daily_entries d JOIN papers p ON p.id = d.paper_id",
    "upvotes": "SELECT p.paper_key, u.source, u.upvotes FROM upvote_counts u JOIN papers p ON p.id = u.paper_id",
    "aliases": "SELECT a.alias, p.paper_key FROM paper_aliases a JOIN papers p ON p.id = a.paper_id",
    "enrichment": "SELECT p.paper_key, e.status, e.reason FROM paper_enrichment e JOIN papers p ON p.id = e.paper_id",
    "job_state": "SELECT name FROM job_state",
}


def snapshot(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    with Store.open(str(home), upgrade=False) as store, store.connect() as conn:
        return {
            name: sorted((tuple(str(v) for v in row) for row in conn.execute(sa.text(sql))), key=repr)
            for name, sql in _QUERIES.items()
        }


def assert_no_loss_no_double(at_kill: dict[str, list[tuple[Any, ...]]], final: dict[str, list[tuple[Any, ...]]],
                             reference: dict[str, list[tuple[Any, ...]]], context: str) -> None:
    keys = [row[0] for row in final["papers"]]
    assert len(keys) == len(set(keys)), f"a paper stored twice; {context}"
    lost = {row[0] for row in at_kill["papers"]} - set(keys)
    assert not lost, f"papers committed before the kill are gone after the rerun: {sorted(lost)[:5]}; {context}"
    for table, rows in reference.items():
        assert final[table] == rows, (
            f"{table} after kill + rerun differs from an unkilled run: "
            f"{len(final[table])} rows vs {len(rows)}; only after kill {sorted(set(final[table]) - set(rows))[:3]}, "
            f"missing {sorted(set(rows) - set(final[table]))[:3]}; {context}"
        )


def kill_at_a_random_request(name: str, home: Path, replay: ReplayServer, args: Sequence[str], *,
                             requests: int, max_jitter: float, what: str,
                             env: dict[str, str] | None = None) -> tuple[dict[str, list[tuple[Any, ...]]], str]:
    """Run ``paperscope ARGS`` and SIGKILL it a random time after the replay server has answered
    a random one of its ``requests``; returns the store's snapshot at the kill and the kill point."""
    rng = points(name)
    request, jitter = rng.randint(1, requests), rng.uniform(0.0, max_jitter)
    context = where(after_request=request, then_seconds=jitter)
    process = spawn(home, *args, env=env)
    killed = kill_after(process, lambda: len(replay.requests) >= request, jitter, context)
    # Before the last answer the next one is still on its way: the kill must find it running.
    assert killed or request == requests, f"the {what} finished before the kill; {context}"
    return snapshot(home), context


def rerun_and_compare(home: Path, reference_home: Path, args: Sequence[str], at_kill: dict[str, list[tuple[Any, ...]]],
                      context: str, env: dict[str, str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Rerun the killed command, run it unkilled in the reference home, and compare; returns the
    rerun's final snapshot."""
    rerun = run(home, *args, env=env)
    assert rerun.returncode == 0, f"{rerun.stderr[-2000:]}; {context}"
    assert run(reference_home, *args, env=env).returncode == 0
    final = snapshot(home)
    assert_no_loss_no_double(at_kill, final, snapshot(reference_home), context)
    return final


@pytest.fixture()
def reference_home(tmp_path: Path) -> Iterator[Path]:
    """A second home for the unkilled run (its own database on PostgreSQL)."""
    path = tmp_path / "reference"
    path.mkdir()
    yield path
    drop_home(path)


# -- ingest ----------------------------------------------------------------------------------
def test_ingest_killed_at_a_random_point(home: Path, reference_home: Path, tmp_path: Path,
                                         shared_data: Path) -> None:
    total = 3000
    snapshot_file = tmp_path / "snapshot.jsonl"
    write_snapshot(shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl", snapshot_file, total)
    args = ("ingest", "--batch-size", "100", "--no-index", "--json", str(snapshot_file))
    rng = points("ingest")
    # A batch of 100 commits in a few milliseconds: short waits, so that the kill lands inside the run.
    threshold, jitter = rng.randrange(1, total - 500), rng.uniform(0.0, 0.05)
    context = where(papers_committed=threshold, then_seconds=jitter)

    def committed() -> bool:
        if not (home / "paperscope.db").exists() and child_env(home).get("PAPERSCOPE_DATABASE_URL") is None:
            return False  # on SQLite, not before the ingest made the file
        try:
            with Store.open(str(home), upgrade=False) as store:
                return store.count_papers() >= threshold
        except sa.exc.SQLAlchemyError:
            return False  # the schema not made yet, or the file locked for a moment

    process = spawn(home, *args)
    assert kill_after(process, committed, jitter, context), f"the ingest finished before the kill; {context}"
    at_kill = snapshot(home)
    # (All 3,000 when the kill came after the last commit, before the process exited.)
    assert threshold <= len(at_kill["papers"]) <= total, context
    rerun = run(home, *args)
    assert rerun.returncode == 0, f"{rerun.stderr[-2000:]}; {context}"
    report = orjson.loads(rerun.stdout)
    assert report["added"] == total - len(at_kill["papers"]), f"{report}; {context}"
    assert run(reference_home, *args).returncode == 0
    assert_no_loss_no_double(at_kill, snapshot(home), snapshot(reference_home), context)


# -- OAI-PMH harvest -------------------------------------------------------------------------
def test_oai_harvest_killed_at_a_random_point(home: Path, reference_home: Path, replay: ReplayServer,
                                              shared_data: Path) -> None:
    delay = 0.15
    pages = oai_pages(shared_data)
    for index, body in enumerate(pages):
        query = {"verb": "ListRecords", "from": FROM} if index == 0 else {
            "verb": "ListRecords", "resumptionToken": TOKENS[index - 1]
        }
        replay.route("/oai", query, Reply(200, body, XML, delay=delay))
    args = ("harvest", "arxiv", "--from", FROM, "--endpoint", f"{replay.url}/oai", "--json")
    at_kill, context = kill_at_a_random_request("oai", home, replay, args, requests=len(pages), max_jitter=2 * delay,
                                                what="harvest", env=FAST_ENV)
    final = rerun_and_compare(home, reference_home, args, at_kill, context, env=FAST_ENV)
    assert len(final["papers"]) == 18, context


# -- Hugging Face harvest --------------------------------------------------------------------
WEEK = "2024-W43"
WEEK_DAYS = [f"2024-10-{day}" for day in range(21, 28)]


def test_hf_harvest_killed_at_a_random_point(home: Path, reference_home: Path, replay: ReplayServer,
                                             shared_data: Path) -> None:
    """A week of daily lists (the recorded list's 29 papers dealt over the seven days)."""
    items = orjson.loads((shared_data / "hf-daily" / "daily_papers_2024-10-25.json").read_bytes())
    delay = 0.1
    for number, day in enumerate(WEEK_DAYS):
        replay.route("/api/daily_papers", {"date": day}, Reply(200, orjson.dumps(items[number::7]), JSON, delay=delay))
    args = ("harvest", "hf", "--week", WEEK, "--endpoint", replay.url, "--json")
    env = {"PAPERSCOPE_HTTP_DELAY": "0.01", "PAPERSCOPE_HTTP_BACKOFF": "0.01", "PAPERSCOPE_HTTP_RETRIES": "1"}
    at_kill, context = kill_at_a_random_request("hf", home, replay, args, requests=len(WEEK_DAYS),
                                                max_jitter=2 * delay, what="harvest", env=env)
    final = rerun_and_compare(home, reference_home, args, at_kill, context, env=env)
    assert len(final["papers"]) == 29 and len(final["daily"]) == 29, context


# -- enrichment ------------------------------------------------------------------------------
def test_enrich_killed_at_a_random_point(home: Path, reference_home: Path, replay: ReplayServer,
                                         shared_data: Path) -> None:
    """The month file's 783 papers, completed from replayed ``id_list`` answers (8 batches)."""
    entries = month_entries(shared_data)
    ingest = ("ingest", "--no-index", str(shared_data / "hf-daily" / "hf-daily-2026-02.json"))
    for target in (home, reference_home):
        assert run(target, *ingest).returncode == 0
    with Store.open(str(home)) as store:
        batches = serve_batches(replay, store, entries, slow=dict.fromkeys(range(8), 0.1))
    assert len(batches) == 8
    args = ("enrich", "--endpoint", replay.url, "--delay", "0", "--json")
    at_kill, context = kill_at_a_random_request("enrich", home, replay, args, requests=len(batches), max_jitter=0.4,
                                                what="enrichment")
    with Store.open(str(home)) as store:  # the rerun's batches: what is still due
        serve_batches(replay, store, entries)
    rerun = run(home, *args)
    assert rerun.returncode == 0, f"{rerun.stderr[-2000:]}; {context}"
    report = orjson.loads(rerun.stdout)
    assert report["failed"] == 0 and report["remaining"] == 0, f"{report}; {context}"
    assert run(reference_home, *args).returncode == 0
    final = snapshot(home)
    assert Counter(row[17] for row in final["papers"]) == {"arxiv-api": 780, "json-list": 3}, context
    assert_no_loss_no_double(at_kill, final, snapshot(reference_home), context)


# -- digest sending --------------------------------------------------------------------------
@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    yield from start_smtp_server(monkeypatch)


def test_digest_send_killed_at_a_random_point(smtp_server: SmtpServer, store: Store, shared_data: Path) -> None:
    """Six due digests through a relay that takes 0.1 s per message; killed after the k-th
    arrives.  Each reader gets the digest once; the one message in flight at the kill, if any, is
    flagged ``unknown`` for the operator (it may or may not have been delivered: SMTP cannot
    tell), never sent a second time nor silently dropped."""
    fill_store(store, shared_data)
    emails = [f"reader{i}@example.org" for i in range(6)]
    for email in emails:
        store.digests.confirm(store.digests.subscribe(email, "daily").id)
    handler = smtp_server.handler
    handler.delay = 0.1
    home = store.settings.home
    env = {**smtp_server.env(), "PAPERSCOPE_HOME": str(home)}
    args = ("digest", "send", "--period", "daily", "--today", "2026-11-23", "--json")
    rng = points("digest")
    message, jitter = rng.randint(1, len(emails)), rng.uniform(0.0, 0.25)
    context = where(after_message=message, then_seconds=jitter)

    process = spawn(home, *args, env=env)
    killed = kill_after(process, lambda: len(handler.received) >= message, jitter, context)
    assert killed or message == len(emails), f"the sender finished before the kill; {context}"
    handler.delay = 0.0
    rerun = run(home, *args, env=env)
    assert rerun.returncode in (0, 1), f"{rerun.stderr[-2000:]}; {context}"  # 1: one is flagged unknown
    report = orjson.loads(rerun.stdout)["runs"][0]
    received = Counter(r.rcpt_tos[0] for r in handler.received)
    assert all(count == 1 for count in received.values()), f"a reader got the digest twice: {received}; {context}"
    statuses = Counter(s.status for s in store.digests.sends())
    unknown = {u["email"] for u in report["unknown"]}
    assert statuses["sent"] + statuses["unknown"] == len(emails) and statuses["unknown"] == len(unknown) <= 1, (
        f"{statuses}; {context}"
    )
    # Every reader but a flagged one has its digest; the unkilled run's end (all six sent once)
    # differs at most by that one message, which the operator settles with `digest resolve`.
    assert set(received) | unknown == set(emails) and set(received) - unknown <= set(emails), f"{received}; {context}"
    assert rerun.returncode == (1 if unknown else 0), context
    third = run(home, *args, env=env)
    assert orjson.loads(third.stdout)["runs"][0]["sent"] == [], context
    assert sum(Counter(r.rcpt_tos[0] for r in handler.received).values()) == sum(received.values()), context
