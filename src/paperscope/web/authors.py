"""Author pages: ``/authors/{name}`` lists the papers that name the author as written (folded for
case and accents; no identity resolution), newest first, with co-authors and a follow button."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ..names import normalize_name
from ..recommend.authors import author_papers
from .security import current_user
from .state import web_state
from .templating import render

router = APIRouter(include_in_schema=False)
MAX_NAME = 200


@router.get("/authors/{name:path}", response_class=HTMLResponse)
def author_page(request: Request, name: str) -> Response:
    shown = " ".join(name.split())
    if not shown or len(shown) > MAX_NAME or not normalize_name(shown):
        raise HTTPException(404, "No such author.")
    state = web_state(request)
    found = author_papers(state.searcher, shown)
    if found.available and not found.papers:
        raise HTTPException(404, f"No paper here names {shown!r} as an author.")
    user = current_user(request)
    following = user is not None and state.store.signals.is_following(user.id, "author", shown)
    voted = state.store.accounts.voted(user.id, [p.id for p in found.papers]) if user else set()
    return render(
        request,
        "author.html",
        {"name": found.spellings[0] if found.spellings else shown, "found": found, "following": following,
         "voted": voted, "here": f"/authors/{shown}"},
    )
