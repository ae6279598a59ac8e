"""``GET /healthz`` and ``GET /metrics``: how the service is doing, for load balancers and Prometheus.

``/healthz`` answers 200 while the database answers and 503 when it does not (a load balancer
takes the worker out of rotation; nothing else here is worth failing a probe for: a lagging
index or a failed job still leaves a site that serves).  Its JSON says what an operator looks
at first: the database, the index lag (changes not yet searchable), the last run of each job,
and the fetch and mail queues.

Both are for the operator, so both are guarded (:func:`trusted`): a client in
``metrics_allow`` (this host and the private networks by default) or bearing ``metrics_token``
(``Authorization: Bearer ...``) gets everything; anyone else gets 403 from ``/metrics`` and, from
``/healthz``, the status code and ``{"status": ...}`` only.  ``/healthz`` stays public because a
load balancer or an uptime checker outside the private networks needs the up/down answer, and
the status code is all it reads; the detail is not for the public: the database error names the
server's host, port, user and database, a job's failure reason names internal endpoints and the
mail relay, and the queue and job counts describe the site's traffic.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from ipaddress import IPv6Address, ip_address
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from ..config import Settings
from ..store import JobRun, Store
from .state import web_state

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


@dataclass(slots=True)
class Health:
    database_ok: bool
    backend: str
    error: str | None = None
    papers: int = 0
    index_lag: dict[str, int | None] = field(default_factory=dict)
    jobs: list[JobRun] = field(default_factory=list)
    digests_sent: int = 0
    queues: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.database_ok else "unavailable",
            "database": {"reachable": self.database_ok, "backend": self.backend, "error": self.error},
            "papers": self.papers if self.database_ok else None,
            "index_lag": self.index_lag if self.database_ok else None,
            # Each job's last run (jobs that never ran are absent), as ``paperscope jobs`` shows it.
            "jobs": {run.name: run.as_dict() for run in self.jobs} if self.database_ok else None,
            "queues": self.queues if self.database_ok else None,
        }


def read_health(store: Store) -> Health:
    """Everything ``/healthz`` and the store's metrics report, read in a few cheap queries."""
    from ..index.refresher import index_lag

    health = Health(database_ok=True, backend=store.dialect)
    try:
        store.ping()
        health.papers = store.count_papers()
        health.index_lag = index_lag(store)
        health.jobs = store.job_runs()
        health.digests_sent = store.digests.count_sent()
        health.queues = {"fetch": store.fetch_queue.counts(), "outbox": store.outbox.counts()}
    except (SQLAlchemyError, OSError) as error:
        # The error's first line names the cause (connection refused, no such database); the
        # rest is SQLAlchemy's boilerplate and the statement.
        health.database_ok = False
        health.error = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        log.warning("health: the database is unreachable: %s", health.error)
    return health


def trusted(request: Request, settings: Settings) -> bool:
    """Whether the client may read the operator's view: it presents ``metrics_token`` as a bearer
    token, or its address is in ``metrics_allow`` (the peer's address; behind ``serve --proxy``,
    the one the proxy forwarded)."""
    if settings.metrics_token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), settings.metrics_token.encode()):
            return True
    try:
        address = ip_address(request.client.host if request.client else "")
    except ValueError:  # no address (a unix socket), or a test client's name
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket is 127.0.0.1
    return any(address in network for network in settings.metrics_allow)


@router.get("/healthz")
def healthz(request: Request) -> Response:
    store = web_state(request).store
    health = read_health(store)
    body = health.as_dict()
    if not trusted(request, store.settings):
        body = {"status": body["status"]}
    return JSONResponse(body, status_code=200 if health.database_ok else 503, headers={"Cache-Control": "no-store"})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    from .metrics import render_metrics

    store = web_state(request).store
    if not trusted(request, store.settings):
        return Response(
            "403: /metrics answers clients in PAPERSCOPE_METRICS_ALLOW or bearing PAPERSCOPE_METRICS_TOKEN\n",
            status_code=403,
            media_type="text/plain",
            headers={"Cache-Control": "no-store"},
        )
    return Response(
        render_metrics(store),
        media_type=CONTENT_TYPE_LATEST,
        headers={"Cache-Control": "no-store"},
    )
