"""The HTML pages: daily/weekly/monthly lists, trending, search, the paper page and submit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..arxiv_ids import parse_arxiv_id
from ..errors import PaperscopeError, QueryError
from ..store import Store
from ..store.accounts import User
from ..store.lists import TRENDING_FORMULA
from ..store.models import Paper
from .params import BadParameter, Period, check_page, newest_period, parse_day, parse_period
from .related import related_papers
from .security import check_csrf, client_key, current_user, safe_next, user_or_redirect
from .state import WebState, web_state
from .templating import render, render_cards, with_csrf

router = APIRouter(include_in_schema=False)

SORTS = {"upvotes": "Most upvoted", "published": "Newest publication"}
SEARCH_SORTS = {"relevance": "Relevance", "date": "Newest", "upvotes": "Most upvoted"}
SEARCH_MODES = {"hybrid": "Hybrid", "keyword": "Keyword", "semantic": "Semantic"}
MAX_PAGE = 10_000


@dataclass(slots=True)
class DailyList:
    period: Period | None
    papers: list[Paper]
    total: int
    prev: Period | None
    next: Period | None
    key: tuple[object, ...] = ()  # what the list's data is cached under


def daily_list(
    state: WebState,
    day: str | None,
    week: str | None,
    month: str | None,
    *,
    sort: str,
    limit: int,
    offset: int,
    category: str | None = None,
    submitter: str | None = None,
) -> DailyList:
    """One period's papers and its neighbours: a handful of queries whatever the list's size."""
    period = parse_period(day, week, month)
    days = state.list_days()
    if period is None:
        period = newest_period(days)
    if period is None:
        return DailyList(None, [], 0, None, None)
    start, end = period.start.isoformat(), period.end.isoformat()
    key = ("daily", start, end, sort, category, limit, offset, submitter)
    papers, total = state.cached(
        key,
        lambda: state.store.daily_page(
            start, end, sort=sort, category=category, limit=limit, offset=offset, submitter=submitter
        ),
    )
    prev, nxt = period.neighbours(days)
    return DailyList(period, papers, total, prev, nxt, key)


def last_working_day(today: date) -> date:
    """The weekday before ``today`` (Daily Papers lists come out on weekdays)."""
    day = today - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True, slots=True)
class Staleness:
    """The newest list is older than the last working day: say so, and since when nothing was
    harvested (``harvested``), or, where no harvest job ever ran, when papers last arrived."""

    newest: str
    harvested: str | None
    added: str | None
    # The newest harvest attempt when it failed after the last success: the reader learns that the
    # site is trying (and why it cannot), not only that its list is old.
    failed_at: str | None = None
    failed_reason: str | None = None
    next_try: str | None = None


def failure_reason(error: str) -> str:
    """A job's error in a few words for a page: "could not reach huggingface.co" rather than a
    request URL with a hundred ids in it (the full text stays in the log and ``paperscope jobs``)."""
    fetch = re.search(r"could not fetch (\S+?):? ", error)
    if fetch:
        host = urlsplit(fetch.group(1)).hostname
        if host:
            return f"could not reach {host}"
    first = error.splitlines()[0] if error else "unknown error"
    return first if len(first) <= 120 else first[:119] + "…"


def _staleness(store: Store, newest: str) -> Staleness:
    harvested = store.last_harvest()
    failures = [
        run
        for run in store.job_runs()
        if run.name.startswith("harvest") and run.last_status == "failed" and run.last_finished
        and (harvested is None or run.last_finished > harvested)
    ]
    failed = max(failures, key=lambda run: run.last_finished or "", default=None)
    if failed is None:
        return Staleness(newest, harvested, store.last_paper_added())
    next_tries = [run.next_run for run in failures if run.next_run]
    return Staleness(
        newest,
        harvested,
        store.last_paper_added(),
        failed_at=failed.last_finished,
        failed_reason=failure_reason(failed.last_error or ""),
        next_try=min(next_tries) if next_tries else None,
    )


def staleness(state: WebState, today: date | None = None) -> Staleness | None:
    days = state.list_days()
    if not days:
        return None
    newest = days[-1]
    if date.fromisoformat(newest) >= last_working_day(today or datetime.now(UTC).date()):
        return None
    return state.cached(("staleness", newest), lambda: _staleness(state.store, newest))


def library_categories(state: WebState) -> list[dict[str, object]]:
    """The categories the library holds, for the category chooser of every list page; none (a
    text box then) while there is no search index to count them from."""
    try:
        return state.searcher.library_categories()
    except (PaperscopeError, ImportError):
        return []


def _voted(request: Request, papers: list[Paper]) -> set[int]:
    user = current_user(request)
    if user is None or not papers:
        return set()
    return web_state(request).store.accounts.voted(user.id, [p.id for p in papers])


@router.get("/", response_class=HTMLResponse)
@router.get("/papers", response_class=HTMLResponse)
def daily_page(
    request: Request,
    date: Annotated[str | None, Query()] = None,
    week: Annotated[str | None, Query()] = None,
    month: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query(pattern="^(upvotes|published)$")] = "upvotes",
    category: Annotated[str | None, Query(max_length=40)] = None,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 0,
) -> Response:
    state = web_state(request)
    if request.url.path == "/" and not request.url.query:
        # The home page of a signed-in reader with signals is their For you list.
        reader = current_user(request)
        if reader is not None and state.store.signals.has_any(reader.id):
            return RedirectResponse("/for-you", status_code=303)
    size = state.settings.page_size
    listing = daily_list(
        state, date, week, month, sort=sort, limit=size, offset=p * size, category=category or None
    )
    voted = _voted(request, listing.papers)
    here = request.url.path + ("?" + request.url.query if request.url.query else "")
    # The 50 cards are most of the page's rendering: kept with the list, for each set of this
    # page's papers a visitor has upvoted (for most visitors: none).
    cards = state.cached(
        ("cards", *listing.key, frozenset(voted), here),
        lambda: render_cards(listing.papers, voted, here),
    )
    return render(
        request,
        "daily.html",
        {
            "listing": listing,
            "cards": with_csrf(cards, request),
            "voted": voted,
            "sort": sort,
            "sorts": SORTS,
            "category": category or "",
            "categories": library_categories(state),
            "page": p,
            "pages": max(1, -(-listing.total // size)),
            "empty_store": listing.period is None,
            "digest_category": category or "",
            # Only where the page stands for "the latest": a list asked for by date is as old as asked.
            "stale": staleness(state) if not (date or week or month) else None,
        },
    )


@router.get("/trending", response_class=HTMLResponse)
def trending_page(
    request: Request,
    category: Annotated[str | None, Query(max_length=40)] = None,
    days: Annotated[str | None, Query(max_length=12)] = None,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 0,
) -> Response:
    given = _optional_count(days, "days")
    window = 7 if given is None else given
    if not 1 <= window <= 365:
        raise BadParameter("days", f"{window} is outside 1 to 365")
    state = web_state(request)
    size = state.settings.page_size
    ranked = state.cached(
        ("trending", window, category or None, size + 1, p * size),
        lambda: state.store.trending(
            window_days=window, category=category or None, limit=size + 1, offset=p * size
        ),
    )
    papers = [paper for paper, _ in ranked[:size]]
    return render(
        request,
        "trending.html",
        {
            "ranked": ranked[:size],
            "more": len(ranked) > size,
            "voted": _voted(request, papers),
            "category": category or "",
            "categories": library_categories(state),
            "days": window,
            "page": p,
            "formula": TRENDING_FORMULA,
            "digest_category": category or "",
        },
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=500)] = "",
    mode: Annotated[str, Query(pattern="^(hybrid|keyword|semantic)$")] = "hybrid",
    sort: Annotated[str, Query(pattern="^(relevance|date|upvotes)$")] = "relevance",
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    # A string: the form sends "min_upvotes=" when the field is left empty.
    min_upvotes: Annotated[str | None, Query(max_length=12)] = None,
    has_code: Annotated[bool, Query()] = False,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 0,
) -> Response:
    state = web_state(request)
    size = 20
    wanted_upvotes = _optional_count(min_upvotes, "min_upvotes")
    form: dict[str, object] = {
        "q": q,
        "mode": mode,
        "sort": sort,
        "since": since or "",
        "until": until or "",
        "category": category or "",
        "min_upvotes": "" if wanted_upvotes is None else wanted_upvotes,
        "has_code": has_code,
    }
    categories = library_categories(state)
    context: dict[str, object] = {
        "form": form,
        "sorts": SEARCH_SORTS,
        "modes": SEARCH_MODES,
        "categories": categories,
        "page": p,
        "response": None,
        "error": None,
        "link": lambda **changes: search_url(form, **changes),
    }
    query = q.strip()
    if not query:
        return render(request, "search.html", context)
    parsed = parse_arxiv_id(query)
    if parsed is not None:
        return RedirectResponse(f"/papers/{parsed[0]}{parsed[1] or ''}", status_code=303)
    since_day = parse_day(since, "since").isoformat() if since else None
    until_day = parse_day(until, "until").isoformat() if until else None
    from ..search.api import MAX_OFFSET, SearchRequest

    search_request = SearchRequest(
        query=query,
        mode=mode,
        limit=size,
        offset=check_page(p, size, MAX_OFFSET),
        since=since_day,
        until=until_day,
        categories=[category] if category else [],
        min_upvotes=wanted_upvotes,
        sort=sort,
        has_code=has_code,
    )
    status = 200
    try:
        response = state.searcher.search(search_request)
    except QueryError as error:
        context["error"], status = str(error), 400
    except PaperscopeError as error:
        context["error"], status = str(error), 503
    else:
        if response.jump_to:
            return RedirectResponse(f"/papers/{response.jump_to}", status_code=303)
        context["response"] = response
        context["voted"] = _voted(request, [r.paper for r in response.results])
        context["more"] = response.total > (p + 1) * size
    return render(request, "search.html", context, status_code=status)


def search_url(form: dict[str, object], **changes: object) -> str:
    """The search page's URL for ``form`` with ``changes`` (a facet chosen, a page turned);
    empty values are left out."""
    values = {**form, **changes}
    if "p" not in changes:
        values.pop("p", None)  # a new filter starts again from the first page
    params = {k: ("1" if v is True else v) for k, v in values.items() if v not in (None, "", False)}
    return "/search?" + urlencode(params)


def _optional_count(value: str | None, parameter: str) -> int | None:
    """An optional whole number from a form field, where empty means "not given"."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 1_000_000_000:
        raise BadParameter(parameter, f"{text!r} is not a whole number from 0 up")
    return int(text)


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request) -> Response:
    user = user_or_redirect(request, "/submit")
    if not isinstance(user, User):
        return user
    recent = web_state(request).store.fetch_queue.recent(user.username)
    return render(request, "submit.html", {"value": "", "error": None, "recent": recent})


@router.post("/submit", response_class=HTMLResponse)
def submit(
    request: Request,
    paper: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    user = user_or_redirect(request, "/submit")
    if not isinstance(user, User):
        return user
    state = web_state(request)
    state.rate_limit("submit", f"{client_key(request)}|{user.id}")
    text = paper.strip()
    from ..harvest.fetch_queue import queue_submission

    today = datetime.now(UTC).date().isoformat()
    try:
        # Queued, not fetched: the fetch-queue job asks arXiv, so no page waits on the network.
        queued = queue_submission(state.store, text, submitted_by=user.username, list_date=today)
    except QueryError as error:
        recent = state.store.fetch_queue.recent(user.username)
        return render(
            request, "submit.html", {"value": text, "error": str(error), "recent": recent}, status_code=400
        )
    recent = state.store.fetch_queue.recent(user.username)
    context: dict[str, object] = {"value": "", "error": None, "queued": queued, "recent": recent}
    return render(request, "submit.html", context, status_code=202)


@router.post("/papers/{key:path}/upvote")
def upvote(
    request: Request,
    key: str,
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    target = safe_next(next, f"/papers/{key}")
    user = user_or_redirect(request, target)
    if not isinstance(user, User):
        return user
    state = web_state(request)
    state.rate_limit("upvote", f"{client_key(request)}|{user.id}")
    paper_id = state.store.resolve_key(key)
    if paper_id is None:
        raise HTTPException(404, f"No paper {key!r} here.")
    state.store.accounts.toggle_vote(user.id, paper_id)
    state.changed()
    return RedirectResponse(target, status_code=303)


@router.get("/papers/{key:path}", response_class=HTMLResponse)
def paper_page(request: Request, key: str) -> Response:
    state = web_state(request)
    paper = state.store.get_paper(key)
    if paper is None:
        parsed = parse_arxiv_id(key)
        on_its_way = parsed is not None and state.store.fetch_queue.pending(parsed[0])
        context = {"key": key, "is_arxiv": parsed is not None, "on_its_way": on_its_way}
        return render(request, "missing.html", context, status_code=404)
    user = current_user(request)
    return render(
        request,
        "paper.html",
        {
            "paper": paper,
            "voted": _voted(request, [paper]),
            "related": related_papers(state, paper, 5),
            "collections": state.store.accounts.collections(user.id) if user else [],
        },
    )

