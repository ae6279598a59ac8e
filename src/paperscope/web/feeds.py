"""RSS 2.0 and Atom feeds of the daily lists, trending papers and any search.

``/feeds/daily.atom`` (or ``.rss``, optional ``?date=YYYY-MM-DD``, ``?week=YYYY-Www`` or
``?month=YYYY-MM``), ``/feeds/trending.atom`` (optional ``?category=cs.CL``) and
``/feeds/search.atom?q=...``.  On list feeds (a day, week, month, trending) an entry's date is
the day the paper entered the list; on a search feed it is the paper's own date.  An RSS
item's ``<link>`` is the paper on arXiv (what feed readers open), its ``<guid>`` the paper's
page here; an Atom entry links both (``alternate`` here, ``related`` arXiv).  The XML is written by
feedgen (on lxml), so escaping and the two formats' required elements are its concern, not
ours.  Each entry links to the paper's page here and to arXiv, and carries the authors, the
abstract, a date and the upvote count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Literal, TypedDict
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator
from lxml import etree

from ..errors import PaperscopeError
from ..store import Paper, Store
from .params import BadParameter, newest_period, parse_period
from .state import public_url, web_state

router = APIRouter(prefix="/feeds", tags=["feeds"])

MEDIA_TYPES: dict[str, str] = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
}
ATOM_NS = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 100
DEFAULT_ENTRIES = 50
# The format is the path's extension, an enum in the OpenAPI schema.
Format = Annotated[Literal["atom", "rss"], Path(description="atom or rss")]
# XML 1.0 forbids these code points outright; lxml refuses them, so one stray control
# character in a scraped abstract would otherwise turn the whole feed into a 500.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _store(request: Request) -> Store:
    return web_state(request).store


def _xml_text(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def _timestamp(day: str | None) -> datetime | None:
    """A day or ISO time as an aware datetime (feeds need a time zone); None when unreadable."""
    if not day:
        return None
    try:
        value = datetime.fromisoformat(day.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(day[:10]), datetime.min.time())
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _summary(paper: Paper) -> str:
    """The abstract; else Hugging Face's AI summary, labelled as such; else that it is not known yet."""
    if paper.abstract:
        return _xml_text(paper.abstract)
    if paper.ai_summary:
        return "TLDR (AI summary): " + _xml_text(paper.ai_summary)
    return "(abstract not known yet)"


def _entry_html(paper: Paper, page_url: str) -> str:
    from html import escape

    links = [f'<a href="{escape(page_url)}">paperscope</a>']
    if paper.abs_url:
        links.append(f'<a href="{escape(paper.abs_url)}">arXiv</a>')
    if paper.pdf_url:
        links.append(f'<a href="{escape(paper.pdf_url)}">PDF</a>')
    if paper.code_url:
        links.append(f'<a href="{escape(paper.code_url)}">code</a>')
    tldr = f"<p><b>TLDR (AI summary):</b> {escape(_xml_text(paper.ai_summary))}</p>" if paper.ai_summary else ""
    return (
        f"<p>{escape(_xml_text(', '.join(paper.authors))) or '<i>Authors unknown</i>'}</p>"
        f"<p>{paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''}</p>"
        f"{tldr}<p>{escape(_xml_text(paper.abstract)) or '<i>Abstract not known yet.</i>'}</p>"
        f"<p>{' · '.join(links)}</p>"
    )


def build_feed(
    papers: Sequence[Paper],
    *,
    fmt: str,
    title: str,
    subtitle: str,
    base_url: str,
    self_url: str,
    page_url: str,
    span: tuple[str, str] | None = None,
    listed: bool = False,
    added: Mapping[int, str] | None = None,
) -> bytes:
    """Render ``papers`` (in the given order) as an Atom or RSS document.  ``listed``: a list
    feed, whose entries are dated by the day each paper entered the list (within ``span``, the
    first and last day of the list's period, when given).  ``added``: a collection's feed, whose
    entries are dated by when each paper (by id) was saved to it."""
    base = base_url.rstrip("/")
    feed = FeedGenerator()
    # RSS <author> must be an email address; dc:creator takes names (Atom has <author><name>).
    feed.load_extension("dc", atom=False, rss=True)
    feed.id(self_url)
    feed.title(title)
    feed.subtitle(subtitle)  # also RSS <description>, which RSS requires
    # feedgen gives RSS's single <link> the last link added, which must be the page, not the feed.
    feed.link(href=self_url, rel="self")
    feed.link(href=page_url, rel="alternate")
    feed.language("en")
    feed.generator("paperscope")
    newest: datetime | None = None
    for paper in papers:
        paper_url = f"{base}/papers/{paper.key}"
        entry = feed.add_entry(order="append")
        entry.id(paper_url)
        entry.guid(paper_url, permalink=True)
        entry.title(_xml_text(paper.title) or paper.key)
        entry.link(href=paper_url, rel="alternate")
        if paper.abs_url:
            entry.link(href=paper.abs_url, rel="related", title="arXiv")
            if fmt == "rss":
                # RSS has one <link> per item, the last "alternate" given: the paper on arXiv.
                entry.link(href=paper.abs_url, rel="alternate")
        names = [_xml_text(name) for name in paper.authors if name.strip()]
        for name in names:
            entry.author({"name": name})
        if names:
            entry.dc.dc_creator(names)
        # The daily list's day is what a reader of this feed cares about; fall back to arXiv's date.
        in_span = [d for d in paper.list_dates if span and span[0] <= d <= span[1]]
        list_day = in_span[0] if in_span else next(reversed(paper.list_dates), None)
        published = _timestamp(paper.published)
        saved = _timestamp(added.get(paper.id)) if added is not None else None
        stamp = saved or _timestamp(list_day) or published or _timestamp(paper.created_at) or datetime.now(UTC)
        entry.updated(stamp)
        # RSS <pubDate> is the published time: on a list feed, the day the paper was listed; on a
        # collection's, when it was saved there (what is new to a reader of that collection).
        entry.published(stamp if listed or saved else published or stamp)
        entry.summary(_summary(paper))
        entry.content(_entry_html(paper, paper_url), type="html")
        for category in paper.categories:
            entry.category(term=category)
        newest = stamp if newest is None or stamp > newest else newest
    feed.updated(newest or datetime.now(UTC))
    if fmt == "rss":
        return feed.rss_str(pretty=True)
    return _with_link_relations(feed.atom_str(pretty=False))


def _with_link_relations(atom: bytes) -> bytes:
    """Put back the ``rel``/``title`` of each entry's links, which feedgen 1.0 drops (its entry
    writer shadows the link dict with the new element, so only ``href`` survives).  Without
    them both links read as ``alternate``, which Atom forbids for two links of one type."""
    root = etree.fromstring(atom)
    for entry in root.iterfind(f"{{{ATOM_NS}}}entry"):
        links = entry.findall(f"{{{ATOM_NS}}}link")
        for link, (rel, title) in zip(links, [("alternate", None), ("related", "arXiv")], strict=False):
            link.set("rel", rel)
            if title:
                link.set("title", title)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _respond(body: bytes, fmt: str) -> Response:
    return Response(content=body, media_type=MEDIA_TYPES[fmt])


class _Urls(TypedDict):
    base_url: str
    self_url: str
    page_url: str


def _urls(request: Request, page_path: str, **page_query: str | None) -> _Urls:
    """The site's root, this feed's own URL and the URL of the page the feed mirrors."""
    base = public_url(request, "/")
    kept = {k: v for k, v in page_query.items() if v}
    page = base.rstrip("/") + page_path + (f"?{urlencode(kept)}" if kept else "")
    query = request.url.query
    own = public_url(request, request.url.path + (f"?{query}" if query else ""))
    return {"base_url": base, "self_url": own, "page_url": page}


# Plain ``def`` handlers: they read the database, so FastAPI runs them in its thread pool.
@router.get("/daily.{fmt}", name="feed_daily")
def daily_feed(
    request: Request,
    fmt: Format,
    day: str | None = Query(
        None, alias="date", description="List day, YYYY-MM-DD (default: newest)", json_schema_extra={"format": "date"}
    ),
    week: str | None = Query(None, description="an ISO week, YYYY-Www", pattern=r"^\d{4}-?[Ww]\d{1,2}$"),
    month: str | None = Query(None, description="a month, YYYY-MM", pattern=r"^\d{4}-\d{2}$"),
    limit: int = Query(DEFAULT_ENTRIES, ge=1, le=MAX_ENTRIES),
) -> Response:
    try:
        period = parse_period(day, week, month) or newest_period(web_state(request).list_days())
    except BadParameter as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    if period is None:
        papers, label = [], "no lists yet"
    else:
        start, end = period.start.isoformat(), period.end.isoformat()
        papers, label = _store(request).daily_papers(start, end, sort="upvotes", limit=limit), period.key
    body = build_feed(
        papers,
        fmt=fmt,
        title=f"paperscope daily papers, {label}",
        subtitle=f"Papers of the daily lists of {label}, most upvoted first",
        span=(period.start.isoformat(), period.end.isoformat()) if period is not None else None,
        listed=True,
        **_urls(request, "/papers", date=day, week=week, month=month),
    )
    return _respond(body, fmt)


@router.get("/trending.{fmt}", name="feed_trending")
def trending_feed(
    request: Request,
    fmt: Format,
    category: str | None = Query(None, description="arXiv category such as cs.CL"),
    limit: int = Query(DEFAULT_ENTRIES, ge=1, le=MAX_ENTRIES),
) -> Response:
    ranked = _store(request).trending(category=category or None, limit=limit)
    where = f" in {category}" if category else ""
    body = build_feed(
        [paper for paper, _score in ranked],
        fmt=fmt,
        title=f"paperscope trending papers{where}",
        subtitle=f"Papers trending this week{where}, by upvotes and age",
        listed=True,
        **_urls(request, "/trending", category=category),
    )
    return _respond(body, fmt)


def _search_papers(request: Request, query: str, limit: int) -> list[Paper]:
    from ..search.api import SearchRequest

    # One Searcher (its open indexes) serves every request of the app; see WebState.searcher.
    response = web_state(request).searcher.search(SearchRequest(query=query, limit=limit))
    return [result.paper for result in response.results]


@router.get("/search.{fmt}", name="feed_search")
def search_feed(
    request: Request,
    fmt: Format,
    q: str = Query(..., min_length=1, max_length=1000, description="A search as typed in the search box"),
    limit: int = Query(DEFAULT_ENTRIES, ge=1, le=MAX_ENTRIES),
) -> Response:
    try:
        papers = _search_papers(request, q, limit)
    except PaperscopeError as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    body = build_feed(
        papers,
        fmt=fmt,
        title=f"paperscope search: {_xml_text(q)}",
        subtitle=f"Best matches for the search {_xml_text(q)!r}",
        **_urls(request, "/search", q=q),
    )
    return _respond(body, fmt)
