"""Hybrid and semantic search through the one API, over real indexes (tantivy + MiniLM vectors).

Data: the arXiv snapshot sample (100 papers, categories, 2007 dates) ingested through
Ingestor; the embedding model is the packaged int8 MiniLM, small enough for this size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.errors import QueryError
from paperscope.index.build import update_indexes
from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord
from paperscope.search.api import Searcher, SearchRequest
from paperscope.store import Paper, Store

SNAPSHOT = ("arxiv", "kaggle", "arxiv-metadata-oai-snapshot.sample.jsonl")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("hybrid-home")
    with Store.open(str(home)) as store:
        with Ingestor(store, report_rejects=False) as ingestor:
            assert ingestor.ingest_paths([shared_data.joinpath(*SNAPSHOT)]).added == 100
        counts = update_indexes(store)
        assert counts["keyword"]["indexed"] == 100 and counts["semantic"]["embedded"] == 100
        yield store


@pytest.fixture(scope="module")
def searcher(library: Store) -> Iterator[Searcher]:
    s = Searcher(library)
    yield s
    s.close()


@pytest.fixture(scope="module")
def papers(library: Store) -> list[Paper]:
    return library.get_papers([p.id for batch in library.iter_papers() for p in batch])


def ids(searcher: Searcher, query: str, mode: str, **kw: object) -> list[int]:
    request = SearchRequest(query=query, mode=mode, **kw)  # type: ignore[arg-type]
    return [r.paper.id for r in searcher.search(request).results]


def test_hybrid_is_keyword_matches_plus_close_meanings(searcher: Searcher) -> None:
    from paperscope.search.fusion import semantic_floor

    query = "black holes entropy"
    keyword = ids(searcher, query, "keyword", limit=200)
    semantic = searcher.search(SearchRequest(query=query, mode="semantic", limit=200))
    hybrid = searcher.search(SearchRequest(query=query, mode="hybrid", limit=200))
    floor = semantic_floor("all-MiniLM-L6-v2-int8")
    assert semantic.results and all(r.why and r.why.semantic and r.why.semantic >= floor for r in semantic.results)
    found = [r.paper.id for r in hybrid.results]
    # Every keyword match is in; by meaning, only papers in the semantic set come in.
    assert set(keyword) <= set(found) <= set(keyword) | {r.paper.id for r in semantic.results}
    assert hybrid.total == len(found) < 100  # bounded, not the whole library
    for result in hybrid.results:
        assert result.why is not None
        assert ("keyword" in result.why.found_by) == (result.paper.id in keyword)


def test_exact_title_words_rank_first_in_hybrid(searcher: Searcher, library: Store) -> None:
    target = library.get_paper("0704.0100")
    assert target is not None
    assert ids(searcher, "topology change of black holes", "hybrid")[0] == target.id


def test_semantic_filter_fills_the_page(searcher: Searcher, papers: list[Paper]) -> None:
    expected = {p.id for p in papers if "hep-th" in p.categories}
    assert len(expected) >= 5
    for mode in ("semantic", "hybrid"):
        got = ids(searcher, "string theory and black holes", mode, categories=["hep-th"], limit=5)
        assert got and set(got) <= expected
        whole = ids(searcher, "string theory", mode, categories=["hep-th"], limit=50)
        assert whole and set(whole) <= expected  # papers of the category only


def test_semantic_date_filter(searcher: Searcher, papers: list[Paper]) -> None:
    expected = {p.id for p in papers if "2007-04-02" <= (p.published or "") <= "2007-04-02"}
    assert 0 < len(expected) < 100
    got = ids(searcher, "quantum", "semantic", since="2007-04-02", until="2007-04-02", limit=100)
    assert got and set(got) <= expected


def test_exclusions_and_phrases_apply_to_semantic_candidates(searcher: Searcher) -> None:
    for mode in ("semantic", "hybrid"):
        response = searcher.search(SearchRequest(query="black holes -gravity", mode=mode, limit=50))
        assert response.results
        for result in response.results:
            assert not re.search(r"\bgravit", f"{result.paper.title} {result.paper.abstract}", re.I)
        phrase = searcher.search(SearchRequest(query='"black holes"', mode=mode, limit=50))
        assert phrase.results
        for result in phrase.results:
            assert re.search(r"black\W+holes?\b", f"{result.paper.title} {result.paper.abstract}", re.I)


def test_hybrid_pages_neither_overlap_nor_skip(searcher: Searcher) -> None:
    whole = ids(searcher, "quantum", "hybrid", limit=200)
    assert len(set(whole)) == len(whole) >= 12
    paged: list[int] = []
    for offset in range(0, len(whole), 4):
        paged += ids(searcher, "quantum", "hybrid", limit=4, offset=offset)
    assert paged == whole


def test_hybrid_sort_by_date(searcher: Searcher) -> None:
    response = searcher.search(SearchRequest(query="magnetic fields", mode="hybrid", sort="date", limit=30))
    days = [r.paper.published for r in response.results]
    assert len(days) == min(30, response.total) > 1 and days == sorted(days, reverse=True)
    # The same set as by relevance, only reordered.
    relevance = searcher.search(SearchRequest(query="magnetic fields", mode="hybrid", limit=30))
    assert {r.paper.id for r in relevance.results} == {r.paper.id for r in response.results}


def test_related_papers(searcher: Searcher, library: Store) -> None:
    paper = library.get_paper("0704.0100")
    assert paper is not None
    found = searcher.related("arXiv:0704.0100v1", 5)
    related = found.papers
    assert found.how == "semantic" and found.note is None and found.floor is not None and len(related) <= 5
    assert paper.id not in [p.id for p, _ in related]
    scores = [s for _, s in related]
    assert scores == sorted(scores, reverse=True) and all(s >= found.floor for s in scores)
    # A hundred papers on every subject: a black-hole paper's neighbours are other physics
    # papers, and only those close enough are shown.
    wide = searcher.related("0704.0100", 50)
    assert len(wide.papers) < 50
    with pytest.raises(QueryError, match="no paper"):
        searcher.related("9999.99999", 5)


def test_related_papers_of_a_paper_not_embedded_yet_come_from_its_title(home: Path, shared_data: Path) -> None:
    from paperscope.index.build import update_keyword
    from semantic_helpers import daily_records

    records = daily_records(shared_data)[:30]
    with Store.open(str(home)) as store:
        store.write_records(records)
        update_indexes(store)
        # Keyword indexing takes seconds, embedding much longer: a new paper is searchable by
        # keyword before it has a vector.
        source = records[4]
        fresh = PaperRecord(source="submit", origin="test", local_id="local-new", title=source.title + " revisited")
        store.write_records([fresh])
        update_keyword(store, store.settings.index_dir)
        searcher = Searcher(store)
        try:
            found = searcher.related("local-new", 3)
            assert found.how == "keyword" and "no embedding" in (found.note or "")
            keys = [p.key for p, _ in found.papers]
            assert keys[0] == source.arxiv_id and "local-new" not in keys and len(keys) <= 3
            assert found.why[found.papers[0][0].id]["shared_title_words"]
            embedded = searcher.related(str(source.arxiv_id), 3)
            assert embedded.how == "semantic" and len(embedded.papers) <= 3
        finally:
            searcher.close()


def test_incremental_update_of_both_indexes(library: Store, searcher: Searcher) -> None:
    before = ids(searcher, "zorblax quasicrystal lattices", "hybrid")
    library.write_records(
        [
            PaperRecord(
                source="submit",
                origin="test",
                local_id=f"local-zorblax-{n}",
                title=f"Zorblax quasicrystal lattices, part {n}",
                abstract="Aperiodic tilings of zorblax atoms form quasicrystal lattices.",
                published="2026-01-0" + str(n + 1),
                categories=["cond-mat.mtrl-sci"],
            )
            for n in range(3)
        ]
    )
    runner = CliRunner()
    result = runner.invoke(main, ["--home", str(library.settings.home), "index", "--json"])
    assert result.exit_code == 0, result.output
    counts = orjson.loads(result.output)
    assert counts["keyword"]["indexed"] == 3 and counts["keyword"]["mode"] == "incremental"
    assert counts["keyword"]["documents"] == 103
    assert counts["semantic"]["embedded"] == 3
    after = searcher.search(SearchRequest(query="zorblax quasicrystal lattices", mode="hybrid", limit=5))
    assert {r.paper.key for r in after.results[:3]} == {f"local-zorblax-{n}" for n in range(3)}
    assert not {r.paper.id for r in after.results[:3]} & set(before)
    assert all("<mark>zorblax</mark>" in r.snippet_html for r in after.results[:3])


def test_semantic_index_that_failed_to_open_is_retried(library: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperscope.index import vectors
    from paperscope.search import api

    real_open = vectors.SemanticIndex.open
    failures = iter([RuntimeError("model package missing")])

    def flaky_open(*args: object, **kw: object) -> vectors.SemanticIndex:
        for error in failures:
            raise error
        return real_open(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(vectors.SemanticIndex, "open", flaky_open)
    fresh = Searcher(library)
    try:
        first = fresh.search(SearchRequest(query="magnetic field", mode="hybrid"))
        assert any("model package missing" in w for w in first.warnings)
        again = fresh.search(SearchRequest(query="magnetic field", mode="hybrid"))
        assert any("unavailable" in w for w in again.warnings)  # not retried at once
        monkeypatch.setattr(api, "SEMANTIC_RETRY_S", 0.0)
        healed = fresh.search(SearchRequest(query="magnetic field", mode="hybrid"))
        assert not healed.warnings and healed.results
    finally:
        fresh.close()
