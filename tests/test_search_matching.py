"""What a result set holds, and why: matching rules, semantic floors, facets and reasons, on the
783 Hugging Face Daily Papers of February 2026 (keyword index + packaged int8 MiniLM vectors)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperscope.index.build import update_indexes
from paperscope.index.embed import INT8_MODEL
from paperscope.index.keyword_query import TEXT_ANALYZER
from paperscope.records import PaperRecord
from paperscope.search.api import Searcher, SearchRequest, SearchResponse
from paperscope.search.fusion import semantic_floor
from paperscope.store import Store
from semantic_helpers import daily_records


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("month-home")
    records = daily_records(shared_data)
    # Two papers with a code link and categories, so facets have something to count.
    records[0].links = {"code": "https://github.com/example/one"}
    records[0].categories = ["cs.CL", "cs.LG"]
    records[1].links = {"code": "https://github.com/example/two"}
    records[1].categories = ["cs.CV"]
    with Store.open(str(home)) as store:
        store.write_records(records)
        counts = update_indexes(store)
        assert counts["semantic"]["embedded"] == len(records)
        yield store


@pytest.fixture(scope="module")
def searcher(month: Store) -> Iterator[Searcher]:
    s = Searcher(month)
    yield s
    s.close()


def search(searcher: Searcher, query: str, **kw: object) -> SearchResponse:
    return searcher.search(SearchRequest(query=query, **kw))  # type: ignore[arg-type]


def text_of(result: object) -> str:
    paper = result.paper  # type: ignore[attr-defined]
    return f"{paper.title} {paper.abstract}".lower()


def test_kv_cache_sorted_by_date_lists_only_kv_cache_papers(searcher: Searcher) -> None:
    for mode in ("hybrid", "keyword", "semantic"):
        response = search(searcher, "KV cache", mode=mode, sort="date", limit=100)
        assert 0 < response.total <= 40 and response.total_exact, (mode, response.total)
        days = [r.paper.published for r in response.results]
        assert days == sorted(days, reverse=True)  # newest first, within the set only
        for result in response.results:
            text = text_of(result)
            on_topic = ("kv" in text and "cache" in text) or "token selection" in text or "attention" in text
            assert on_topic, (mode, result.paper.title)
    # The keyword side requires both words: every keyword result holds "kv" and "cache".
    for result in search(searcher, "KV cache", mode="keyword", limit=100).results:
        assert re.search(r"\bkv\b", text_of(result)) and "cache" in text_of(result)


def test_influence_function_query_is_bounded(searcher: Searcher) -> None:
    response = search(searcher, "influence functions for large language models", limit=100)
    # "large language models" is in most of this month's papers: it must not make them all match.
    assert 0 < response.total <= 25, response.total
    found_by_words = [r for r in response.results if "keyword" in r.why.found_by]  # type: ignore[union-attr]
    assert found_by_words
    for result in found_by_words:
        assert "influenc" in text_of(result) and "function" in text_of(result)
    # Sorting by upvotes reorders that set, never the whole library.
    by_votes = search(searcher, "influence functions for large language models", sort="upvotes", limit=100)
    assert {r.paper.id for r in by_votes.results} == {r.paper.id for r in response.results}


def test_why_names_words_that_occur_in_the_paper(searcher: Searcher) -> None:
    response = search(searcher, "sparse attention for long context", limit=30)
    assert response.results
    for result in response.results:
        why = result.why
        assert why is not None and why.found_by
        stems = {name: set(TEXT_ANALYZER.analyze(text)) for name, text in
                 (("title", result.paper.title), ("abstract", result.paper.abstract))}
        for field, words in why.fields.items():
            for word in words:
                if field == "authors":
                    assert any(word in a.lower() for a in result.paper.authors)
                else:
                    assert set(TEXT_ANALYZER.analyze(word)) <= stems[field], (field, word, result.paper.title)
        if "semantic" in why.found_by or why.semantic is not None:
            assert why.semantic is not None and -1.0 <= why.semantic <= 1.0
        data = result.as_dict()["why"]
        assert data["found_by"] == why.found_by and data["query_words"] == 4  # "for" is a stop word
        if why.passage is not None:
            # The closest passage is the paper's own sentences, quoted as they stand.
            assert why.passage in " ".join((result.paper.abstract or "").split()) and data["passage"] == why.passage
    assert any(r.why and r.why.semantic is not None for r in response.results)
    # Long abstracts are scored by their closest passage, and the reason quotes it.
    assert sum(r.why is not None and r.why.passage is not None for r in response.results) >= 5


def test_a_passage_is_quoted_only_for_papers_close_in_meaning(searcher: Searcher) -> None:
    floor = semantic_floor(INT8_MODEL, "supported")
    response = search(searcher, "KV cache", limit=100)
    quoted = [r.why for r in response.results if r.why is not None and r.why.passage is not None]
    far = [r.why for r in response.results if r.why is not None and r.why.semantic is not None
           and r.why.semantic < floor]
    # Keyword matches far in meaning exist for this query, and none of them quotes a passage.
    assert quoted and far
    assert all(why.semantic is not None and why.semantic >= floor for why in quoted)
    assert all(why.passage is None and "passage" not in why.as_dict() for why in far)
    # A paper kept by meaning that holds some of the words says why the words were not enough.
    for result in response.results:
        why = result.why
        assert why is not None
        if why.found_by == ["semantic"]:
            assert ("too few of the query's words" in why.line()) == bool(why.fields), why.line()


def test_facets_add_up_to_the_total(searcher: Searcher) -> None:
    for mode in ("hybrid", "keyword", "semantic"):
        response = search(searcher, "video generation", mode=mode)
        facets = response.facets
        assert facets is not None and response.total_exact and response.total > 0
        assert facets["counted"] == response.total
        assert sum(y["count"] for y in facets["years"]) == response.total
        assert facets["has_code"]["yes"] + facets["has_code"]["no"] == response.total


def test_has_code_filter_and_category_facets(searcher: Searcher, month: Store) -> None:
    coded = month.get_paper(daily_records_key(month, 0))
    assert coded is not None and coded.code_url
    words = " ".join(coded.title.split()[:4])
    response = search(searcher, words, has_code=True, limit=50)
    assert [r.paper.id for r in response.results] and all(r.paper.code_url for r in response.results)
    everything = search(searcher, words, limit=100)
    assert everything.facets is not None and everything.facets["has_code"]["yes"] == response.total
    labels = {c["label"]: c for c in everything.facets["categories"]}
    if "cs.CL" in labels:
        assert labels["cs.CL"]["name"] == "Computation and Language"
    chooser = searcher.library_categories()
    assert {"cs.CL", "cs.LG", "cs.CV"} <= {c["label"] for c in chooser}


def daily_records_key(store: Store, index: int) -> str:
    return store.get_papers([index + 1])[0].key


def test_no_good_match_says_so_and_offers_the_closest(searcher: Searcher) -> None:
    response = search(searcher, "sourdough bread fermentation recipes")
    assert response.total == 0 and response.results == []
    assert response.closest and any("nothing matches" in w for w in response.warnings)
    for result in response.closest:
        assert result.why is not None


@pytest.mark.parametrize("query", [
    '"unbalanced', "author:", "-", "((((", "cat:", "KV \x00 cache", "a" * 5000, "the of and",
    "year:20x4 kv", "' OR 1=1 --", "<script>alert(1)</script>", "-kv -cache", '"kv cache" -attention',
])
def test_hostile_and_malformed_queries_never_error(searcher: Searcher, query: str) -> None:
    for mode in ("hybrid", "keyword", "semantic"):
        for sort in ("relevance", "date"):
            response = search(searcher, query, mode=mode, sort=sort)
            assert response.total >= len(response.results)


def test_related_floor_and_reasons(month: Store, searcher: Searcher) -> None:
    paper = month.get_papers([5])[0]
    found = searcher.related(paper.key, 5)
    assert found.how == "semantic" and found.floor is not None
    for other, score in found.papers:
        assert score >= found.floor
        assert found.why[other.id]["semantic"] == pytest.approx(score, abs=1e-3)
    # A paper about nothing else in the library has no close neighbours.
    month.write_records([PaperRecord(
        source="submit", origin="test", local_id="local-bread", title="Sourdough starters and rye bread crumb",
        abstract="We bake rye and wheat sourdough loaves and compare crumb structure, crust colour and taste "
                 "after long cold proofing of the dough.",
    )])
    update_indexes(month)
    lonely = searcher.related("local-bread", 5)
    assert lonely.how == "semantic" and lonely.papers == []


def test_page_and_api_quote_the_closest_passage(month: Store) -> None:
    from fastapi.testclient import TestClient

    from paperscope.web.app import create_app

    query = "sparse attention for long context"
    with TestClient(create_app(month)) as client:
        items = client.get("/api/papers/search", params={"q": query, "limit": 20}).json()
        quoted = [item for item in items if "passage" in item["why"]]
        assert len(quoted) >= 5
        for item in quoted:
            assert item["why"]["passage"] in " ".join(item["paper"]["summary"].split())
        page = client.get("/search", params={"q": query}).text
    shown = re.findall(r'<p class="why passage">closest passage: “([^”]+)”</p>', page)
    assert len(shown) >= 5
    passages = {item["why"]["passage"] for item in quoted}
    # Each quote on the page is one of the passages, shortened at a word when long.
    for text in shown:
        text = html.unescape(text)
        assert any(p == text or (text.endswith("...") and p.startswith(text[:-3].rstrip())) for p in passages), text
