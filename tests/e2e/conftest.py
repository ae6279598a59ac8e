"""End-to-end harness: the real server (``paperscope serve``) in a subprocess on loopback, over a
home filled from the shared data, driven by Debian's Chromium through Playwright.

Nothing is mocked: the server is the CLI a user runs, the database is a SQLite file (or, with
``--backend postgresql``, the home's database on the test cluster, passed to the server in
``$PAPERSCOPE_DATABASE_URL``), the search index is built by ``paperscope index``, and "submit a
paper" reaches a loopback HTTP server replaying recorded arXiv API responses
(``tests/replay_server.py``).  Never ``playwright install``: the browser is the distribution's
``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

from paperscope.ingest import Ingestor
from paperscope.store import Store
from pg import child_env

REPO = Path(__file__).resolve().parents[2]
PAPERSCOPE = str(Path(sys.executable).with_name("paperscope"))
START_TIMEOUT_S = 60.0
# Playwright's own default is 30 s; on a loaded 2-core machine a page still answers in well
# under 15 s, and a shorter wait makes a broken selector fail fast.
ACTION_TIMEOUT_MS = 15_000
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def output_dir() -> Path:
    """Where this run's artefacts go: ``$PAPERSCOPE_TEST_OUTPUT`` or ``test-output/`` in the repo."""
    root = os.environ.get("PAPERSCOPE_TEST_OUTPUT")
    return Path(root) if root else REPO / "test-output"


@dataclass(frozen=True, slots=True)
class LiveServer:
    url: str
    home: Path
    arxiv_url: str

    def store(self) -> Store:
        """A second connection to the server's database, for checking what a click changed."""
        return Store.open(str(self.home))


@pytest.fixture(scope="session")
def e2e_home(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    home = tmp_path_factory.mktemp("e2e") / "home"
    with Store.open(str(home)) as store, Ingestor(store, report_rejects=False) as ingestor:
        summary = ingestor.ingest_paths(
            [
                shared_data / "hf-daily" / "hf-daily-2026-02.json",
                shared_data / "hf-daily" / "daily_papers_2024-10-25.json",
                *sorted((shared_data / "arxiv" / "kaggle").glob("*.jsonl")),
            ]
        )
    if summary.errors or summary.added < 800:
        raise RuntimeError(f"e2e home: ingest went wrong: {summary.as_dict()}")
    done = subprocess.run(
        [PAPERSCOPE, "--home", str(home), "--quiet", "index"],
        env=child_env(home),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"paperscope index failed ({done.returncode}): {done.stderr[-2000:]}")
    return home


@pytest.fixture(scope="session")
def arxiv_replay(shared_data: Path) -> Iterator[str]:
    """The recorded arXiv API answers, served on loopback; yields the base URL."""
    from replay_server import ReplayServer

    with ReplayServer() as server:
        for recording in sorted((shared_data / "arxiv" / "atom").glob("id_*.json")):
            server.route_recorded(recording)
        yield server.url


@pytest.fixture(scope="session")
def live_server(e2e_home: Path, arxiv_replay: str) -> Iterator[LiveServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = output_dir() / "e2e-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **child_env(e2e_home),
        "PAPERSCOPE_HOME": str(e2e_home),
        "PAPERSCOPE_ARXIV_API_URL": arxiv_replay,
        "PAPERSCOPE_SECRET_KEY": "e2e-secret-key-not-for-production",
    }
    command = [PAPERSCOPE, "--home", str(e2e_home), "--quiet", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(url, process, log_path)
            yield LiveServer(url=url, home=e2e_home, arxiv_url=arxiv_replay)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text()[-3000:]
            raise RuntimeError(f"paperscope serve exited with {process.returncode}: {tail}")
        try:
            if httpx.get(url + "/", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"paperscope serve did not answer on {url} within {START_TIMEOUT_S} s: {log_path}")


@pytest.fixture()
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test; pages resolve paths against the server."""
    ctx = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture()
def browser_errors() -> list[str]:
    """What went wrong in the page's browser; a test that expects an error removes it from here."""
    return []


@pytest.fixture()
def page(context: BrowserContext, browser_errors: list[str]) -> Iterator[Page]:
    opened = context.new_page()
    watch_for_errors(opened, browser_errors)
    yield opened
    # A script error, a resource the CSP blocked or a broken link to a resource fails the test.
    assert not browser_errors, f"browser errors on {opened.url}: {browser_errors}"


def watch_for_errors(page: Page, errors: list[str]) -> None:
    page.on("pageerror", lambda error: errors.append(f"script error: {error}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console: {msg.text}")
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    # Every resource a page asks for, the favicon included, must be there.
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} for {response.url}")
            if response.status >= 400 and response.request.resource_type != "document"
            else None
        ),
    )


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = output_dir() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
