"""Passages: how abstracts are cut into the pieces embedded beside each paper's own vector."""

from __future__ import annotations

from pathlib import Path

from paperscope.index.passages import PASSAGE_WORDS, passage_text, split_passages
from semantic_helpers import daily_records


def test_passages_cover_the_abstract_in_order_under_the_title(shared_data: Path) -> None:
    records = [r for r in daily_records(shared_data) if r.abstract][:300]
    cut = 0
    for record in records:
        passages = split_passages(record.title, record.abstract or "")
        flat = " ".join((record.abstract or "").split())
        if not passages:
            # Only an abstract that fits in one passage has none (its paper vector is that text).
            assert len(flat.split()) <= PASSAGE_WORDS or flat.count(". ") == 0, record.title
            continue
        cut += 1
        title = " ".join(record.title.split())
        bodies = [p[len(title) + 1:] for p in passages]
        assert all(p.startswith(title + " ") for p in passages)
        # Together, in order, the passages are the whole abstract: nothing dropped or repeated.
        assert " ".join(bodies) == flat
        for body in bodies:
            # A passage runs past the limit only when it is one long sentence.
            assert len(body.split()) <= PASSAGE_WORDS or body.count(". ") == 0, body
    # Daily Papers abstracts run ~150-250 words: nearly all are cut, into several passages each.
    assert cut >= 0.9 * len(records)


def test_passage_text_is_the_abstracts_own_words(shared_data: Path) -> None:
    record = next(r for r in daily_records(shared_data) if len((r.abstract or "").split()) > 3 * PASSAGE_WORDS)
    abstract = record.abstract or ""
    count = len(split_passages(record.title, abstract))
    assert count >= 3
    texts = [passage_text(record.title, abstract, n) for n in range(count)]
    flat = " ".join(abstract.split())
    assert all(t and t in flat and not t.startswith(record.title) for t in texts)
    assert passage_text(record.title, abstract, count) is None
    assert passage_text(record.title, abstract, -1) is None
    # The abstract changed since the passage was numbered: no text rather than a wrong one.
    assert passage_text(record.title, "One sentence now.", 2) is None


def test_short_and_odd_abstracts() -> None:
    assert split_passages("T", "") == []
    assert split_passages("T", "Just one sentence here.") == []
    long_sentence = " ".join(["word"] * (PASSAGE_WORDS + 10)) + "."
    passages = split_passages("T", f"{long_sentence} Short tail.")
    assert passages == [f"T {long_sentence}", "T Short tail."]
    # Whitespace and line breaks inside an abstract do not change the cut.
    spaced = split_passages("A  title", "First.\n\n" + long_sentence)
    assert spaced == split_passages("A title", "First. " + long_sentence)
