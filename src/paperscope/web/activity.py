"""My activity: a reader's upvotes and signals, each with undo; export and delete them all; the
private feed link.  Everything here is the signed-in reader's own and nobody else's."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..store.accounts import User
from .security import check_csrf, user_or_redirect
from .state import public_url, web_state
from .templating import render

router = APIRouter(include_in_schema=False)
SearchId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/me/upvotes", response_class=HTMLResponse)
def my_upvotes(request: Request) -> Response:
    user = user_or_redirect(request, "/me/upvotes")
    if not isinstance(user, User):
        return user
    store = web_state(request).store
    votes = store.signals.upvotes(user.id)
    papers = {p.id: p for p in store.get_papers([pid for pid, _ in votes])}
    rows = [(papers[pid], at) for pid, at in votes if pid in papers]
    return render(request, "my_upvotes.html", {"rows": rows, "voted": set(papers)})


@router.get("/me/signals", response_class=HTMLResponse)
def my_signals(request: Request, token: str | None = None) -> Response:
    user = user_or_redirect(request, "/me/signals")
    if not isinstance(user, User):
        return user
    return _signals_page(request, user, None)


def _signals_page(request: Request, user: User, new_token: str | None) -> Response:
    store = web_state(request).store
    signals = store.signals.reader(user.id)
    judged = sorted((s for s in signals.papers if s.kind in ("more", "less")), key=lambda s: s.at, reverse=True)
    papers = {p.id: p for p in store.get_papers([s.paper_id for s in judged])}
    feed_url = None
    if new_token:
        feed_url = public_url(request, f"/feeds/for-you.atom?token={new_token}")
    return render(
        request,
        "my_signals.html",
        {
            "judged": [(papers[s.paper_id], s) for s in judged if s.paper_id in papers],
            "authors": signals.authors,
            "categories": signals.categories,
            "searches": signals.searches,
            "upvotes": sum(1 for s in signals.papers if s.kind == "upvote"),
            "saved": sum(1 for s in signals.papers if s.kind == "saved"),
            "feed_since": store.signals.feed_token_created(user.id),
            "feed_url": feed_url,
        },
    )


@router.get("/me/signals.json")
def export_signals(request: Request) -> Response:
    user = user_or_redirect(request, "/me/signals")
    if not isinstance(user, User):
        return user
    body = orjson.dumps(web_state(request).store.signals.export(user.id), option=orjson.OPT_INDENT_2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="paperscope-signals-{user.username}.json"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/me/signals/delete")
def delete_signals(
    request: Request, csrf_token: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf_token)
    user = user_or_redirect(request, "/me/signals")
    if not isinstance(user, User):
        return user
    if confirm != "yes":
        raise HTTPException(400, "tick the box to confirm that every signal is to be deleted")
    state = web_state(request)
    state.store.signals.delete_all(user.id)
    state.changed()  # upvote counts changed
    return RedirectResponse("/me/signals", status_code=303)


@router.post("/me/searches/{search_id}/delete")
def delete_search(request: Request, search_id: SearchId, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    user = user_or_redirect(request, "/me/signals")
    if not isinstance(user, User):
        return user
    if not web_state(request).store.signals.delete_search(user.id, search_id):
        raise HTTPException(404, "No such saved search.")
    return RedirectResponse("/me/signals", status_code=303)


@router.post("/me/feed-token", response_class=HTMLResponse)
def feed_token(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    action: Annotated[str, Form(pattern="^(new|revoke)$")] = "new",
) -> Response:
    """A new private-feed link (shown once: only its hash is kept), or revoke the current one."""
    check_csrf(request, csrf_token)
    user = user_or_redirect(request, "/me/signals")
    if not isinstance(user, User):
        return user
    signals = web_state(request).store.signals
    if action == "revoke":
        signals.revoke_feed_token(user.id)
        return RedirectResponse("/me/signals", status_code=303)
    response = _signals_page(request, user, signals.new_feed_token(user.id))
    response.headers["Cache-Control"] = "private, no-store"
    return response
