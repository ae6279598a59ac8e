"""Plain JSON / JSON-lines lists of paper records with the field names people commonly use.

The mapping is alias-based: the first present key of each alias list wins.  A layout with no
title field is refused as a whole (UnknownFormat) rather than record by record, since then
every record would be rejected for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..arxiv_ids import parse_arxiv_id
from ..records import PaperRecord, ParseResult, clean_text
from .common import first_doi, iso_day, iso_timestamp, reject, split_authors

SOURCE = "json-list"
CONTAINER_KEYS = ("papers", "data", "items", "results", "records")

ID_KEYS = ("arxiv_id", "arxivId", "paper_id", "id")
TITLE_KEYS = ("title",)
ABSTRACT_KEYS = ("abstract", "summary", "description")
# An AI-written one-line summary (Hugging Face's ai_summary; hf_bot's summary_en): a TLDR, not the abstract.
AI_SUMMARY_KEYS = ("ai_summary", "summary_en", "tldr")
AUTHOR_KEYS = ("authors",)
PUBLISHED_KEYS = ("published", "publishedAt", "published_date", "submission_date", "submitted")
DAILY_KEYS = ("daily_date", "list_date")
UPVOTE_KEYS = ("upvotes", "likes", "votes")
CODE_KEYS = ("github_url", "code_url", "githubRepo", "repo", "github")
PROJECT_KEYS = ("project_page", "projectPage", "project_url")
URL_KEYS = ("arxiv_url", "url", "hf_url", "link")
ALL_KEYS = (
    *ID_KEYS, *TITLE_KEYS, *ABSTRACT_KEYS, *AUTHOR_KEYS, "date", *PUBLISHED_KEYS, *DAILY_KEYS, *UPVOTE_KEYS,
    *CODE_KEYS, *PROJECT_KEYS, *URL_KEYS, "categories", "doi", *AI_SUMMARY_KEYS, "ai_keywords",
)
LOOKED_FOR = (
    "title plus any of: id/arxiv_id/paper_id/arxivId, abstract/summary/description, authors, "
    "date/published/publishedAt/submission_date, upvotes/likes/votes, github_url/code_url/githubRepo/repo, "
    "categories, doi, url/arxiv_url"
)


def find_list(obj: Any) -> list[Any] | None:
    """The record list: the document itself, or the first list under a common container key."""
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict):
        for key in CONTAINER_KEYS:
            if isinstance(obj.get(key), list):
                return list(obj[key])
    return None


def looks_like_records(items: Iterable[Any]) -> bool:
    """True when most of the first records carry a title: enough to map them (the odd bad record
    is then rejected on its own, not the whole file)."""
    sample = [item for _, item in zip(range(20), items, strict=False)]
    titled = sum(1 for i in sample if isinstance(i, dict) and any(k in i for k in TITLE_KEYS))
    return bool(sample) and titled * 2 >= len(sample)


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _authors(value: Any) -> list[str]:
    if isinstance(value, str):
        return split_authors(value)
    names: list[str] = []
    if isinstance(value, list):
        for item in value:
            name = item.get("name") if isinstance(item, dict) else item
            if isinstance(name, str) and name.strip():
                names.append(clean_text(name))
    return names


def _upvotes(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())  # some bots write counts as strings ("12")
    raise ValueError(f"upvote count {value!r} is not a whole number")


def _time_of_day(value: Any) -> str | None:
    """A publication timestamp as given when it carries a time of day (``2026-02-26T17:59:30Z``)."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        return iso_timestamp(value.strip())
    except ValueError:
        return None  # the day alone is kept as ``published``


def json_record(obj: Any, origin: str) -> ParseResult:
    raw = orjson.dumps(obj).decode()[:200] if isinstance(obj, dict | list) else repr(obj)
    if not isinstance(obj, dict):
        return reject(SOURCE, origin, "record is not a JSON object", raw)
    title = clean_text(_first(obj, TITLE_KEYS) if isinstance(_first(obj, TITLE_KEYS), str) else "")
    ident = _first(obj, ID_KEYS)
    parsed = parse_arxiv_id(str(ident)) if ident is not None else None
    if parsed is None:
        url = _first(obj, URL_KEYS)
        parsed = parse_arxiv_id(url) if isinstance(url, str) else None
    arxiv_id = parsed[0] if parsed else None
    where = f"{origin}#{arxiv_id or ident or '?'}"
    if not title:
        return reject(SOURCE, where, f"record has no title (looked for: {', '.join(TITLE_KEYS)})", raw)

    has_votes = any(key in obj for key in UPVOTE_KEYS) or "hf_url" in obj
    try:
        published_raw = _first(obj, PUBLISHED_KEYS)
        daily_raw = _first(obj, DAILY_KEYS)
        # A bare "date" in a list that carries upvotes is the day the paper was on the daily list
        # (hf_bot's layout); elsewhere it is the publication date.  We never invent a date.
        if obj.get("date"):
            if has_votes and daily_raw is None:
                daily_raw = obj["date"]
            elif published_raw is None:
                published_raw = obj["date"]
        published = iso_day(str(published_raw)) if published_raw else None
        daily = iso_day(str(daily_raw)) if daily_raw else None
        upvotes = _upvotes(_first(obj, UPVOTE_KEYS))
    except ValueError as error:
        return reject(SOURCE, where, str(error), raw)

    categories_raw = obj.get("categories")
    if isinstance(categories_raw, str):
        categories = categories_raw.replace(",", " ").split()
    elif isinstance(categories_raw, list):
        categories = [str(c) for c in categories_raw if c]
    else:
        categories = []
    links: dict[str, str] = {}
    for name, keys in (("code", CODE_KEYS), ("project", PROJECT_KEYS)):
        value = _first(obj, keys)
        if isinstance(value, str):
            links[name] = value
    abstract_raw = _first(obj, ABSTRACT_KEYS)
    abstract = clean_text(abstract_raw if isinstance(abstract_raw, str) else "")
    summary = _first(obj, AI_SUMMARY_KEYS)
    ai_summary = clean_text(summary if isinstance(summary, str) else "")
    if ai_summary and abstract.startswith(ai_summary):
        # hf_bot writes the AI summary in front of the abstract, or alone where it had no abstract
        # (75 of February 2026's papers): what is left is the abstract, possibly none.
        abstract = abstract[len(ai_summary) :].strip()
    keywords = obj.get("ai_keywords")
    doi = obj.get("doi")
    return PaperRecord(
        source=SOURCE,
        origin=where,
        title=title,
        arxiv_id=arxiv_id,
        abstract=abstract,
        ai_summary=ai_summary,
        ai_keywords=[clean_text(k) for k in keywords if isinstance(k, str) and k.strip()]
        if isinstance(keywords, list)
        else [],
        authors=_authors(_first(obj, AUTHOR_KEYS)),
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=published,
        published_at=_time_of_day(published_raw),
        doi=first_doi(doi) if isinstance(doi, str) else None,
        links=links,
        upvotes=upvotes,
        daily_date=daily,
    )


def parse_json_records(items: list[Any], origin: str) -> Iterator[ParseResult]:
    for index, item in enumerate(items):
        yield json_record(item, f"{origin}[{index}]")
