"""Pieces every importer shares: the format error, date checks, author strings, progress counting."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from ..errors import SourceError
from ..records import Rejected

EXCERPT = 200

# The formats :func:`paperscope.sources.detect_format` can name, in the order the docs list them.
FORMATS = (
    "arxiv-snapshot",
    "arxiv-atom",
    "arxiv-oai",
    "hf-api",
    "hf-page",
    "json-list",
    "beir-corpus",
    "recorded-response",
)


class UnknownFormat(SourceError):
    """A file whose content matches none of the formats we import."""


BOM = b"\xef\xbb\xbf"


def strip_bom(data: bytes) -> bytes:
    """``data`` without the UTF-8 byte order mark some Windows tools put first (orjson refuses it)."""
    return data[3:] if data.startswith(BOM) else data


def excerpt(data: bytes | str) -> str:
    if isinstance(data, bytes):
        data = data[: EXCERPT * 4].decode("utf-8", "replace")
    return data[:EXCERPT].rstrip("\r\n")


def reject(source: str, origin: str, reason: str, data: bytes | str = "") -> Rejected:
    return Rejected(source=source, origin=origin, reason=reason, excerpt=excerpt(data))


def read_error(path: Path, error: OSError) -> SourceError:
    reason = error.strerror or str(error)
    return SourceError(f"cannot read {path}: {reason}; check that the file exists and is readable")


def iso_day(text: str) -> str:
    """``YYYY-MM-DD`` from an ISO date or timestamp; ValueError for impossible dates (2024-02-30)."""
    day = text.strip()[:10]
    # fromisoformat would also take '20240230' and week dates; we want exactly YYYY-MM-DD.
    if len(day) != 10 or day[4] != "-" or day[7] != "-":
        raise ValueError(f"date {text!r} is not in YYYY-MM-DD form")
    try:
        date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"date {text!r} does not exist") from None
    if len(text.strip()) > 10:
        # The time is dropped, but it must be one: "2024-01-01T25:61:00Z" is a broken record.
        try:
            datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"time {text[:40]!r} does not exist (ISO 8601, such as 2024-01-01T08:30:00Z)") from None
    return day


def iso_timestamp(text: str) -> str:
    """An ISO 8601 timestamp such as the arXiv API's ``2017-07-27T08:18:33Z``, checked, kept as given."""
    value = text.strip()
    iso_day(value)
    if len(value) > 10 and (value[10] != "T" or not value.endswith("Z")):
        raise ValueError(f"timestamp {text!r} is not ISO 8601 UTC (YYYY-MM-DDTHH:MM:SSZ)")
    return value


_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: index for index, name in enumerate(_MONTH_NAMES, 1)}


def month_number(name: str) -> int:
    """``Apr`` -> 4; KeyError for anything else."""
    return _MONTHS[name[:1].upper() + name[1:3].lower()] if len(name) == 3 else _MONTHS[name]


def rfc2822_to_iso(text: str) -> str:
    """``Mon, 2 Apr 2007 19:18:42 GMT`` -> ``2007-04-02T19:18:42Z``; ValueError if it does not parse.

    Hand-written on purpose: the arXiv snapshot has one of these per version (about 4 million in
    the full file) and every one has this exact shape, so a split beats email.utils by ~10x,
    which matters for the >= 10,000 records/s ingest budget.
    """
    parts = text.split()
    # "Mon, 2 Apr 2007 19:18:42 GMT"; the weekday is optional in RFC 2822.
    if parts and parts[0].endswith(","):
        parts = parts[1:]
    if len(parts) != 5 or parts[4] not in ("GMT", "UT", "UTC", "+0000", "Z"):
        raise ValueError(f"version date {text!r} is not like 'Mon, 2 Apr 2007 19:18:42 GMT'")
    day, month, year, clock = parts[0], parts[1], parts[2], parts[3]
    try:
        number = _MONTHS[month]
    except KeyError:
        raise ValueError(f"version date {text!r} has an unknown month {month!r}") from None
    if not (day.isdigit() and year.isdigit() and len(year) == 4 and len(clock) == 8):
        raise ValueError(f"version date {text!r} is not like 'Mon, 2 Apr 2007 19:18:42 GMT'")
    hours, minutes, seconds = clock[0:2], clock[3:5], clock[6:8]
    if (
        clock[2] != ":"
        or clock[5] != ":"
        or not (hours.isdigit() and minutes.isdigit() and seconds.isdigit())
        or int(hours) > 23
        or int(minutes) > 59
        or int(seconds) > 60
    ):
        raise ValueError(f"version date {text!r} has an impossible time")
    iso = f"{year}-{number:02d}-{int(day):02d}"
    try:
        date(int(year), number, int(day))
    except ValueError:
        raise ValueError(f"version date {text!r} does not exist") from None
    return f"{iso}T{clock}Z"


_AND = re.compile(r"\s*(?:,\s*and\s+|\band\s+|&\s*|;\s*)", re.IGNORECASE)


def split_authors(text: str) -> list[str]:
    """``"A. One, B. Two and C. Three"`` -> three names.

    Commas inside parentheses (affiliations such as ``(MIT, USA)``) do not split: arXivRaw author
    strings carry them, and the affiliation is dropped since PaperRecord keeps names only.
    """
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            if char == ",":
                names.append("".join(current))
                current = []
            else:
                current.append(char)
    names.append("".join(current))
    out: list[str] = []
    for chunk in names:
        for name in _AND.split(" " + chunk):
            cleaned = " ".join(name.split())
            if cleaned:
                out.append(cleaned)
    return out


def first_doi(text: str | None) -> str | None:
    """arXiv lets authors list several DOIs in one field (``a, b;c``); a paper record keeps the first."""
    if not text:
        return None
    for token in text.replace(",", " ").replace(";", " ").split():
        return token
    return None


class ByteCounter:
    """Batches progress reports: calling a tqdm bar per line costs more than parsing the line."""

    __slots__ = ("callback", "pending", "step")

    def __init__(self, callback: Callable[[int], None] | None, step: int = 1 << 20) -> None:
        self.callback = callback
        self.pending = 0
        self.step = step

    def add(self, count: int) -> None:
        if self.callback is None:
            return
        self.pending += count
        if self.pending >= self.step:
            self.callback(self.pending)
            self.pending = 0

    def flush(self) -> None:
        if self.callback is not None and self.pending:
            self.callback(self.pending)
            self.pending = 0


def json_lines(
    path: Path, on_bytes: Callable[[int], None] | None
) -> Iterator[tuple[str, bytes, Any]]:
    """``(origin, raw line, decoded object or the error message)`` for each non-blank line.

    Streams in binary mode so a multi-GB file never sits in memory; a line that is not JSON comes
    back as a :class:`BrokenLine` so its neighbours are still read.
    """
    counter = ByteCounter(on_bytes)
    name = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below, across yields
    except OSError as error:
        raise read_error(path, error) from error
    try:
        for number, line in enumerate(handle, 1):
            counter.add(len(line))
            if number == 1:
                line = strip_bom(line)
            if line.isspace():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                obj = BrokenLine(f"broken JSON line: {error}")
            yield f"{name}:{number}", line, obj
    except OSError as error:
        raise read_error(path, error) from error
    finally:
        handle.close()
        counter.flush()


class BrokenLine(str):
    """The reason a JSON line did not decode (a str subclass, so it cannot be mistaken for data)."""

    __slots__ = ()
