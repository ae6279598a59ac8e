"""The paperscope web app: Daily Papers pages and the JSON API, as one FastAPI application.

``create_app(store)`` builds it (tests use it with ``fastapi.testclient.TestClient``;
``paperscope serve`` runs it with uvicorn).  Modules, one noun each:

- ``pages.py``: daily/weekly/monthly lists, trending, search, paper page, submit
- ``auth.py``: sign up, sign in, sign out;  ``saved.py``: collections, a user's saved lists
- ``api.py`` (+ ``schemas.py``): the JSON API under ``/api`` (Hugging Face Papers shapes)
- ``cite.py``: a paper or collection as Markdown, BibTeX and RIS (``/papers/{id}.md|.bib|.ris``)
- ``security.py``: sessions, CSRF, bearer tokens;  ``state.py``: per-app state and rate limits
- ``middleware.py``: security headers and the CSRF cookie (plain ASGI);  ``related.py``: related
  papers from whichever index exists
- ``templating.py``: the Jinja2 environment and ``render()``;  ``params.py``: date/week/month

How to add a router (feeds.py and subscribe.py do this)
-------------------------------------------------------
1. Write ``paperscope/web/<noun>.py`` with ``router = APIRouter()``; ``create_app`` includes
   the optional modules listed in ``OPTIONAL_ROUTERS`` when they exist.
2. Reach the store with ``web_state(request).store`` (``from paperscope.web.state import
   web_state``); keep handlers ``def`` (not ``async def``) when they touch the database, so they
   run in the thread pool.
3. Render pages with ``render(request, "yours/page.html", {...}, status_code=200)`` from
   ``paperscope.web.templating``.  Templates live in ``web/templates/`` and start with
   ``{% extends "base.html" %}``; fill ``{% block title %}``, ``{% block content %}`` and
   optionally ``{% block head %}`` (extra ``<link>``s; no inline scripts or styles: the
   Content-Security-Policy is ``'self'`` only).  Every template sees ``user`` (or None),
   ``csrf_token`` and ``csrf_input``.
4. Every state-changing form is ``<form method="post">`` with ``{{ csrf_input }}`` inside, and
   its handler calls ``check_csrf(request, csrf_token)`` (``paperscope.web.security``) with the
   ``csrf_token: str = Form("")`` field.  Rate-limit with
   ``web_state(request).rate_limit("name", client_key(request))`` after adding ``name`` to
   ``WebSettings.rate_limits``; it raises ``RateLimited`` which becomes a 429.
5. Raise ``HTTPException(404, "message")`` for missing things: pages get the HTML error page,
   ``/api/...`` paths get ``{"error": message}``.

Security choices: passwords hashed with argon2; server-side sessions (token hash in the
``sessions`` table); cookies HttpOnly + SameSite=Lax (+ Secure over HTTPS); CSRF by signed
double-submit token on every POST form, and for the JSON API either the ``X-CSRF-Token`` header
with the session cookie or ``Authorization: Bearer <token>`` (from ``paperscope user token``);
rate limits with the ``limits`` library in process memory (per worker), and failed sign-ins
counted in the database per account and address (``store/signins.py``); sign-up never says
whether an email has an account (``store/signups.py``); CSP ``'self'``.

Speed: daily/weekly/monthly pages and trending keep their list data a few seconds per worker
(``WebState.cached``); a vote or submission through a worker calls ``WebState.changed()`` so its
author sees it on the next load.  Per-user parts (signed-in user, their votes, CSRF token) are
never cached.  ``bench/web.py`` measures the pages under load.

Search indexes: with ``index_refresh`` seconds (``paperscope serve`` passes
``$PAPERSCOPE_INDEX_REFRESH``, default 5), the app runs an :class:`~paperscope.index.refresher.IndexRefresher`
from startup to shutdown, so papers and votes written by any process show in its searches
within seconds; ``create_app`` alone (the tests) starts none.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from ..config import SERVE_SETTINGS_ENV, load_from_parent, load_settings
from ..store import Store
from . import api, auth, cite, health, pages, saved
from .metrics import MetricsMiddleware
from .middleware import HeadMiddleware, NulGuardMiddleware, SecurityHeadersMiddleware
from .params import BadParameter
from .state import RateLimited, WebSettings, WebState
from .templating import STATIC_DIR, render

log = logging.getLogger(__name__)

OPTIONAL_ROUTERS = (
    "paperscope.web.feeds",
    "paperscope.web.subscribe",
    "paperscope.web.foryou",
    "paperscope.web.activity",
    "paperscope.web.authors",
)

FAVICON = STATIC_DIR / "favicon.svg"


def create_app(
    store: Store,
    *,
    secret_key: str | None = None,
    rate_limits: dict[str, str] | None = None,
    arxiv_api_url: str | None = None,
    page_size: int = 50,
    index_refresh: float = 0.0,
    jobs: bool = False,
    proxy: bool | None = None,
) -> FastAPI:
    """The web app over ``store``.  ``rate_limits`` maps names (signin, signup, submit, upvote)
    to ``limits`` strings such as ``"10/minute"``; the defaults are in :mod:`.state`.
    ``index_refresh`` > 0 refreshes the search indexes in the background every that many seconds
    while the app runs (between its startup and shutdown); ``jobs`` runs the scheduler
    (:mod:`paperscope.jobs`) in the background likewise.  ``proxy`` (default: the ``proxy``
    setting) trusts ``X-Forwarded-Proto``/``-For`` from the ``proxy_ips`` addresses."""
    settings = WebSettings(secret_key=secret_key, arxiv_api_url=arxiv_api_url, page_size=page_size)
    if rate_limits is not None:
        settings.rate_limits.update(rate_limits)
    app = FastAPI(
        title="paperscope",
        summary="Daily research papers: lists, trending, search, upvotes.",
        description=(
            "JSON API of a self-hosted Daily Papers site. `/api/daily_papers`, `/api/papers/search` and "
            "`/api/papers/{id}` answer in the shapes of the Hugging Face Papers API. Writes "
            "(`POST /api/papers/{id}/upvote`) need `Authorization: Bearer <token>` (from "
            "`paperscope user token NAME`) or the session cookie plus an `X-CSRF-Token` header. "
            'Bad parameters answer 4xx with `{"error": ..., "parameter": ...}`.'
        ),
        version="1",
        # Swagger UI and ReDoc load from a CDN, which the CSP forbids; the schema is at /openapi.json.
        docs_url=None,
        redoc_url=None,
        lifespan=_index_refresh_lifespan(store, index_refresh, jobs),
    )
    app.state.web = WebState(store, settings)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    _install_handlers(app)

    # A plain ASGI middleware, not ``@app.middleware("http")``: that one wraps every response in a
    # streaming body behind an extra task and queue, which cost ~10% of a daily page's CPU.
    app.add_middleware(SecurityHeadersMiddleware)
    # Outside the security headers, so it times the whole answer; inside HeadMiddleware, whose
    # GET copy of a HEAD's scope is the one the router marks with its route (a HEAD counts as GET).
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(HeadMiddleware)  # the app below sees a GET
    if store.settings.proxy if proxy is None else proxy:
        # Outermost, so every layer (rate limits' client address, Secure cookies) sees the real
        # client.  uvicorn's own middleware, not ``uvicorn --proxy-headers``: the setting then
        # holds under any ASGI server and in the tests.  Without it the headers are ignored.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=store.settings.proxy_ips)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        # Browsers ask for /favicon.ico on their own; pages also link the SVG in base.html.
        return FileResponse(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})

    app.include_router(health.router)
    app.include_router(api.router)
    # Before saved and pages: /papers/{id}.bib and /collections/{id}.bib would match their routes.
    app.include_router(cite.router)
    app.include_router(auth.router)
    app.include_router(saved.router)
    for name in OPTIONAL_ROUTERS:
        # Included whenever the module exists; an import error inside it is a bug and surfaces.
        if importlib.util.find_spec(name) is not None:
            app.include_router(importlib.import_module(name).router)
    app.include_router(pages.router)  # last: its /papers/{key:path} would shadow longer paths
    return app


def _index_refresh_lifespan(
    store: Store, interval: float, jobs: bool = False
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Startup/shutdown hooks that run an index refresher for the app's lifetime (none at 0 s),
    and with ``jobs`` the scheduler (every worker runs one; the job locks let one at a time run
    each job)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        refresher = None
        if interval > 0:
            # Imported here: the index modules load tantivy and numpy, which an app without a
            # refresher (the tests' create_app) has no need to load at startup.
            from ..index.refresher import IndexRefresher

            refresher = IndexRefresher(store, interval)
        app.state.index_refresher = refresher
        if refresher is not None:
            refresher.start()
        scheduler = None
        if jobs:
            from ..jobs import Scheduler

            scheduler = Scheduler(store)
            scheduler.start()  # its own thread: a job never holds up startup or a request
        app.state.scheduler = scheduler
        try:
            yield
        finally:
            if scheduler is not None:
                await asyncio.to_thread(scheduler.stop, 2.0)
            if refresher is not None:
                # Joining waits for a round in progress: off the event loop, which is shutting down.
                await asyncio.to_thread(refresher.stop)

    return lifespan


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def _readable(error: Any) -> str:
    """pydantic's message, except for a choice among words (``^(a|b|c)$``), which a reader gets as
    the list of choices rather than a regular expression."""
    pattern = str((error.get("ctx") or {}).get("pattern", ""))
    choices = re.fullmatch(r"\^\(([\w|-]+)\)\$", pattern)
    if error.get("type") == "string_pattern_mismatch" and choices:
        return f"must be one of {', '.join(choices.group(1).split('|'))} (got {error.get('input')!r})"
    return str(error.get("msg", "invalid value"))


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors: list[Any] = list(exc.errors())
        first = errors[0] if errors else {}
        loc = [str(part) for part in first.get("loc", ())]
        parameter = loc[-1] if loc else "request"
        message = f"{parameter}: {_readable(first)}"
        if _is_api(request):
            # 400, as Hugging Face's API answers a parameter out of its range (limit=101); its
            # clients (huggingface_hub) and ours see one status for every bad parameter.
            return JSONResponse({"error": message, "parameter": parameter}, status_code=400)
        return render(request, "error.html", {"status": 400, "message": message}, status_code=400)

    @app.exception_handler(BadParameter)
    async def bad_parameter(request: Request, exc: BadParameter) -> Response:
        if _is_api(request):
            return JSONResponse({"error": str(exc), "parameter": exc.parameter}, status_code=exc.status)
        context = {"status": exc.status, "message": str(exc)}
        return render(request, "error.html", context, status_code=exc.status)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        headers = {"Retry-After": str(exc.retry_after)}
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=429, headers=headers)
        response = render(request, "error.html", {"status": 429, "message": str(exc)}, status_code=429)
        response.headers.update(headers)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if _is_api(request) or request.method not in ("GET", "HEAD", "POST"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=headers)
        response = render(
            request,
            "error.html",
            {"status": exc.status_code, "message": exc.detail},
            status_code=exc.status_code,
        )
        response.headers.update(headers)
        return response


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used by ``paperscope serve``): the store named by
    ``$PAPERSCOPE_HOME`` / ``$PAPERSCOPE_DATABASE_URL``, its indexes refreshed every
    ``$PAPERSCOPE_INDEX_REFRESH`` seconds (every worker runs a refresher; one at a time works)."""
    handed = os.environ.get(SERVE_SETTINGS_ENV)
    # From ``serve``: its settings object, whole.  Otherwise (uvicorn run by hand): the settings
    # of $PAPERSCOPE_HOME / $PAPERSCOPE_DATABASE_URL, read before the store opens so a bad value
    # fails here.
    settings = load_from_parent(handed) if handed else load_settings()
    store = Store.open(settings=settings)
    # Jobs only under ``serve`` (which hands its settings over): a bare uvicorn run, or a test's
    # app, must not start harvesting the internet on its own.
    return create_app(store, index_refresh=settings.index_refresh, jobs=bool(handed) and settings.jobs_enabled)
