"""A paper or a collection in the formats other tools read: ``/papers/{id}.md`` (what
``huggingface_hub``'s ``read_paper`` and ``hf papers read`` fetch), ``.bib`` and ``.ris``;
``/collections/{id}.bib`` / ``.ris`` for everything saved in one collection (a public one, or
the visitor's own); and the other way, ``POST /collections/{id}/import``: a BibTeX, RIS or
id-list file uploaded into one's own collection: papers this site has are added at once; arXiv
ids it lacks are queued for the ``fetch-queue`` job (no arXiv fetch inside a request), which adds
them to the collection once fetched."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response

from ..citations import to_bibtex, to_markdown, to_ris
from ..store.accounts import User
from ..store.models import Paper
from .saved import CollectionId
from .security import check_csrf, current_user, user_or_redirect
from .state import public_url, web_state
from .templating import render

router = APIRouter(include_in_schema=False)

_TYPES = {
    "bib": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
}


def _paper(request: Request, key: str) -> Paper:
    found = web_state(request).store.get_paper(key) if len(key) <= 300 else None
    if found is None:
        raise HTTPException(404, f"No paper {key[:100]!r} here.")
    return found


def _file(body: str, fmt: str, name: str) -> Response:
    # inline: a browser shows the text; "Save as" and citation managers still get a sensible name.
    headers = {"Content-Disposition": f'inline; filename="{name}.{fmt}"'}
    return Response(body, media_type=_TYPES[fmt], headers=headers)


@router.get("/papers/{key:path}.md", response_class=PlainTextResponse)
def paper_markdown(request: Request, key: str) -> Response:
    paper = _paper(request, key)
    page = public_url(request, request.app.url_path_for("paper_page", key=paper.key))
    return PlainTextResponse(to_markdown(paper, page), media_type="text/markdown; charset=utf-8")


@router.get("/papers/{key:path}.bib")
def paper_bibtex(request: Request, key: str) -> Response:
    paper = _paper(request, key)
    return _file(to_bibtex([paper]), "bib", paper.key.replace("/", "_"))


@router.get("/papers/{key:path}.ris")
def paper_ris(request: Request, key: str) -> Response:
    paper = _paper(request, key)
    return _file(to_ris([paper]), "ris", paper.key.replace("/", "_"))


def _collection_papers(request: Request, collection_id: int, fmt: str) -> tuple[str, list[Paper]] | Response:
    """The papers of a collection the visitor may read: a public one, or their own."""
    store = web_state(request).store
    viewer = current_user(request)
    collection = store.accounts.visible_collection(collection_id, viewer.id if viewer else None)
    if collection is None and viewer is None:
        return user_or_redirect(request, f"/collections/{collection_id}.{fmt}")  # type: ignore[return-value]
    if collection is None:  # someone else's private one is answered exactly like one that does not exist
        raise HTTPException(404, "No such collection.")
    return collection.name, store.get_papers(store.accounts.collection_paper_ids(collection.id))


@router.get("/collections/{collection_id}.bib")
def collection_bibtex(request: Request, collection_id: CollectionId) -> Response:
    found = _collection_papers(request, collection_id, "bib")
    if isinstance(found, Response):
        return found
    return _file(to_bibtex(found[1]), "bib", f"collection-{collection_id}")


@router.get("/collections/{collection_id}.ris")
def collection_ris(request: Request, collection_id: CollectionId) -> Response:
    found = _collection_papers(request, collection_id, "ris")
    if isinstance(found, Response):
        return found
    return _file(to_ris(found[1]), "ris", f"collection-{collection_id}")


# An upload is read whole in the request: bounded (citation exports of thousands of entries are far smaller).
MAX_UPLOAD = 2 * 1024 * 1024


@router.post("/collections/{collection_id}/import")
def import_into_collection(
    request: Request,
    collection_id: CollectionId,
    library: Annotated[UploadFile, File(description="BibTeX, RIS, or arXiv ids / URLs / DOIs one a line")],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    from ..harvest.fetch_queue import queue_import
    from ..library import import_library

    check_csrf(request, csrf_token)
    user = user_or_redirect(request, f"/collections/{collection_id}")
    if not isinstance(user, User):
        return user
    store = web_state(request).store
    collection = store.accounts.get_collection(user.id, collection_id)
    if collection is None:  # only the owner imports; someone else's is answered like a missing one
        raise HTTPException(404, "No such collection.")
    raw = library.file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise HTTPException(413, f"The file is larger than {MAX_UPLOAD // 2**20} MiB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise HTTPException(400, f"The file is not UTF-8 text ({error}).") from error
    report = import_library(
        store, text, user_id=user.id, collection_id=collection.id, collection_name=collection.name,
        queue=lambda arxiv_id: queue_import(store, arxiv_id, collection_id=collection.id),
    )
    web_state(request).changed()
    context = {"collection": collection, "report": report, "filename": library.filename or "upload"}
    return render(request, "library_import.html", context)
