"""Abstract snippets for a results page: the passage with the most query terms, terms in ``<mark>``.

Words are matched by the keyword index's own analyser (stemmed, folded), so "networks"
highlights "network" exactly when the keyword index would have matched it.  Everything
else is HTML-escaped: an abstract saying ``<script>`` shows as text.  Written here rather
than with tantivy's SnippetGenerator because semantic-only hits are not keyword matches
and because the markup (``<mark>``, ellipses) is the web app's, not tantivy's ``<b>``.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

from ..index.keyword_query import TEXT_ANALYZER

SNIPPET_CHARS = 320


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    stems = TEXT_ANALYZER.analyze(word)
    return stems[0] if stems else ""


def _fold_table() -> dict[int, str]:
    """Accented Latin letters to their one-letter ASCII base ("é" -> "e"): same length, so
    positions found in the folded text are positions in the original."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFKD", chr(code))
        if len(base) > 1 and base[0].isascii() and all(unicodedata.combining(c) for c in base[1:]):
            table[code] = base[0]
    return table


_FOLD = _fold_table()


def _prefix(stem: str) -> str:
    # A stemmer rewrites at most the last two letters of what it keeps ("studies" -> "studi",
    # "dying" -> "die"), so a word stemming to ``stem`` starts with all but its last two letters
    # (never fewer than two).  Longer prefixes mean fewer words to analyse: a page of snippets
    # took ~0.9 ms at 1M papers with two-letter prefixes, ~0.3 ms with these.
    return stem[: max(2, len(stem) - 2)]


_WORD_END = re.compile(r"[^\W_]*")


def _matches(text: str, stems: set[str]) -> list[tuple[int, int]]:
    """Where the words of ``text`` that analyse to one of ``stems`` are, in order."""
    # str.find over the lower-cased, accent-folded text runs in C; only words starting with a
    # stem's prefix are analysed.  (A regex alternation of the prefixes took 1.5x as long.)
    folded = (text if text.isascii() else text.translate(_FOLD)).lower()
    if len(folded) != len(text):  # a letter whose lower case is longer ("İ"): no positions to share
        folded = text
    found: set[int] = set()
    for prefix in {_prefix(s) for s in stems if s}:
        at = folded.find(prefix)
        while at >= 0:
            if at == 0 or not folded[at - 1].isalnum():
                found.add(at)
            at = folded.find(prefix, at + 1)
    hits = []
    for at in sorted(found):
        end = _WORD_END.match(text, at + 1).end()  # type: ignore[union-attr]  # [^\W_]* always matches
        if _stem(text[at:end]) in stems:
            hits.append((at, end))
    return hits


def matched_stems(text: str, stems: set[str]) -> set[str]:
    """Which of ``stems`` occur in ``text`` as the keyword index analyses it.

    Found as snippets find their words (only words starting with a stem's prefix are
    analysed), not by analysing the whole text: for a page of 20 results that took ~3 ms of
    a hybrid query's ~30 ms, this ~0.3 ms."""
    return {_stem(text[start:end]) for start, end in _matches(text, stems)}


def _window(text: str, hits: list[tuple[int, int]], size: int) -> tuple[int, int]:
    """The character range of at most ``size`` holding the most matched words, cut at spaces."""
    length = len(text)
    if length <= size:
        return 0, length
    starts = [h[0] for h in hits]
    best_start, best_count = 0, -1
    for anchor in starts or [0]:
        # Start a little before the match so it reads in context.
        candidate = max(0, anchor - size // 5)
        count = sum(1 for m in starts if candidate <= m < candidate + size)
        if count > best_count:
            best_start, best_count = candidate, count
    start = best_start
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + size // 4 else start
    end = min(length, start + size)
    if end < length:
        space = text.rfind(" ", start, end)
        end = space if space > start + size // 2 else end
    return start, end


def make_snippet(text: str, stems: set[str], size: int = SNIPPET_CHARS) -> str:
    """HTML: an excerpt of ``text`` around the query terms, with matched words in ``<mark>``."""
    text = text or ""
    hits = _matches(text, stems)
    start, end = _window(text, hits, size)
    parts: list[str] = ["… " if start > 0 else ""]
    cursor = start
    for s, e in hits:
        if s < start or e > end:
            continue
        parts.append(html.escape(text[cursor:s]))
        parts.append(f"<mark>{html.escape(text[s:e])}</mark>")
        cursor = e
    parts.append(html.escape(text[cursor:end]))
    if end < len(text):
        parts.append(" …")
    return "".join(parts).strip()
