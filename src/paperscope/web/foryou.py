""""For you": the reader's recommendations as a page, a JSON route and a private Atom feed,
plus the signals cards send ("more / less like this", follow, save a search) and onboarding.

All three views call the one :class:`~paperscope.recommend.Recommender` of the app (kept on
``app.state``: it holds each reader's trained model), which the email digest also uses.
The private feed is reached with a per-reader token (``/feeds/for-you.atom?token=...``, made
and revoked on ``/me/signals``), since feed readers send no cookies.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..arxiv_ids import parse_arxiv_id
from ..checks import is_category
from ..recommend import ForYou, Recommender
from ..store.accounts import AccountError, User
from .schemas import ErrorOut
from .security import check_csrf, current_user, safe_next, user_or_redirect
from .state import public_url, web_state
from .templating import render

# Only the JSON route is in the OpenAPI schema: the others are pages and form posts.
router = APIRouter()

PAGE_SIZE = 30
MAX_FEED = 100
MAX_IMPORT = 200  # ids per library import
# Offered at onboarding; any other category can be typed in.
POPULAR_CATEGORIES = (
    "cs.AI", "cs.CL", "cs.CV", "cs.LG", "cs.IR", "cs.RO", "cs.CR", "cs.SE", "cs.HC", "cs.DC",
    "cs.NE", "cs.SD", "stat.ML", "eess.AS", "eess.IV", "q-bio.QM", "math.OC", "physics.comp-ph",
)  # fmt: skip
_lock = threading.Lock()


def recommender(request: Request) -> Recommender:
    """The app's recommender (one per app: it keeps readers' models between requests)."""
    app_state = request.app.state
    found = getattr(app_state, "recommender", None)
    if found is None:
        with _lock:
            found = getattr(app_state, "recommender", None)
            if found is None:
                state = web_state(request)
                found = app_state.recommender = Recommender(state.store, searcher=state.searcher)
    return found


def for_you(request: Request, user: User, limit: int) -> ForYou:
    return recommender(request).recommend(user.id, limit)


@router.get("/for-you", response_class=HTMLResponse, include_in_schema=False)
def for_you_page(request: Request) -> Response:
    user = user_or_redirect(request, "/for-you")
    if not isinstance(user, User):
        return user
    result = for_you(request, user, PAGE_SIZE)
    state = web_state(request)
    ids = [r.paper.id for r in result.items]
    return render(
        request,
        "for_you.html",
        {
            "result": result,
            "voted": state.store.accounts.voted(user.id, ids),
            "feedback": state.store.signals.feedback_for(user.id, ids),
            "here": "/for-you",
        },
    )


@router.get(
    "/api/for-you",
    tags=["for you"],
    # Documented so that the OpenAPI schema covers every answer (tests/test_api_schema.py).
    responses={
        400: {"model": ErrorOut, "description": "A parameter is not valid; `parameter` names it."},
        401: {"model": ErrorOut, "description": "Not signed in and no bearer token."},
    },
)
def for_you_json(request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> JSONResponse:
    """The signed-in reader's recommendations (session cookie or ``Authorization: Bearer``),
    each with the reasons it is there."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "sign in, or send Authorization: Bearer TOKEN (paperscope user token)")
    return JSONResponse(for_you(request, user, limit).as_dict())


@router.get("/feeds/for-you.atom", include_in_schema=False)
def for_you_feed(
    request: Request,
    token: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_FEED)] = 50,
) -> Response:
    from .feeds import MEDIA_TYPES, build_feed

    user = web_state(request).store.signals.feed_token_user(token)
    if user is None:  # a wrong, revoked or missing token: as if there were no such feed
        raise HTTPException(404, "No such feed: make a private feed link on /me/signals.")
    result = for_you(request, user, limit)
    base = public_url(request, "/")
    body = build_feed(
        [r.paper for r in result.items],
        fmt="atom",
        title=f"paperscope: for {user.username}",
        subtitle="Papers picked for you from your upvotes, collections and follows",
        base_url=base,
        # The token is the feed's only credential: it is not repeated in the feed's id or links.
        self_url=base.rstrip("/") + "/feeds/for-you.atom",
        page_url=base.rstrip("/") + "/for-you",
    )
    return Response(body, media_type=MEDIA_TYPES["atom"], headers={"Cache-Control": "private, no-store"})


@router.post("/papers/{key:path}/feedback", include_in_schema=False)
def feedback(
    request: Request,
    key: str,
    csrf_token: Annotated[str, Form()] = "",
    value: Annotated[str, Form(pattern="^(more|less|undo)$")] = "more",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """"More like this", "less like this", or take either back."""
    check_csrf(request, csrf_token)
    target = safe_next(next, f"/papers/{key}")
    user = user_or_redirect(request, target)
    if not isinstance(user, User):
        return user
    state = web_state(request)
    state.rate_limit("upvote", f"{user.id}")
    paper_id = state.store.resolve_key(key)
    if paper_id is None:
        raise HTTPException(404, f"No paper {key!r} here.")
    state.store.signals.set_feedback(user.id, paper_id, {"more": 1, "less": -1, "undo": 0}[value])
    return RedirectResponse(target, status_code=303)


@router.post("/follow", include_in_schema=False)
def follow(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    kind: Annotated[str, Form(pattern="^(author|category)$")] = "author",
    value: Annotated[str, Form(max_length=300)] = "",
    action: Annotated[str, Form(pattern="^(follow|unfollow)$")] = "follow",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    target = safe_next(next, "/me/signals")
    user = user_or_redirect(request, target)
    if not isinstance(user, User):
        return user
    if kind == "category" and not is_category(value.strip()):
        raise HTTPException(400, f"{value[:50]!r} is not an arXiv category such as cs.CL")
    signals = web_state(request).store.signals
    try:
        if action == "follow":
            signals.follow(user.id, kind, value)
        else:
            signals.unfollow(user.id, kind, value)
    except AccountError as error:
        raise HTTPException(400, str(error)) from error
    return RedirectResponse(target, status_code=303)


@router.post("/searches", include_in_schema=False)
def save_search(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    q: Annotated[str, Form(max_length=600)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    target = safe_next(next, "/me/signals")
    user = user_or_redirect(request, target)
    if not isinstance(user, User):
        return user
    try:
        web_state(request).store.signals.save_search(user.id, q)
    except AccountError as error:
        raise HTTPException(400, str(error)) from error
    return RedirectResponse(target, status_code=303)


@router.get("/for-you/start", response_class=HTMLResponse, include_in_schema=False)
def onboarding(request: Request) -> Response:
    user = user_or_redirect(request, "/for-you/start")
    if not isinstance(user, User):
        return user
    state = web_state(request)
    seeds = [paper for paper, _ in state.store.trending(window_days=30, limit=12)]
    followed = {f.value_norm for f in state.store.signals.follows(user.id, "category")}
    return render(
        request,
        "onboarding.html",
        {"categories": POPULAR_CATEGORIES, "followed": followed, "seeds": seeds, "error": None, "missing": []},
    )


@router.post("/for-you/start", response_class=HTMLResponse, include_in_schema=False)
async def onboarding_save(request: Request) -> Response:
    """Categories to follow, seed papers ("more like this") and a library of arXiv ids to import.

    ``async`` only to read the repeated form fields; the store calls run in a thread."""
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    user = user_or_redirect(request, "/for-you/start")
    if not isinstance(user, User):
        return user
    categories = [str(c).strip() for c in form.getlist("category") if str(c).strip()]
    categories += [c for c in str(form.get("other_categories", "")).replace(",", " ").split() if c]
    seeds = [str(s) for s in form.getlist("seed")]
    library = str(form.get("library", ""))[:20_000]
    bad = [c for c in categories if not is_category(c)]
    if bad:
        raise HTTPException(400, f"not arXiv categories: {', '.join(b[:40] for b in bad[:5])}")
    missing = await run_in_threadpool(_apply_onboarding, request, user, categories[:50], seeds[:50], library)
    if missing:
        state = web_state(request)
        return render(
            request,
            "onboarding.html",
            {
                "categories": POPULAR_CATEGORIES,
                "followed": {f.value_norm for f in state.store.signals.follows(user.id, "category")},
                "seeds": [paper for paper, _ in state.store.trending(window_days=30, limit=12)],
                "error": None,
                "missing": missing,
            },
        )
    return RedirectResponse("/for-you", status_code=303)


def _apply_onboarding(request: Request, user: User, categories: list[str], seeds: list[str], library: str) -> list[str]:
    """Follow, mark and import; returns the library entries that are not in this library (no
    network here: the reader can submit them, and import again)."""
    store = web_state(request).store
    for category in categories:
        store.signals.follow(user.id, "category", category)
    missing = []
    wanted = list(seeds)
    for token in library.replace(",", " ").split()[:MAX_IMPORT]:
        parsed = parse_arxiv_id(token)
        if parsed is None:
            missing.append(token[:100])
        else:
            wanted.append(parsed[0])
    for key in wanted:
        paper_id = store.resolve_key(key)
        if paper_id is None:
            missing.append(key[:100])
        else:
            store.signals.set_feedback(user.id, paper_id, 1)
    return missing
