"""Submitting a paper through the site: fetched from a loopback replay of the arXiv API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from paperscope.store import Store
from replay_server import ReplayServer
from web_support import csrf_of, make_client, sign_up


@pytest.fixture()
def arxiv(shared_data: Path, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> ReplayServer:
    for recording in sorted((shared_data / "arxiv" / "atom").glob("id_*.json")):
        replay.route_recorded(recording)
    monkeypatch.setenv("PAPERSCOPE_ARXIV_API_URL", replay.url)
    monkeypatch.setenv("PAPERSCOPE_HTTP_DELAY", "0")
    monkeypatch.setenv("PAPERSCOPE_HTTP_RETRIES", "1")
    monkeypatch.setenv("PAPERSCOPE_HTTP_BACKOFF", "0.01")
    return replay


def test_submit_adds_to_todays_list(web_client: TestClient, web_store: Store, arxiv: ReplayServer) -> None:
    sign_up(web_client, "submitter")
    token = csrf_of(web_client, "/submit")
    answer = web_client.post(
        "/submit",
        data={"csrf_token": token, "paper": "https://arxiv.org/abs/1605.08386"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/papers/1605.08386"
    assert [r.query["id_list"] for r in arxiv.requests] == ["1605.08386"]
    page = web_client.get("/papers/1605.08386")
    assert page.status_code == 200
    assert 'class="submitted-by">submitter</dd>' in page.text
    today = datetime.now(UTC).date().isoformat()
    paper = web_store.get_paper("1605.08386")
    assert paper is not None and today in paper.list_dates and paper.submitted_by == "submitter"
    # Today's list is now the newest day, and it holds the paper.
    home = web_client.get("/")
    assert 'href="/papers/1605.08386"' in home.text
    api = web_client.get("/api/daily_papers").json()
    assert [i["paper"]["id"] for i in api] == ["1605.08386"]
    assert api[0]["submittedBy"]["name"] == "submitter"


def test_submit_rejects_bad_and_unknown_ids(
    web_client: TestClient, web_store: Store, arxiv: ReplayServer
) -> None:
    sign_up(web_client, "submitter2")
    token = csrf_of(web_client, "/submit")
    papers = web_store.count_papers()
    bad = web_client.post("/submit", data={"csrf_token": token, "paper": "not an id <script>"})
    assert bad.status_code == 400 and "arXiv id" in bad.text and "<script>" not in bad.text
    assert arxiv.requests == []
    unknown = web_client.post("/submit", data={"csrf_token": token, "paper": "0000.0000"})
    assert unknown.status_code in (400, 404) and '<p class="error" role="alert">' in unknown.text
    assert web_store.count_papers() == papers


def test_submit_needs_sign_in_and_reports_unreachable_arxiv(
    web_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERSCOPE_HTTP_RETRIES", "0")
    # A port nothing listens on: the importer's NetworkError becomes a 502 page, not a 500.
    with make_client(web_store, arxiv_api_url="http://127.0.0.1:9") as client:
        token = csrf_of(client, "/")
        anonymous = client.post(
            "/submit", data={"csrf_token": token, "paper": "1605.08386"}, follow_redirects=False
        )
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
        sign_up(client, "offline")
        token = csrf_of(client, "/submit")
        down = client.post("/submit", data={"csrf_token": token, "paper": "1605.08386"})
        assert down.status_code == 502 and '<p class="error" role="alert">' in down.text
    assert web_store.get_paper("1605.08386") is None


def test_submit_is_rate_limited(web_store: Store, arxiv: ReplayServer) -> None:
    with make_client(web_store, rate_limits={"submit": "2/minute"}) as client:
        sign_up(client, "eager")
        token = csrf_of(client, "/submit")
        codes = [
            client.post(
                "/submit", data={"csrf_token": token, "paper": "1605.08386"}, follow_redirects=False
            ).status_code
            for _ in range(3)
        ]
        assert codes == [303, 303, 429]
