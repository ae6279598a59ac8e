"""Prometheus metrics (``GET /metrics``, the ``prometheus-client`` library); every series is ``paperscope_*``.

Two kinds, counted two ways:

- What a web process sees: requests by route *template* (``/papers/{key:path}``, never the raw
  path, which would make a series per paper) and their latency, and search latency per mode.
  These live in the process that served the request.  Under ``paperscope serve --workers N``
  each worker is a process of its own, so ``serve`` turns on prometheus-client's multiprocess
  mode (``$PROMETHEUS_MULTIPROC_DIR``, a fresh folder per run): every worker writes its
  counters to a file there and ``/metrics``, whichever worker answers, adds up all of them.
  A process started without it (``create_app`` in a test, or under another ASGI server)
  reports its own counts only.
- What the store knows: papers, index lag, job runs and failures, digests sent, queue sizes.
  These are read from the database at each scrape (:class:`StoreCollector`), so they are the
  same whichever worker answers and include work done by other processes and hosts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from ..store import Store

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SEARCH_ROUTES = frozenset({"/search", "/api/papers/search"})
SEARCH_MODES = frozenset({"hybrid", "keyword", "semantic"})
UNMATCHED = "<unmatched>"  # a request no route took (a 404): one series, whatever the path

# The process's own metrics, in a registry of their own: the default registry would add the
# unprefixed python_* and process_* series, and in multiprocess mode they are collected from
# the files instead.
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "paperscope_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "paperscope_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    registry=REGISTRY,
)
SEARCH_SECONDS = Histogram(
    "paperscope_search_duration_seconds",
    "Time to answer a search (the /search page or /api/papers/search), by the mode asked for.",
    ["mode"],
    registry=REGISTRY,
)


def multiprocess() -> bool:
    """Whether this process's metrics went to ``$PROMETHEUS_MULTIPROC_DIR`` files: decided by
    prometheus-client when it was first imported, so the variable must be set before that."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _search_mode(scope: Scope) -> str | None:
    from urllib.parse import parse_qs

    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if not (query.get("q") or [""])[0].strip():
        return None  # the empty search page, not a search
    mode = (query.get("mode") or ["hybrid"])[0]
    return mode if mode in SEARCH_MODES else None


class MetricsMiddleware:
    """Counts and times every HTTP request (plain ASGI, like :mod:`.middleware`, for the same reason)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            method = scope.get("method", "GET")
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(elapsed)
            if route in SEARCH_ROUTES and status < 400:
                mode = _search_mode(scope)
                if mode is not None:
                    SEARCH_SECONDS.labels(mode).observe(elapsed)


class StoreCollector(Collector):
    """Series read from the store at scrape time (the same from every worker)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        from .health import read_health

        health = read_health(self.store)
        up = GaugeMetricFamily("paperscope_database_up", "1 when the database answers, else 0.")
        up.add_metric([], 1.0 if health.database_ok else 0.0)
        yield up
        if not health.database_ok:
            return
        papers = GaugeMetricFamily("paperscope_papers", "Papers in the store.")
        papers.add_metric([], float(health.papers))
        yield papers
        lag = GaugeMetricFamily(
            "paperscope_index_lag_changes",
            "Changes in the store not yet taken into this home's search indexes, by index.",
            labels=["index"],
        )
        for name, value in health.index_lag.items():
            if value is not None:
                lag.add_metric([name], float(value))
        yield lag
        runs = CounterMetricFamily("paperscope_job_runs", "Finished runs of each scheduled job.", labels=["job"])
        failures = CounterMetricFamily("paperscope_job_failures", "Failed runs of each scheduled job.", labels=["job"])
        for run in health.jobs:
            runs.add_metric([run.name], float(run.runs))
            failures.add_metric([run.name], float(run.failures))
        yield runs
        yield failures
        sent = CounterMetricFamily("paperscope_digests_sent", "Digest emails sent (as recorded in the store).")
        sent.add_metric([], float(health.digests_sent))
        yield sent
        queues = GaugeMetricFamily(
            "paperscope_queue_items",
            "Rows of the fetch queue and the mail outbox, by status.",
            labels=["queue", "status"],
        )
        for queue, by_status in health.queues.items():
            for status, count in by_status.items():
                queues.add_metric([queue, status], float(count))
        yield queues


def render_metrics(store: Store) -> bytes:
    """The text exposition of this process's (or, in multiprocess mode, every worker's) metrics
    and the store's series."""
    registry = CollectorRegistry()
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(StoreCollector(store))
    return generate_latest(registry)


class _Forward(Collector):
    """Exposes another registry's metrics inside a per-scrape registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()
