"""What the default jobs do: each reuses the command-line code path (harvest/, mail/) with the
scheduler's clock and settings, and returns its counts.  Everything here commits as it goes
(a harvest page, a day's list, one digest at a time), so a killed job loses nothing committed
and its next run finishes the work."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cronsim import CronSim

from ..ingest import Ingestor
from .clock import as_utc

if TYPE_CHECKING:
    from .catalog import JobContext

# Counts added up over the sets or days of one run.
_SUMMED = ("added", "updated", "unchanged", "rejected", "pages", "requests")


def _pacing(context: JobContext, default_delay: float) -> Any:
    from ..harvest.client import Pacing

    settings = context.settings
    delay = settings.http_delay if settings.http_delay is not None else default_delay
    return Pacing.from_settings(settings, delay=delay)


def harvest_arxiv(context: JobContext) -> Mapping[str, Any]:
    from ..harvest.client import HttpClient
    from ..harvest.oai import HINT, harvest_incremental, incremental_query, set_spec_for

    settings = context.settings
    today = context.clock.now().date()
    totals: dict[str, Any] = dict.fromkeys(_SUMMED, 0)
    totals["sets"] = {}
    with HttpClient(_pacing(context, 3.0), hint=HINT) as client, Ingestor(context.store) as ingestor:
        for name in settings.harvest_arxiv_sets:
            spec = set_spec_for(name)
            query = incremental_query(
                context.store, settings.oai_url, spec, today=today, window_days=settings.harvest_arxiv_window_days
            )
            before = ingestor.summary.as_dict()
            report = harvest_incremental(query, ingestor, client, today=today, echo=context.log.info)
            after = report.as_dict()
            totals["sets"][name] = {"from": query.from_date, "added": after["added"] - before["added"]}
            context.log.info("harvest-arxiv: set %s from %s: %s", name, query.from_date, after)
            for key in ("pages", "requests"):
                totals[key] += after[key]
        summary = ingestor.summary.as_dict()
    for key in ("added", "updated", "unchanged", "rejected"):
        totals[key] = summary[key]
    return totals


def harvest_hf(context: JobContext) -> Mapping[str, Any]:
    from ..harvest.client import HttpClient
    from ..harvest.hf import HINT
    from ..harvest.hf import harvest_hf as harvest_days

    today = context.clock.now().date()
    days = [today - timedelta(days=n) for n in range(context.settings.harvest_hf_days, -1, -1)]
    with HttpClient(_pacing(context, 1.0), hint=HINT) as client, Ingestor(context.store) as ingestor:
        report = harvest_days(days, ingestor, client, base_url=context.settings.hf_url)
    counts = {k: v for k, v in report.as_dict().items() if k in _SUMMED}
    return {**counts, "days": [days[0].isoformat(), days[-1].isoformat()]}


def send_digests(context: JobContext) -> Mapping[str, Any]:
    """Each frequency whose time came since the last run (or within the last day, on a first
    run) is sent for the day of that time.  The sender itself never mails a period twice, so a rerun after a
    kill sends only what is left."""
    from ..mail.sending import DigestSender
    from ..mail.settings import MailSettings

    now = as_utc(context.clock.now())
    since = context.previous_run or now - timedelta(days=1)
    counts: dict[str, Any] = {}
    sender: DigestSender | None = None
    for frequency, cron in (
        ("daily", context.settings.digest_daily_at),
        ("weekly", context.settings.digest_weekly_at),
    ):
        last_slot = next(CronSim(cron, now + timedelta(seconds=1), reverse=True))
        if last_slot <= since:
            continue
        if sender is None:
            sender = DigestSender(context.store, MailSettings.load(context.store.settings))
        # The slot's own day: a run catching up on a missed slot sends that day's period.
        report = sender.run(frequency, last_slot.date())
        counts[frequency] = {"sent": len(report.sent), "failed": len(report.failed), "deferred": len(report.deferred)}
        if report.errors:
            raise RuntimeError(f"{frequency} digest: {'; '.join(report.errors)}")
    return counts
