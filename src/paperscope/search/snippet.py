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

from ..index.keyword import TEXT_ANALYZER

SNIPPET_CHARS = 320


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    stems = TEXT_ANALYZER.analyze(word)
    return stems[0] if stems else ""


@functools.lru_cache(maxsize=256)
def _candidates(stems: frozenset[str]) -> re.Pattern[str] | None:
    # Stemming keeps a word's first letters, so only words starting like a stem are analysed:
    # a regex finds them in C, and a page of snippets costs well under a millisecond.
    prefixes = sorted({re.escape(s[:2]) for s in stems if s})
    if not prefixes:
        return None
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(prefixes)})[^\W_]*", re.IGNORECASE)


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
    pattern = _candidates(frozenset(stems))
    hits: list[tuple[int, int]] = []
    if pattern is not None:
        hits = [(m.start(), m.end()) for m in pattern.finditer(text) if _stem(m.group()) in stems]
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
