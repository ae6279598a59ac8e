"""The arXiv bulk metadata snapshot (``arxiv-metadata-oai-snapshot.json``): one JSON object a line.

The real file has 2.7 million lines (4+ GB), so it is streamed line by line in binary mode and
each line costs one orjson call plus a handful of string operations: no regex per field beyond
``clean_text``, no email.utils.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..arxiv_ids import parse_arxiv_id
from ..records import PaperRecord, ParseResult, Version, clean_text
from .common import BrokenLine, first_doi, json_lines, reject, rfc2822_to_iso, split_authors

SOURCE = "arxiv-snapshot"


def _authors(obj: dict[str, Any]) -> list[str]:
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for parts in parsed:
            # [last, first, suffix]; the parsed form has the TeX accents already resolved.
            if isinstance(parts, list) and parts:
                last = parts[0]
                first = parts[1] if len(parts) > 1 else ""
                suffix = parts[2] if len(parts) > 2 else ""
                name = " ".join(p.strip() for p in (first, last, suffix) if p and p.strip())
                if name:
                    names.append(name)
        if names:
            return names
    text = obj.get("authors")
    return split_authors(text) if isinstance(text, str) else []


def snapshot_record(obj: Any, origin: str, line: bytes | str = b"") -> ParseResult:
    """One snapshot object -> a record, or a Rejected saying which field is wrong."""
    if not isinstance(obj, dict):
        return reject(SOURCE, origin, "line is not a JSON object", line)
    raw_id = obj.get("id")
    parsed = parse_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    if parsed is None:
        return reject(SOURCE, origin, f"missing or invalid arXiv id {raw_id!r}", line)
    arxiv_id = parsed[0]
    title = clean_text(obj.get("title"))
    if not title:
        return reject(SOURCE, origin, f"{arxiv_id}: record has no title", line)

    versions: list[Version] = []
    for entry in obj.get("versions") or ():
        if not isinstance(entry, dict) or not entry.get("version"):
            return reject(SOURCE, origin, f"{arxiv_id}: version entry {entry!r} has no version label", line)
        created = entry.get("created")
        try:
            when = rfc2822_to_iso(created) if created else None
        except ValueError as error:
            return reject(SOURCE, origin, f"{arxiv_id}: {error}", line)
        versions.append(Version(entry["version"], when))

    categories = (obj.get("categories") or "").split()
    dated = [v.date for v in versions if v.date]
    comments = obj.get("comments")
    journal_ref = obj.get("journal-ref")
    return PaperRecord(
        source=SOURCE,
        origin=origin,
        title=title,
        arxiv_id=arxiv_id,
        abstract=clean_text(obj.get("abstract")),
        authors=_authors(obj),
        categories=categories,
        primary_category=categories[0] if categories else None,
        # Like the arXiv API: published is v1's day, updated the latest version's day.
        published=dated[0][:10] if dated else None,
        updated=max(dated)[:10] if dated else None,
        versions=versions,
        doi=first_doi(obj.get("doi")),
        journal_ref=clean_text(journal_ref) or None,
        comments=clean_text(comments) or None,
        license=obj.get("license") or None,
    )


def parse_snapshot(path: Path, on_bytes: Callable[[int], None] | None = None) -> Iterator[ParseResult]:
    for origin, line, obj in json_lines(path, on_bytes):
        if isinstance(obj, BrokenLine):
            yield reject(SOURCE, origin, obj, line)
        else:
            yield snapshot_record(obj, origin, line)
