"""Papers submitted on the site, fetched from the arXiv API by the ``fetch-queue`` job.

The submit page only checks that the text is an arXiv id and queues it
(:func:`queue_submission`): a page must not wait on arXiv, which paces robots at one request
every few seconds and is sometimes down.  :func:`process_fetch_queue` fetches the due rows one
request each, paced, through :func:`.arxiv_api.add_papers` (the same import as ``paperscope
add``), so each paper joins the list of the day it was submitted, credited to its submitter
(and dated by the moment it was submitted).  A row queued by a library import into a collection
(:func:`queue_import`, the upload form on a collection page) joins no list: once fetched, the
paper is added to that collection.

An id arXiv does not know fails its row at once (with arXiv's reason); an unreachable arXiv
leaves the rows queued with back-off (:func:`paperscope.store.queues.retry_at`) and stops the
run, since every other request would fail the same way.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from ..arxiv_ids import parse_arxiv_id
from ..errors import NetworkError, QueryError
from ..store import Store
from ..store.queues import MAX_ATTEMPTS, QUEUED, FetchItem, iso, retry_at
from .arxiv_api import add_papers
from .client import Pacing

log = logging.getLogger(__name__)


def queue_submission(store: Store, text: str, *, submitted_by: str | None, list_date: str) -> FetchItem:
    """Queue a paper for fetching (no network); QueryError when ``text`` is no arXiv id or URL."""
    parsed = parse_arxiv_id(text)
    if parsed is None:
        raise QueryError("Give an arXiv id such as 2602.23152 or an arxiv.org / huggingface.co paper URL.")
    return store.fetch_queue.enqueue(text, parsed[0], submitted_by=submitted_by, list_date=list_date)


def queue_import(store: Store, arxiv_id: str, *, collection_id: int) -> FetchItem:
    """Queue a paper that a library import wants in ``collection_id`` (no network, no list day)."""
    return store.fetch_queue.enqueue(arxiv_id, arxiv_id, submitted_by=None, list_date=None,
                                     collection_id=collection_id)


def _into_collection(store: Store, item: FetchItem, paper_id: int) -> None:
    """Add a fetched import to its collection, for the collection's owner (gone: nothing to do)."""
    if item.collection_id is None:
        return
    collection = store.accounts.collection_by_id(item.collection_id)
    if collection is not None:
        store.accounts.add_to_collection(collection.user_id, collection.id, paper_id)


def process_fetch_queue(
    store: Store,
    *,
    api_url: str | None = None,
    pacing: Pacing | None = None,
    limit: int = 500,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Fetch the due submissions (at most ``limit``) and store them.

    Returns ``{"fetched", "not_found", "retry", "failed", "remaining", "errors"}``: papers
    stored, ids arXiv does not know, rows left for a later try, rows given up after
    ``MAX_ATTEMPTS``, and rows still queued.  ``now`` is for tests moving over back-offs.
    """
    moment = now or datetime.now(UTC)
    queue = store.fetch_queue
    counts: dict[str, Any] = {"fetched": 0, "not_found": 0, "retry": 0, "failed": 0, "errors": []}
    pacing = pacing or Pacing.from_env()
    for index, item in enumerate(queue.due(iso(moment), limit)):
        if index:
            # One request per submission (each its own list day and submitter, and one unknown id
            # cannot spoil the others' answer), paced as arXiv asks of robots.
            time.sleep(pacing.delay)
        try:
            result = add_papers(
                store,
                [item.input],
                api_url=api_url,
                submitted_by=item.submitted_by,
                list_date=item.list_date,
                pacing=pacing,
                # Listed at the moment it was submitted, not when arXiv answered.
                submitted_at=item.created_at if item.list_date else None,
            )
        except (NetworkError, QueryError) as error:
            # arXiv unreachable (or answering nonsense): the other rows would fare alike, so stop.
            counts["errors"].append(str(error))
            log.warning("fetch queue: %s", error)
            if item.attempts + 1 >= MAX_ATTEMPTS:
                queue.fail(item.id, f"gave up after {item.attempts + 1} attempts: {error}")
                counts["failed"] += 1
            else:
                queue.retry(item.id, str(error), retry_at(moment, item.attempts + 1))
                counts["retry"] += 1
            break
        reasons = dict(result.rejected)
        paper = store.get_paper(item.arxiv_id)
        if item.input in reasons or paper is None:
            queue.fail(item.id, reasons.get(item.input) or f"arXiv did not return {item.arxiv_id}")
            counts["not_found"] += 1
            continue
        _into_collection(store, item, paper.id)
        queue.done(item.id, paper.key)
        counts["fetched"] += 1
    counts["remaining"] = queue.counts().get(QUEUED, 0)
    if counts["fetched"] or counts["not_found"]:
        log.info("fetch queue: %s", {k: v for k, v in counts.items() if k != "errors"})
    return counts
