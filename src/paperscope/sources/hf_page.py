"""Hugging Face Papers pages saved as plain text (what "Select all, Copy" of a search page gives).

Layout after a header that ends with the day the page was saved (``Mar 11``, no year)::

    Title line
    <blank>
    Abstract line
    <blank>
      • 4 authors          <- newer pages only, as are the two lines below
    ·
    Apr 25                 <- or "Nov 5, 2024"; sometimes a number follows: "May 23, 2024 1"

Decisions, from the two real pages in shared/data:

* The number after a date is NOT taken as an upvote count.  Every card on the site has an upvote
  widget, yet only 9 of the 48 dated cards show a number, and it is always 1 or 2, even for
  well-known papers such as DMD2 ("Improved Distribution Matching Distillation...").  It behaves
  more like a comment count (Librarian Bot comments on many papers), but nothing on the page
  says what it counts, so it is parsed (so it is not mistaken for text) and not stored.
* "N authors" gives a count without names: authors stay empty rather than invented.
* A date without a year is in the year the page was saved.  That year is the caller's
  ``saved_year`` or else (largest explicit year on the page + 1); a date that would fall after
  the save day belongs to the year before.  With neither, a yearless date is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..records import PaperRecord, ParseResult, clean_text
from .common import month_number, read_error, reject

SOURCE = "hf-page"
_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
SAVE_DAY = re.compile(rf"^({_MON}) (\d{{1,2}})$")
CARD_DATE = re.compile(rf"^({_MON}) (\d{{1,2}})(?:, (\d{{4}}))?(?: (\d+))?$")
AUTHOR_COUNT = re.compile(r"^•\s*\d+\s+authors?$")
SEPARATOR = "·"
BOILERPLATE = frozenset(
    {
        "new", "Get trending papers in your email inbox!", "Subscribe", "Daily Papers",
        "byAK and the research community",
    }
)
# Header lines come first; the save day is within the first few non-blank lines.
HEADER_LINES = 12


@dataclass(slots=True)
class _Card:
    line: int
    title: str
    abstract: str = ""
    date_text: str | None = None
    month: int = 0
    day: int = 0
    year: int | None = None
    meta: bool = False


def _cards(lines: list[tuple[int, str]]) -> Iterator[_Card]:
    card: _Card | None = None
    after_separator = False
    for number, text in lines:
        if AUTHOR_COUNT.match(text) and card is not None:
            card.meta = True
            continue
        if text == SEPARATOR and card is not None:
            card.meta = True
            after_separator = True
            continue
        match = CARD_DATE.match(text) if after_separator else None
        after_separator = False
        if match and card is not None:
            card.date_text = text
            card.month, card.day = month_number(match.group(1)), int(match.group(2))
            card.year = int(match.group(3)) if match.group(3) else None
            continue
        if card is not None and not card.abstract and not card.meta:
            card.abstract = text
            continue
        if card is not None:
            yield card
        card = _Card(number, text)
    if card is not None:
        yield card


def parse_hf_page_text(text: str, origin: str, saved_year: int | None = None) -> Iterator[ParseResult]:
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    saved: tuple[int, int] | None = None
    start = 0
    for index, (_, line) in enumerate(lines[:HEADER_LINES]):
        match = SAVE_DAY.match(line)
        if match:
            saved = (month_number(match.group(1)), int(match.group(2)))
            start = index + 1
            break
    body = lines[start:]
    if not saved:
        body = [(n, line) for n, line in body if line not in BOILERPLATE]
    cards = list(_cards(body))
    years = [c.year for c in cards if c.year]
    year_now = saved_year if saved_year is not None else (max(years) + 1 if years and saved else None)
    for card in cards:
        where = f"{origin}:{card.line}"
        published = None
        if card.date_text:
            year = card.year
            if year is None and year_now is not None and saved is not None:
                year = year_now if (card.month, card.day) <= saved else year_now - 1
            if year is not None:
                try:
                    published = date(year, card.month, card.day).isoformat()
                except ValueError:
                    yield reject(SOURCE, where, f"date {card.date_text!r} does not exist", card.title)
                    continue
        yield PaperRecord(
            source=SOURCE,
            origin=where,
            title=clean_text(card.title),
            abstract=clean_text(card.abstract),
            published=published,
        )


def parse_hf_page(
    path: Path, on_bytes: Callable[[int], None] | None = None, saved_year: int | None = None
) -> Iterator[ParseResult]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise read_error(path, error) from error
    text = data.decode("utf-8", "replace")
    yield from parse_hf_page_text(text, str(path), saved_year)
    if on_bytes is not None:
        on_bytes(len(data))
