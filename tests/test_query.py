"""The query language: every operator, and hostile input that must never raise."""

from __future__ import annotations

import pytest

from paperscope.dates import loose_day as parse_day
from paperscope.search.query import MAX_CLAUSES, parse_query


def test_words_phrases_and_exclusions() -> None:
    q = parse_query('world models "video generation" -robot -"reinforcement learning"')
    assert q.words == ["world", "models"]
    assert q.phrases == ["video generation"]
    assert q.excluded == ["robot", "reinforcement learning"]
    assert q.text == "video generation world models"
    assert q.jump_to is None


def test_field_operators() -> None:
    q = parse_query('author:"Yann LeCun" author:Hinton cat:CS.cl year:2024 diffusion')
    assert q.authors == ["Yann LeCun", "Hinton"]
    assert q.categories == ["cs.cl"]
    assert (q.since, q.until) == ("2024-01-01", "2024-12-31")
    assert q.words == ["diffusion"]


def test_since_until_accept_partial_dates() -> None:
    q = parse_query("since:2024-06-01 until:2024-07 transformers")
    assert (q.since, q.until) == ("2024-06-01", "2024-07-31")
    q = parse_query("since:2023 until:2024-02")
    assert (q.since, q.until) == ("2023-01-01", "2024-02-29")


def test_bad_operator_values_become_warnings_not_errors() -> None:
    q = parse_query("since:yesterday year:20x4 cat:!!! graphs")
    assert q.since is None and q.until is None and q.categories == []
    assert len(q.warnings) == 2  # "cat:!!!" has nothing word-like and is dropped silently
    assert q.words == ["graphs"]


@pytest.mark.parametrize(
    "text",
    [
        "2602.23152",
        "2602.23152v2",
        "arXiv:2602.23152",
        "https://arxiv.org/abs/2602.23152v1",
        "https://arxiv.org/pdf/2602.23152",
        "https://huggingface.co/papers/2602.23152",
        "  2602.23152  ",
    ],
)
def test_arxiv_ids_and_urls_jump(text: str) -> None:
    assert parse_query(text).jump_to == "2602.23152"


def test_old_style_id_jumps() -> None:
    assert parse_query("hep-th/9901001").jump_to == "hep-th/9901001"


def test_id_inside_a_longer_query_is_text() -> None:
    q = parse_query("2602.23152 world models")
    assert q.jump_to is None
    assert q.words == ["2602.23152", "world", "models"]


def test_unbalanced_quote_runs_to_the_end() -> None:
    q = parse_query('neural "machine translation')
    assert q.words == ["neural"]
    assert q.phrases == ["machine translation"]


def test_unknown_field_is_read_as_text() -> None:
    q = parse_query("title:transformers title:*")
    assert q.words == ["title transformers", "title *"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '"(((',
        "(((",
        "AND OR NOT",
        "title:*",
        "\x00",
        "a\x00b\x1fc",
        "-",
        "--",
        '"',
        '""',
        "- - -",
        ":",
        "author:",
        'author:"',
        "cat:",
        "year:",
        "*:*",
        "' OR 1=1; DROP TABLE papers; --",
        "title:(foo AND bar) OR body:[* TO *]^3~2",
        "\\",
        "🙂🙂 ünïcödé",
        "x" * 10_000,
        "word " * 5_000,
        '"a" ' * 3000,
    ],
)
def test_hostile_input_never_raises(text: str) -> None:
    q = parse_query(text)
    assert len(q.raw) <= 1000
    assert len(q.words) + len(q.phrases) + len(q.excluded) <= MAX_CLAUSES
    assert "\x00" not in q.text


def test_operators_alone_carry_no_text() -> None:
    q = parse_query("AND OR NOT")
    # Read as ordinary words (the keyword index drops them as stop words); never as operators.
    assert q.words == ["AND", "OR", "NOT"]
    assert not parse_query('"(((').has_text
    assert not parse_query("- : * ( ) [ ]").has_text


def test_long_query_keeps_a_bounded_number_of_clauses() -> None:
    q = parse_query("word " * 5_000)
    assert len(q.words) == MAX_CLAUSES
    assert q.warnings


def test_parse_day() -> None:
    assert parse_day("2024") == "2024-01-01"
    assert parse_day("2024", end=True) == "2024-12-31"
    assert parse_day("2024-02", end=True) == "2024-02-29"
    assert parse_day("2024-13-01") is None
    assert parse_day("2023-02-29") is None
    assert parse_day("soon") is None
