"""Reading request parameters that FastAPI cannot check by type: days, ISO weeks, months.

A bad value raises :class:`BadParameter`, which names the parameter; the app turns it into a
400 (a JSON ``{"error", "parameter"}`` under ``/api``, an error page elsewhere).
"""

from __future__ import annotations

import bisect
import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from ..errors import QueryError

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


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


def parse_day(value: str, parameter: str = "date") -> date:
    value = value.strip()
    if not _DAY.match(value):
        raise BadParameter(parameter, f"{value!r} is not a day: use YYYY-MM-DD, such as 2026-02-27")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise BadParameter(parameter, f"{value!r} is not a real day ({error})") from error


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
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return self.start.strftime("%Y-%m")

    @property
    def week_key(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def month_key(self) -> str:
        return self.start.strftime("%Y-%m")

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
        last = calendar.monthrange(day.year, day.month)[1]
        return Period("month", day.replace(day=1), day.replace(day=last))
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
        match = _WEEK.match(value)
        if not match:
            raise BadParameter("week", f"{value!r} is not an ISO week: use YYYY-Www, such as 2026-W09")
        year, number = int(match.group(1)), int(match.group(2))
        try:
            monday = date.fromisocalendar(year, number, 1)
        except ValueError as error:
            raise BadParameter("week", f"{value!r}: {year} has no week {number}") from error
        return period_of("week", monday)
    match = _MONTH.match(value)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise BadParameter("month", f"{value!r} is not a month: use YYYY-MM, such as 2026-02")
    return period_of("month", date(int(match.group(1)), int(match.group(2)), 1))


def newest_period(days: list[str]) -> Period | None:
    return period_of("day", date.fromisoformat(days[-1])) if days else None
