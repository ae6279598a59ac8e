"""Which importer reads a file, decided by its content (never its name).

JSON lines are recognised from their first line; a JSON document (pretty-printed, or one
line holding a list) has to be decoded whole, which is what its importer does anyway.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from .common import UnknownFormat, read_error, strip_bom
from .hf_api import is_hf_item
from .hf_page import AUTHOR_COUNT
from .json_list import LOOKED_FOR, find_list, looks_like_records
from .xml import ENTITIES_REFUSED, declares_entities

SNIFF = 64 * 1024
# A JSON *document* is decoded in memory; past this it should be JSON lines instead.
MAX_DOCUMENT = 512 * 1024 * 1024
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_HF_PAGE_MARKERS = ("byAK and the research community", "Get trending papers in your email inbox")
ADVICE = (
    "paperscope reads: the arXiv metadata snapshot (JSON lines), arXiv API Atom XML, arXiv OAI-PMH XML, "
    "Hugging Face Papers API JSON, saved Hugging Face Papers pages (text), JSON/JSON-lines paper lists, "
    "BEIR corpus.jsonl, and recorded responses ({url, status_code, body})"
)


class NotRecognised(Exception):
    """Internal: why a content sniff failed; detect_format turns it into UnknownFormat."""


def is_recorded(obj: Any) -> bool:
    return isinstance(obj, dict) and {"url", "status_code", "body"} <= obj.keys()


def classify_line(obj: Any) -> str:
    """The format of a JSON-lines file whose first record is ``obj``."""
    if not isinstance(obj, dict):
        raise NotRecognised("its first line is JSON but not an object")
    if "id" in obj and "abstract" in obj and ("authors_parsed" in obj or "versions" in obj):
        return "arxiv-snapshot"
    if "_id" in obj:
        if "title" in obj:
            return "beir-corpus"
        raise NotRecognised(
            f"its lines have {sorted(obj)} but no 'title': a BEIR queries file, not a corpus of papers"
        )
    if is_recorded(obj):
        return "recorded-response"
    if is_hf_item(obj):
        return "hf-api"
    if looks_like_records([obj]):
        return "json-list"
    raise NotRecognised(
        f"its first record has fields {sorted(obj)[:12]} and no list of papers under "
        f"papers/data/items/results/records; looked for {LOOKED_FOR}"
    )


def classify_document(obj: Any) -> str:
    """The format of a whole JSON document."""
    if is_recorded(obj):
        return "recorded-response"
    if is_hf_item(obj):
        return "hf-api"
    items = find_list(obj)
    if items is None:
        keys = sorted(obj)[:12] if isinstance(obj, dict) else type(obj).__name__
        raise NotRecognised(
            f"it is JSON ({keys}) without a list of papers at the top "
            "or under papers/data/items/results/records"
        )
    if not items:
        return "json-list"
    if is_hf_item(items[0]):
        return "hf-api"
    if looks_like_records(items):
        first = items[0]
        if isinstance(first, dict) and "_id" in first and "text" in first:
            return "beir-corpus"
        return "json-list"
    first = items[0]
    fields = sorted(first)[:12] if isinstance(first, dict) else type(first).__name__
    raise NotRecognised(f"its records have fields {fields}; looked for {LOOKED_FOR}")


def json_shape(path: Path, head: bytes) -> tuple[str, Any]:
    """("lines", first object) for JSON lines, ("document", decoded document) otherwise."""
    head = strip_bom(head)
    newline = head.find(b"\n")
    first = head if newline < 0 else head[:newline]
    try:
        obj = orjson.loads(first)
    except orjson.JSONDecodeError:
        obj = None
    else:
        if isinstance(obj, dict) and not is_recorded(obj) and find_list(obj) is None:
            return "lines", obj
        if newline < 0 or not head[newline:].strip():
            return "document", obj
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT:
            raise NotRecognised(f"it is a {size >> 20} MiB JSON document; write it as JSON lines instead")
        return "document", orjson.loads(strip_bom(path.read_bytes()))
    except OSError as error:
        raise read_error(path, error) from error
    except orjson.JSONDecodeError as error:
        # Maybe JSON lines whose first line is broken: judge by the next good line.
        for line in head.splitlines()[1:8]:
            try:
                candidate = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(candidate, dict):
                return "lines", candidate
        raise NotRecognised(f"it starts like JSON but is not valid JSON or JSON lines ({error})") from None


def sniff_bytes(head: bytes) -> str | None:
    """Formats decidable from the first bytes alone (XML, text); None means "JSON, look closer"."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise NotRecognised("it is empty")
    if text[:1] in (b"{", b"["):
        return None
    if text[:1] == b"<":
        if declares_entities(text[:SNIFF]):
            raise NotRecognised(ENTITIES_REFUSED)
        body = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", b"", text[:SNIFF], flags=re.S)
        body = body.lstrip()
        match = _ROOT.match(body)
        root = match.group(2).decode() if match else "?"
        if root == "feed" and b"http://www.w3.org/2005/Atom" in text:
            return "arxiv-atom"
        if root == "OAI-PMH":
            return "arxiv-oai"
        raise NotRecognised(
            f"it is XML with root <{root}>; looked for an Atom <feed> (arXiv API) or <OAI-PMH>"
        )
    if b"\x00" in text[:4096]:
        raise NotRecognised("it is binary, not text, JSON or XML")
    decoded = text.decode("utf-8", "replace")
    if any(marker in decoded for marker in _HF_PAGE_MARKERS):
        return "hf-page"
    lines = [line.strip() for line in decoded.splitlines()]
    if "·" in lines and any(AUTHOR_COUNT.match(line) for line in lines):
        return "hf-page"
    raise NotRecognised(
        "it is plain text without the marks of a saved Hugging Face Papers page "
        "('byAK and the research community' header or '• N authors' / '·' lines)"
    )


def detect_format(path: Path) -> str:
    """One of FORMATS, or UnknownFormat naming the file, what was looked for, and what to do."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF)
    except IsADirectoryError:
        raise UnknownFormat(f"{path} is a folder; give its files or let paperscope walk it") from None
    except OSError as error:
        raise read_error(path, error) from error
    try:
        found = sniff_bytes(head)
        if found is not None:
            return found
        shape, obj = json_shape(path, head)
        return classify_line(obj) if shape == "lines" else classify_document(obj)
    except NotRecognised as why:
        raise UnknownFormat(f"{path}: not a format paperscope imports: {why}. {ADVICE}.") from None
