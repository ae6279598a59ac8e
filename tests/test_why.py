"""The reasons given for one result (search/why.py), on a paper built here."""

from __future__ import annotations

from paperscope.index.passages import split_passages
from paperscope.search.query import parse_query
from paperscope.search.why import QUOTE_MIN_WORDS, explain, query_words
from paperscope.store import Paper

TITLE = "Influence functions for large language models"
# One sentence of 52 words: each makes a passage, and the last line does not fit beside one.
BODY = ("We scale influence functions to large language models with an eigenvalue-corrected "
        "curvature approximation, so that the training sequences behind a completion can be found, "
        "and we show on models of up to fifty billion parameters that the sequences found this way "
        "share meaning with the completion rather than only its words or its surface form. ")
ABSTRACT = BODY * 3 + "The project page is available at https://example.org/influence/."


def paper() -> Paper:
    return Paper(id=1, key="2601.00001", arxiv_id="2601.00001", title=TITLE, abstract=ABSTRACT,
                 authors=["Ada Lovelace", "Alan Turing"], categories=["cs.LG"], primary_category="cs.LG",
                 published=None, updated=None, versions=[], doi=None, journal_ref=None, comments=None,
                 license=None, links={}, meta_source="test", created_at="", modified_at="")


def reasons(query: str, found_by: list[str], semantic: float | None, passage: int | None):  # type: ignore[no-untyped-def]
    parsed = parse_query(query)
    return explain(paper(), query_words(parsed), parsed, found_by, semantic, passage)


def test_a_passage_is_quoted_with_its_own_sentences() -> None:
    why = reasons("influence functions", ["keyword", "semantic"], 0.7, 0)
    assert why.passage is not None and why.passage in " ".join(ABSTRACT.split())
    assert why.as_dict()["passage"] == why.passage
    assert why.fields == {"title": ["influence", "functions"], "abstract": ["influence", "functions"]}


def test_a_passage_of_a_few_words_is_not_quoted() -> None:
    passages = split_passages(TITLE, ABSTRACT)
    last = len(passages) - 1
    # The abstract's last line is a passage of its own, scored as little more than the title.
    assert len(passages[last].split()) - len(TITLE.split()) < QUOTE_MIN_WORDS
    why = reasons("influence functions", ["semantic"], 0.65, last)
    assert why.passage is None and "passage" not in why.as_dict()


def test_the_line_says_why_words_were_not_enough() -> None:
    assert reasons("influence kernels", ["semantic"], 0.62, None).line() == (
        "title and abstract match influence; semantic 0.62; "
        "found by meaning (too few of the query's words for a keyword match)")
    assert reasons("sourdough bread", ["semantic"], 0.41, None).line() == "semantic 0.41; found by meaning only"
    assert reasons("turing", ["keyword"], None, None).line() == "authors match turing"
