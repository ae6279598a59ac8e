"""Reading request parameters that FastAPI cannot check by type: days, ISO weeks, months.

A bad value raises :class:`BadParameter`, which names the parameter; the app turns it into a
400 (a JSON ``{"error", "parameter"}`` under ``/api``, an error page elsewhere).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, TypeVar

from fastapi import Path

from .. import dates
from ..errors import QueryError

T = TypeVar("T")
# A database row id in a URL: bounded, so a huge number is a 4xx naming the parameter, not an
# integer overflow in the database driver (a 500).
MAX_ROW_ID = 2**62
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


class BadParameter(QueryError):
    status = 400

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.detail = message


class UnknownPaper(BadParameter):
    """An id that names no paper here: 404, still naming the parameter."""

    status = 404

    def __init__(self, key: str, parameter: str = "id") -> None:
        super().__init__(parameter, f"no paper {key[:100]!r} here")


def _read(parameter: str, parse: Callable[[str], T], value: str) -> T:
    try:
        return parse(value)
    except dates.DateFormatError as error:
        raise BadParameter(parameter, str(error)) from error


def check_page(page: int, size: int, max_offset: int, parameter: str = "p") -> int:
    """``page * size`` as an offset, refused (naming ``parameter``) past what can be shown."""
    if page * size > max_offset:
        raise BadParameter(parameter, f"page {page} is past the last page there can be ({max_offset // size})")
    return page * size


def parse_day(value: str, parameter: str = "date") -> date:
    return _read(parameter, dates.parse_day, value)


@dataclass(frozen=True, slots=True)
class Period:
    """A day, ISO week or month of daily lists, with the words and links to show it."""

    kind: str  # "day" | "week" | "month"
    start: date
    end: date

    @property
    def key(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            return self.week_key
        return self.month_key

    @property
    def week_key(self) -> str:
        return dates.week_key(self.start)

    @property
    def month_key(self) -> str:
        return dates.month_key(self.start)

    @property
    def param(self) -> str:
        return {"day": "date", "week": "week", "month": "month"}[self.kind]

    @property
    def query(self) -> str:
        return f"{self.param}={self.key}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"Week {week} of {year} ({self.start:%b %-d} – {self.end:%b %-d})"
        return self.start.strftime("%B %Y")

    def containing(self, day: date) -> Period:
        """The period of the same kind that holds ``day``."""
        return period_of(self.kind, day)

    def neighbours(self, days: list[str]) -> tuple[Period | None, Period | None]:
        """The nearest earlier and later periods that have lists (``days`` sorted, oldest first)."""
        before = bisect.bisect_left(days, self.start.isoformat())
        after = bisect.bisect_right(days, self.end.isoformat())
        prev = self.containing(date.fromisoformat(days[before - 1])) if before > 0 else None
        nxt = self.containing(date.fromisoformat(days[after])) if after < len(days) else None
        return prev, nxt


def period_of(kind: str, day: date) -> Period:
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period("week", start, start + timedelta(days=6))
    if kind == "month":
        return Period("month", day.replace(day=1), dates.month_end(day))
    return Period("day", day, day)


def parse_period(day: str | None, week: str | None, month: str | None) -> Period | None:
    """The period asked for, or None when none was named (the caller picks the newest day)."""
    given = [(n, v) for n, v in (("date", day), ("week", week), ("month", month)) if v]
    if len(given) > 1:
        names = ", ".join(n for n, _ in given)
        raise BadParameter(given[1][0], f"give only one of date, week and month (got {names})")
    if not given:
        return None
    name, value = given[0]
    value = value.strip()
    if name == "date":
        return period_of("day", parse_day(value))
    if name == "week":
        return period_of("week", _read("week", dates.parse_week, value))
    return period_of("month", _read("month", dates.parse_month, value))


def newest_period(days: list[str]) -> Period | None:
    return period_of("day", date.fromisoformat(days[-1])) if days else None
