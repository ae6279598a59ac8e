"""Hugging Face Papers API JSON: ``/api/daily_papers`` lists and ``/api/papers/{id}`` objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ..arxiv_ids import parse_arxiv_id
from ..records import PaperRecord, ParseResult, clean_text
from .common import iso_day, iso_timestamp, reject

SOURCE = "hf-api"
CONTAINER_KEYS = ("papers", "data", "items", "results", "records")


def is_hf_item(obj: Any) -> bool:
    """A daily-list entry (``{"paper": {...}}``) or a paper object as the API returns it."""
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("paper"), dict):
        return True
    authors = obj.get("authors")
    return (
        "id" in obj
        and "summary" in obj
        and ("discussionId" in obj or "publishedAt" in obj)
        and isinstance(authors, list)
        and all(isinstance(a, dict) for a in authors)
    )


def _dump(obj: Any) -> str:
    return orjson.dumps(obj).decode()[:200]


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"count {value!r} is not a whole number")


def _submitter(value: Any) -> str | None:
    if isinstance(value, dict):
        name = value.get("fullname") or value.get("name") or value.get("user")
        return str(name) if name else None
    return str(value) if value else None


# What of a Hugging Face account object is kept: enough to answer ``submittedBy`` in its shape.
_ACCOUNT_KEYS = ("_id", "user", "name", "fullname", "avatarUrl", "type")


def _account(value: Any) -> dict[str, Any] | None:
    """The submitter's account object (``{_id, user|name, fullname, avatarUrl, type}``), if given one."""
    if not isinstance(value, dict):
        return None
    kept = {k: value[k] for k in _ACCOUNT_KEYS if isinstance(value.get(k), str) and value[k]}
    # /api/daily_papers names the handle ``name``; /api/papers/{id} names it ``user``.
    handle = kept.get("user") or kept.get("name")
    if not handle:
        return None
    kept["user"] = kept["name"] = handle
    if kept.get("avatarUrl", "").startswith("/"):
        # Hugging Face answers its own avatars relative to huggingface.co; elsewhere they need the host.
        kept["avatarUrl"] = "https://huggingface.co" + kept["avatarUrl"]
    return kept


def _time_of_day(value: Any) -> str | None:
    """``publishedAt`` as given when it carries a time of day (``2024-10-22T17:59:30.000Z``)."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        return iso_timestamp(value)
    except ValueError:
        return None  # the day alone was already checked (and kept) as ``published``


def hf_item(item: Any, origin: str) -> ParseResult:
    """One daily entry or paper object -> record (HF facts included) or Rejected."""
    if not is_hf_item(item):
        reason = "not a Hugging Face paper object (expected paper.id, title, summary)"
        return reject(SOURCE, origin, reason, _dump(item))
    paper = item["paper"] if isinstance(item.get("paper"), dict) else item
    raw_id = str(paper.get("id") or "")
    parsed = parse_arxiv_id(raw_id)
    where = f"{origin}#{raw_id or '?'}"
    if parsed is None:
        return reject(SOURCE, where, f"paper id {raw_id!r} is not an arXiv id", _dump(item))
    title = clean_text(paper.get("title") or item.get("title"))
    if not title:
        return reject(SOURCE, where, f"{parsed[0]}: paper has no title", _dump(item))
    try:
        published = iso_day(paper["publishedAt"]) if paper.get("publishedAt") else None
        # The outer publishedAt is when the paper entered the daily list, not the arXiv date.
        daily = iso_day(item["publishedAt"]) if item is not paper and item.get("publishedAt") else None
        # When it entered the list, to the second: newer answers say submittedOnDailyAt, older
        # ones only the outer publishedAt (2024-10-25T00:57:09.392Z on that day's list).
        outer = item.get("publishedAt") if item is not paper else None
        daily_at = _time_of_day(paper.get("submittedOnDailyAt") or outer)
        upvotes = _count(paper.get("upvotes"))
        comments = _count(item.get("numComments", paper.get("numComments")))
    except ValueError as error:
        return reject(SOURCE, where, f"{parsed[0]}: {error}", _dump(item))
    links: dict[str, str] = {}
    for key, name in (("githubRepo", "code"), ("projectPage", "project"), ("discussionId", "hf_discussion")):
        value = paper.get(key) or item.get(key)
        if isinstance(value, str) and value:
            links[name] = value
    authors = [clean_text(a.get("name")) for a in paper.get("authors") or () if isinstance(a, dict)]
    keywords = paper.get("ai_keywords")
    return PaperRecord(
        source=SOURCE,
        origin=where,
        title=title,
        arxiv_id=parsed[0],
        abstract=clean_text(paper.get("summary")),
        authors=[a for a in authors if a],
        published=published,
        published_at=_time_of_day(paper.get("publishedAt")),
        ai_summary=clean_text(paper.get("ai_summary") if isinstance(paper.get("ai_summary"), str) else ""),
        ai_keywords=[clean_text(k) for k in keywords if isinstance(k, str) and k.strip()]
        if isinstance(keywords, list)
        else [],
        links=links,
        upvotes=upvotes,
        daily_date=daily,
        daily_at=daily_at,
        submitted_by=_submitter(item.get("submittedBy") or paper.get("submittedOnDailyBy")),
        submitter=_account(item.get("submittedBy") or paper.get("submittedOnDailyBy")),
        num_comments=comments,
    )


def parse_hf_api(obj: Any, origin: str) -> Iterator[ParseResult]:
    """A daily list, a list of paper objects, a single paper object, or ``{"papers": [...]}``."""
    if isinstance(obj, dict) and not is_hf_item(obj):
        for key in CONTAINER_KEYS:
            if isinstance(obj.get(key), list):
                obj = obj[key]
                break
    items = obj if isinstance(obj, list) else [obj]
    for index, item in enumerate(items):
        yield hf_item(item, f"{origin}[{index}]" if isinstance(obj, list) else origin)
