"""The shared HTTP client: pacing, 503 + Retry-After, backoff, and errors that name the URL."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.errors import NetworkError
from paperscope.harvest.client import HttpClient, Pacing, parse_retry_after
from replay_server import ReplayServer, Reply

FAST = Pacing(delay=0.0, max_wait=5.0, retries=2, backoff=0.01, timeout=5.0)


def free_port() -> int:
    """A port nothing listens on: bound by us for a moment, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_503_retry_after_is_honoured(replay: ReplayServer) -> None:
    replay.route("/oai", None, Reply(503, b"busy", {"Retry-After": "1"}), Reply(200, b"<ok/>"))
    with HttpClient(FAST) as client:
        response = client.get(f"{replay.url}/oai", {"verb": "Identify"})
    assert response.content == b"<ok/>"
    first, second = replay.requests
    assert second.time - first.time >= 1.0  # the server asked for one second and got it
    assert client.waited == pytest.approx(1.0)
    assert client.requests == 2


def test_retry_after_wait_is_capped(replay: ReplayServer) -> None:
    replay.route("/x", None, Reply(503, b"", {"Retry-After": "3600"}), Reply(200, b"done"))
    with HttpClient(Pacing(delay=0.0, max_wait=0.05, retries=1, backoff=0.01)) as client:
        assert client.get(f"{replay.url}/x").content == b"done"
    assert client.waited == pytest.approx(0.05)


def test_retry_after_forms() -> None:
    now = datetime(2026, 2, 27, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Fri, 27 Feb 2026 10:00:30 GMT", now) == 30.0
    assert parse_retry_after("Fri, 27 Feb 2026 09:00:00 GMT", now) == 0.0  # already past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_pacing_spaces_requests(replay: ReplayServer) -> None:
    replay.route("/p", None, Reply(200, b"x"))
    with HttpClient(Pacing(delay=0.2, retries=0)) as client:
        started = time.monotonic()
        for _ in range(3):
            client.get(f"{replay.url}/p")
        elapsed = time.monotonic() - started
    # Server-side arrival gaps jitter with connection set-up; the client's own clock does not lie
    # about the lower bound: three requests need two full delays.
    assert elapsed >= 0.4
    assert len(replay.requests) == 3


def test_backoff_then_success_on_429(replay: ReplayServer) -> None:
    replay.route("/r", None, Reply(429, b""), Reply(502, b""), Reply(200, b"fine"))
    with HttpClient(FAST) as client:
        assert client.get(f"{replay.url}/r").content == b"fine"
    assert client.requests == 3
    assert client.waited == pytest.approx(0.01 + 0.02)  # 0.01 s, doubled


def test_client_error_is_not_retried(replay: ReplayServer) -> None:
    replay.route("/missing", None, Reply(404, b"not here"))
    with HttpClient(FAST, hint="Check --endpoint.") as client, pytest.raises(NetworkError) as caught:
        client.get(f"{replay.url}/missing", {"q": "1"})
    assert f"{replay.url}/missing?q=1 answered HTTP 404" in str(caught.value)
    assert "Check --endpoint." in str(caught.value)
    assert len(replay.requests) == 1


def test_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/oai"
    with HttpClient(FAST, hint="Check --endpoint.") as client, pytest.raises(NetworkError) as caught:
        client.get(url, {"verb": "ListRecords"})
    message = str(caught.value)
    assert f"could not fetch {url}?verb=ListRecords: ConnectError" in message
    assert "gave up after 3 attempts" in message and "Check --endpoint." in message
    assert "try again later" in message


def test_a_long_url_is_cut_in_the_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/query"
    ids = ",".join(f"2602.{n:05d}" for n in range(100))  # an enrichment batch
    with HttpClient(FAST) as client, pytest.raises(NetworkError) as caught:
        client.get(url, {"id_list": ids})
    message = str(caught.value)
    assert f"could not fetch {url}?id_list=2602.00000" in message and "characters): ConnectError" in message
    assert "2602.00099" not in message and len(message) < 400


def test_cli_connection_refused_exits_2_without_traceback(home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {"PAPERSCOPE_HTTP_RETRIES": "1", "PAPERSCOPE_HTTP_BACKOFF": "0.01", "PAPERSCOPE_HTTP_DELAY": "0"}
    for args in (
        ["harvest", "arxiv", "--from", "2026-02-01", "--endpoint", f"{url}/oai"],
        ["harvest", "hf", "--date", "2024-10-25", "--endpoint", url],
        ["add", "1605.08386", "--endpoint", url],
    ):
        result = CliRunner().invoke(main, ["--home", str(home), "--quiet", *args], env=env)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith(f"error: could not fetch {url}/"), result.stderr
        assert "--endpoint" in result.stderr and "Traceback" not in result.stderr
