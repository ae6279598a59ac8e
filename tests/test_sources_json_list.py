"""Plain JSON / JSON-lines paper lists with common field names (the hf_bot month file and aliases)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from paperscope.records import PaperRecord, Rejected
from paperscope.sources import UnknownFormat, detect_format, parse_file

MONTH = "hf-daily/hf-daily-2026-02.json"


def test_month_file(shared_data: Path) -> None:
    path = shared_data / MONTH
    results = list(parse_file(path))
    assert len(results) == 783
    papers = [r for r in results if isinstance(r, PaperRecord)]
    assert len(papers) == 783
    first = papers[0]
    assert first.source == "json-list"
    assert first.origin == f"{path}[0]#2602.23152"
    assert first.arxiv_id == "2602.23152"
    assert first.title == "The Trinity of Consistency as a Defining Principle for General World Models"
    assert first.authors[0] == "Jingxuan Wei" and len(first.authors) == 22
    assert first.daily_date == "2026-02-27"
    assert first.published is None  # no publication date in this file: none invented
    assert first.upvotes == 168
    assert first.links == {"code": "https://github.com/openraiser/awesome-world-model-evolution"}
    assert sum(1 for p in papers if "code" in p.links) == 442
    assert len({p.daily_date for p in papers}) == 20


def test_aliases_in_json_lines(tmp_path: Path) -> None:
    rows = [
        {"arxivId": "2401.00001v2", "title": "One", "summary": "S", "authors": "A. One, B. Two and C. Three",
         "publishedAt": "2024-01-02T03:04:05Z", "likes": "12", "code_url": "https://github.com/x/one",
         "categories": "cs.CL cs.AI", "doi": "10.1/x"},
        {"url": "https://arxiv.org/abs/2401.00002", "title": "Two", "description": "D",
         "authors": [{"name": "Ann Author"}, {"name": "Bob Writer"}], "date": "2024-01-03"},
        {"id": "local-7", "title": "Three", "abstract": "Not on arXiv", "votes": 3, "date": "2024-01-04"},
    ]
    path = tmp_path / "papers.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    assert detect_format(path) == "json-list"
    one, two, three = list(parse_file(path))
    assert isinstance(one, PaperRecord) and isinstance(two, PaperRecord) and isinstance(three, PaperRecord)
    assert one.origin == f"{path}:1#2401.00001"
    assert (one.arxiv_id, one.abstract, one.published, one.upvotes) == ("2401.00001", "S", "2024-01-02", 12)
    assert one.authors == ["A. One", "B. Two", "C. Three"]
    assert one.links == {"code": "https://github.com/x/one"}
    assert (one.categories, one.primary_category, one.doi) == (["cs.CL", "cs.AI"], "cs.CL", "10.1/x")
    # Without upvotes a bare "date" is the publication date...
    assert (two.arxiv_id, two.published, two.daily_date) == ("2401.00002", "2024-01-03", None)
    assert two.authors == ["Ann Author", "Bob Writer"] and two.abstract == "D"
    # ...with them it is the day on the daily list.  A non-arXiv id leaves the key to the store.
    assert (three.arxiv_id, three.local_id, three.daily_date, three.published) == (None, None, "2024-01-04", None)


@pytest.mark.parametrize("key", ["papers", "data", "items", "results", "records"])
def test_container_keys(tmp_path: Path, key: str) -> None:
    path = tmp_path / "wrapped.json"
    document = {"meta": {"n": 1}, key: [{"paper_id": "2402.00001", "title": "Wrapped"}]}
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    assert detect_format(path) == "json-list"
    (record,) = list(parse_file(path))
    assert isinstance(record, PaperRecord) and record.arxiv_id == "2402.00001"


def test_unmappable_layout_names_the_fields_looked_for(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_bytes(orjson.dumps({"papers": [{"name": "x", "paper_id": "2402.00001"}]}))
    with pytest.raises(UnknownFormat) as info:
        detect_format(path)
    message = str(info.value)
    assert str(path) in message
    assert "records have fields ['name', 'paper_id']" in message
    assert "title plus any of: id/arxiv_id/paper_id/arxivId" in message


def test_bad_records_are_rejected_and_neighbours_kept(tmp_path: Path) -> None:
    rows: list[object] = [
        {"paper_id": "2402.00001", "title": "Good"},
        {"paper_id": "2402.00002", "title": "Bad day", "published": "2024-02-30"},
        {"paper_id": "2402.00003", "abstract": "no title here", "title": ""},
        {"paper_id": "2402.00004", "title": "Bad votes", "upvotes": "many"},
        "just a string",
        {"paper_id": "2402.00005", "title": "Also good", "upvotes": 4},
    ]
    path = tmp_path / "list.json"
    path.write_bytes(orjson.dumps(rows))
    results = list(parse_file(path))
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["PaperRecord", "Rejected", "Rejected", "Rejected", "Rejected", "PaperRecord"]
    rejected = [r for r in results if isinstance(r, Rejected)]
    assert "'2024-02-30' does not exist" in rejected[0].reason and rejected[0].origin == f"{path}[1]#2402.00002"
    assert rejected[1].reason.startswith("record has no title")
    assert "upvote count 'many'" in rejected[2].reason
    assert rejected[3].reason == "record is not a JSON object"


def test_broken_json_line(tmp_path: Path) -> None:
    path = tmp_path / "list.jsonl"
    path.write_bytes(b'{"title": "A", "id": "2401.00001"}\n{"title": "B", \n{"title": "C"}\n')
    results = list(parse_file(path))
    assert [type(r).__name__ for r in results] == ["PaperRecord", "Rejected", "PaperRecord"]
    assert results[1].origin == f"{path}:2" and results[1].source == "json-list"
