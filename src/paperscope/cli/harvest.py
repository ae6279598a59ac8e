"""``paperscope harvest arxiv``, ``paperscope harvest hf`` and ``paperscope add``: live sources.

Exit status: 0 all good, 1 some records were rejected (see rejects.jsonl in the home),
2 the source could not be reached or answered with an error (nothing half-saved: a harvest
resumes from its last committed page when rerun with the same parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import click

from ..errors import PaperscopeError
from ..ingest import Ingestor
from .common import AppContext, echo_json, json_option, pass_app

if TYPE_CHECKING:
    from ..harvest.client import Pacing


@contextmanager
def _clean_errors() -> Iterator[None]:
    """Expected failures become one line on stderr and exit status 2, never a traceback."""
    try:
        yield
    except PaperscopeError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None


def _pacing_options(default_delay: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option(
                "--delay",
                type=float,
                default=None,
                help=f"Seconds between requests (default {default_delay:g}; be polite to the server).",
            ),
            click.option(
                "--max-wait",
                type=float,
                default=None,
                help="Longest wait honoured for a server's Retry-After, in seconds (default 120).",
            ),
            click.option(
                "--retries",
                type=click.IntRange(0, 50),
                default=None,
                help="Further attempts after a transient failure (default 4).",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _pacing(
    app: AppContext, delay: float | None, max_wait: float | None, retries: int | None, default_delay: float
) -> Pacing:
    """The options given, else the ``http_*`` settings ($PAPERSCOPE_HTTP_*, config.toml), else defaults."""
    from ..harvest.client import Pacing  # local: httpx is slow to import at CLI start

    settings = app.settings
    chosen = delay if delay is not None else settings.http_delay if settings.http_delay is not None else default_delay
    return Pacing.from_settings(settings, delay=chosen, max_wait=max_wait, retries=retries)


def _check_day(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option) from None


def _finish(result: dict[str, Any], as_json: bool, label: str, app: AppContext) -> None:
    if as_json:
        echo_json(result)
    else:
        click.echo(
            f"{label}: {result['added']} added, {result['updated']} updated, "
            f"{result['unchanged']} unchanged, "
            f"{result['rejected']} rejected ({result['pages']} page(s), {result['requests']} request(s))"
        )
        if result["rejected"]:
            click.echo(f"rejected records are listed in {app.store.settings.rejects_path}")
    if result["rejected"]:
        raise SystemExit(1)


@click.group()
def harvest() -> None:
    """Fetch new papers from arXiv (OAI-PMH) or the Hugging Face daily papers list."""


@harvest.command("arxiv")
@click.option(
    "--from",
    "from_date",
    default=None,
    help="First datestamp to harvest (YYYY-MM-DD). Default: where the last harvest without --from "
    "ended, else $PAPERSCOPE_HARVEST_ARXIV_WINDOW_DAYS (7) days ago.",
)
@click.option("--until", "until", default=None, help="Last datestamp to harvest (YYYY-MM-DD).")
@click.option("--set", "set_spec", default=None, help="OAI set, e.g. cs, stat.ML or physics:hep-th.")
@click.option(
    "--metadata-prefix",
    "prefix",
    type=click.Choice(["arXiv", "arXivRaw"]),
    default="arXiv",
    show_default=True,
    help="OAI metadata format.",
)
@click.option("--endpoint", default=None, help="OAI-PMH base URL (default $PAPERSCOPE_OAI_URL or arXiv's).")
@_pacing_options(3.0)
@json_option
@pass_app
def harvest_arxiv(
    app: AppContext,
    from_date: str | None,
    until: str | None,
    set_spec: str | None,
    prefix: str,
    endpoint: str | None,
    delay: float | None,
    max_wait: float | None,
    retries: int | None,
    as_json: bool,
) -> None:
    """Harvest arXiv metadata over OAI-PMH; rerun with the same options to resume after a stop.

    Without --from (and --until) the harvest is incremental: it starts where the last one ended."""
    from ..harvest.client import HttpClient
    from ..harvest.oai import HINT, OaiQuery, harvest_incremental, harvest_oai, incremental_query, oai_url, set_spec_for

    spec = set_spec_for(set_spec) if set_spec else None
    url = oai_url(endpoint, app.settings)
    pacing = _pacing(app, delay, max_wait, retries, 3.0)
    if from_date is None:
        if until is not None:
            raise click.BadParameter("--until needs --from (an incremental harvest runs up to today)")
        today = datetime.now(UTC).date()
        window = app.settings.harvest_arxiv_window_days
        query = incremental_query(app.store, url, spec, today=today, window_days=window, prefix=prefix)
        with _clean_errors(), HttpClient(pacing, hint=HINT) as client, _ingestor(app) as ingestor:
            report = harvest_incremental(query, ingestor, client, today=today, progress=app.show_progress())
        _finish(report.as_dict(), as_json, "arxiv oai", app)
        return
    first, last = _check_day(from_date, "--from") or from_date, _check_day(until, "--until")
    if last is not None and last < first:
        raise click.BadParameter(f"{last} is before --from {first}", param_hint="--until")
    query = OaiQuery(endpoint=url, from_date=first, until=last, set_spec=spec, prefix=prefix)
    with _clean_errors(), HttpClient(pacing, hint=HINT) as client, _ingestor(app) as ingestor:
        report = harvest_oai(query, ingestor, client, progress=app.show_progress())
    _finish(report.as_dict(), as_json, "arxiv oai", app)


@harvest.command("hf")
@click.option("--date", "day", default=None, help="One list day (YYYY-MM-DD).")
@click.option("--week", default=None, help="Every day of an ISO week (YYYY-Www, e.g. 2026-W09).")
@click.option("--month", default=None, help="Every day of a month (YYYY-MM).")
@click.option(
    "--endpoint", default=None, help="Hugging Face base URL (default $PAPERSCOPE_HF_URL or huggingface.co)."
)
@_pacing_options(1.0)
@json_option
@pass_app
def harvest_hf_command(
    app: AppContext,
    day: str | None,
    week: str | None,
    month: str | None,
    endpoint: str | None,
    delay: float | None,
    max_wait: float | None,
    retries: int | None,
    as_json: bool,
) -> None:
    """Fetch the Hugging Face daily papers lists (papers, upvotes, daily entries)."""
    from ..harvest.client import HttpClient
    from ..harvest.hf import HINT, days_of, harvest_hf, hf_url

    with _clean_errors():
        days = days_of(day, week, month)
        pacing = _pacing(app, delay, max_wait, retries, 1.0)
        with HttpClient(pacing, hint=HINT) as client, _ingestor(app) as ingestor:
            base_url = hf_url(endpoint, app.settings)
            report = harvest_hf(days, ingestor, client, base_url=base_url, progress=app.show_progress())
    _finish(report.as_dict(), as_json, "hf daily", app)


@click.command("add")
@click.argument("ids", nargs=-1, required=True)
@click.option(
    "--endpoint", default=None, help="arXiv API base URL (default $PAPERSCOPE_ARXIV_API_URL or arXiv's)."
)
@click.option(
    "--batch-size", type=click.IntRange(1, 500), default=50, show_default=True, help="Ids per API request."
)
@_pacing_options(3.0)
@json_option
@pass_app
def add(
    app: AppContext,
    ids: tuple[str, ...],
    endpoint: str | None,
    batch_size: int,
    delay: float | None,
    max_wait: float | None,
    retries: int | None,
    as_json: bool,
) -> None:
    """Add papers by arXiv id or URL (2104.12255, 2104.12255v1, hep-th/9901001, arxiv.org/abs/...)."""
    from ..harvest.arxiv_api import add_papers, arxiv_api_url

    pacing = _pacing(app, delay, max_wait, retries, 3.0)
    # add lists each rejected input with its reason itself, so the ingestor only logs to the file.
    with _clean_errors(), _ingestor(app, report_rejects=False) as ingestor:
        result = add_papers(
            app.store,
            list(ids),
            api_url=arxiv_api_url(endpoint, app.settings),
            pacing=pacing,
            batch_size=batch_size,
            ingestor=ingestor,
        )
    data = result.as_dict()
    if not as_json:
        for status in ("added", "updated", "unchanged"):
            for key in getattr(result, status):
                click.echo(f"{status:9} {key}")
        for text, reason in result.rejected:
            click.echo(f"rejected  {text}: {reason}", err=True)
    _finish(data, as_json, "add", app)


@click.command("enrich")
@click.option("--limit", type=click.IntRange(1), default=None, help="Complete at most N papers this run.")
@click.option(
    "--endpoint", default=None, help="arXiv API base URL (default $PAPERSCOPE_ARXIV_API_URL or arXiv's)."
)
@click.option(
    "--batch-size", type=click.IntRange(1, 100), default=100, show_default=True, help="Ids per API request."
)
@_pacing_options(3.0)
@json_option
@pass_app
def enrich(
    app: AppContext,
    limit: int | None,
    endpoint: str | None,
    batch_size: int,
    delay: float | None,
    max_wait: float | None,
    retries: int | None,
    as_json: bool,
) -> None:
    """Complete papers that lack arXiv metadata (Hugging Face listings, saved pages, bare ids) from arXiv."""
    from ..harvest.arxiv_api import arxiv_api_url
    from ..harvest.enrich import run_enrich

    pacing = _pacing(app, delay, max_wait, retries, 3.0)
    with _clean_errors():
        report = run_enrich(
            app.store,
            limit=limit,
            api_url=arxiv_api_url(endpoint, app.settings),
            pacing=pacing,
            batch_size=batch_size,
            progress=app.show_progress(),
        )
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(
            f"enrich: {report.enriched} enriched, {report.not_found} not found by arXiv, "
            f"{report.failed} failed, {report.remaining} remaining "
            f"({report.waiting} waiting to be asked again, {report.requests} request(s))"
        )
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.failed:
        raise SystemExit(2)


@contextmanager
def _ingestor(app: AppContext, report_rejects: bool = True) -> Iterator[Ingestor]:
    with Ingestor(app.store, report_rejects=report_rejects) as ingestor:
        yield ingestor


def register(group: click.Group) -> None:
    """Add this module's commands to the main group."""
    group.add_command(harvest)
    group.add_command(add)
    group.add_command(enrich)
