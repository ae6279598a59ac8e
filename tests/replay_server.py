"""Test infrastructure: a real HTTP server on loopback that replays recorded responses.

Not product code.  Harvest and web tests point paperscope at ``server.url`` instead of arXiv or
Hugging Face, so every byte travels over a real socket through the real client (httpx, retries,
pacing) and nothing reaches the internet.  Written on the stdlib ``http.server`` because a
route table with per-route reply sequences (503 once, then the body; a slow page) and a log of
the requests received is all we need, and no test-server library offers exactly that.

A route is a path plus the query parameters that must be present with those values (other
parameters are ignored); the most specific matching route answers.  Each request to a route
takes the next reply of its sequence; the last reply repeats.  Unmatched requests get 404.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import orjson


@dataclass(slots=True)
class Reply:
    """One canned response; ``delay`` seconds pass before it is sent (a slow page)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(slots=True)
class Route:
    path: str
    query: dict[str, str]
    replies: list[Reply]
    served: int = 0

    def matches(self, path: str, query: Mapping[str, str]) -> bool:
        return path == self.path and all(query.get(k) == v for k, v in self.query.items())

    def next_reply(self) -> Reply:
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


@dataclass(frozen=True, slots=True)
class SeenRequest:
    """A request as the server received it: when, where, with which query and headers."""

    time: float
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class ReplayServer:
    """Serve a route table on 127.0.0.1 (port chosen by the OS) from a background thread."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, name="replay-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def _serve(self) -> None:
        # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
        self._httpd.serve_forever(poll_interval=0.02)

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a slow reply
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the route table ------------------------------------------------------------------
    def route(self, path: str, query: Mapping[str, str] | None = None, *replies: Reply) -> Route:
        if not replies:
            raise ValueError("a route needs at least one reply")
        added = Route(path=path, query=dict(query or {}), replies=list(replies))
        with self._lock:
            self.routes.append(added)
        return added

    def route_recorded(self, recording: Path, keys: tuple[str, ...] = ("id_list",)) -> Route:
        """Serve an arXiv API recording ``{url, status_code, body}`` under its own path and the
        ``keys`` of its recorded query (the other recorded parameters are client choices)."""
        data = orjson.loads(recording.read_bytes())
        parts = urlsplit(data["url"])
        recorded = dict(parse_qsl(parts.query, keep_blank_values=True))
        query = {k: recorded[k] for k in keys if k in recorded}
        reply = Reply(
            status=int(data["status_code"]),
            body=data["body"].encode("utf-8"),
            headers={"Content-Type": "application/atom+xml; charset=UTF-8"},
        )
        return self.route(parts.path, query, reply)

    def requests_to(self, path: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- serving --------------------------------------------------------------------------
    def _answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(SeenRequest(time.monotonic(), path, query, headers))
            candidates = [r for r in self.routes if r.matches(path, query)]
            if not candidates:
                body = f"no route for {path}?{sorted(query.items())}".encode()
                return Reply(404, body, {"Content-Type": "text/plain"})
            best = max(candidates, key=lambda r: len(r.query))
            return best.next_reply()


def _handler_for(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            reply = server._answer(parts.path, query, dict(self.headers.items()))
            if reply.delay and server._stopping.wait(reply.delay):
                return
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client was killed mid-request (the kill test does exactly that)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean; requests are recorded in server.requests instead

    return Handler


def serve() -> Iterator[ReplayServer]:
    """Body of the ``replay`` fixture: a started server, stopped afterwards."""
    with ReplayServer() as server:
        yield server
