"""Keyword queries: the tantivy schema, its analysers, and tantivy Query objects built from a
:class:`~paperscope.query_model.ParsedQuery`.  User text never reaches tantivy's own parser.

Ranking choices (measured with ``bench/quality.py`` on SciFact train, 809 queries, nDCG@10):
title and abstract are indexed together as one ``body`` field, and the title once more on its
own with weight ``TITLE_BOOST`` so that title matches count extra.  Scoring title and abstract
as separate BM25 fields with the title boosted 2x scored 0.627 (a short field's BM25 swamps the
abstract's); one body field 0.701; body + title at 0.1-0.2 0.705/0.704, at 0.5 0.695, at 1.0
0.669.  Words are stemmed (Snowball English, as tantivy's ``en_stem``) and ASCII-folded;
English stop words are dropped from bare query words (not from phrases).  tantivy fixes BM25's
k1 = 1.2 and b = 0.75 (not configurable from Python), so field weights are what we tune.

Filters (published day, categories, upvotes) are indexed as fields so that a filtered query
is answered inside retrieval and still returns a full page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import tantivy

from ..query_model import ParsedQuery
from .meta import MetaFilter

TITLE_BOOST = 0.2
BODY_BOOST = 1.0
AUTHOR_BOOST = 1.0
# Up to this many ids, "only these papers" is a disjunction of id terms, above it a term set.
ID_TERMS_MAX = 2048

# How many of a query's distinct words a paper must contain to match it (bare words; phrases
# and ``author:`` are always required).  Up to ALL_WORDS_UP_TO words, every one; above, this
# share of them, rounded up.  Chosen by measurement (bench/ranking.py; see search/fusion.py).
ALL_WORDS_UP_TO = 2
MIN_WORD_SHARE = 0.5
# A word held by more than this share of papers ("model", "large", "language" in a library of
# machine-learning papers) is common: it adds to the score but is not required, as in Lucene's
# common-terms query; "influence functions for large language models" then asks for the words
# that say what the query is about.
COMMON_WORD_SHARE = 0.2

Occur = tantivy.Occur


def required_words(count: int) -> int:
    """How many of ``count`` distinct query words a matching paper must contain."""
    if count <= ALL_WORDS_UP_TO:
        return count
    return max(ALL_WORDS_UP_TO, math.ceil(MIN_WORD_SHARE * count))


def _boosted(query: tantivy.Query, boost: float) -> tantivy.Query:
    # A boost of 1 changes no score, and leaving it out keeps the clause a plain term
    # query, which tantivy can skip through block by block (block-max WAND).
    return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)


def _analyzer(*, stem: bool, stopwords: bool = False) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if stopwords:
        builder = builder.filter(tantivy.Filter.stopword("english"))
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


TEXT_ANALYZER = _analyzer(stem=True)
QUERY_ANALYZER = _analyzer(stem=True, stopwords=True)
NAME_ANALYZER = _analyzer(stem=False)


def make_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name="ps_text", index_option="position")
    # Title and abstract together, as one BM25 field; the title alone again, to weight it up.
    builder.add_text_field("body", tokenizer_name="ps_text", index_option="position")
    builder.add_text_field("authors", tokenizer_name="ps_name", index_option="position")
    builder.add_text_field("cats", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("published", indexed=True, fast=True)
    builder.add_integer_field("upvotes", indexed=True, fast=True)
    return builder.build()


class QueryBuilder:
    """Builds the tantivy query for a parsed query and filters; one per schema."""

    def __init__(self, schema: tantivy.Schema) -> None:
        self.schema = schema

    def _terms(self, field: str, tokens: Sequence[str], boost: float = 1.0) -> tantivy.Query | None:
        if not tokens:
            return None
        if len(tokens) == 1:
            query = tantivy.Query.term_query(self.schema, field, tokens[0])
        else:
            query = tantivy.Query.phrase_query(self.schema, field, list(tokens))
        return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)

    def _text_phrase(self, text: str) -> tantivy.Query | None:
        """A word or phrase in the title or the abstract (title matches weighted up)."""
        tokens = TEXT_ANALYZER.analyze(text)
        clauses = [
            q
            for q in (self._terms("body", tokens, BODY_BOOST), self._terms("title", tokens, TITLE_BOOST))
            if q is not None
        ]
        if not clauses:
            return None
        return tantivy.Query.boolean_query([(Occur.Should, q) for q in clauses])

    def _author(self, name: str) -> tantivy.Query | None:
        return self._terms("authors", NAME_ANALYZER.analyze(name))

    def word_groups(self, words: Sequence[str]) -> dict[str, list[tantivy.Query]]:
        """One clause list per distinct query word (its stem): the word in title + abstract,
        in the title again, or as an author's name."""
        groups: dict[str, list[tantivy.Query]] = {}
        stems = word_stems(words)
        stopwords_only = not any(QUERY_ANALYZER.analyze(token) for token in stems.values())
        for stem, token in stems.items():
            clauses = groups[stem] = [
                _boosted(tantivy.Query.term_query(self.schema, field, stem), boost)
                for field, boost in (("body", BODY_BOOST), ("title", TITLE_BOOST))
            ]
            if len(token) > 2 and not stopwords_only:
                clauses.append(_boosted(tantivy.Query.term_query(self.schema, "authors", token), AUTHOR_BOOST))
        return groups

    def _words(self, words: Sequence[str], *, strict: bool = True,
               shares: Mapping[str, float] | None = None) -> tantivy.Query | None:
        """The words as one query.  ``strict``: a paper must hold :func:`required_words` of the
        query's uncommon words (``shares``: the share of papers holding each word; words above
        :data:`COMMON_WORD_SHARE` only add to the score), or of all its words when every one is
        common.  Not strict: any one word will do."""
        groups = self.word_groups(words)
        if not groups:
            return None
        if not strict or len(groups) == 1:
            # Any word: one flat disjunction of term queries (same scores as nesting them),
            # which tantivy prunes block by block.
            return tantivy.Query.boolean_query([(Occur.Should, q) for qs in groups.values() for q in qs])
        nested = {stem: tantivy.Query.boolean_query([(Occur.Should, q) for q in qs]) for stem, qs in groups.items()}
        shares = shares or {}
        rare = [stem for stem in nested if shares.get(stem, 0.0) <= COMMON_WORD_SHARE]
        required = rare or list(nested)
        need = required_words(len(required))
        if need >= len(required):
            # Every one: a conjunction, which tantivy answers by intersecting posting lists.
            clauses = [(Occur.Must, nested[stem]) for stem in required]
        else:
            some = tantivy.Query.boolean_query([(Occur.Should, nested[stem]) for stem in required], need)
            clauses = [(Occur.Must, some)]
        clauses += [(Occur.Should, nested[stem]) for stem in nested if stem not in required]
        return tantivy.Query.boolean_query(clauses)

    def uncommon_word(self, words: Sequence[str], shares: Mapping[str, float]) -> tantivy.Query | None:
        """Any one of the query's uncommon words (any word when all are common), scored 0."""
        groups = self.word_groups(words)
        rare = [stem for stem in groups if shares.get(stem, 0.0) <= COMMON_WORD_SHARE] or list(groups)
        clauses = [(Occur.Should, q) for stem in rare for q in groups[stem][:2]]  # title/abstract, not authors
        if not clauses:
            return None
        return tantivy.Query.const_score_query(tantivy.Query.boolean_query(clauses), 0.0)

    def _filters(self, flt: MetaFilter) -> list[tantivy.Query]:
        out: list[tantivy.Query] = []
        if flt.since or flt.until:
            out.append(
                tantivy.Query.range_query(
                    self.schema,
                    "published",
                    tantivy.FieldType.Integer,
                    flt.since or 1,
                    flt.until or None,
                )
            )
        if flt.min_upvotes:
            out.append(
                tantivy.Query.range_query(
                    self.schema, "upvotes", tantivy.FieldType.Integer, int(flt.min_upvotes), None
                )
            )
        if flt.categories:
            cats = [tantivy.Query.term_query(self.schema, "cats", c) for c in flt.categories]
            out.append(tantivy.Query.boolean_query([(Occur.Should, q) for q in cats]))
        # Filters select; they must not add to the score (that would skew fusion).
        return [tantivy.Query.const_score_query(q, 0.0) for q in out]

    def constraints(self, parsed: ParsedQuery) -> list[tuple[Any, tantivy.Query]]:
        clauses: list[tuple[Any, tantivy.Query]] = []
        for phrase in parsed.phrases:
            query = self._text_phrase(phrase)
            if query is not None:
                clauses.append((Occur.Must, query))
        for author in parsed.authors:
            query = self._author(author)
            if query is not None:
                clauses.append((Occur.Must, query))
        for excluded in parsed.excluded:
            query = self._text_phrase(excluded)
            if query is not None:
                clauses.append((Occur.MustNot, query))
        return clauses

    def build(
        self, parsed: ParsedQuery, flt: MetaFilter | None = None, *, strict: bool = True,
        shares: Mapping[str, float] | None = None,
    ) -> tuple[tantivy.Query, bool]:
        """The query for ``parsed`` and ``flt``, and whether it scores by text at all.

        ``strict`` (the default) asks for :func:`required_words` of the query's words; off, any
        one word will do (the "closest papers" offered when nothing matches)."""
        clauses = self.constraints(parsed)
        words = self._words(parsed.words, strict=strict, shares=shares) if parsed.words else None
        filters = self._filters(flt or MetaFilter())
        if words is not None and not clauses and not filters:
            # Words alone: the query itself, not nested in a one-clause conjunction (same
            # scores), so that tantivy's top-k pruning applies: ~25% off p95 at 1M papers.
            return words, True
        scored = words is not None or any(o == Occur.Must for o, _ in clauses)
        if words is not None:
            clauses.append((Occur.Must, words))
        clauses.extend((Occur.Must, q) for q in filters)
        if not any(o == Occur.Must for o, _ in clauses):
            clauses.append((Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses), scored

    def constraint_query(self, parsed: ParsedQuery) -> tantivy.Query | None:
        """The query's phrases, authors and exclusions alone (None when it has none)."""
        clauses = self.constraints(parsed)
        if not clauses:
            return None
        if not any(o == Occur.Must for o, _ in clauses):
            clauses.append((Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)

    def id_set(self, ids: Sequence[int]) -> tantivy.Query:
        """Only these papers, adding nothing to the score."""
        if len(ids) <= ID_TERMS_MAX:
            # One term query per id: for 600 ids, 3.3 ms against 7.0 ms for a term-set query,
            # which walks the id field's whole term dictionary (500k papers a shard).
            terms = [(Occur.Should, tantivy.Query.term_query(self.schema, "id", int(i))) for i in ids]
            query = tantivy.Query.boolean_query(terms)
        else:
            query = tantivy.Query.term_set_query(self.schema, "id", [int(i) for i in ids])
        return tantivy.Query.const_score_query(query, 0.0)


def word_stems(words: Sequence[str]) -> dict[str, str]:
    """The distinct words of ``words`` by stem -> the word as typed (lower-cased), in order.

    English stop words are left out ("the", "of") unless they are all there is.  These are the
    words a query's matching rule counts (:func:`required_words`)."""
    tokens = [t for word in words for t in NAME_ANALYZER.analyze(word)]
    keep_stopwords = not QUERY_ANALYZER.analyze(" ".join(tokens))
    out: dict[str, str] = {}
    for token in tokens:
        stems = QUERY_ANALYZER.analyze(token) or (TEXT_ANALYZER.analyze(token) if keep_stopwords else [])
        for stem in stems:
            out.setdefault(stem, token)
    return out


def query_stems(parsed: ParsedQuery) -> set[str]:
    """The analysed forms of the query's words and phrases, for highlighting."""
    # Stop words are not marked (every "the" lit up helps nobody) unless they are all there is.
    return set(QUERY_ANALYZER.analyze(parsed.text) or TEXT_ANALYZER.analyze(parsed.text))
