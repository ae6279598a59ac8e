"""Server mode: several ``paperscope serve`` processes and command-line writers over ONE
PostgreSQL store (the ``pg_url`` fixture: a throwaway cluster on loopback).

Everything here is a real subprocess: two app processes on 127.0.0.1, each with its own home
(indexes, key file) but the same ``$PAPERSCOPE_SECRET_KEY``; ``paperscope ingest`` and
``paperscope digest send`` runs against the same database; an aiosmtpd server for the mail.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest
import sqlalchemy as sa

from mail_fixtures import SmtpServer, fill_store, free_port, start_smtp_server, wait_for
from paperscope.ingest import Ingestor
from paperscope.store import Store

EXE = str(Path(sys.executable).parent / "paperscope")  # the installed entry point
SECRET = "server-mode-shared-secret-key-0123456789abcdef"
SMALL_LIST = "hf-daily/daily_papers_2024-10-25.json"  # 29 papers of one daily list
LIST_DAY = "2024-10-25"
ATOM = "arxiv/atom/id_1605.08386_s0_m100_199195aa31ad.atom.xml"  # one arXiv API answer
ATOM_ID = "1605.08386"
DEADLINE = 15.0  # bound on "visible elsewhere within a few seconds" (the list cache keeps 5 s)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PAPERSCOPE_DATABASE_URL", "PAPERSCOPE_HOME")}
    env.pop("PAPERSCOPE_SECRET", None)
    env["PAPERSCOPE_SECRET_KEY"] = SECRET
    env.update(extra)
    return env


def _cli(home: Path, url: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [EXE, "--home", str(home), "--database", url, "--quiet", *args],
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"paperscope {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def _wait_until(what: str, check: Callable[[], bool], timeout: float = DEADLINE) -> float:
    """Poll ``check`` until true; the seconds it took.  Fails with ``what`` after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.1)
    return time.monotonic() - started


@contextmanager
def served(home: Path, url: str, *options: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``paperscope serve [OPTIONS]`` in a subprocess on a free port; yields its base URL and process."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = home / "serve.log"
    command = [EXE, "--home", str(home), "--database", url, "--quiet", "serve", "--port", str(port), *options]
    with open(log, "wb") as handle:
        proc = subprocess.Popen(command, env=_env(), stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert proc.poll() is None, f"serve exited {proc.returncode}: {log.read_text()[-2000:]}"
            try:
                return httpx.get(f"{base}/static/app.css", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        _wait_until(f"paperscope serve on port {port} answers", up, timeout=60)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture()
def pg_store(tmp_path: Path, pg_url: str, shared_data: Path) -> Iterator[Store]:
    """The PostgreSQL store with one real daily list (29 papers) in it."""
    with Store.open(str(tmp_path / "loader"), pg_url) as store:
        with Ingestor(store, report_rejects=False) as ingestor:
            summary = ingestor.ingest_paths([shared_data / SMALL_LIST])
        assert summary.added == 29, summary.as_dict()
        yield store


def _upvotes_in_list(base: str, key: str) -> int | None:
    """The upvote count ``key`` shows on that process's (cached) daily list API."""
    answer = httpx.get(f"{base}/api/daily_papers", params={"date": LIST_DAY}, timeout=10)
    assert answer.status_code == 200, answer.text
    for item in answer.json():
        if item["paper"]["id"] == key:
            return int(item["paper"]["upvotes"])
    return None


@pytest.mark.slow
def test_two_app_processes_share_votes_and_ingests(
    tmp_path: Path, pg_url: str, pg_store: Store, shared_data: Path
) -> None:
    _cli(tmp_path / "cli", pg_url, "user", "create", "ada", "--email", "ada@example.org",
         "--password", "correct horse battery")  # fmt: skip
    token = _cli(tmp_path / "cli", pg_url, "user", "token", "ada").strip()
    first, second = sorted(
        pg_store.get_papers(list(range(1, 30))), key=lambda p: p.key
    )[:2]
    with served(tmp_path / "app1", pg_url) as (one, _), served(tmp_path / "app2", pg_url) as (two, _):
        # Both processes have cached the list before the vote: the other one must notice anyway.
        before = {base: _upvotes_in_list(base, first.key) for base in (one, two)}
        assert before[one] == before[two] == first.upvotes

        # 1. A bearer-token vote through process one.
        voted = httpx.post(
            f"{one}/api/papers/{first.key}/upvote", params={"vote": "true"},
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )  # fmt: skip
        assert voted.status_code == 200, voted.text
        assert voted.json()["upvotes"] == first.upvotes + 1
        assert _upvotes_in_list(one, first.key) == first.upvotes + 1  # at once where it was made
        # Uncached, the paper API of process two sees it at once; its list within the cache time.
        paper = httpx.get(f"{two}/api/papers/{first.key}", timeout=10).json()
        assert paper["upvotes"] == first.upvotes + 1
        _wait_until(
            "the vote made through process one shows in process two's daily list",
            lambda: _upvotes_in_list(two, first.key) == first.upvotes + 1,
        )

        # 2. Sign in through process one (form + CSRF), vote through process two with the same
        #    cookies: the session lives in the database and the CSRF key is shared.
        with httpx.Client(timeout=10) as browser:
            form = browser.get(f"{one}/signin")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf, form.text[:2000]
            signed_in = browser.post(
                f"{one}/signin",
                data={"username": "ada", "password": "correct horse battery", "csrf_token": csrf.group(1)},
            )
            assert signed_in.status_code in (200, 303), signed_in.text[:2000]
            assert "ps_session" in browser.cookies
            # Signing in renewed the token (it is bound to the session): a page's new one.
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{one}/account").text)
            assert csrf
            cross = browser.post(
                f"{two}/api/papers/{second.key}/upvote", params={"vote": "true"},
                headers={"X-CSRF-Token": csrf.group(1)},
            )  # fmt: skip
            assert cross.status_code == 200, cross.text
            assert cross.json()["upvotes"] == second.upvotes + 1
        _wait_until(
            "the vote made through process two shows in process one's daily list",
            lambda: _upvotes_in_list(one, second.key) == second.upvotes + 1,
        )

        # 3. A paper ingested from the command line shows on both.
        for base in (one, two):
            assert httpx.get(f"{base}/papers/{ATOM_ID}", timeout=10).status_code == 404
        _cli(tmp_path / "cli", pg_url, "ingest", str(shared_data / ATOM))
        for base in (one, two):
            page = httpx.get(f"{base}/papers/{ATOM_ID}", timeout=10)
            assert page.status_code == 200, (base, page.text[:500])
            assert httpx.get(f"{base}/api/papers/{ATOM_ID}", timeout=10).json()["id"] == ATOM_ID

    with pg_store.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM votes")).scalar_one() == 2


def _search_ids(base: str, query: str) -> list[str]:
    """Paper ids that process's keyword search answers for ``query`` (none while it has no index)."""
    answer = httpx.get(f"{base}/api/papers/search", params={"q": query, "mode": "keyword"}, timeout=10)
    if answer.status_code != 200 and "no search index" in answer.text:
        return []
    assert answer.status_code == 200, answer.text
    return [item["paper"]["id"] for item in answer.json()]


@pytest.mark.slow
def test_a_paper_ingested_through_one_host_is_found_by_the_other_hosts_search(
    tmp_path: Path, pg_url: str, pg_store: Store, shared_data: Path
) -> None:
    """Each host searches its own index folder; nobody runs `paperscope index`: each process's
    refresher follows the shared store's change record.  Host one runs two workers on one folder."""
    known = pg_store.get_papers([3])[0]
    one_home, two_home = tmp_path / "app1", tmp_path / "app2"
    with (
        served(one_home, pg_url, "--workers", "2", "--index-refresh", "1") as (one, _),
        served(two_home, pg_url, "--index-refresh", "1") as (two, _),
    ):
        # Neither home has an index yet: each host's refresher builds its own from the store.
        for base in (one, two):
            _wait_until(f"{base} indexes the store", lambda base=base: known.key in _search_ids(base, known.title))
        title = "Heat-bath random walks with Markov bases"  # the paper in ATOM
        assert ATOM_ID not in _search_ids(two, title)
        _cli(one_home, pg_url, "ingest", str(shared_data / ATOM))  # through host one's home and store
        took = _wait_until(
            "host two's search finds the paper ingested through host one", lambda: ATOM_ID in _search_ids(two, title)
        )
        _wait_until("host one's search finds it too", lambda: ATOM_ID in _search_ids(one, title))
        assert took < DEADLINE
    for home in (one_home, two_home):
        assert (home / "index" / "keyword" / "state.json").exists()
        log = (home / "serve.log").read_text()
        # No round failed, in either host or in either of host one's two workers.
        assert "index refresher" not in log, log[-3000:]


@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    yield from start_smtp_server(monkeypatch)


@pytest.mark.slow
def test_two_concurrent_digest_senders_send_each_digest_once(
    tmp_path: Path, pg_url: str, smtp_server: SmtpServer, shared_data: Path
) -> None:
    count = 12
    with Store.open(str(tmp_path / "loader"), pg_url) as store:
        fill_store(store, shared_data)
        emails = [f"reader{i}@example.org" for i in range(count)]
        for email in emails:
            store.digests.confirm(store.digests.subscribe(email, "daily").id)
        # An unconfirmed one gets nothing.
        store.digests.subscribe("pending@example.org", "daily")

    # The SMTP server holds the first message until the other sender has sent all the rest:
    # the two runs overlap for certain, whichever starts first.
    handler = smtp_server.handler
    handler.hold_at = 1
    env = _env(**smtp_server.env())
    procs = []
    for n in (1, 2):
        home = tmp_path / f"sender{n}"
        home.mkdir()
        command = [EXE, "--home", str(home), "--database", pg_url, "--quiet", "digest", "send",
                   "--period", "daily", "--today", "2026-11-23", "--json"]  # fmt: skip
        procs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        wait_for(lambda: handler.held.is_set() or any(p.poll() is not None for p in procs), timeout=120)
        assert handler.held.is_set(), [p.communicate() for p in procs]
        wait_for(lambda: len(handler.received) >= count or any(p.poll() is not None for p in procs), 120)
    finally:
        handler.release.set()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        outputs.append((proc.returncode, out.decode(), err.decode()))
    assert [rc for rc, _, _ in outputs] == [0, 0], outputs

    runs = [orjson.loads(out)["runs"][0] for _, out, _ in outputs]
    sent = [email for run in runs for email in run["sent"]]
    # Between them the two senders sent each digest once, and nobody got one twice.
    assert Counter(sent) == Counter(emails), runs
    received = Counter(r.rcpt_tos[0] for r in smtp_server.handler.received)
    assert received == Counter(emails)
    # Both did part of the work, and each skipped (or found claimed) what the other sent.
    assert sorted(len(run["sent"]) for run in runs) == [1, count - 1], runs
    assert sum(run["already_done"] for run in runs) == count, runs
    with Store.open(str(tmp_path / "loader"), pg_url) as store:
        sends = store.digests.sends(period_key="2026-11-23")
        assert sorted(s.email for s in sends) == sorted(emails)
        assert {s.status for s in sends} == {"sent"}


def _load(
    base: str, urls: list[str], stop: threading.Event, tally: Counter[str], lock: threading.Lock
) -> None:
    """GET ``urls`` round-robin until ``stop``; count outcomes (a bounded loop: 2,000 at most)."""
    with httpx.Client(base_url=base, timeout=15) as client:
        for n in range(2000):
            if stop.is_set():
                return
            try:
                status = str(client.get(urls[n % len(urls)]).status_code)
            except httpx.TransportError as error:
                status = type(error).__name__
            with lock:
                tally[status] += 1


@pytest.mark.slow
def test_killing_one_app_process_mid_load_leaves_the_other_and_the_votes(
    tmp_path: Path, pg_url: str, pg_store: Store
) -> None:
    accounts = pg_store.accounts
    users = [accounts.create_user(f"voter{i}", f"voter{i}@example.org", "pw-voter-123456") for i in range(4)]
    tokens = [pg_store.accounts.create_session(u.id) for u in users]
    papers = pg_store.get_papers(list(range(1, 30)))
    keys = [p.key for p in papers]
    pages = [f"/papers?date={LIST_DAY}", "/trending", f"/api/daily_papers?date={LIST_DAY}"]
    pages += [f"/papers/{k}" for k in keys[:5]]
    committed: list[tuple[int, str]] = []  # (user index, paper key) the server answered 200 for
    lock = threading.Lock()

    with served(tmp_path / "app1", pg_url) as (one, victim), served(tmp_path / "app2", pg_url) as (two, _):
        stop = threading.Event()
        tallies: dict[str, Counter[str]] = {one: Counter(), two: Counter()}
        readers = [
            threading.Thread(target=_load, args=(base, pages, stop, tallies[base], lock), daemon=True)
            for base in (one, two)
            for _ in range(2)
        ]

        def vote(user: int) -> None:
            # Each voter votes every paper once, alternating processes: a bounded loop.
            with httpx.Client(timeout=15, headers={"Authorization": f"Bearer {tokens[user]}"}) as client:
                for n, key in enumerate(keys):
                    if stop.is_set():
                        return
                    base = (one, two)[(n + user) % 2]
                    try:
                        answer = client.post(f"{base}/api/papers/{key}/upvote", params={"vote": "true"})
                    except httpx.TransportError:
                        continue  # the killed process: the vote may or may not have happened
                    if answer.status_code == 200:
                        with lock:
                            committed.append((user, key))
                    time.sleep(0.05)

        voters = [threading.Thread(target=vote, args=(u,), daemon=True) for u in range(len(users))]
        for thread in [*readers, *voters]:
            thread.start()
        _wait_until("some votes and pages served", lambda: len(committed) >= 10 and sum(
            tallies[one].values()) >= 20, timeout=30)  # fmt: skip
        with lock:
            before_kill = list(committed)
            served_one_before = tallies[one]["200"]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        with lock:
            two_at_kill = tallies[two]["200"]
        # The survivor keeps answering while the load goes on.
        _wait_until("process two answers 100 more pages after the kill",
                    lambda: tallies[two]["200"] >= two_at_kill + 100, timeout=30)  # fmt: skip
        stop.set()
        for thread in [*readers, *voters]:
            thread.join(timeout=30)
        after = httpx.get(f"{two}/api/daily_papers", params={"date": LIST_DAY}, timeout=10)
        assert after.status_code == 200

    assert victim.returncode == -signal.SIGKILL
    assert served_one_before > 0
    assert set(tallies[two]) == {"200"}, tallies[two]  # not one failure on the survivor
    assert tallies[one]["200"] > 0
    # Every vote answered 200 (before the kill, and through the survivor after) is in the database.
    with pg_store.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT u.username, v.paper_id FROM votes v JOIN users u ON u.id = v.user_id")
        ).all()
    by_key = {p.key: p.id for p in papers}
    in_db = {(name, paper_id) for name, paper_id in rows}
    wanted = {(f"voter{user}", by_key[key]) for user, key in committed}
    assert len(before_kill) >= 10
    assert {(f"voter{u}", by_key[k]) for u, k in before_kill} <= in_db
    assert wanted <= in_db
    # Nothing beyond what was asked for (a vote in flight at the kill may or may not be there).
    assert in_db <= {(f"voter{u}", by_key[k]) for u in range(len(users)) for k in keys}
