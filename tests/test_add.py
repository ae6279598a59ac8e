"""``paperscope add`` and ``add_papers``: ids in every spelling, batching, unknown ids, submissions.

The arXiv API answers are real recordings (``arxiv/atom/*.json``) replayed on loopback under
the ``id_list`` they were recorded for.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from paperscope.cli import main
from paperscope.errors import QueryError
from paperscope.harvest.arxiv_api import add_papers
from paperscope.harvest.client import Pacing
from paperscope.store import Store
from replay_server import ReplayServer, Reply

FAST = Pacing(delay=0.0, retries=1, backoff=0.01, timeout=5.0)
FAST_ENV = {"PAPERSCOPE_HTTP_DELAY": "0", "PAPERSCOPE_HTTP_BACKOFF": "0.01", "PAPERSCOPE_HTTP_RETRIES": "1"}
ATOM = "arxiv/atom"


@pytest.fixture()
def arxiv(shared_data: Path, replay: ReplayServer) -> ReplayServer:
    """Every recorded arXiv API response, each under the id_list it answered."""
    for recording in sorted((shared_data / ATOM).glob("id_*.json")):
        replay.route_recorded(recording)
    return replay


def run_cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), "--quiet", *args], env=FAST_ENV)


def test_add_new_old_versioned_ids_and_urls(home: Path, arxiv: ReplayServer) -> None:
    inputs = [
        "1605.08386",  # new style
        "astro-ph/0601001",  # old style
        "2104.12255v1",  # versioned
        "arXiv:quant-ph/0201082v1",  # old style, versioned, prefixed
        "https://arxiv.org/abs/1707.08567",  # arXiv URL
    ]
    # The recordings hold one id each, so one id per request here; test_unknown... batches two.
    result = run_cli(home, "add", *inputs, "--endpoint", arxiv.url, "--batch-size", "1", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    report = orjson.loads(result.stdout)
    assert (report["added"], report["updated"], report["unchanged"], report["rejected"]) == (5, 0, 0, 0)
    # Versions are kept as the user asked for them; everything else is canonical.
    assert [r.query["id_list"] for r in arxiv.requests] == [
        "1605.08386", "astro-ph/0601001", "2104.12255v1", "quant-ph/0201082v1", "1707.08567"
    ]
    assert all(r.query["max_results"] == "1" for r in arxiv.requests)
    with Store.open(str(home)) as store:
        for arxiv_id in ("1605.08386", "astro-ph/0601001", "2104.12255", "quant-ph/0201082", "1707.08567"):
            paper = store.get_paper(arxiv_id)
            assert paper is not None, arxiv_id
            assert paper.arxiv_id == arxiv_id
        zero = store.get_paper("2104.12255")
        assert zero is not None and zero.title == "0" and zero.authors == ["Quan Thoi Minh Nguyen"]


def test_each_spelling_asks_for_the_right_id(home: Path, arxiv: ReplayServer) -> None:
    with Store.open(str(home)) as store:
        for text, asked in (
            ("https://huggingface.co/papers/1605.08386", "1605.08386"),
            ("https://arxiv.org/pdf/2104.12255v1", "2104.12255v1"),
            ("http://arxiv.org/abs/astro-ph/0601001", "astro-ph/0601001"),
        ):
            before = len(arxiv.requests)
            result = add_papers(store, [text], api_url=arxiv.url, pacing=FAST)
            assert [r.query["id_list"] for r in arxiv.requests[before:]] == [asked]
            assert len(result.added) == 1 and not result.rejected, (text, result)
        assert store.count_papers() == 3


def test_unknown_and_malformed_ids_are_reported(home: Path, arxiv: ReplayServer) -> None:
    # 0808.05394 is recorded batched with 1707.08567: one request, one found, one not.
    args = ["0808.05394", "1707.08567", "0000.0000", "abc", "--endpoint", arxiv.url, "--batch-size", "2"]
    result = run_cli(home, "add", *args, "--json")
    assert result.exit_code == 1, result.output + result.stderr
    report = orjson.loads(result.stdout)
    assert report["added"] == 1 and report["rejected"] == 3
    reasons = {r["input"]: r["reason"] for r in report["rejects"]}
    assert reasons["abc"].startswith("not an arXiv id")
    assert reasons["0808.05394"] == "arXiv has no paper 0808.05394"
    assert reasons["0000.0000"] == "arXiv has no paper 0000.0000"
    # 'abc' never reached the network; the other three went in batches of two.
    assert [r.query["id_list"] for r in arxiv.requests] == ["0808.05394,1707.08567", "0000.0000"]
    with Store.open(str(home)) as store:
        assert store.count_papers() == 1 and store.get_paper("1707.08567") is not None
        rejects = store.settings.rejects_path.read_text().splitlines()
    assert len(rejects) == 3 and any("0000.0000" in line for line in rejects)


def test_api_error_entry_is_a_reject_and_spares_the_batch(
    shared_data: Path, home: Path, replay: ReplayServer
) -> None:
    """arXiv answers a batch holding a bad id with HTTP 400 and one "Error" entry for all of it."""
    error = orjson.loads((shared_data / ATOM / "id_abc_s0_m100_b79c8dcf6bc3.json").read_bytes())
    error_reply = Reply(400, error["body"].encode(), {"Content-Type": "application/atom+xml"})
    replay.route("/api/query", {"id_list": "2501.99999,1605.08386"}, error_reply)
    replay.route("/api/query", {"id_list": "2501.99999"}, error_reply)
    replay.route_recorded(shared_data / ATOM / "id_1605.08386_s0_m100_199195aa31ad.json")
    with Store.open(str(home)) as store:
        result = add_papers(store, ["2501.99999", "1605.08386"], api_url=replay.url, pacing=FAST)
        asked = [r.query["id_list"] for r in replay.requests]
        assert asked == ["2501.99999,1605.08386", "2501.99999", "1605.08386"]
        assert result.rejected == [("2501.99999", "arXiv API error: incorrect id format for abc")]
        assert len(result.added) == 1 and store.get_paper("1605.08386") is not None
        assert result.summary.rejected == 1


def test_readding_is_unchanged_and_batches_split(home: Path, arxiv: ReplayServer) -> None:
    ids = ["1605.08386", "2104.12255v1", "astro-ph/0601001"]
    with Store.open(str(home)) as store:
        first = add_papers(store, ids, api_url=arxiv.url, pacing=FAST, batch_size=1)
        assert len(first.added) == 3 and first.requests == 3
        again = add_papers(store, ids, api_url=arxiv.url, pacing=FAST, batch_size=1)
        assert again.added == [] and again.updated == [] and len(again.unchanged) == 3
        assert again.keys == first.keys
        assert (again.summary.added, again.summary.unchanged) == (0, 3)


def test_submission_creates_a_daily_entry(home: Path, arxiv: ReplayServer) -> None:
    with Store.open(str(home)) as store:
        result = add_papers(
            store, ["https://arxiv.org/abs/1605.08386"], api_url=arxiv.url, pacing=FAST,
            submitted_by="alice", list_date="2026-02-27",
        )
        assert len(result.added) == 1
        paper = store.get_paper(result.added[0])
        assert paper is not None and paper.arxiv_id == "1605.08386"
        assert paper.list_dates == ["2026-02-27"] and paper.submitted_by == "alice"
        assert store.stats()["by_source"] == {"submit": 1}
        # Submitting it again for the same day is no change; a plain add does not touch the entry.
        again = add_papers(store, ["1605.08386"], api_url=arxiv.url, pacing=FAST, submitted_by="alice",
                           list_date="2026-02-27")
        assert len(again.unchanged) == 1
        assert store.stats()["daily_entries"] == 1


def test_bad_list_date_is_refused_before_any_request(home: Path, replay: ReplayServer) -> None:
    with Store.open(str(home)) as store, pytest.raises(QueryError, match="'27/02/2026' is not a date"):
        add_papers(store, ["1605.08386"], api_url=replay.url, pacing=FAST, list_date="27/02/2026")
    assert replay.requests == []
