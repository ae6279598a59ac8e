"""Days, ISO weeks and months as people, URLs and command lines write them: one parser each and
one key format, shared by the web parameters, the search query language, the Hugging Face
harvester and the digest periods.

Years are bounded to :data:`MIN_YEAR`..:data:`MAX_YEAR` so that a period's neighbours (a week
or a month either side) stay inside :class:`datetime.date`'s range: ``9999-W52`` is refused
here, with a message, instead of overflowing later.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

MIN_YEAR = 1000
MAX_YEAR = 9998

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# The search language's loose form: a year, a month or a day, with one-digit months and days.
_LOOSE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


class DateFormatError(ValueError):
    """A value that is not the day, week or month asked for; the message says what to write."""


def _year(value: str, year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DateFormatError(f"{value!r} is out of range: the year must be {MIN_YEAR} to {MAX_YEAR}")
    return year


def parse_day(value: str) -> date:
    """``YYYY-MM-DD``."""
    value = value.strip()
    match = _DAY.match(value)
    if not match:
        raise DateFormatError(f"{value!r} is not a day: use YYYY-MM-DD, such as 2026-02-27")
    _year(value, int(match.group(1)))
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise DateFormatError(f"{value!r} is not a real day ({error})") from error


def parse_week(value: str) -> date:
    """``YYYY-Www`` (or ``YYYYWww``): the Monday of that ISO week."""
    value = value.strip()
    match = _WEEK.match(value)
    if not match:
        raise DateFormatError(f"{value!r} is not an ISO week: use YYYY-Www, such as 2026-W09")
    year, number = _year(value, int(match.group(1))), int(match.group(2))
    try:
        return date.fromisocalendar(year, number, 1)
    except ValueError as error:
        raise DateFormatError(f"{value!r}: {year} has no week {number}") from error


def parse_month(value: str) -> date:
    """``YYYY-MM``: the first day of that month."""
    value = value.strip()
    match = _MONTH.match(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise DateFormatError(f"{value!r} is not a month: use YYYY-MM, such as 2026-02")
    return date(_year(value, int(match.group(1))), int(match.group(2)), 1)


def loose_day(value: str, *, end: bool = False) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as an ISO day (the first day, or with ``end`` the
    last); None when it is not one (the search language warns and goes on rather than failing)."""
    match = _LOOSE.match(value.strip())
    if not match:
        return None
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else (12 if end else 1)
    if not 1 <= month <= 12 or not MIN_YEAR <= year <= MAX_YEAR:
        return None
    last = calendar.monthrange(year, month)[1]
    day = int(match.group(3)) if match.group(3) else (last if end else 1)
    if not 1 <= day <= last:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def week_key(day: date) -> str:
    """The ISO week holding ``day``, as ``2026-W09`` (the ISO year, which differs near New Year)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_key(day: date) -> str:
    return day.strftime("%Y-%m")


def week_days(monday: date) -> list[date]:
    return [monday + timedelta(days=i) for i in range(7)]


def month_days(first: date) -> list[date]:
    last = calendar.monthrange(first.year, first.month)[1]
    return [first.replace(day=d) for d in range(1, last + 1)]


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])
