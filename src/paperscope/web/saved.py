"""A signed-in user's collections: named lists of saved papers, visible to their owner only."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..store.accounts import AccountError, User
from .params import RowId
from .security import check_csrf, current_user, user_or_redirect
from .state import public_url, web_state
from .templating import render

router = APIRouter(include_in_schema=False)
CollectionId = RowId
# The feed's format is its extension (as under /feeds): anything else is a 4xx naming it.
Format = Annotated[Literal["atom", "rss"], Path(description="atom or rss")]


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
    """A collection: its owner's to edit, and anyone's to read once its owner made it public."""
    state = web_state(request)
    viewer = current_user(request)
    collection = state.store.accounts.visible_collection(collection_id, viewer.id if viewer else None)
    if collection is None and viewer is None:
        return user_or_redirect(request, f"/collections/{collection_id}")  # type: ignore[return-value]
    if collection is None:  # someone else's private one is answered exactly like one that does not exist
        raise HTTPException(404, "No such collection.")
    papers = state.store.get_papers(state.store.accounts.collection_paper_ids(collection.id))
    voted = state.store.accounts.voted(viewer.id, [p.id for p in papers]) if viewer else set()
    owner = state.store.accounts.get_user(collection.user_id)
    return render(
        request,
        "collection.html",
        {
            "collection": collection,
            "papers": papers,
            "voted": voted,
            "mine": viewer is not None and viewer.id == collection.user_id,
            "owner": owner.username if owner else "",
            "public_url": public_url(request, f"/collections/{collection.id}"),
        },
    )


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


@router.post("/collections/{collection_id}/share")
def share(
    request: Request,
    collection_id: CollectionId,
    csrf_token: Annotated[str, Form()] = "",
    public: Annotated[str, Form(pattern="^(yes|no)$")] = "yes",
) -> Response:
    """Make a collection public (readable by anyone at its URL, with its own feed) or private."""
    check_csrf(request, csrf_token)
    user = user_or_redirect(request, f"/collections/{collection_id}")
    if not isinstance(user, User):
        return user
    if not web_state(request).store.accounts.set_collection_public(user.id, collection_id, public == "yes"):
        raise HTTPException(404, "No such collection.")
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.get("/collections/{collection_id}/feed.{fmt}", name="collection_feed")
def collection_feed(request: Request, collection_id: CollectionId, fmt: Format) -> Response:
    """A public collection's Atom or RSS feed, most recently added first, each entry dated by
    when it was saved to the collection (a private one is 404: feed readers send no cookies, so
    there is no owner to recognise)."""
    from .feeds import MAX_ENTRIES, MEDIA_TYPES, build_feed

    store = web_state(request).store
    collection = store.accounts.visible_collection(collection_id, None)
    if collection is None:
        raise HTTPException(404, "No such collection.")
    owner = store.accounts.get_user(collection.user_id)
    base = public_url(request)
    body = build_feed(
        store.get_papers(store.accounts.collection_paper_ids(collection.id)[:MAX_ENTRIES]),
        fmt=fmt,
        title=f"{collection.name} (a paperscope collection by {owner.username if owner else 'someone'})",
        subtitle=f"Papers saved to the collection {collection.name}, most recently added first",
        base_url=base + "/",
        self_url=f"{base}/collections/{collection.id}/feed.{fmt}",
        page_url=f"{base}/collections/{collection.id}",
        added=store.accounts.collection_added_at(collection.id),
    )
    return Response(body, media_type=MEDIA_TYPES[fmt])
