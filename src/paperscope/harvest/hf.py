"""Harvesting the Hugging Face daily papers list: ``GET {base}/api/daily_papers?date=YYYY-MM-DD``.

The API also takes ``week=`` and ``month=``, but then every paper's list day must be guessed
from timestamps; asking day by day makes each record's ``daily_date`` the day asked for.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import orjson
from tqdm import tqdm

from .. import dates
from ..config import DEFAULT_HF_URL, Settings, env_name, environment_settings
from ..errors import NetworkError, QueryError, SourceError
from ..ingest import Ingestor
from ..records import PaperRecord, ParseResult
from .client import HttpClient, full_url
from .report import HarvestReport, reject_html

HF_URL_ENV = env_name("hf_url")
HINT = f"Check --endpoint / ${HF_URL_ENV} (the Hugging Face base URL, such as {DEFAULT_HF_URL})."


def hf_url(endpoint: str | None = None, settings: Settings | None = None) -> str:
    return (endpoint or (settings or environment_settings()).hf_url).rstrip("/")


def _today() -> date:
    return datetime.now(UTC).date()


def parse_day(text: str, option: str = "--date") -> date:
    try:
        return dates.parse_day(text)
    except dates.DateFormatError as error:
        raise QueryError(f"{option} {error}") from error


def days_of(day: str | None = None, week: str | None = None, month: str | None = None) -> list[date]:
    """The list days one of ``--date`` / ``--week`` (2026-W09) / ``--month`` (2026-02) names.

    Days after today are left out: their lists do not exist yet, asking would only cost requests.
    """
    given = [name for name, value in (("--date", day), ("--week", week), ("--month", month)) if value]
    if len(given) != 1:
        raise QueryError("give exactly one of --date YYYY-MM-DD, --week YYYY-Www or --month YYYY-MM")
    try:
        if day:
            return [dates.parse_day(day)]
        if week:
            days = dates.week_days(dates.parse_week(week))
        else:
            assert month is not None
            days = dates.month_days(dates.parse_month(month))
    except dates.DateFormatError as error:
        raise QueryError(f"{given[0]} {error}") from error
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
