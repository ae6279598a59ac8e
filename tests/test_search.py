"""The search API over a real store and a real keyword index on disk (keyword mode).

Data: the February 2026 Hugging Face daily papers (783, with upvotes and list days) and the
arXiv snapshot sample (100, with categories and 2007 dates), ingested through Ingestor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.errors import QueryError
from paperscope.index.build import update_indexes
from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord
from paperscope.search.api import Searcher, SearchRequest
from paperscope.store import Paper, Store

HTML_ABSTRACT = (
    "We study <script>alert('x')</script> attention & tokenization in zyzzyvan transformers; "
    'a "quoted" <b>bold</b> claim.'
)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("search-home")
    with Store.open(str(home)) as store:
        with Ingestor(store, report_rejects=False) as ingestor:
            summary = ingestor.ingest_paths(
                [
                    shared_data / "hf-daily" / "hf-daily-2026-02.json",
                    shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl",
                ]
            )
        assert summary.added == 883 and not summary.errors
        store.write_records(
            [
                PaperRecord(
                    source="submit",
                    origin="test",
                    title="Escaping <i>markup</i> in zyzzyvan abstracts",
                    local_id="local-html",
                    abstract=HTML_ABSTRACT,
                    published="2025-01-02",
                    authors=["Ada <Lovelace>"],
                )
            ]
        )
        update_indexes(store, semantic=False)
        yield store


@pytest.fixture(scope="module")
def searcher(library: Store) -> Iterator[Searcher]:
    s = Searcher(library)
    yield s
    s.close()


@pytest.fixture(scope="module")
def papers(library: Store) -> list[Paper]:
    ids = [p.id for batch in library.iter_papers() for p in batch]
    return library.get_papers(ids)


def kw(query: str, **kw: object) -> SearchRequest:
    return SearchRequest(query=query, mode="keyword", **kw)  # type: ignore[arg-type]


def test_finds_a_paper_by_title_words(searcher: Searcher) -> None:
    response = searcher.search(kw("trinity consistency world models"))
    assert response.results[0].paper.key == "2602.23152"
    assert response.total == len(response.results) >= 1
    broader = searcher.search(kw("world models"))
    assert broader.total >= len(broader.results) > 1
    assert broader.results[0].score >= broader.results[-1].score


def test_phrase_must_match_as_a_phrase(searcher: Searcher, papers: list[Paper]) -> None:
    response = searcher.search(kw('"video generation"', limit=200))
    # Phrases match stemmed words in order: "video generative" and "videos generated" count.
    pattern = re.compile(r"\bvideos?\W+generat(?:e|es|ed|ing|ion|ions|ive|or|ors)\b", re.IGNORECASE)
    expected = {p.id for p in papers if pattern.search(f"{p.title}\n{p.abstract}")}
    assert {r.paper.id for r in response.results} == expected
    assert response.total == len(expected) > 5


def test_excluded_word_is_absent(searcher: Searcher) -> None:
    with_robot = searcher.search(kw("world model", limit=200))
    without = searcher.search(kw("world model -robot", limit=200))
    assert without.total < with_robot.total
    for result in without.results:
        text = f"{result.paper.title} {result.paper.abstract}".lower()
        assert not re.search(r"\brobot", text)


def test_author_operator(searcher: Searcher, papers: list[Paper]) -> None:
    response = searcher.search(kw('author:"Yann LeCun"', limit=50))
    expected = {p.id for p in papers if "Yann LeCun" in p.authors}
    assert expected and {r.paper.id for r in response.results} == expected


def test_jump_to_arxiv_id_and_urls(searcher: Searcher) -> None:
    urls = ("2602.23152", "https://arxiv.org/abs/2602.23152v2", "https://huggingface.co/papers/2602.23152")
    for text in urls:
        response = searcher.search(SearchRequest(query=text))
        assert response.jump_to == "2602.23152"
        assert [r.paper.key for r in response.results] == ["2602.23152"]


def test_unknown_arxiv_id_is_searched_as_text(searcher: Searcher) -> None:
    response = searcher.search(kw("2999.99999"))
    assert response.jump_to is None
    assert response.results == []
    assert any("not in this library" in w for w in response.warnings)


def test_category_filter_pages_through_all_matches(searcher: Searcher, papers: list[Paper]) -> None:
    expected = [p.id for p in papers if "hep-ph" in p.categories]
    assert len(expected) > 5
    first = searcher.search(kw("cat:hep-ph", limit=5))
    second = searcher.search(kw("", categories=["HEP-PH"], limit=5, offset=5))
    assert first.total == second.total == len(expected)
    got = [r.paper.id for r in first.results + second.results]
    assert len(first.results) == 5 and len(set(got)) == len(got) == min(10, len(expected))
    assert set(got) <= set(expected)


def test_min_upvotes_still_fills_the_page(searcher: Searcher, papers: list[Paper]) -> None:
    matching = [p for p in papers if p.upvotes >= 20 and re.search(r"\bmodel", p.abstract + p.title, re.I)]
    assert len(matching) > 20
    response = searcher.search(kw("model", min_upvotes=20, limit=20))
    assert len(response.results) == 20
    assert all(r.paper.upvotes >= 20 for r in response.results)


def test_date_range_filter(searcher: Searcher, papers: list[Paper]) -> None:
    response = searcher.search(kw("model", since="2026-02-20", until="2026-02-24", limit=100))
    assert response.results
    for result in response.results:
        day = result.paper.published or min(result.paper.list_dates)
        assert "2026-02-20" <= day <= "2026-02-24"
    same = searcher.search(kw("model since:2026-02-20 until:2026-02-24", limit=100))
    assert [r.paper.id for r in same.results] == [r.paper.id for r in response.results]
    older = searcher.search(kw("year:2007", limit=200))
    assert older.total == sum(1 for p in papers if (p.published or "").startswith("2007"))


def test_sort_by_upvotes_and_date(searcher: Searcher) -> None:
    by_votes = searcher.search(kw("agents", sort="upvotes", limit=30))
    votes = [r.paper.upvotes for r in by_votes.results]
    assert len(votes) == 30 and votes == sorted(votes, reverse=True)
    assert all(r.score > 0 for r in by_votes.results)  # relevance score still reported
    by_date = searcher.search(kw("cat:hep-th", sort="date", limit=50))
    days = [r.paper.published for r in by_date.results]
    assert days == sorted(days, reverse=True)


def test_pages_neither_overlap_nor_skip(searcher: Searcher) -> None:
    whole = searcher.search(kw("language model reasoning", limit=60))
    assert len(whole.results) == 60
    paged = []
    for offset in range(0, 60, 20):
        page = searcher.search(kw("language model reasoning", limit=20, offset=offset))
        paged += [r.paper.id for r in page.results]
    assert paged == [r.paper.id for r in whole.results]


def test_snippet_marks_terms_and_escapes_html(searcher: Searcher) -> None:
    response = searcher.search(kw("zyzzyvan tokenization"))
    assert response.results[0].paper.key == "local-html"
    snippet = response.results[0].snippet_html
    assert "<mark>tokenization</mark>" in snippet and "<mark>zyzzyvan</mark>" in snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    assert "&amp;" in snippet and "<b>" not in snippet
    # Only <mark> tags remain once the escaped text is accounted for.
    assert set(re.findall(r"</?(\w+)", snippet)) == {"mark"}


def test_snippet_highlights_stemmed_forms(searcher: Searcher) -> None:
    response = searcher.search(kw("generating videos"))
    marked = {m.lower() for r in response.results for m in re.findall(r"<mark>(.*?)</mark>", r.snippet_html)}
    assert {"video", "generation"} & marked


@pytest.mark.parametrize(
    "text",
    [
        '"(((',
        "AND OR NOT",
        "title:*",
        "\x00",
        "x" * 10_000,
        "' OR 1=1; DROP TABLE papers; --",
        'model "unbalanced',
        "title:(foo AND bar) OR body:[* TO *]^3~2 -",
        "author: cat: year: since:",
        "-model",
        '-"video generation"',
    ],
)
def test_hostile_queries_are_answered(searcher: Searcher, text: str) -> None:
    for mode in ("keyword", "hybrid"):
        response = searcher.search(SearchRequest(query=text, mode=mode))
        assert isinstance(response.results, list)
        assert response.total >= len(response.results)


def test_sql_text_did_no_harm(searcher: Searcher, library: Store) -> None:
    searcher.search(kw("'; DROP TABLE papers; --"))
    assert library.count_papers() == 884


def test_bad_parameters_name_themselves(searcher: Searcher) -> None:
    for request, name in [
        (SearchRequest(query="x", mode="fuzzy"), "mode"),
        (SearchRequest(query="x", sort="random"), "sort"),
        (SearchRequest(query="x", limit=0), "limit"),
        (SearchRequest(query="x", offset=-1), "offset"),
        (SearchRequest(query="x", since="yesterday"), "since"),
        (SearchRequest(query="x", min_upvotes=-3), "min_upvotes"),
    ]:
        with pytest.raises(QueryError, match=name):
            searcher.search(request)


def test_search_before_indexing_says_what_to_do(store: Store) -> None:
    searcher = Searcher(store)
    with pytest.raises(QueryError, match="paperscope index"):
        searcher.search(SearchRequest(query="anything"))


def test_cli_search_json_and_text(library: Store) -> None:
    home = str(library.settings.home)
    runner = CliRunner()
    result = runner.invoke(
        main, ["--home", home, "search", "world", "models", "--mode", "keyword", "--limit", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    import orjson

    payload = orjson.loads(result.output)
    assert payload["mode"] == "keyword" and len(payload["results"]) == 3
    fields = {"id", "title", "authors", "published", "upvotes", "snippet_html", "score"}
    assert fields <= set(payload["results"][0])
    text = runner.invoke(main, ["--home", home, "search", "2602.23152", "--mode", "keyword"])
    assert text.exit_code == 0 and "Trinity of Consistency" in text.output
    bad = runner.invoke(main, ["--home", home, "search", "x", "--since", "nope"])
    assert bad.exit_code == 2 and "since" in bad.output and "Traceback" not in bad.output
