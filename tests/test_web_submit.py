"""Submitting a paper through the site: the page only queues it (no network inside the request);
the ``fetch-queue`` job fetches it from a loopback replay of the arXiv API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from paperscope.harvest.client import Pacing
from paperscope.harvest.fetch_queue import process_fetch_queue
from paperscope.store import Store
from replay_server import ReplayServer
from web_support import csrf_of, make_client, sign_up

FAST = Pacing(delay=0.0, max_wait=1.0, retries=0, backoff=0.01, timeout=5.0)


@pytest.fixture()
def arxiv(shared_data: Path, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> ReplayServer:
    for recording in sorted((shared_data / "arxiv" / "atom").glob("id_*.json")):
        replay.route_recorded(recording)
    monkeypatch.setenv("PAPERSCOPE_ARXIV_API_URL", replay.url)
    monkeypatch.setenv("PAPERSCOPE_HTTP_DELAY", "0")
    monkeypatch.setenv("PAPERSCOPE_HTTP_RETRIES", "1")
    monkeypatch.setenv("PAPERSCOPE_HTTP_BACKOFF", "0.01")
    return replay


def _submit(client: TestClient, text: str) -> tuple[int, str]:
    token = csrf_of(client, "/submit")
    answer = client.post("/submit", data={"csrf_token": token, "paper": text}, follow_redirects=False)
    return answer.status_code, answer.text


def test_submit_queues_and_the_job_adds_to_todays_list(
    web_client: TestClient, web_store: Store, arxiv: ReplayServer
) -> None:
    sign_up(web_client, "submitter")
    status, page = _submit(web_client, "https://arxiv.org/abs/1605.08386")
    assert status == 202, page
    assert "is on its way" in page and 'href="/papers/1605.08386"' in page
    # Nothing was asked of arXiv while the visitor waited.
    assert arxiv.requests == []
    assert [(q.arxiv_id, q.status, q.submitted_by) for q in web_store.fetch_queue.items()] == [
        ("1605.08386", "queued", "submitter")
    ]
    waiting = web_client.get("/papers/1605.08386")
    assert waiting.status_code == 404 and "on its way" in waiting.text

    report = process_fetch_queue(web_store)
    assert (report["fetched"], report["not_found"], report["remaining"]) == (1, 0, 0), report
    assert [r.query["id_list"] for r in arxiv.requests] == ["1605.08386"]
    assert [(q.status, q.paper_key) for q in web_store.fetch_queue.items()] == [("done", "1605.08386")]
    page_after = web_client.get("/papers/1605.08386")
    assert page_after.status_code == 200
    assert 'class="submitted-by">submitter</dd>' in page_after.text
    today = datetime.now(UTC).date().isoformat()
    paper = web_store.get_paper("1605.08386")
    assert paper is not None and today in paper.list_dates and paper.submitted_by == "submitter"
    home = web_client.get("/")
    assert 'href="/papers/1605.08386"' in home.text
    api = web_client.get("/api/daily_papers").json()
    assert [i["paper"]["id"] for i in api] == ["1605.08386"]
    assert api[0]["submittedBy"]["name"] == "submitter"
    # Listed at the moment it was submitted (the queue row's time), not when arXiv was asked.
    (queued,) = web_store.fetch_queue.items()
    assert api[0]["publishedAt"] == queued.created_at == api[0]["paper"]["submittedOnDailyAt"]
    assert web_client.get("/api/papers/1605.08386").json()["submittedOnDailyAt"] == queued.created_at
    # A second run finds nothing to do.
    assert process_fetch_queue(web_store)["fetched"] == 0 and len(arxiv.requests) == 1


def test_submit_rejects_bad_ids_and_the_job_fails_unknown_ones(
    web_client: TestClient, web_store: Store, arxiv: ReplayServer
) -> None:
    sign_up(web_client, "submitter2")
    papers = web_store.count_papers()
    status, page = _submit(web_client, "not an id <script>")
    assert status == 400 and "arXiv id" in page and "<script>" not in page
    assert web_store.fetch_queue.items() == []
    status, page = _submit(web_client, "0000.0000")
    assert status == 202
    report = process_fetch_queue(web_store)
    assert report["not_found"] == 1 and report["fetched"] == 0, report
    (row,) = web_store.fetch_queue.items()
    assert row.status == "failed" and row.last_error
    assert web_store.count_papers() == papers
    assert "on its way" not in web_client.get("/papers/0000.0000").text
    # The submitter sees how it went on the submit page.
    assert "0000.0000</a>:" in web_client.get("/submit").text
    assert '<span class="error">not added: ' in web_client.get("/submit").text


def test_unreachable_arxiv_is_retried_later(
    web_store: Store, arxiv: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_client(web_store) as client:
        token = csrf_of(client, "/")
        anonymous = client.post(
            "/submit", data={"csrf_token": token, "paper": "1605.08386"}, follow_redirects=False
        )
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
        sign_up(client, "offline")
        assert _submit(client, "1605.08386")[0] == 202
    start = datetime.now(UTC)
    # A port nothing listens on: the job records the failure, the row waits, nothing is lost.
    down = process_fetch_queue(web_store, api_url="http://127.0.0.1:9", pacing=FAST, now=start)
    assert (down["retry"], down["remaining"]) == (1, 1) and down["errors"], down
    (row,) = web_store.fetch_queue.items()
    assert row.status == "queued" and row.attempts == 1 and row.last_error
    assert web_store.get_paper("1605.08386") is None
    # Not due again at once: no request at all.
    assert process_fetch_queue(web_store, pacing=FAST, now=start)["retry"] == 0 and arxiv.requests == []
    later = process_fetch_queue(web_store, pacing=FAST, now=start + timedelta(minutes=2))
    assert later["fetched"] == 1, later
    assert web_store.get_paper("1605.08386") is not None


def test_submit_is_rate_limited(web_store: Store, arxiv: ReplayServer) -> None:
    with make_client(web_store, rate_limits={"submit": "2/minute"}) as client:
        sign_up(client, "eager")
        codes = [_submit(client, "1605.08386")[0] for _ in range(3)]
        assert codes == [202, 202, 429]
    # The same paper from the same person for the same day is one row.
    assert len(web_store.fetch_queue.items()) == 1


def test_the_fetch_queue_job_fetches_and_records_failures(
    web_store: Store, arxiv: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from paperscope.cli import main
    from paperscope.harvest.fetch_queue import queue_submission

    def run_job() -> tuple[int, dict[str, object]]:
        done = CliRunner().invoke(
            main, ["--home", str(web_store.settings.home), "--quiet", "jobs", "run", "fetch-queue", "--json"]
        )
        (run,) = orjson.loads(done.stdout)["runs"]
        return done.exit_code, run

    queue_submission(web_store, "1605.08386", submitted_by="someone", list_date="2026-12-05")
    monkeypatch.setenv("PAPERSCOPE_ARXIV_API_URL", "http://127.0.0.1:9")
    code, run = run_job()
    assert code == 1 and run["status"] == "failed" and "127.0.0.1:9" in str(run["error"]), run
    assert web_store.job_runs()[0].failures == 1
    # The row waits out its back-off; move it to now, as time passing would.
    (row,) = web_store.fetch_queue.items()
    web_store.fetch_queue.retry(row.id, row.last_error or "", "2000-01-01T00:00:00Z")
    monkeypatch.setenv("PAPERSCOPE_ARXIV_API_URL", arxiv.url)
    code, run = run_job()
    assert code == 0 and run["status"] == "ok" and run["counts"]["fetched"] == 1, run  # type: ignore[index]
    paper = web_store.get_paper("1605.08386")
    assert paper is not None and paper.submitted_by == "someone" and "2026-12-05" in paper.list_dates
