"""A real ``paperscope serve`` for tests that need separate worker processes (metrics across
workers, concurrent votes): started on a free loopback port, waited for, and stopped."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from mail_fixtures import free_port

EXE = str(Path(sys.executable).parent / "paperscope")


@contextmanager
def serving(
    home: Path, options: Sequence[str], env: Mapping[str, str], *, probe: str = "/healthz", timeout: float = 60
) -> Iterator[str]:
    """``paperscope --home HOME --quiet serve --port P OPTIONS``; yields the base URL once ``probe``
    answers 200. The server's output goes to ``HOME/serve.log``, quoted when it fails to start."""
    port = free_port()
    log = home / "serve.log"
    command = [EXE, "--home", str(home), "--quiet", "serve", "--port", str(port), *options]
    with open(log, "wb") as handle:
        proc = subprocess.Popen(command, env=dict(env), stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(base + probe, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not come up: " + log.read_text()[-2000:]
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
