"""Why a paper is in a result list: which of the query's words it holds and where, how close it
is by meaning, and which side of hybrid search found it.

The words are checked on the paper's own text with the keyword index's analysers (stemmed and
ASCII-folded, as the index matches them), so a ``why`` names only words that really occur in
the paper, under the spelling the user typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..index.keyword_query import NAME_ANALYZER, TEXT_ANALYZER, word_stems
from ..index.passages import passage_text
from ..store import Paper
from .query import ParsedQuery
from .snippet import matched_stems

# Every passage starts with the paper's title, so a passage of a few words (an abstract's last
# line, "The project page is available at https://…") scores about as the title alone does:
# quoting it would credit that line with the title's closeness.  Shorter ones are not quoted.
QUOTE_MIN_WORDS = 15


def query_words(parsed: ParsedQuery) -> dict[str, str]:
    """The query's distinct bare words by stem -> the word as typed (see :func:`word_stems`)."""
    return word_stems(parsed.words)


@dataclass(slots=True)
class Why:
    """The reasons for one result (``as_dict`` is what ``search --json`` and the API show)."""

    found_by: list[str] = field(default_factory=list)  # "keyword", "semantic"
    fields: dict[str, list[str]] = field(default_factory=dict)  # title/abstract/authors -> words
    matched: int = 0  # distinct query words the paper holds
    of: int = 0  # distinct query words
    phrases: list[str] = field(default_factory=list)
    semantic: float | None = None  # cosine similarity of query and paper (its best passage's)
    passage: str | None = None  # the sentences that scored ``semantic``, when not the whole paper

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"found_by": self.found_by, "fields": self.fields,
                               "matched_words": self.matched, "query_words": self.of}
        if self.phrases:
            out["phrases"] = self.phrases
        if self.semantic is not None:
            out["semantic"] = round(self.semantic, 3)
        if self.passage:
            out["passage"] = self.passage
        return out

    def line(self) -> str:
        """One short line for the page: "title and abstract match kv cache; semantic 0.71"."""
        parts = []
        # Words grouped by the set of fields they occur in ("title and abstract match kv cache").
        by_word: dict[str, list[str]] = {}
        for name in ("title", "abstract", "authors"):
            for word in self.fields.get(name, []):
                by_word.setdefault(word, []).append(name)
        groups: dict[tuple[str, ...], list[str]] = {}
        for word, names in by_word.items():
            groups.setdefault(tuple(names), []).append(word)
        for fields, matched in groups.items():
            parts.append(f"{' and '.join(fields)} match {' '.join(matched)}")
        if self.phrases:
            parts.append("phrase " + ", ".join(f"“{p}”" for p in self.phrases))
        if self.semantic is not None:
            parts.append(f"semantic {self.semantic:.2f}")
        if self.found_by == ["semantic"]:
            # Words listed above but no keyword match: say so, or the line reads as a contradiction
            # ("title matches kv; found by meaning only" for a "KV cache" query).
            parts.append("found by meaning (too few of the query's words for a keyword match)" if by_word
                         else "found by meaning only")
        return "; ".join(parts)


def explain(paper: Paper, words: dict[str, str], parsed: ParsedQuery, found_by: list[str],
            semantic: float | None, passage: int | None = None) -> Why:
    """The reasons ``paper`` answers the query whose words (stem -> as typed) are ``words``;
    ``passage``: the number of the paper's passage that was closest in meaning, if one was."""
    quote = None if passage is None else passage_text(paper.title, paper.abstract or "", passage)
    if quote is not None and len(quote.split()) < QUOTE_MIN_WORDS:
        quote = None
    why = Why(found_by=found_by, of=len(words) + len(parsed.phrases), semantic=semantic, passage=quote)
    texts = {"title": paper.title, "abstract": paper.abstract or ""}
    stems = {name: matched_stems(text, set(words)) for name, text in texts.items()}
    # One call for all authors (the analyser splits at the separator anyway): ~10 per paper.
    names = set(NAME_ANALYZER.analyze("\n".join(paper.authors))) if words else set()
    held: set[str] = set()
    for stem, word in words.items():
        for name in ("title", "abstract"):
            if stem in stems[name]:
                why.fields.setdefault(name, []).append(word)
                held.add(stem)
        if len(word) > 2 and word in names:
            why.fields.setdefault("authors", []).append(word)
            held.add(stem)
    for phrase in parsed.phrases:
        tokens = TEXT_ANALYZER.analyze(phrase)
        for text in texts.values():
            if tokens and _contains(TEXT_ANALYZER.analyze(text), tokens):
                why.phrases.append(phrase)
                break
    why.matched = len(held) + len(why.phrases)
    return why


def _contains(tokens: list[str], run: list[str]) -> bool:
    width = len(run)
    return any(tokens[i : i + width] == run for i in range(len(tokens) - width + 1))


def related_why(paper: Paper, other: Paper, similarity: float | None) -> dict[str, Any]:
    """Why ``other`` is shown as related to ``paper``: their similarity and the title words they share."""
    mine = word_stems(paper.title.split())
    theirs = word_stems(other.title.split())
    shared = [word for stem, word in theirs.items() if stem in mine]
    out: dict[str, Any] = {"shared_title_words": shared}
    if similarity is not None:
        out["semantic"] = round(similarity, 3)
    return out
