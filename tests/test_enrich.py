"""``paperscope enrich`` / ``run_enrich``: completing listed papers from the arXiv API.

The arXiv API is the loopback replay server.  The month file's papers have 2026 ids that the
recorded arXiv responses do not cover, so their ``id_list`` answers are built by
``tests/arxiv_feeds.py`` from the real arXiv snapshot sample's records mapped to those ids (its
docstring says exactly how); the saved-page paper is a real card of ``hf-pages/``; the Hugging
Face list is the real ``daily_papers_2024-10-25.json``.  Runs on both backends.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from arxiv_feeds import Entry, entry_for, feed, month_entries, snapshot_records
from paperscope.cli import main
from paperscope.harvest.client import Pacing
from paperscope.harvest.enrich import run_enrich, title_query
from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord, normalize_title
from paperscope.sources.hf_page import parse_hf_page
from paperscope.store import Store
from pg import child_env
from replay_server import ReplayServer, Reply

FAST = Pacing(delay=0.0, retries=0, backoff=0.01, timeout=10.0)
ATOM = {"Content-Type": "application/atom+xml; charset=UTF-8"}
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MONTH = "hf-daily/hf-daily-2026-02.json"
# Left out of the built answers: arXiv "does not know" them.
UNKNOWN = ("2602.23152", "2602.22859", "2602.22638")


def ingest(store: Store, path: Path) -> None:
    with Ingestor(store, report_rejects=False) as ingestor:
        ingestor.ingest_paths([path])


def serve_batches(replay: ReplayServer, store: Store, entries: dict[str, Entry], size: int = 100,
                  slow: dict[int, float] | None = None, limit: int | None = None) -> list[list[str]]:
    """Answer each ``id_list`` batch the run will send (the due papers in the store's order)."""
    ids = [c.arxiv_id for c in store.enrich_candidates(NOW, limit) if c.arxiv_id]
    batches = [ids[i : i + size] for i in range(0, len(ids), size)]
    for number, batch in enumerate(batches):
        body = feed([entries[i] for i in batch if i in entries and i not in UNKNOWN])
        delay = (slow or {}).get(number, 0.0)
        replay.route("/api/query", {"id_list": ",".join(batch)}, Reply(200, body, ATOM, delay=delay))
    return batches


@pytest.fixture()
def month_store(store: Store, shared_data: Path) -> Store:
    ingest(store, shared_data / MONTH)
    return store


def test_month_file_papers_are_completed_and_keep_their_community_data(
    month_store: Store, shared_data: Path, replay: ReplayServer
) -> None:
    store = month_store
    entries = month_entries(shared_data)
    before = store.get_paper("2602.22897")
    assert before is not None and before.categories == [] and before.published is None
    assert before.ai_summary and before.hf_upvotes > 0 and before.list_dates
    batches = serve_batches(replay, store, entries)
    assert [len(b) for b in batches] == [100] * 7 + [83]

    report = run_enrich(store, api_url=replay.url, pacing=FAST, now=NOW)

    assert report.as_dict()["enriched"] == 780
    assert (report.enriched, report.not_found, report.failed, report.remaining) == (780, 3, 0, 0)
    assert report.requests == 8
    sent = [r.query for r in replay.requests]
    assert [q["id_list"] for q in sent] == [",".join(b) for b in batches]
    assert all(q["max_results"] == str(len(q["id_list"].split(","))) for q in sent)

    after = store.get_paper("2602.22897")
    assert after is not None
    entry = entries["2602.22897"]
    # arXiv's metadata ...
    assert after.meta_source == "arxiv-api"
    assert after.categories == entry.categories and after.primary_category == entry.categories[0]
    assert after.abstract == entry.abstract and after.authors == entry.authors
    assert after.published == entry.published[:10] and after.published_at == entry.published
    assert after.comments == entry.comment and after.doi == entry.doi
    assert [v["version"] for v in after.versions][-1] == f"v{entry.version}"
    # ... and Hugging Face's facts as they were.
    assert after.hf_upvotes == before.hf_upvotes and after.list_dates == before.list_dates
    assert after.ai_summary == before.ai_summary and after.code_url == before.code_url
    assert store.count_papers() == 783

    missing = store.get_paper(UNKNOWN[0])
    assert missing is not None and missing.meta_source == "json-list" and missing.categories == []
    status = store.enrichment_status(missing.id)
    assert status is not None and status["status"] == "not_found" and status["attempts"] == 1
    assert "2602.23152" in status["reason"]


def test_unknown_papers_are_asked_again_with_back_off(
    month_store: Store, shared_data: Path, replay: ReplayServer
) -> None:
    store = month_store
    serve_batches(replay, store, month_entries(shared_data))
    run_enrich(store, api_url=replay.url, pacing=FAST, now=NOW)
    asked = len(replay.requests)
    # The same round again: nothing is due.
    again = run_enrich(store, api_url=replay.url, pacing=FAST, now=NOW + timedelta(hours=23))
    assert (again.enriched, again.not_found, again.remaining, again.waiting, again.requests) == (0, 0, 0, 3, 0)
    assert len(replay.requests) == asked

    # A day later the three are due: one request for the three of them, still unknown.
    unknown = replay.route("/api/query", {"id_list": ",".join(UNKNOWN)}, Reply(200, feed([]), ATOM))
    day = NOW + timedelta(days=1, minutes=1)
    second = run_enrich(store, api_url=replay.url, pacing=FAST, now=day)
    assert (second.enriched, second.not_found, second.requests) == (0, 3, 1)
    paper = store.get_paper(UNKNOWN[1])
    assert paper is not None
    status = store.enrichment_status(paper.id)
    assert status is not None and status["attempts"] == 2
    assert status["next_try"] == (day + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Doubled: not due one day later, due two days later, when arXiv finally knows one of them.
    assert run_enrich(store, api_url=replay.url, pacing=FAST, now=day + timedelta(days=1)).requests == 0
    entries = month_entries(shared_data)
    unknown.replies = [Reply(200, feed([entries[UNKNOWN[1]]]), ATOM)]
    third = run_enrich(store, api_url=replay.url, pacing=FAST, now=day + timedelta(days=2, minutes=1))
    assert (third.enriched, third.not_found, third.requests) == (1, 2, 1)
    done = store.get_paper(UNKNOWN[1])
    assert done is not None and done.meta_source == "arxiv-api" and store.enrichment_status(done.id) is None


def test_back_off_is_capped(store: Store, replay: ReplayServer) -> None:
    store.write_records([PaperRecord(source="json-list", origin="t", title="Nobody Knows", arxiv_id="2602.99999")])
    replay.route("/api/query", {"id_list": "2602.99999"}, Reply(200, feed([]), ATOM))
    moment = NOW
    for _ in range(8):
        report = run_enrich(store, api_url=replay.url, pacing=FAST, now=moment, max_backoff=timedelta(days=4))
        assert report.not_found == 1
        paper = store.get_paper("2602.99999")
        assert paper is not None
        status = store.enrichment_status(paper.id)
        assert status is not None
        moment = datetime.strptime(status["next_try"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert status["attempts"] == 8 and moment - NOW == timedelta(days=1 + 2 + 4 * 6)


def test_saved_page_paper_is_completed_by_exact_title_only(
    store: Store, shared_data: Path, replay: ReplayServer
) -> None:
    page = shared_data / "hf-pages/003_dd9ea458efea1772.txt"
    records = [r for r in parse_hf_page(page) if isinstance(r, PaperRecord)]
    wanted = next(r for r in records if r.title == "Batch Predictive Inference")
    near = next(r for r in records if r.title.startswith("LMM-Det"))
    store.write_records([wanted, near])
    keys = {c.title: c.key for c in store.enrich_candidates(NOW)}
    local = store.get_paper(keys[wanted.title])
    assert local is not None and local.arxiv_id is None and local.authors == []
    old_key = local.key
    snapshots = snapshot_records(shared_data)
    # arXiv's answer ranks a longer title first; only the exact one (other case and punctuation) merges.
    exact = entry_for("2409.13990", "Batch predictive inference.", ["Yonghoon Lee", "Eric Tchetgen Tchetgen",
                      "Edgar Dobriban"], "", "2024-09-21", snapshots[3])
    longer = entry_for("2409.00001", "Batch Predictive Inference for Graphs", ["A. Author"], "", "2024-09-02",
                       snapshots[4])
    replay.route("/api/query", {"search_query": 'ti:"batch predictive inference"'},
                 Reply(200, feed([longer, exact]), ATOM))
    # Only near titles for the other paper: it stays as it is, marked not found.
    near_title = entry_for("2507.00002", "LMM-Det: Make Large Multimodal Models Excel in Object Detection Tasks",
                           ["B. Author"], "", "2025-07-02", snapshots[5])
    replay.route("/api/query", {"search_query": title_query(normalize_title(near.title))},
                 Reply(200, feed([near_title]), ATOM))

    report = run_enrich(store, api_url=replay.url, pacing=FAST, now=NOW)

    assert (report.enriched, report.not_found, report.failed, report.requests) == (1, 1, 0, 2)
    assert [r.query["search_query"] for r in replay.requests] == [
        'ti:"batch predictive inference"', 'ti:"lmm det make large multimodal models excel in object detection"'
    ]
    paper = store.get_paper("2409.13990")
    assert paper is not None and paper.id == local.id
    assert paper.authors == ["Yonghoon Lee", "Eric Tchetgen Tchetgen", "Edgar Dobriban"]
    assert paper.categories == exact.categories and paper.published == exact.published[:10]
    assert store.get_paper(old_key) is not None and store.get_paper(old_key).id == paper.id  # type: ignore[union-attr]
    assert store.get_paper("2409.00001") is None
    other = store.get_paper(keys[near.title])
    assert other is not None and other.arxiv_id is None and other.title == near.title
    status = store.enrichment_status(other.id)
    assert status is not None and status["reason"] == "no arXiv paper has exactly this title"
    assert store.count_papers() == 2


def test_hf_list_upvotes_daily_list_and_submitter_survive(
    store: Store, shared_data: Path, replay: ReplayServer
) -> None:
    ingest(store, shared_data / "hf-daily/daily_papers_2024-10-25.json")
    raw = orjson.loads((shared_data / "hf-daily/daily_papers_2024-10-25.json").read_bytes())
    first = raw[0]
    arxiv_id = first["paper"]["id"]
    before = store.get_paper(arxiv_id)
    assert before is not None and before.submitted_by and before.hf_upvotes == first["paper"]["upvotes"]
    snapshots = snapshot_records(shared_data)
    entries = {
        item["paper"]["id"]: entry_for(item["paper"]["id"], item["paper"]["title"], ["Someone Else"], "",
                                       "2024-10-25", snapshots[n])
        for n, item in enumerate(raw)
    }
    serve_batches(replay, store, entries)
    report = run_enrich(store, api_url=replay.url, pacing=FAST, now=NOW)
    assert (report.enriched, report.not_found) == (len(raw), 0)
    after = store.get_paper(arxiv_id)
    assert after is not None and after.meta_source == "arxiv-api"
    assert after.authors == ["Someone Else"] and after.categories == entries[arxiv_id].categories
    assert (after.hf_upvotes, after.list_dates, after.submitted_by, after.num_comments) == (
        before.hf_upvotes, before.list_dates, before.submitted_by, before.num_comments
    )
    # Ingesting the Hugging Face list again does not undo arXiv's metadata.
    ingest(store, shared_data / "hf-daily/daily_papers_2024-10-25.json")
    again = store.get_paper(arxiv_id)
    assert again is not None and again.authors == ["Someone Else"] and again.meta_source == "arxiv-api"


def test_an_answer_out_of_bounds_is_a_failure_and_changes_nothing(store: Store, shared_data: Path,
                                                                   replay: ReplayServer) -> None:
    store.write_records([PaperRecord(source="json-list", origin="t", title="Short Title", arxiv_id="2602.99997",
                                     upvotes=4, daily_date="2026-02-27")])
    bad = entry_for("2602.99997", "Long " * 400, ["A. Author"], "", "2026-02-27", snapshot_records(shared_data)[0])
    replay.route("/api/query", {"id_list": "2602.99997"}, Reply(200, feed([bad]), ATOM))
    report = run_enrich(store, api_url=replay.url, pacing=FAST, now=NOW)
    assert (report.enriched, report.not_found, report.failed) == (0, 0, 1)
    paper = store.get_paper("2602.99997")
    assert paper is not None and paper.title == "Short Title" and paper.meta_source == "json-list"
    status = store.enrichment_status(paper.id)
    assert status is not None and status["status"] == "failed" and "at most 1,000" in status["reason"]


def test_unreachable_arxiv_counts_failed_and_loses_nothing(month_store: Store) -> None:
    report = run_enrich(month_store, api_url="http://127.0.0.1:9", pacing=FAST, now=NOW, limit=150)
    assert (report.enriched, report.not_found, report.failed, report.remaining) == (0, 0, 150, 783)
    assert report.errors and "127.0.0.1:9" in report.errors[0]
    assert month_store.count_enrich_waiting(NOW) == 0  # a failure is no reason to wait a day


def _paperscope() -> str:
    script = Path(sys.executable).with_name("paperscope")
    assert script.exists(), f"entry point {script} missing: pip install -e . into this virtualenv"
    return str(script)


@pytest.mark.slow
def test_killed_enrich_keeps_its_batches_and_a_rerun_finishes(
    month_store: Store, home: Path, shared_data: Path, replay: ReplayServer
) -> None:
    """SIGKILL a real ``paperscope enrich`` while its third batch is in flight, then rerun it."""
    store = month_store
    batches = serve_batches(replay, store, month_entries(shared_data), slow={2: 60.0})
    command = [_paperscope(), "--home", str(home), "--quiet", "enrich", "--endpoint", replay.url, "--delay", "0",
               "--json"]
    process = subprocess.Popen(command, env=child_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(replay.requests) < 3 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        assert len(replay.requests) == 3, "the third batch was never asked for"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    with store.connect() as conn:
        done = conn.execute(sa.text("SELECT COUNT(*) FROM papers WHERE meta_source = 'arxiv-api'")).scalar()
    assert done == 200 - sum(1 for b in batches[:2] for i in b if i in UNKNOWN)

    # Due now: everything but the two committed batches (their unknown papers wait for their back-off).
    due = [c.arxiv_id for c in store.enrich_candidates(NOW)]
    assert len(due) == 783 - 200 and not set(due) & {i for b in batches[:2] for i in b}
    replay.routes.clear()
    serve_batches(replay, store, month_entries(shared_data))
    rerun = subprocess.run(command, env=child_env(home), capture_output=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr.decode()
    report = orjson.loads(rerun.stdout)
    assert set(report) >= {"enriched", "not_found", "failed", "remaining"}
    assert report["enriched"] + done == 780 and report["failed"] == 0 and report["remaining"] == 0
    with store.connect() as conn:
        rows = conn.execute(sa.text("SELECT meta_source, COUNT(*) FROM papers GROUP BY meta_source")).all()
    assert dict(rows) == {"arxiv-api": 780, "json-list": 3}
    assert store.count_papers() == 783


def test_cli_limit_and_json(month_store: Store, home: Path, shared_data: Path, replay: ReplayServer) -> None:
    serve_batches(replay, month_store, month_entries(shared_data), limit=150)
    result = CliRunner().invoke(
        main, ["--home", str(home), "--quiet", "enrich", "--limit", "150", "--endpoint", replay.url, "--json"],
        env={**child_env(home), "PAPERSCOPE_HTTP_DELAY": "0"},
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["enriched"] + report["not_found"] == 150 and report["failed"] == 0
    assert report["remaining"] == 783 - 150
    assert [len(r.query["id_list"].split(",")) for r in replay.requests] == [100, 50]
