"""arXiv API Atom responses and recorded responses ({url, status_code, body})."""

from __future__ import annotations

from pathlib import Path

import orjson

from paperscope.records import PaperRecord, Rejected, Version
from paperscope.sources import detect_format, parse_atom, parse_file

ATOM = "arxiv/atom"


def records(path: Path) -> list[PaperRecord]:
    results = list(parse_file(path))
    assert all(isinstance(r, PaperRecord) for r in results), results
    return [r for r in results if isinstance(r, PaperRecord)]


def test_single_entry(shared_data: Path) -> None:
    path = shared_data / ATOM / "id_1707.08567_s0_m100_6a1afebfc6a3.atom.xml"
    (paper,) = records(path)
    assert paper.source == "arxiv-api"
    assert paper.origin == f"{path}#1707.08567"
    assert paper.arxiv_id == "1707.08567"
    assert paper.title == "Proceedings of Workshop AEW10: Concepts in Information Theory and Communications"
    assert paper.versions == [Version("v1", "2017-07-27T08:18:33Z")]
    assert (paper.published, paper.updated) == ("2017-07-27", "2017-07-27")
    assert paper.authors[:3] == ["Kees A. Schouhamer Immink", "Stan Baggen", "Ferdaous Chaabane"]
    assert paper.primary_category == "cs.IT" and paper.categories == ["cs.IT"]
    assert paper.comments == "44 pages, editors for the proceedings: Yanling Chen and A. J. Han Vinck"
    assert paper.links == {"abs": "https://arxiv.org/abs/1707.08567v1", "pdf": "https://arxiv.org/pdf/1707.08567v1"}
    assert paper.abstract.startswith('The 10th Asia-Europe workshop in "Concepts in Information Theory')


def test_old_style_id_with_journal_ref(shared_data: Path) -> None:
    (paper,) = records(shared_data / ATOM / "id_astro-ph_0601001_s0_m100_3150dca9dc76.atom.xml")
    assert paper.arxiv_id == "astro-ph/0601001"
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.authors == ["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"]
    assert paper.abstract.startswith("We derive the frequencies of hot Jupiters")  # leading spaces cleaned


def test_later_version_gives_v1_and_that_version(shared_data: Path) -> None:
    page = records(shared_data / ATOM / "q_testing_s10_m10_34e56e15aaac.atom.xml")
    assert len(page) == 10
    first = page[0]
    assert first.arxiv_id == "2403.16981"
    assert first.versions == [Version("v1", "2024-03-25T17:42:32Z"), Version("v2", "2025-05-24T05:50:33Z")]
    assert (first.published, first.updated) == ("2024-03-25", "2025-05-24")
    assert first.categories == ["math.ST", "cs.IT", "stat.ML"] and first.primary_category == "math.ST"


def test_doi_is_read(shared_data: Path) -> None:
    page = records(shared_data / ATOM / "q_testing_s0_m100_cfe7536492ca.atom.xml")
    assert len(page) == 100
    by_id = {p.arxiv_id: p for p in page}
    assert by_id["2005.14124"].doi == "10.1145/3395363.3397376"


def test_paging_numbers(shared_data: Path) -> None:
    page = parse_atom((shared_data / ATOM / "q_testing_s10_m10_34e56e15aaac.atom.xml").read_bytes(), "url")
    assert (page.total_results, page.start_index, page.items_per_page) == (214881, 10, 10)
    assert page.error is None and len(page.records) == 10
    assert page.records[0].origin == "url#2403.16981"
    empty = parse_atom((shared_data / ATOM / "id_0000.0000_s0_m100_8b51d9633a68.atom.xml").read_bytes(), "u")
    assert (empty.results, empty.total_results, empty.start_index) == ([], 0, 0)


def test_error_entry_is_rejected_not_a_paper(shared_data: Path) -> None:
    (result,) = list(parse_file(shared_data / ATOM / "id_abc_s0_m100_b79c8dcf6bc3.atom.xml"))
    assert isinstance(result, Rejected)
    assert result.source == "arxiv-api"
    assert result.reason == "arXiv API error: incorrect id format for abc"
    assert "incorrect_id_format_for_abc" in result.origin


def test_recorded_responses_match_their_bodies(shared_data: Path) -> None:
    for recorded in sorted((shared_data / ATOM).glob("*.json")):
        assert detect_format(recorded) == "recorded-response"
        body = recorded.with_name(recorded.name.removesuffix(".json") + ".atom.xml")
        from_json = [(type(r).__name__, getattr(r, "arxiv_id", None)) for r in parse_file(recorded)]
        from_xml = [(type(r).__name__, getattr(r, "arxiv_id", None)) for r in parse_file(body)]
        assert from_json == from_xml, recorded


def test_non_200_recorded_response_is_rejected_with_its_url(shared_data: Path) -> None:
    (result,) = list(parse_file(shared_data / ATOM / "id_abc_s0_m100_b79c8dcf6bc3.json"))
    assert isinstance(result, Rejected)
    assert result.reason.startswith("HTTP 400 from https://export.arxiv.org/api/query?search_query=&id_list=abc")
    assert result.reason.endswith("arXiv API error: incorrect id format for abc")


def test_recorded_server_error_with_html_body(tmp_path: Path) -> None:
    path = tmp_path / "resp.json"
    path.write_bytes(orjson.dumps({"url": "https://example.test/api", "status_code": 503, "body": "<html>busy"}))
    (result,) = list(parse_file(path))
    assert isinstance(result, Rejected)
    assert result.reason.startswith("HTTP 503 from https://example.test/api")


def test_truncated_xml_is_one_rejected(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / ATOM / "q_testing_s0_m10_bc5a6c384fe9.atom.xml").read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: len(data) // 2])
    assert detect_format(path) == "arxiv-atom"
    (result,) = list(parse_file(path))
    assert isinstance(result, Rejected)
    assert result.origin == str(path) and "not well-formed XML" in result.reason
    page = parse_atom(data[:500], "https://export.arxiv.org/api/query?x")
    assert page.error is not None and page.total_results is None


def test_entry_without_title_or_with_bad_date(shared_data: Path) -> None:
    data = (shared_data / ATOM / "id_1707.08567_s0_m100_6a1afebfc6a3.atom.xml").read_bytes()
    untitled = data.replace(
        b"<title>Proceedings of Workshop AEW10: Concepts in Information Theory and Communications</title>",
        b"<title> </title>",
    )
    (result,) = parse_atom(untitled, "u").results
    assert isinstance(result, Rejected) and result.reason == "1707.08567: entry has no title"
    bad_date = data.replace(b"<published>2017-07-27T08:18:33Z", b"<published>2017-02-30T08:18:33Z")
    (result,) = parse_atom(bad_date, "u").results
    assert isinstance(result, Rejected) and "does not exist" in result.reason
