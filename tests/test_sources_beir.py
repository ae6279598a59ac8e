"""BEIR corpus files (SciFact) as documents for the search benchmark."""

from __future__ import annotations

from pathlib import Path

import orjson

from paperscope.records import PaperRecord, Rejected
from paperscope.sources import detect_format, parse_file

CORPUS = "scifact/corpus.jsonl"


def test_scifact_corpus(shared_data: Path) -> None:
    path = shared_data / CORPUS
    seen: list[int] = []
    results = list(parse_file(path, on_bytes=seen.append))
    assert sum(seen) == path.stat().st_size
    assert len(results) == 5183
    assert all(isinstance(r, PaperRecord) for r in results)
    first = results[0]
    assert isinstance(first, PaperRecord)
    assert first.source == "beir"
    assert first.local_id == "beir-4983" and first.arxiv_id is None
    assert first.origin == f"{path}:1#4983"
    assert first.title.startswith("Microstructural development of human newborn cerebral white matter")
    assert first.abstract.startswith("Alterations of the architecture of cerebral white matter")
    assert len({r.local_id for r in results if isinstance(r, PaperRecord)}) == 5183


def test_bad_corpus_lines(tmp_path: Path) -> None:
    lines = [
        orjson.dumps({"_id": "1", "title": "Kept", "text": "t"}),
        b'{"_id": "2", "title": ',
        orjson.dumps({"_id": "3", "title": "", "text": "no title"}),
        orjson.dumps({"_id": "4", "title": "Also kept", "text": "t", "metadata": {}}),
    ]
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert detect_format(path) == "beir-corpus"
    results = list(parse_file(path))
    assert [type(r).__name__ for r in results] == ["PaperRecord", "Rejected", "Rejected", "PaperRecord"]
    assert isinstance(results[2], Rejected) and results[2].reason == "document 3 has no title"
    assert results[2].origin == f"{path}:3#3" and results[1].origin == f"{path}:2"
