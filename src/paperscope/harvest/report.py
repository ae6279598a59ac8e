"""What a harvest reports back: the ingest counts plus how much talking to the server it took."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import NetworkError
from ..ingest import IngestSummary


@dataclass(slots=True)
class HarvestReport:
    summary: IngestSummary
    pages: int = 0
    requests: int = 0
    resumed: bool = False
    restarted: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.summary.as_dict(),
            "pages": self.pages,
            "requests": self.requests,
            "resumed": self.resumed,
            "restarted": self.restarted,
            "notes": list(self.notes),
        }


def looks_like_html(response: httpx.Response) -> bool:
    """A proxy or captive portal answers HTML where we expect XML/JSON; spot it before parsing."""
    if "html" in response.headers.get("content-type", "").lower():
        return True
    head = response.content[:256].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def reject_html(response: httpx.Response, shown: str, expected: str, hint: str) -> None:
    if looks_like_html(response):
        raise NetworkError(
            f"{shown} answered with an HTML page instead of {expected} (HTTP {response.status_code}). {hint}"
        )
