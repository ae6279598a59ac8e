"""JSON shapes of the API.  The first three follow the Hugging Face Papers API field names
(``paper.id``, ``summary``, ``publishedAt``, ``authors[].name``, ``upvotes``, ``githubRepo``,
``numComments``, ``submittedBy``) so that its clients work unchanged; extra fields are ours."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..store.accounts import VoteCounts
from ..store.models import Paper


class Author(BaseModel):
    name: str
    hidden: bool = Field(default=False, description="Hugging Face hides an author on request; never here")


class Account(BaseModel):
    """Who put a paper on a daily list, in Hugging Face's account shape.  ``user`` and ``name`` are
    both the handle (``/api/papers/{id}`` calls it ``user``, ``/api/daily_papers`` ``name``)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str | None = Field(default=None, alias="_id", description="Hugging Face account id, when known")
    user: str
    name: str
    fullname: str
    avatarUrl: str | None = None
    type: str = "user"


class PaperOut(BaseModel):
    id: str = Field(description="arXiv id without version, or a local id (ps-...)")
    title: str
    summary: str = Field(description="the abstract")
    authors: list[Author]
    publishedAt: str = Field(description="publication time, ISO 8601 (midnight UTC when only the day is known)")
    upvotes: int = Field(description="Hugging Face upvotes plus upvotes cast on this site")
    discussionId: str | None = Field(default=None, description="the paper's Hugging Face discussion, when known")
    githubRepo: str | None = None
    projectPage: str | None = None
    ai_summary: str | None = Field(default=None, description="Hugging Face's AI-written one-line summary")
    ai_keywords: list[str] | None = None
    submittedOnDailyAt: str | None = Field(default=None, description="when it first entered a daily list")
    submittedOnDailyBy: Account | None = None
    numComments: int | None = None
    # paperscope's own
    hfUpvotes: int
    localUpvotes: int
    categories: list[str]
    arxivUrl: str | None = None
    pdfUrl: str | None = None


class DailyPaper(BaseModel):
    paper: PaperOut
    publishedAt: str = Field(
        description="when the paper entered a daily list, ISO 8601 (for a paper on no list: when it was published)"
    )
    title: str
    numComments: int = 0
    submittedBy: Account | None = None


class ScoredPaper(BaseModel):
    paper: PaperOut
    score: float
    why: dict[str, Any] | None = Field(default=None, description="related papers: similarity and shared title words")


class SearchItem(DailyPaper):
    highlight: str | None = Field(default=None, description="abstract snippet with <mark> around matches")
    score: float | None = None
    why: dict[str, Any] | None = Field(
        default=None,
        description="why it matched: found_by (keyword/semantic), fields -> query words it holds, "
        "matched_words of query_words, phrases, semantic (cosine similarity: of the paper's closest "
        "passage when it scored higher than the whole paper) and passage (that passage's sentences)",
    )


class SearchPage(BaseModel):
    """``/api/search``: one page of results with the set's size, facets and reasons."""

    total: int = Field(description="papers in the result set")
    total_exact: bool = Field(description="false when total is an estimate of a larger set")
    mode: str
    warnings: list[str]
    facets: dict[str, Any] | None = Field(default=None, description="counts by category, year and has_code")
    results: list[SearchItem]
    closest: list[SearchItem] = Field(description="when nothing matches: the nearest papers, apart")


class VoteOut(BaseModel):
    id: str
    upvotes: int
    hfUpvotes: int
    localUpvotes: int
    voted: bool


class ErrorOut(BaseModel):
    error: str
    parameter: str | None = None


def _time(day: str | None) -> str | None:
    if not day:
        return None
    return day if "T" in day else f"{day[:10]}T00:00:00.000Z"


def account_out(paper: Paper) -> Account | None:
    """The submitter in Hugging Face's shape: the stored account object, else the name alone."""
    if not paper.submitted_by:
        return None
    known = paper.submitter or {}
    handle = str(known.get("user") or known.get("name") or paper.submitted_by)
    return Account(
        _id=known.get("_id"),
        user=handle,
        name=handle,
        fullname=str(known.get("fullname") or paper.submitted_by),
        avatarUrl=known.get("avatarUrl"),
        type=str(known.get("type") or "user"),
    )


def paper_out(paper: Paper) -> PaperOut:
    # w-enrich's fields (ai_summary, ai_keywords, published_at) are read where the store has them.
    published_at: str | None = getattr(paper, "published_at", None)
    listed = paper.list_dates[0] if paper.list_dates else None
    return PaperOut(
        id=paper.key,
        title=paper.title,
        summary=paper.abstract,
        authors=[Author(name=name) for name in paper.authors],
        # Papers known only from a daily list have no arXiv date: the list day is the best we know.
        publishedAt=_time(published_at or paper.published or listed or paper.created_at) or "",
        upvotes=paper.upvotes,
        discussionId=paper.links.get("hf_discussion"),
        githubRepo=paper.code_url,
        projectPage=paper.links.get("project"),
        ai_summary=getattr(paper, "ai_summary", None) or None,
        ai_keywords=getattr(paper, "ai_keywords", None) or None,
        # The moment it was listed where the source said; else its list day at midnight UTC.
        submittedOnDailyAt=paper.listed_at or _time(listed),
        submittedOnDailyBy=account_out(paper),
        numComments=paper.num_comments if listed else None,
        hfUpvotes=paper.hf_upvotes,
        localUpvotes=paper.local_upvotes,
        categories=paper.categories,
        arxivUrl=paper.abs_url,
        pdfUrl=paper.pdf_url,
    )


def daily_out(paper: Paper) -> DailyPaper:
    listed = paper.list_dates[0] if paper.list_dates else paper.published or paper.created_at
    return DailyPaper(
        paper=paper_out(paper),
        # Hugging Face's outer publishedAt is the moment the paper entered the list.
        publishedAt=(paper.listed_at if paper.list_dates else None) or _time(listed) or "",
        title=paper.title,
        numComments=paper.num_comments,
        submittedBy=account_out(paper),
    )


def vote_out(key: str, counts: VoteCounts) -> VoteOut:
    return VoteOut(
        id=key,
        upvotes=counts.upvotes,
        hfUpvotes=counts.hf_upvotes,
        localUpvotes=counts.local_upvotes,
        voted=counts.voted,
    )
