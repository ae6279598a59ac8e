"""BEIR corpus files (``corpus.jsonl``: ``_id``, ``title``, ``text``): documents for the search benchmark."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ..records import PaperRecord, ParseResult, clean_text
from .common import BrokenLine, json_lines, reject

SOURCE = "beir"


def beir_record(obj: Any, origin: str, line: bytes | str = "") -> ParseResult:
    if not line:
        line = orjson.dumps(obj)
    if not isinstance(obj, dict) or obj.get("_id") in (None, ""):
        return reject(SOURCE, origin, "BEIR corpus line has no _id", line)
    doc_id = str(obj["_id"])
    where = f"{origin}#{doc_id}"
    title = clean_text(obj.get("title") if isinstance(obj.get("title"), str) else "")
    if not title:
        return reject(SOURCE, where, f"document {doc_id} has no title", line)
    text = obj.get("text")
    return PaperRecord(
        source=SOURCE,
        origin=where,
        title=title,
        local_id=f"beir-{doc_id}",
        abstract=clean_text(text if isinstance(text, str) else ""),
    )


def parse_beir(path: Path, on_bytes: Callable[[int], None] | None = None) -> Iterator[ParseResult]:
    for origin, line, obj in json_lines(path, on_bytes):
        if isinstance(obj, BrokenLine):
            yield reject(SOURCE, origin, obj, line)
        else:
            yield beir_record(obj, origin, line)
