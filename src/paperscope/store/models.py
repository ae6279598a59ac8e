"""Plain objects the store hands out.  Everything above the store sees these, never rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Paper:
    id: int
    key: str
    arxiv_id: str | None
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    primary_category: str | None
    published: str | None
    updated: str | None
    versions: list[dict[str, str | None]]
    doi: str | None
    journal_ref: str | None
    comments: str | None
    license: str | None
    links: dict[str, str]
    meta_source: str
    created_at: str
    modified_at: str
    hf_upvotes: int = 0
    local_upvotes: int = 0
    list_dates: list[str] = field(default_factory=list)
    # When it entered its first list (ISO time), where the source said; None when only the day is known.
    listed_at: str | None = None
    submitted_by: str | None = None
    num_comments: int = 0  # comments on Hugging Face, from its daily list
    # The submitter's account as its source described it ({user, fullname, _id, avatarUrl, type}).
    submitter: dict[str, Any] | None = None
    # Hugging Face's AI summary (a TLDR, shown labelled as such) and keywords; empty when unknown.
    ai_summary: str | None = None
    ai_keywords: list[str] = field(default_factory=list)
    # Publication time with its time of day when a source gave one, else None (``published`` is the day).
    published_at: str | None = None

    @property
    def upvotes(self) -> int:
        """What a reader sees: upvotes imported from Hugging Face plus votes cast here."""
        return self.hf_upvotes + self.local_upvotes

    @property
    def abs_url(self) -> str | None:
        return self.links.get("abs") or (f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else None)

    @property
    def pdf_url(self) -> str | None:
        return self.links.get("pdf") or (f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else None)

    @property
    def code_url(self) -> str | None:
        return self.links.get("code")


@dataclass(slots=True)
class UpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass(slots=True)
class Change:
    seq: int
    paper_id: int
