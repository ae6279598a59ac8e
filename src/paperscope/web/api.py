"""The JSON API under ``/api``: Hugging Face Papers shapes plus paperscope's own endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import AfterValidator

from ..arxiv_ids import parse_arxiv_id
from ..errors import PaperscopeError, QueryError
from ..store.accounts import User
from .pages import MAX_PAGE, daily_list
from .params import BadParameter, UnknownPaper, check_page
from .related import related_papers
from .schemas import (
    DailyPaper,
    ErrorOut,
    PaperOut,
    ScoredPaper,
    SearchItem,
    SearchPage,
    VoteOut,
    daily_out,
    paper_out,
    vote_out,
)
from .security import bearer_token, check_csrf, client_key, current_user
from .state import web_state

if TYPE_CHECKING:
    from ..search.api import SearchResult

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A parameter is not valid (type, range, value); `parameter` names it."},
    404: {"model": ErrorOut, "description": "No such paper."},
}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)

# A limit above the largest page is capped, not refused (limit=500 reads as limit=100).  The
# evidence, checked 2026-12-05: Hugging Face's own papers skill (github.com/huggingface/skills,
# skills/huggingface-papers/SKILL.md) documents /api/daily_papers' limit as "between 1 and 100"
# and /api/papers/search's as "between 1 and 120", and huggingface_hub 2.4.0 sends any limit
# unchecked ("Limit of papers to fetch"); nothing we could find (hub docs, hub-docs/huggingface_hub
# issues, code that calls the API with limit=200) shows what the server does past the range, so
# the earlier claim that Hugging Face answers limit=101 with a 400 has no source.  With no
# evidence either way, the preference holds: cap.  Below 1 is still a 400 naming it.
MAX_LIMIT = 100


def _cap(largest: int) -> AfterValidator:
    return AfterValidator(lambda value: min(value, largest))


Limit = Annotated[
    int, Query(ge=1, description=f"how many items (1-{MAX_LIMIT}; more reads as {MAX_LIMIT})"), _cap(MAX_LIMIT)
]
# Pages stop where the searcher's deepest offset (10,000) would be passed at the largest limit.
SEARCH_LIMIT = 120
SEARCH_PAGES = 10_000 // SEARCH_LIMIT  # search.api.MAX_OFFSET, not imported: it loads numpy


@router.get("/daily_papers", response_model=list[DailyPaper], response_model_exclude_none=True)
def daily_papers(
    request: Request,
    # Formats and patterns in the schema, so that clients and schemathesis know the shape; a
    # value of the right shape that names no day (2026-02-30, week 60) is still a 400 from params.
    date: Annotated[str | None, Query(description="a day, YYYY-MM-DD", json_schema_extra={"format": "date"})] = None,
    week: Annotated[
        str | None, Query(description="an ISO week, YYYY-Www", pattern=r"^\d{4}-?[Ww]\d{1,2}$")
    ] = None,
    month: Annotated[str | None, Query(description="a month, YYYY-MM", pattern=r"^\d{4}-\d{2}$")] = None,
    sort: Annotated[
        str, Query(pattern="^(publishedAt|trending)$", description="publishedAt, or trending (most upvoted)")
    ] = "trending",
    p: Annotated[int, Query(ge=0, le=MAX_PAGE, description="page number, from 0")] = 0,
    limit: Limit = 50,
    category: Annotated[str | None, Query(max_length=40, description="arXiv category, e.g. cs.CL")] = None,
    submitter: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="only papers put on the list by this account (its handle)"),
    ] = None,
) -> list[DailyPaper]:
    """Papers of a day's list (default: the newest day), or of a week or month."""
    store_sort = "published" if sort == "publishedAt" else "upvotes"
    listing = daily_list(
        web_state(request),
        date,
        week,
        month,
        sort=store_sort,
        limit=limit,
        offset=p * limit,
        category=category,
        submitter=submitter,
    )
    return [daily_out(paper) for paper in listing.papers]


@router.get("/papers/search", response_model=list[SearchItem], response_model_exclude_none=True)
def search(
    request: Request,
    q: Annotated[
        str | None,
        Query(max_length=500, description="words, a phrase, or an arXiv id; without it, the newest listed papers"),
    ] = None,
    limit: Annotated[
        int,
        Query(ge=1, description=f"how many items (1-{SEARCH_LIMIT}; more reads as {SEARCH_LIMIT})"),
        _cap(SEARCH_LIMIT),
    ] = 20,
    p: Annotated[int, Query(ge=0, le=SEARCH_PAGES, description="page number, from 0")] = 0,
    mode: Annotated[str, Query(pattern="^(hybrid|keyword|semantic)$")] = "hybrid",
) -> list[SearchItem]:
    """Search titles and abstracts (hybrid BM25 + embeddings by default).  Without ``q`` (as
    ``huggingface_hub``'s ``list_papers()`` asks), the papers most recently put on a daily list."""
    from ..search.api import MAX_OFFSET, SearchRequest

    state = web_state(request)
    if not q or not q.strip():
        newest = state.store.daily_papers("0000-01-01", "9999-12-31", sort="date", limit=limit, offset=p * limit)
        return [SearchItem(**daily_out(paper).model_dump()) for paper in newest]
    offset = check_page(p, limit, MAX_OFFSET)
    parsed = parse_arxiv_id(q)
    if parsed is not None:
        paper = state.store.get_paper(parsed[0])
        return [SearchItem(**daily_out(paper).model_dump(), score=1.0)] if paper else []
    try:
        response = state.searcher.search(SearchRequest(query=q, mode=mode, limit=limit, offset=offset))
    except QueryError as error:
        raise BadParameter("q", str(error)) from error
    except PaperscopeError as error:
        raise HTTPException(503, str(error)) from error
    return [_search_item(r) for r in response.results]


def _search_item(result: SearchResult) -> SearchItem:
    why = result.why.as_dict() if result.why is not None else None
    return SearchItem(**daily_out(result.paper).model_dump(), highlight=result.snippet_html, score=result.score,
                      why=why)


@router.get("/search", response_model=SearchPage, response_model_exclude_none=True)
def search_page(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500, description="the search box's query language")],
    limit: Limit = 20,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 0,
    mode: Annotated[str, Query(pattern="^(hybrid|keyword|semantic)$")] = "hybrid",
    sort: Annotated[str, Query(pattern="^(relevance|date|upvotes)$")] = "relevance",
    category: Annotated[list[str] | None, Query(max_length=40)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    has_code: bool = False,
) -> SearchPage:
    """Search with the result set's size, facets (category, year, has_code) and each result's reasons."""
    from ..search.api import SearchRequest

    request_ = SearchRequest(query=q, mode=mode, limit=limit, offset=p * limit, sort=sort,
                             categories=category or [], since=since, until=until, has_code=has_code)
    try:
        response = web_state(request).searcher.search(request_)
    except QueryError as error:
        raise BadParameter("q", str(error)) from error
    except PaperscopeError as error:
        raise HTTPException(503, str(error)) from error
    return SearchPage(total=response.total, total_exact=response.total_exact, mode=response.mode,
                      warnings=response.warnings, facets=response.facets,
                      results=[_search_item(r) for r in response.results],
                      closest=[_search_item(r) for r in response.closest])


@router.get("/trending", response_model=list[ScoredPaper], response_model_exclude_none=True)
def trending(
    request: Request,
    category: Annotated[str | None, Query(max_length=40)] = None,
    days: Annotated[int, Query(ge=1, le=365, description="window in days")] = 7,
    limit: Limit = 50,
) -> list[ScoredPaper]:
    """Papers ranked by upvotes with time decay: score = upvotes / (age_days + 2) ^ 1.5."""
    ranked = web_state(request).store.trending(window_days=days, category=category or None, limit=limit)
    return [ScoredPaper(paper=paper_out(paper), score=round(score, 6)) for paper, score in ranked]


def _paper_id(request: Request, key: str) -> int:
    paper_id = web_state(request).store.resolve_key(key) if len(key) <= 300 else None
    if paper_id is None:
        raise UnknownPaper(key)
    return paper_id


@router.get("/papers/{id:path}/related", response_model=list[ScoredPaper], response_model_exclude_none=True)
def related(request: Request, id: str, limit: Limit = 10) -> list[ScoredPaper]:
    """Papers most like this one (by embeddings, else by shared words)."""
    state = web_state(request)
    paper_id = _paper_id(request, id)
    paper = state.store.get_papers([paper_id])[0]
    found = related_papers(state, paper, limit)
    if found.unavailable:
        raise HTTPException(503, found.unavailable)
    return [
        ScoredPaper(paper=paper_out(p), score=round(score, 6), why=found.why.get(p.id)) for p, score in found.papers
    ]


@router.post("/papers/{id:path}/upvote", response_model=VoteOut, responses={401: {"model": ErrorOut}})
def upvote(
    request: Request,
    id: str,
    vote: Annotated[bool | None, Query(description="true/false sets the vote; omitted toggles it")] = None,
) -> VoteOut:
    """Toggle (or, with ``vote``, set) the caller's upvote.  Needs a bearer token, or the session
    cookie with an ``X-CSRF-Token`` header."""
    user: User | None = current_user(request)
    if user is None:
        raise HTTPException(
            401, "sign in, or send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
        )
    if bearer_token(request) is None:
        check_csrf(request, None)
    state = web_state(request)
    state.rate_limit("upvote", f"{client_key(request)}|{user.id}")
    paper_id = _paper_id(request, id)
    accounts = state.store.accounts
    counts = (
        accounts.toggle_vote(user.id, paper_id)
        if vote is None
        else accounts.set_vote(user.id, paper_id, vote)
    )
    state.changed()
    return vote_out(state.store.get_papers([paper_id])[0].key, counts)


@router.get("/papers/{id:path}", response_model=PaperOut, response_model_exclude_none=True)
def paper(request: Request, id: str) -> PaperOut:
    """One paper by arXiv id (any spelling, versioned, or URL) or local id."""
    found = web_state(request).store.get_paper(id) if len(id) <= 300 else None
    if found is None:
        raise UnknownPaper(id)
    return paper_out(found)
