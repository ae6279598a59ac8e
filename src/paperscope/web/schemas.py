"""JSON shapes of the API.  The first three follow the Hugging Face Papers API field names
(``paper.id``, ``summary``, ``publishedAt``, ``authors[].name``, ``upvotes``, ``githubRepo``,
``numComments``, ``submittedBy``) so that its clients work unchanged; extra fields are ours."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..store.accounts import VoteCounts
from ..store.models import Paper


class Author(BaseModel):
    name: str


class Submitter(BaseModel):
    name: str
    fullname: str


class PaperOut(BaseModel):
    id: str = Field(description="arXiv id without version, or a local id (ps-...)")
    title: str
    summary: str = Field(description="the abstract")
    authors: list[Author]
    publishedAt: str = Field(description="publication time, ISO 8601")
    upvotes: int = Field(description="Hugging Face upvotes plus upvotes cast on this site")
    githubRepo: str | None = None
    # paperscope's own
    hfUpvotes: int
    localUpvotes: int
    categories: list[str]
    arxivUrl: str | None = None
    pdfUrl: str | None = None
    submittedBy: str | None = None


class DailyPaper(BaseModel):
    paper: PaperOut
    publishedAt: str | None = Field(description="when the paper entered a daily list, ISO 8601")
    title: str
    numComments: int = 0
    submittedBy: Submitter | None = None


class ScoredPaper(BaseModel):
    paper: PaperOut
    score: float


class SearchItem(DailyPaper):
    highlight: str | None = Field(default=None, description="abstract snippet with <mark> around matches")
    score: float | None = None


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


def paper_out(paper: Paper) -> PaperOut:
    return PaperOut(
        id=paper.key,
        title=paper.title,
        summary=paper.abstract,
        authors=[Author(name=name) for name in paper.authors],
        # Papers known only from a daily list have no arXiv date: the list day is the best we know.
        publishedAt=_time(paper.published or (paper.list_dates[0] if paper.list_dates else paper.created_at))
        or "",
        upvotes=paper.upvotes,
        githubRepo=paper.code_url,
        hfUpvotes=paper.hf_upvotes,
        localUpvotes=paper.local_upvotes,
        categories=paper.categories,
        arxivUrl=paper.abs_url,
        pdfUrl=paper.pdf_url,
        submittedBy=paper.submitted_by,
    )


def daily_out(paper: Paper) -> DailyPaper:
    listed = paper.list_dates[0] if paper.list_dates else paper.published
    submitter = (
        Submitter(name=paper.submitted_by, fullname=paper.submitted_by) if paper.submitted_by else None
    )
    return DailyPaper(
        paper=paper_out(paper),
        publishedAt=_time(listed),
        title=paper.title,
        numComments=paper.num_comments,
        submittedBy=submitter,
    )


def vote_out(key: str, counts: VoteCounts) -> VoteOut:
    return VoteOut(
        id=key,
        upvotes=counts.upvotes,
        hfUpvotes=counts.hf_upvotes,
        localUpvotes=counts.local_upvotes,
        voted=counts.voted,
    )
