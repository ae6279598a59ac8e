"""The jobs the scheduler knows: one :class:`Job` entry each in :data:`CATALOG`.

Adding a job is one entry: a name, a default schedule (cron, UTC; several expressions
separated by ``;``), and a function from a :class:`JobContext` to a dict of counts (what
``paperscope jobs`` shows as ``last_counts``).  A job raises to fail: the scheduler logs the
reason, records it and tries again at a later slot.  A job must be safe to kill at any point
and to run again: commit as you go, and make the next run pick up what is left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import Settings
from ..errors import PaperscopeError
from ..store import Store
from . import tasks
from .clock import Clock


@dataclass(frozen=True, slots=True)
class JobContext:
    store: Store
    settings: Settings
    clock: Clock
    log: logging.Logger
    previous_run: datetime | None  # when the last run of this job started (None: never)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: Callable[[JobContext], Mapping[str, Any]]
    schedule: str | Callable[[Settings], str]  # the default; ``jobs_schedule`` overrides it by name
    description: str
    # Run as soon as a scheduler starts when it never ran (a fresh site wants its data now); False
    # waits for the first slot (a digest at 3 a.m. because the server started then is wrong).
    run_at_start: bool = True

    def schedule_for(self, settings: Settings) -> str:
        configured = settings.jobs_schedule.get(self.name)
        if configured:
            return configured
        return self.schedule(settings) if callable(self.schedule) else self.schedule


class JobFailed(PaperscopeError):
    """A job that did part of its work and then failed: ``counts`` are recorded with the reason."""

    def __init__(self, message: str, counts: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.counts = dict(counts)


def _enrich(context: JobContext) -> Mapping[str, Any]:
    from ..harvest.client import Pacing
    from ..harvest.enrich import run_enrich

    report = run_enrich(
        context.store,
        api_url=context.settings.arxiv_api_url,
        pacing=Pacing.from_settings(context.settings),
        now=context.clock.now(),
    )
    counts = report.as_dict()
    if report.errors and report.failed:
        # run_enrich stops at an unreachable arXiv and leaves the rest due: a failed run, with counts.
        raise JobFailed("; ".join(str(e) for e in report.errors), counts)
    return counts


def _fetch_queue(context: JobContext) -> Mapping[str, Any]:
    from ..harvest.client import Pacing
    from ..harvest.fetch_queue import process_fetch_queue

    counts = process_fetch_queue(
        context.store,
        api_url=context.settings.arxiv_api_url,
        pacing=Pacing.from_settings(context.settings),
        now=context.clock.now(),
    )
    if counts["errors"]:
        # arXiv unreachable: the rows wait with back-off; the run is recorded as failed, with counts.
        raise JobFailed("; ".join(counts["errors"]), counts)
    return counts


def _outbox(context: JobContext) -> Mapping[str, Any]:
    from ..mail.outbox import send_outbox

    counts = send_outbox(context.store, now=context.clock.now())
    stopped = [error for error in counts["errors"] if error.startswith("stopped")]
    if stopped:
        # The SMTP settings need fixing (login or sender refused): every message waits.
        raise JobFailed("; ".join(stopped), counts)
    # Messages the server deferred are retried with back-off by later runs; no mail server
    # configured means nothing was queued: neither is a failed run.
    return counts


CATALOG: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "harvest-arxiv",
            tasks.harvest_arxiv,
            "30 1,13 * * *",  # twice a day: arXiv announces once, but a missed run catches up sooner
            "OAI-PMH incremental harvest of the configured sets, from the datestamp the last one stored",
        ),
        Job(
            "harvest-hf",
            tasks.harvest_hf,
            "5 * * * *",
            "Hugging Face daily lists of today and the last days (upvotes move for days)",
        ),
        Job("enrich", _enrich, "20,50 * * * *", "arXiv metadata for papers that lack it"),
        Job(
            "digest",
            tasks.send_digests,
            lambda settings: f"{settings.digest_daily_at}; {settings.digest_weekly_at}",
            "the daily and weekly email digests, each at its configured time",
            run_at_start=False,
        ),
        # Work handed over by web requests, which never wait on the network: every 5 minutes.
        Job("fetch-queue", _fetch_queue, "*/5 * * * *", "papers submitted on the site, fetched from the arXiv API"),
        Job("outbox", _outbox, "*/5 * * * *", "queued mail (digest confirmations), delivered exactly once"),
    )
}
