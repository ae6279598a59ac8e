"""The arXiv bulk snapshot importer, on the real 100-line sample and on broken copies of it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from paperscope.records import PaperRecord, Rejected, Version
from paperscope.sources import parse_file, rfc2822_to_iso, snapshot_record, split_authors

SAMPLE = "arxiv/kaggle/arxiv-metadata-oai-snapshot.sample.jsonl"


def sample_lines(shared_data: Path) -> list[bytes]:
    return (shared_data / SAMPLE).read_bytes().splitlines(keepends=True)


def test_real_sample_first_record(shared_data: Path) -> None:
    results = list(parse_file(shared_data / SAMPLE))
    assert len(results) == 100
    assert all(isinstance(r, PaperRecord) for r in results)
    first = results[0]
    assert isinstance(first, PaperRecord)
    assert first.source == "arxiv-snapshot"
    assert first.origin == f"{shared_data / SAMPLE}:1"
    assert first.arxiv_id == "0704.0001"
    assert first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    # authors_parsed, in order, with the TeX accent of "Bal\'azs" already resolved.
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert first.versions == [Version("v1", "2007-04-02T19:18:42Z"), Version("v2", "2007-07-24T20:10:27Z")]
    assert (first.published, first.updated) == ("2007-04-02", "2007-07-24")
    assert first.categories == ["hep-ph"] and first.primary_category == "hep-ph"
    assert first.doi == "10.1103/PhysRevD.76.013009"
    assert first.journal_ref == "Phys.Rev.D76:013009,2007"
    assert first.comments == "37 pages, 15 figures; published version"
    assert first.license is None
    # The hard wraps of the abstract are gone.
    assert first.abstract.startswith(
        "A fully differential calculation in perturbative quantum chromodynamics is presented"
    )
    assert "\n" not in first.abstract and "  " not in first.abstract


def test_real_sample_second_record(shared_data: Path) -> None:
    second = list(parse_file(shared_data / SAMPLE))[1]
    assert isinstance(second, PaperRecord)
    assert second.arxiv_id == "0704.0002"
    assert second.authors == ["Ileana Streinu", "Louis Theran"]
    assert second.categories == ["math.CO", "cs.CG"] and second.primary_category == "math.CO"
    assert second.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert second.doi is None


def test_progress_reports_every_byte(shared_data: Path) -> None:
    seen: list[int] = []
    list(parse_file(shared_data / SAMPLE, on_bytes=seen.append))
    assert sum(seen) == (shared_data / SAMPLE).stat().st_size


def test_broken_line_in_the_middle_keeps_its_neighbours(shared_data: Path, tmp_path: Path) -> None:
    lines = sample_lines(shared_data)[:5]
    lines[2] = lines[2][:80] + b"\n"  # cut in the middle of a string
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(b"".join(lines))
    results = list(parse_file(path))
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["PaperRecord", "PaperRecord", "Rejected", "PaperRecord", "PaperRecord"]
    bad = results[2]
    assert isinstance(bad, Rejected)
    assert bad.origin == f"{path}:3" and "broken JSON line" in bad.reason
    assert bad.excerpt == lines[2][:80].decode() and bad.excerpt.startswith('{"id":"0704.0003"')
    ids = [r.arxiv_id for r in results if isinstance(r, PaperRecord)]
    assert ids == ["0704.0001", "0704.0002", "0704.0004", "0704.0005"]


def test_missing_title_and_impossible_version_date_are_rejected(shared_data: Path, tmp_path: Path) -> None:
    objs = [orjson.loads(line) for line in sample_lines(shared_data)[:4]]
    objs[0]["title"] = "   "
    objs[1]["versions"][0]["created"] = "Fri, 30 Feb 2024 10:00:00 GMT"
    objs[2]["versions"][1]["created"] = "yesterday"
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objs))
    results = list(parse_file(path))
    reasons = [r.reason if isinstance(r, Rejected) else "ok" for r in results]
    assert reasons[0] == "0704.0001: record has no title"
    assert "0704.0002" in reasons[1] and "does not exist" in reasons[1]
    assert "0704.0003" in reasons[2] and "'yesterday'" in reasons[2]
    assert reasons[3] == "ok"
    assert all(r.origin.endswith(f":{n}") for n, r in enumerate(results, 1))


def test_bad_id_and_non_object_lines(tmp_path: Path) -> None:
    assert isinstance(snapshot_record([1, 2], "f:1"), Rejected)
    bad = snapshot_record({"id": "not-an-id", "title": "T", "abstract": ""}, "f:2")
    assert isinstance(bad, Rejected) and "invalid arXiv id 'not-an-id'" in bad.reason


def test_authors_string_is_used_without_authors_parsed() -> None:
    record = snapshot_record(
        {"id": "hep-th/9901001", "title": "T", "abstract": "", "authors": "A. One, B. Two and C. Three"}, "f:1"
    )
    assert isinstance(record, PaperRecord)
    assert record.arxiv_id == "hep-th/9901001"
    assert record.authors == ["A. One", "B. Two", "C. Three"]
    assert record.versions == [] and record.published is None


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Mon, 2 Apr 2007 19:18:42 GMT", "2007-04-02T19:18:42Z"),
        ("Sat, 31 Mar 2007 02:26:18 GMT", "2007-03-31T02:26:18Z"),
        ("29 Feb 2024 00:00:00 GMT", "2024-02-29T00:00:00Z"),
    ],
)
def test_rfc2822_dates(text: str, iso: str) -> None:
    assert rfc2822_to_iso(text) == iso


@pytest.mark.parametrize(
    "text",
    ["Thu, 29 Feb 2023 00:00:00 GMT", "Mon, 2 Foo 2007 19:18:42 GMT", "Mon, 2 Apr 2007 25:18:42 GMT", "2007-04-02", ""],
)
def test_rfc2822_rejects_bad_dates(text: str) -> None:
    with pytest.raises(ValueError):
        rfc2822_to_iso(text)


def test_split_authors() -> None:
    assert split_authors("A. One (MIT, USA), B. Two, and C. Three") == ["A. One", "B. Two", "C. Three"]
    assert split_authors("Alexander Anderson and Rand Paul") == ["Alexander Anderson", "Rand Paul"]
