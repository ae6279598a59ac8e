"""From paths on disk to parse results: folder walking and the per-format dispatch."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ..errors import SourceError
from ..records import ParseResult, Rejected
from .atom import parse_atom
from .beir import beir_record, parse_beir
from .common import BrokenLine, json_lines, read_error, reject, strip_bom
from .detect import NotRecognised, classify_document, detect_format, json_shape, sniff_bytes
from .hf_api import hf_item, parse_hf_api
from .hf_page import parse_hf_page
from .json_list import find_list, json_record, parse_json_records
from .oai import parse_oai
from .snapshot import parse_snapshot

# Which source name a Rejected carries for a file (or response body) of each format.
SOURCE_OF = {
    "arxiv-snapshot": "arxiv-snapshot",
    "arxiv-atom": "arxiv-api",
    "arxiv-oai": "arxiv-oai",
    "hf-api": "hf-api",
    "hf-page": "hf-page",
    "json-list": "json-list",
    "beir-corpus": "beir",
    "recorded-response": "recorded-response",
}


def expand_paths(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Each file as given (explicit=True); folders walked recursively in sorted order, hidden
    files and folders skipped (explicit=False)."""
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise SourceError(f"{path} does not exist; check the path (files and folders are accepted)")
        if not path.is_dir():
            yield path, True
            continue
        for root, dirs, files in os.walk(path):
            # Sorting in place makes os.walk descend in sorted order too.
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    yield Path(root) / name, False


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise read_error(path, error) from error


def _json_lines_of(
    path: Path, on_bytes: Callable[[int], None] | None, source: str, parse: Callable[[Any, str], ParseResult]
) -> Iterator[ParseResult]:
    for origin, line, obj in json_lines(path, on_bytes):
        yield reject(source, origin, obj, line) if isinstance(obj, BrokenLine) else parse(obj, origin)


def parse_body(body: bytes, origin: str) -> list[ParseResult]:
    """A response body (Atom, OAI-PMH or JSON), by its own detected content."""
    body = strip_bom(body)
    try:
        kind = sniff_bytes(body)
        if kind is None:
            document = orjson.loads(body)
            kind = classify_document(document)
    except (NotRecognised, orjson.JSONDecodeError) as why:
        return [reject("recorded-response", origin, f"response body is in no known format: {why}", body)]
    if kind == "arxiv-atom":
        return parse_atom(body, origin).results
    if kind == "arxiv-oai":
        return parse_oai(body, origin).results
    if kind == "hf-api":
        return list(parse_hf_api(document, origin))
    if kind == "json-list":
        return list(parse_json_records(find_list(document) or [], origin))
    return [reject("recorded-response", origin, f"a {kind} cannot be a response body", body)]


def _recorded(path: Path) -> Iterator[ParseResult]:
    data = strip_bom(_read(path))
    origin = str(path)
    try:
        response = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        yield reject("recorded-response", origin, f"not valid JSON: {error}", data)
        return
    url, status, body = response.get("url"), response.get("status_code"), response.get("body")
    raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
    results = parse_body(raw, origin)
    if status != 200:
        # Keep the service's own words (an Atom "Error" entry, an OAI <error>) in the reason.
        said = "; ".join(r.reason for r in results if isinstance(r, Rejected))
        source = next((r.source for r in results), "recorded-response")
        yield reject(source, origin, f"HTTP {status} from {url}" + (f": {said}" if said else ""), raw)
        return
    yield from results


def parse_file(
    path: Path, on_bytes: Callable[[int], None] | None = None, *, saved_year: int | None = None
) -> Iterator[ParseResult]:
    """Stream the records of one file, whatever its (detected) format.

    Raises SourceError (or its UnknownFormat) for a file that cannot be read or recognised;
    bad records inside a readable file come out as Rejected instead.
    """
    kind = detect_format(path)
    if kind == "arxiv-snapshot":
        yield from parse_snapshot(path, on_bytes)
    elif kind == "hf-page":
        yield from parse_hf_page(path, on_bytes, saved_year)
    elif kind in ("arxiv-atom", "arxiv-oai"):
        data = _read(path)
        page = parse_atom(data, str(path)) if kind == "arxiv-atom" else parse_oai(data, str(path))
        yield from page.results
        if on_bytes is not None:
            on_bytes(len(data))
    elif kind == "recorded-response":
        yield from _recorded(path)
        if on_bytes is not None:
            on_bytes(path.stat().st_size)
    else:
        yield from _json_file(path, kind, on_bytes)


def _json_file(path: Path, kind: str, on_bytes: Callable[[int], None] | None) -> Iterator[ParseResult]:
    """hf-api, json-list and beir-corpus, each either JSON lines or one document."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
        shape, document = json_shape(path, head)
    except OSError as error:
        raise read_error(path, error) from error
    except NotRecognised as why:
        raise SourceError(f"{path}: {why}") from None
    parsers: dict[str, Callable[[Any, str], ParseResult]] = {"hf-api": hf_item, "beir-corpus": beir_record}
    item_parser = parsers.get(kind, json_record)
    if shape == "lines":
        if kind == "beir-corpus":
            yield from parse_beir(path, on_bytes)  # the benchmark corpus: no per-line dispatch
        else:
            yield from _json_lines_of(path, on_bytes, SOURCE_OF[kind], item_parser)
        return
    if kind == "hf-api":
        yield from parse_hf_api(document, str(path))
    else:
        for index, item in enumerate(find_list(document) or []):
            yield item_parser(item, f"{path}[{index}]")
    if on_bytes is not None:
        on_bytes(path.stat().st_size)
