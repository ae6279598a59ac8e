"""A signed-in user's collections: named lists of saved papers, visible to their owner only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..store.accounts import AccountError, User
from .security import check_csrf, user_or_redirect
from .state import web_state
from .templating import render

router = APIRouter(include_in_schema=False)
# Bounded so a huge number is a 422, not an integer overflow in the database driver.
CollectionId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/collections", response_class=HTMLResponse)
def collections_page(request: Request) -> Response:
    user = user_or_redirect(request, "/collections")
    if not isinstance(user, User):
        return user
    items = web_state(request).store.accounts.collections(user.id)
    return render(request, "collections.html", {"collections": items, "error": None})


@router.post("/collections", response_class=HTMLResponse)
def save(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=300)] = "",
    collection_id: Annotated[str, Form(max_length=20)] = "",
    paper: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Create a collection (``name``) and/or save ``paper`` into one (``collection_id`` or the new one)."""
    check_csrf(request, csrf_token)
    back = f"/papers/{paper}" if paper else "/collections"
    user = user_or_redirect(request, back)
    if not isinstance(user, User):
        return user
    accounts = web_state(request).store.accounts
    paper_id = None
    if paper:
        paper_id = web_state(request).store.resolve_key(paper)
        if paper_id is None:
            raise HTTPException(404, f"No paper {paper!r} here.")
    try:
        if name.strip():
            target = accounts.create_collection(user.id, name).id
        elif collection_id.isdigit():
            target = int(collection_id)
        else:
            raise AccountError("name the new collection or pick one", "name")
        if paper_id is not None:
            accounts.add_to_collection(user.id, target, paper_id)
    except AccountError as error:
        items = accounts.collections(user.id)
        return render(
            request, "collections.html", {"collections": items, "error": str(error)}, status_code=400
        )
    return RedirectResponse(f"/collections/{target}", status_code=303)


@router.get("/collections/{collection_id}", response_class=HTMLResponse)
def collection_page(request: Request, collection_id: CollectionId) -> Response:
    user = user_or_redirect(request, f"/collections/{collection_id}")
    if not isinstance(user, User):
        return user
    state = web_state(request)
    collection = state.store.accounts.get_collection(user.id, collection_id)
    if collection is None:  # someone else's is answered exactly like one that does not exist
        raise HTTPException(404, "No such collection.")
    papers = state.store.get_papers(state.store.accounts.collection_paper_ids(collection.id))
    voted = state.store.accounts.voted(user.id, [p.id for p in papers])
    return render(request, "collection.html", {"collection": collection, "papers": papers, "voted": voted})


@router.post("/collections/{collection_id}/remove")
def remove(
    request: Request,
    collection_id: CollectionId,
    csrf_token: Annotated[str, Form()] = "",
    paper: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    user = user_or_redirect(request, f"/collections/{collection_id}")
    if not isinstance(user, User):
        return user
    state = web_state(request)
    paper_id = state.store.resolve_key(paper)
    try:
        if paper_id is not None:
            state.store.accounts.remove_from_collection(user.id, collection_id, paper_id)
    except AccountError as error:
        raise HTTPException(404, "No such collection.") from error
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.post("/collections/{collection_id}/delete")
def delete(
    request: Request, collection_id: CollectionId, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf_token)
    user = user_or_redirect(request, "/collections")
    if not isinstance(user, User):
        return user
    if not web_state(request).store.accounts.delete_collection(user.id, collection_id):
        raise HTTPException(404, "No such collection.")
    return RedirectResponse("/collections", status_code=303)
