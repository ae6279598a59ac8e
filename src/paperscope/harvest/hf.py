"""Harvesting the Hugging Face daily papers list: ``GET {base}/api/daily_papers?date=YYYY-MM-DD``.

The API also takes ``week=`` and ``month=``, but then every paper's list day must be guessed
from timestamps; asking day by day makes each record's ``daily_date`` the day asked for.
"""

from __future__ import annotations

import calendar
import os
import re
import sys
from datetime import UTC, date, datetime, timedelta

import orjson
from tqdm import tqdm

from ..errors import NetworkError, QueryError, SourceError
from ..ingest import Ingestor
from ..records import PaperRecord, ParseResult
from .client import HttpClient, full_url
from .report import HarvestReport, reject_html

DEFAULT_HF_URL = "https://huggingface.co"
HF_URL_ENV = "PAPERSCOPE_HF_URL"
HINT = f"Check --endpoint / ${HF_URL_ENV} (the Hugging Face base URL, such as {DEFAULT_HF_URL})."

_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def hf_url(endpoint: str | None = None) -> str:
    return (endpoint or os.environ.get(HF_URL_ENV) or DEFAULT_HF_URL).rstrip("/")


def _today() -> date:
    return datetime.now(UTC).date()


def parse_day(text: str, option: str = "--date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise QueryError(f"{option} {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-02-27") from error


def days_of(day: str | None = None, week: str | None = None, month: str | None = None) -> list[date]:
    """The list days one of ``--date`` / ``--week`` (2026-W09) / ``--month`` (2026-02) names.

    Days after today are left out: their lists do not exist yet, asking would only cost requests.
    """
    given = [name for name, value in (("--date", day), ("--week", week), ("--month", month)) if value]
    if len(given) != 1:
        raise QueryError("give exactly one of --date YYYY-MM-DD, --week YYYY-Www or --month YYYY-MM")
    if day:
        return [parse_day(day)]
    if week:
        match = _WEEK.match(week.strip())
        try:
            if not match:
                raise ValueError(week)
            monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        except ValueError as error:
            raise QueryError(f"--week {week!r} is not an ISO week: use YYYY-Www, e.g. 2026-W09") from error
        days = [monday + timedelta(days=i) for i in range(7)]
    else:
        assert month is not None
        match = _MONTH.match(month.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise QueryError(f"--month {month!r} is not a month: use YYYY-MM, e.g. 2026-02")
        year, number = int(match.group(1)), int(match.group(2))
        days = [date(year, number, d) for d in range(1, calendar.monthrange(year, number)[1] + 1)]
    today = _today()
    return [d for d in days if d <= today]


def _stamp(results: list[ParseResult], day: str) -> list[ParseResult]:
    for result in results:
        if isinstance(result, PaperRecord):
            result.daily_date = day
    return results


def harvest_hf(
    days: list[date],
    ingestor: Ingestor,
    client: HttpClient,
    *,
    base_url: str | None = None,
    progress: bool = False,
) -> HarvestReport:
    """Fetch and store each day's list (one request and one transaction per day)."""
    from ..sources.hf_api import parse_hf_api  # local: keeps CLI start fast

    base = hf_url(base_url)
    url = f"{base}/api/daily_papers"
    report = HarvestReport(summary=ingestor.summary)
    requests_before = client.requests
    bar = tqdm(days, desc="hf daily", unit="day", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    try:
        for day in bar:
            params = {"date": day.isoformat()}
            shown = full_url(url, params)
            response = client.get(url, params)
            reject_html(response, shown, "JSON", HINT)
            try:
                payload = orjson.loads(response.content)
                results = _stamp(list(parse_hf_api(payload, shown)), day.isoformat())
            except (orjson.JSONDecodeError, SourceError) as error:
                problem = f"{shown} did not answer with a daily papers list: {error}."
                raise NetworkError(f"{problem} {HINT}") from error
            ingestor.write(results)
            report.pages += 1
            bar.set_postfix(day=day.isoformat(), papers=len(results), refresh=False)
    finally:
        bar.close()
        report.requests = client.requests - requests_before
    return report
