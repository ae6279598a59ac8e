"""The scheduler: incremental harvests over simulated days, one process per job across workers,
a job killed half-way, failures recorded without stopping the others, ``paperscope jobs``.

Sources are the loopback replay server answering with real recorded OAI-PMH pages and the real
Hugging Face daily list; the days pass on the scheduler's clock (``jobs run --at``, ManualClock).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from paperscope.cli import main
from paperscope.config import load_settings
from paperscope.errors import NetworkError
from paperscope.jobs import CATALOG, Job, JobContext, ManualClock, Scheduler
from paperscope.store import Store
from paperscope.store.engine import create_engine
from pg import child_env
from replay_server import ReplayServer, Reply
from test_harvest_arxiv import ALL_IDS, FROM, NO_RECORDS, PAGE_FILES, PAGE_IDS, TOKENS, XML, oai_pages, serve_pages

EXE = str(Path(sys.executable).parent / "paperscope")
HF_LIST = "hf-daily/daily_papers_2024-10-25.json"  # 29 papers
JSON = {"Content-Type": "application/json"}
DAYS = ("2026-12-03", "2026-12-04", "2026-12-05")


def env_for(replay: ReplayServer, **extra: str) -> dict[str, str]:
    return {
        "PAPERSCOPE_OAI_URL": f"{replay.url}/oai",
        "PAPERSCOPE_HF_URL": replay.url,
        "PAPERSCOPE_HTTP_DELAY": "0",
        "PAPERSCOPE_HTTP_BACKOFF": "0.01",
        "PAPERSCOPE_HTTP_RETRIES": "1",
        **extra,
    }


def cli(home: Path, env: Mapping[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), "--quiet", *args], env=dict(env))


def single_page(shared_data: Path, index: int) -> bytes:
    """One recorded OAI-PMH page as a complete ListRecords answer (no resumption token)."""
    body = (shared_data / "arxiv" / "oai-pmh" / PAGE_FILES[index]).read_bytes()
    body = body.replace(b"<GetRecord>", b"<ListRecords>").replace(b"</GetRecord>", b"</ListRecords>")
    return body.replace(b'verb="GetRecord"', b'verb="ListRecords"')


def stored_ids(store: Store) -> list[str]:
    return sorted(p.arxiv_id for batch in store.iter_papers() for p in batch if p.arxiv_id)


def test_three_days_of_incremental_harvests_without_from(shared_data: Path, home: Path, replay: ReplayServer) -> None:
    # Day N's OAI answer is page N; the category set stat.ML has nothing new on any day.
    starts = ("2026-11-26", "2026-12-03", "2026-12-04")  # the 7-day window, then each day's datestamp
    for index, start in enumerate(starts):
        replay.route("/oai", {"from": start, "set": "cs"}, Reply(200, single_page(shared_data, index), XML))
        replay.route("/oai", {"from": start, "set": "stat:stat:ML"}, Reply(200, NO_RECORDS, XML))
    replay.route("/api/daily_papers", None, Reply(200, b"[]", JSON))
    replay.route("/api/daily_papers", {"date": DAYS[-1]}, Reply(200, (shared_data / HF_LIST).read_bytes(), JSON))
    # arXiv's API answers every enrichment query with its recorded answer for an id it does not know.
    unknown = orjson.loads((shared_data / "arxiv" / "atom" / "id_abc_s0_m100_b79c8dcf6bc3.json").read_bytes())
    replay.route("/api/query", None, Reply(200, unknown["body"].encode(), {"Content-Type": "application/atom+xml"}))
    env = env_for(replay, PAPERSCOPE_ARXIV_API_URL=replay.url)
    for day in DAYS:
        done = cli(home, env, "jobs", "run", "--at", f"{day}T08:00:00", "--json")
        assert done.exit_code == 0, done.output
        runs = {r["name"]: r for r in orjson.loads(done.stdout)["runs"]}
        assert runs["harvest-arxiv"]["status"] == runs["harvest-hf"]["status"] == "ok", runs
        # The digest waits for its first slot (07:00 on weekdays): Friday's; none on Saturday.
        assert runs["digest"]["status"] == ("ok" if day == "2026-12-04" else "not-due"), runs
        # Later the same day nothing is due: each job waits for its next slot.
        again = orjson.loads(cli(home, env, "jobs", "run", "--at", f"{day}T08:04:00", "--json").stdout)
        assert {r["status"] for r in again["runs"]} == {"not-due"}

    oai = replay.requests_to("/oai")
    assert [(r.query["set"], r.query["from"]) for r in oai] == [
        (spec, start) for start in starts for spec in ("cs", "stat:stat:ML")
    ]
    hf_days = [r.query["date"] for r in replay.requests_to("/api/daily_papers")]
    assert hf_days[-4:] == ["2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"]  # today and 3 days back
    with Store.open(str(home)) as store:
        assert set(ALL_IDS) <= set(stored_ids(store))
        assert store.count_papers() == len(ALL_IDS) + 29

    listing = orjson.loads(cli(home, env, "jobs", "--json").stdout)
    assert list(listing) == ["jobs"]
    rows = {row["name"]: row for row in listing["jobs"]}
    assert list(rows) == ["harvest-arxiv", "harvest-hf", "enrich", "digest", "fetch-queue", "outbox"]
    for row in rows.values():
        assert {"name", "schedule", "last_run", "last_status", "last_counts", "next_run"} <= set(row)
    arxiv = rows["harvest-arxiv"]
    assert (arxiv["last_run"], arxiv["last_status"], arxiv["next_run"]) == (
        "2026-12-05T08:00:00Z",
        "ok",
        "2026-12-05T13:30:00Z",
    )
    assert arxiv["last_counts"]["added"] == len(PAGE_IDS[2]) and arxiv["runs"] == 3
    hf = rows["harvest-hf"]
    assert (hf["last_status"], hf["last_counts"]["added"], hf["next_run"]) == ("ok", 29, "2026-12-05T08:05:00Z")
    enrich = rows["enrich"]
    assert (enrich["last_status"], enrich["runs"], enrich["next_run"]) == ("ok", 3, "2026-12-05T08:20:00Z")
    # Day 3 brought the Hugging Face list's papers, which lack arXiv metadata; arXiv "knows none".
    assert enrich["last_counts"]["not_found"] == 29 and enrich["last_counts"]["enriched"] == 0
    digest = rows["digest"]
    assert (digest["last_run"], digest["runs"], digest["next_run"]) == (
        "2026-12-04T08:00:00Z",
        1,
        "2026-12-07T07:00:00Z",  # after Friday's run, the next slot is Monday's
    )
    text = cli(home, env, "jobs").stdout
    print(f"\n$ paperscope jobs   # after {', '.join(DAYS)}\n{text}")  # shown with pytest -s
    assert "harvest-arxiv" in text and "2026-12-05T13:30:00Z" in text


def test_harvest_arxiv_without_from_resumes_where_the_last_one_ended(
    shared_data: Path, home: Path, replay: ReplayServer
) -> None:
    today = datetime.now(UTC).date()
    week_ago = (today - timedelta(days=7)).isoformat()
    replay.route("/oai", {"from": week_ago}, Reply(200, single_page(shared_data, 0), XML))
    replay.route("/oai", {"from": today.isoformat()}, Reply(200, NO_RECORDS, XML))
    env = env_for(replay)
    first = cli(home, env, "harvest", "arxiv", "--set", "cs", "--json")
    assert first.exit_code == 0, first.output
    assert orjson.loads(first.stdout)["added"] == 3
    second = cli(home, env, "harvest", "arxiv", "--set", "cs", "--json")
    assert second.exit_code == 0 and orjson.loads(second.stdout)["added"] == 0
    assert [r.query["from"] for r in replay.requests_to("/oai")] == [week_ago, today.isoformat()]
    bad = cli(home, env, "harvest", "arxiv", "--until", today.isoformat())
    assert bad.exit_code == 2 and "--until needs --from" in bad.output


def test_a_failing_job_is_recorded_and_the_others_run(home: Path, replay: ReplayServer, shared_data: Path) -> None:
    replay.route("/api/daily_papers", None, Reply(500, b"down for maintenance", {"Content-Type": "text/plain"}))
    replay.route("/oai", None, Reply(200, single_page(shared_data, 1), XML))
    settings = load_settings(home, environ=env_for(replay))

    def crashes(context: JobContext) -> dict[str, Any]:
        raise ValueError("a bug in a job")

    catalog = {
        "harvest-hf": CATALOG["harvest-hf"],
        "buggy": Job("buggy", crashes, "*/10 * * * *", "always fails"),
        "harvest-arxiv": CATALOG["harvest-arxiv"],
    }
    clock = ManualClock(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    with Store.open(settings=settings) as store:
        scheduler = Scheduler(store, settings, clock=clock, catalog=catalog)
        outcomes = {o.name: o for o in scheduler.run_due()}
        assert outcomes["harvest-arxiv"].status == "ok" and outcomes["harvest-arxiv"].counts["added"] == 3
        assert outcomes["harvest-hf"].status == "failed" and "HTTP 500" in (outcomes["harvest-hf"].error or "")
        assert outcomes["buggy"].error == "ValueError: a bug in a job"
        runs = {r.name: r for r in store.job_runs()}
        assert runs["harvest-hf"].last_status == "failed" and "HTTP 500" in (runs["harvest-hf"].last_error or "")
        assert runs["harvest-hf"].next_run == "2026-12-05T10:05:00Z"  # retried at its next slot
        assert runs["buggy"].next_run == "2026-12-05T09:20:00Z"  # not before jobs_retry_minutes (15)
        assert runs["harvest-arxiv"].last_status == "ok"

        # The background loop keeps going after failures; each job is retried at its slots.
        clock.set(datetime(2026, 12, 5, 10, 6, tzinfo=UTC))
        assert {o.name: o.status for o in scheduler.run_due()} == {
            "harvest-hf": "failed",
            "buggy": "failed",
            "harvest-arxiv": "not-due",
        }
        runs = {r.name: r for r in store.job_runs()}
        assert (runs["harvest-hf"].runs, runs["harvest-hf"].failures) == (2, 2)
        assert (runs["harvest-arxiv"].runs, runs["harvest-arxiv"].failures) == (1, 0)


def test_the_background_loop_survives_failures(home: Path) -> None:
    calls: list[str] = []

    def good(context: JobContext) -> dict[str, Any]:
        calls.append("good")
        return {"n": len(calls)}

    def bad(context: JobContext) -> dict[str, Any]:
        calls.append("bad")
        raise NetworkError("no network")

    catalog = {"good": Job("good", good, "* * * * *", ""), "bad": Job("bad", bad, "* * * * *", "")}
    settings = load_settings(home, environ={"PAPERSCOPE_JOBS_RETRY_MINUTES": "0"})
    clock = ManualClock(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    with Store.open(settings=settings) as store:
        scheduler = Scheduler(store, settings, clock=clock, catalog=catalog)
        scheduler.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and min(calls.count("good"), calls.count("bad")) < 3:
                time.sleep(0.05)
        finally:
            scheduler.stop()
        assert calls.count("good") >= 3 and calls.count("bad") >= 3
        runs = {r.name: r for r in store.job_runs()}
        assert runs["bad"].failures == runs["bad"].runs and runs["bad"].last_error == "no network"
        assert runs["good"].failures == 0 and runs["good"].last_status == "ok"


def _job_runs(home: Path) -> dict[str, Any]:
    with Store.open(str(home), upgrade=False) as store:
        return {r.name: r for r in store.job_runs()}


@pytest.mark.slow
def test_a_job_killed_half_way_is_finished_by_the_next_run(shared_data: Path, home: Path, replay: ReplayServer) -> None:
    """SIGKILL ``jobs run`` while page 2 of the harvest is in flight; the next run resumes at page 2."""
    serve_pages(replay, oai_pages(shared_data), slow={1: 60.0})
    at = (datetime.fromisoformat(FROM) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S")  # window starts at FROM
    env = {**child_env(home), **env_for(replay, PAPERSCOPE_HARVEST_ARXIV_SETS="cs")}
    command = [EXE, "--home", str(home), "--quiet", "jobs", "run", "harvest-arxiv", "--at", at, "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(replay.requests_to("/oai")) < 2:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        assert len(replay.requests_to("/oai")) == 2, "the harvest never asked for page 2"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    killed = _job_runs(home)["harvest-arxiv"]
    # What a killed run leaves behind: a "running" row whose lock nobody holds, read as interrupted.
    assert killed.last_status == "interrupted" and killed.runs == 0 and killed.last_run == at + "Z"
    listing = subprocess.run([EXE, "--home", str(home), "--quiet", "jobs", "--json"], env=env,
                             capture_output=True, timeout=60, check=True)
    (row,) = [r for r in orjson.loads(listing.stdout)["jobs"] if r["name"] == "harvest-arxiv"]
    assert (row["last_status"], row["last_run"]) == ("interrupted", at + "Z")
    text = subprocess.run([EXE, "--home", str(home), "--quiet", "jobs"], env=env, capture_output=True,
                          text=True, timeout=60, check=True).stdout
    assert f"interrupted: the run started at {at}Z ended without finishing" in text
    with Store.open(str(home), upgrade=False) as store:
        assert stored_ids(store) == sorted(PAGE_IDS[0])  # page 1 committed, nothing of page 2

    before = len(replay.requests_to("/oai"))
    rerun = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert b"was interrupted; running it again" in rerun.stderr
    (outcome,) = orjson.loads(rerun.stdout)["runs"]
    assert outcome["status"] == "ok" and outcome["counts"]["added"] == len(ALL_IDS) - len(PAGE_IDS[0])
    # Only pages 2 and 3 were asked for again, by their resumption tokens.
    assert [r.query.get("resumptionToken") for r in replay.requests_to("/oai")[before:]] == list(TOKENS)
    done = _job_runs(home)["harvest-arxiv"]
    assert (done.last_status, done.runs, done.failures) == ("ok", 1, 0)
    with Store.open(str(home)) as store, store.connect() as conn:
        rows = conn.execute(sa.text("SELECT arxiv_id, COUNT(*) FROM papers GROUP BY arxiv_id")).all()
    assert sorted(r[0] for r in rows) == ALL_IDS and all(r[1] == 1 for r in rows)  # nothing lost or doubled


@pytest.mark.slow
def test_two_workers_on_postgresql_run_a_job_once(
    shared_data: Path, tmp_path: Path, replay: ReplayServer, pg_url: str
) -> None:
    """Two ``paperscope worker`` processes (two homes, as on two hosts) on one PostgreSQL store."""
    replay.route("/oai", None, Reply(200, single_page(shared_data, 2), XML, delay=2.0))
    base = {k: v for k, v in child_env(tmp_path).items() if not k.startswith("PAPERSCOPE_")}
    env = {
        **base,
        **env_for(replay, PAPERSCOPE_JOBS_OFF="harvest-hf,enrich,digest", PAPERSCOPE_HARVEST_ARXIV_SETS="cs"),
    }
    workers = []
    logs = []
    for n in (1, 2):
        home = tmp_path / f"host{n}"
        home.mkdir()
        log = home / "worker.log"
        logs.append(log)
        with open(log, "wb") as handle:
            workers.append(
                subprocess.Popen(
                    [EXE, "--home", str(home), "--database", pg_url, "worker"], env=env, stdout=handle, stderr=handle
                )
            )
    engine = create_engine(pg_url)
    try:

        def status() -> tuple[str | None, int]:
            with engine.connect() as conn:
                row = conn.execute(
                    sa.text("SELECT last_status, runs FROM job_runs WHERE name = 'harvest-arxiv'")
                ).first()
            return (row[0], int(row[1])) if row else (None, 0)

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and status()[0] != "ok":
            for worker, log in zip(workers, logs, strict=True):
                assert worker.poll() is None, log.read_text()
            time.sleep(0.2)
        assert status()[0] == "ok", [log.read_text() for log in logs]
        time.sleep(3.0)  # both workers look at the schedule again (every second at least)
        assert status() == ("ok", 1)
        assert len(replay.requests_to("/oai")) == 1  # one harvest, by one worker
        assert all(w.poll() is None for w in workers)
    finally:
        engine.dispose()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    assert all(w.returncode == 0 for w in workers), [log.read_text() for log in logs]
    with Store.open(str(tmp_path / "host1"), pg_url) as store:
        assert stored_ids(store) == sorted(PAGE_IDS[2])


@pytest.mark.slow
def test_serve_runs_the_jobs_and_serves_when_the_sources_are_unreachable(home: Path) -> None:
    """What ``./run`` does on a machine with no network: the jobs fail, are recorded, and the site serves."""
    import httpx

    from mail_fixtures import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {
        **child_env(home),
        "PAPERSCOPE_OAI_URL": f"{dead}/oai",
        "PAPERSCOPE_HF_URL": dead,
        "PAPERSCOPE_ARXIV_API_URL": dead,
        "PAPERSCOPE_HTTP_RETRIES": "0",
    }
    port = free_port()
    log = home / "serve.log"
    with open(log, "wb") as handle:
        command = [EXE, "--home", str(home), "serve", "--port", str(port), "--index-refresh", "0", "--jobs"]
        proc = subprocess.Popen(command, env=env, stdout=handle, stderr=handle)
    try:
        deadline = time.monotonic() + 60
        failed: set[str] = set()
        while time.monotonic() < deadline and failed != {"harvest-arxiv", "harvest-hf"}:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.3)
            try:
                with Store.open(str(home), env.get("PAPERSCOPE_DATABASE_URL"), upgrade=False) as store:
                    failed = {r.name for r in store.job_runs() if r.last_status == "failed"}
            except sa.exc.DBAPIError:
                continue  # serve is still creating the schema
        assert failed == {"harvest-arxiv", "harvest-hf"}, log.read_text()
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        text = log.read_text()
        assert "ERROR paperscope.jobs.scheduler: job harvest-hf: failed: could not fetch" in text
        assert "Traceback" not in text  # an expected failure is one line, not a stack
    finally:
        proc.terminate()
        proc.wait(timeout=30)
