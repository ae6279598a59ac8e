"""Recognising arXiv identifiers in every spelling people paste: ids, versioned ids, URLs."""

from __future__ import annotations

import re

# New style (0704.0001 .. 2602.23152, 4 or 5 digits after the dot) and old style
# (hep-th/9901001, math.AG/0601001), each optionally versioned.
_NEW = r"(?P<new>\d{4}\.\d{4,5})"
_OLD = r"(?P<old>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})"
_ID = re.compile(rf"^(?:arxiv:)?(?:{_NEW}|{_OLD})(?P<version>v\d+)?$", re.IGNORECASE)
_URL = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?(?:arxiv\.org/(?:abs|pdf|html)|huggingface\.co/papers)/"
    r"(?P<rest>.+?)(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)


def parse_arxiv_id(text: str) -> tuple[str, str | None] | None:
    """Return ``(canonical id without version, version or None)`` or None when it is no arXiv id."""
    candidate = text.strip()
    url = _URL.match(candidate)
    if url:
        candidate = url.group("rest")
    match = _ID.match(candidate)
    if not match:
        return None
    if match.group("new"):
        canonical = match.group("new")
    else:
        archive, number = match.group("old").split("/")
        # The archive name is lower case except the subject class (math.AG).
        if "." in archive:
            head, sub = archive.split(".", 1)
            archive = f"{head.lower()}.{sub.upper()}"
        else:
            archive = archive.lower()
        canonical = f"{archive}/{number}"
    version = match.group("version")
    return canonical, version.lower() if version else None


def canonical_arxiv_id(text: str) -> str | None:
    """The id without version, or None."""
    parsed = parse_arxiv_id(text)
    return parsed[0] if parsed else None


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"
