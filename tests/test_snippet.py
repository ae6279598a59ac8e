"""Snippets: which words are marked, where the excerpt is cut, and that everything is escaped."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from paperscope.index.keyword_query import QUERY_ANALYZER, TEXT_ANALYZER
from paperscope.search.snippet import SNIPPET_CHARS, make_snippet, matched_stems


def stems(query: str) -> set[str]:
    return set(QUERY_ANALYZER.analyze(query))


def marked(snippet: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", snippet)


def test_every_form_that_stems_like_a_query_word_is_marked() -> None:
    text = "We study how one studies studying; the studied students are not marked."
    assert marked(make_snippet(text, stems("study"))) == ["study", "studies", "studying", "studied"]


def test_a_stem_the_word_does_not_begin_with_is_still_found() -> None:
    # "happiness" stems to "happi", which "happy" does not start with: the prefix looked for is shorter.
    assert marked(make_snippet("Happy people; happiness measured.", stems("happiness"))) == ["Happy", "happiness"]


def test_accented_words_are_marked_as_the_index_folds_them() -> None:
    text = "A naïve café model beats the naive baseline at the Café."
    assert marked(make_snippet(text, stems("cafe naive"))) == ["naïve", "café", "naive", "Café"]


def test_only_whole_words_are_marked() -> None:
    # As the index tokenizes: letters and digits make words, anything else (even "_") splits them.
    text = "Pretraining and retraining differ from training; pre-training and train_set are marked."
    assert marked(make_snippet(text, stems("training"))) == ["training", "training", "train"]


def test_text_is_escaped_and_only_mark_tags_are_added() -> None:
    snippet = make_snippet("<script>alert(1)</script> attention & <b>transformers</b>", stems("transformers"))
    assert set(re.findall(r"</?(\w+)", snippet)) == {"mark"}
    assert "&lt;script&gt;" in snippet and "&amp;" in snippet and marked(snippet) == ["transformers"]


def test_a_long_abstract_is_cut_around_the_most_matches() -> None:
    filler = " ".join(["Background sentence without the words."] * 30)
    text = f"{filler} Graph neural networks on graph data: a graph study. {filler}"
    snippet = make_snippet(text, stems("graph"))
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert len(re.sub(r"</?mark>", "", snippet)) <= SNIPPET_CHARS + 4
    assert marked(snippet) == ["Graph", "graph", "graph"]


def test_no_stems_gives_the_opening_of_the_text_unmarked() -> None:
    text = "First words of the abstract. " * 20
    snippet = make_snippet(text, set())
    assert snippet.startswith("First words") and "<mark>" not in snippet and snippet.endswith("…")


def test_matched_stems_agree_with_analysing_the_whole_text(shared_data: Path) -> None:
    """``why`` finds a paper's words as snippets do (prefixes, then the analyser on candidates
    only); on 300 real abstracts it finds exactly what analysing all of the text finds."""
    lines = (shared_data / "scifact" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    docs = [orjson.loads(line) for line in lines]
    checked = 0
    for n, doc in enumerate(docs):
        text = doc["text"]
        # The query: another paper's title words, plus some of this abstract's own.
        query = f"{docs[n - 1]['title']} {' '.join(text.split()[5:12])}"
        wanted = stems(query) | set(TEXT_ANALYZER.analyze(query))
        expected = set(TEXT_ANALYZER.analyze(text)) & wanted
        assert matched_stems(text, wanted) == expected, doc["_id"]
        checked += bool(expected)
    assert checked > 250
