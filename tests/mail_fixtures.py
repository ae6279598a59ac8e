"""A real SMTP server on loopback for the mail tests (aiosmtpd), with a recording handler.

The handler can answer ``421`` to the first N DATA commands, ``550`` to chosen recipients,
and hold the Nth accepted message (after recording it, before answering ``250``) until the
test releases it: that is how a sender is caught "half-way" and killed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    received: list[Received] = field(default_factory=list)
    data_attempts: int = 0
    fail_first: int = 0  # answer 421 to this many DATA commands
    fail_at: set[int] = field(default_factory=set)  # answer 421 to these DATA attempts (1-based)
    reject: set[str] = field(default_factory=set)  # answer 550 to RCPT TO these addresses
    hold_at: int | None = None  # hold the Nth recorded message before answering 250
    delay: float = 0.0  # seconds between recording each message and answering 250 (a slow relay)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self.reject:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        if self.data_attempts <= self.fail_first or self.data_attempts in self.fail_at:
            return "421 4.3.2 service busy, try again later"
        content = envelope.original_content or envelope.content
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(content)))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold_at is not None and len(self.received) == self.hold_at:
            self.held.set()
            while not self.release.is_set():  # poll: never block the server's event loop
                await asyncio.sleep(0.02)
        return "250 OK queued"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


@dataclass
class SmtpServer:
    handler: RecordingHandler
    host: str
    port: int

    def env(self) -> dict[str, str]:
        return {
            "PAPERSCOPE_SMTP_HOST": self.host,
            "PAPERSCOPE_SMTP_PORT": str(self.port),
            "PAPERSCOPE_SMTP_SECURITY": "none",
            "PAPERSCOPE_MAIL_FROM": "paperscope <digest@paperscope.test>",
            "PAPERSCOPE_BASE_URL": "http://testserver",
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A started server; the PAPERSCOPE_SMTP_* / base URL environment points at it.

    Test modules wrap it in their own ``smtp_server`` fixture (``yield from``).
    """
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    server = SmtpServer(handler, "127.0.0.1", port)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PAPERSCOPE_SECRET", raising=False)
    monkeypatch.delenv("PAPERSCOPE_SECRET_KEY", raising=False)
    try:
        yield server
    finally:
        handler.release.set()
        controller.stop()


def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


# -- a store filled with the real February 2026 Daily Papers ------------------------------------
HF_DAILY = "hf-daily/hf-daily-2026-02.json"
# The sample has no arXiv categories; an arXiv-API record adds them to a few papers, as a
# later harvest would.  Chosen among the papers of the last days of the sample.
CATEGORIES = {
    "2602.23152": ["cs.CV", "cs.AI"],
    "2602.22638": ["cs.CV"],
    "2602.22897": ["cs.CV", "cs.CL"],
    "2602.22859": ["cs.LG"],
    "2602.22766": ["cs.CL"],
}


def fill_store(store: Any, shared_data: Any) -> None:
    from paperscope.ingest import Ingestor
    from paperscope.records import PaperRecord

    with Ingestor(store, report_rejects=False) as ingestor:
        summary = ingestor.ingest_paths([shared_data / HF_DAILY])
    assert summary.added == 783, summary.as_dict()
    records = []
    for arxiv_id, cats in CATEGORIES.items():
        paper = store.get_paper(arxiv_id)
        assert paper is not None, arxiv_id
        records.append(
            PaperRecord(
                source="arxiv-api",
                origin="test-categories",
                title=paper.title,
                arxiv_id=arxiv_id,
                abstract=paper.abstract,
                authors=paper.authors,
                categories=cats,
                primary_category=cats[0],
            )
        )
    store.write_records(records)
