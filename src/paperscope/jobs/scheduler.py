"""The scheduler: runs each job of the catalog at its slots, one process at a time.

A small loop rather than APScheduler: the state that matters (last run, next slot) must live
in the store where every worker and host sees it, the one-at-a-time rule is a store lock, and
the clock must be replaceable for tests -- APScheduler would add its own job store and clock
and leave all three to us anyway.  Cron expressions are evaluated by ``cronsim``.

Each round: for every enabled job whose ``next_run`` has come (or that never ran, for jobs
that run at start), take the job's lock without waiting; under it, read the record again (a
process on another host may have just run this slot); run; record the outcome and the next
slot.  Jobs run in threads of their own, so a long harvest does not hold up the digest.  A
failure is logged and recorded and the job waits at least ``jobs_retry_minutes`` (then its
next slot): no job stops another, or the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cronsim import CronSim, CronSimError

from ..config import ConfigError, Settings
from ..errors import PaperscopeError
from ..store import Store
from ..store.jobs import FAILED, OK, RUNNING, JobRun
from .catalog import CATALOG, Job, JobContext
from .clock import Clock, SystemClock, as_utc, iso, parse_iso

log = logging.getLogger(__name__)
# Longest sleep between two looks at the schedule: a job rescheduled by another process (or a
# changed record) is noticed within this.
MAX_NAP_S = 60.0


@dataclass(slots=True)
class Outcome:
    name: str
    status: str  # ok | failed | busy (another process holds the lock) | not-due
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    next_run: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "counts": self.counts,
            "error": self.error,
            "next_run": self.next_run,
        }


def next_slot(schedule: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that one of the ``;``-separated expressions names."""
    slots = []
    for expression in (part.strip() for part in schedule.split(";")):
        if not expression:
            continue
        try:
            slots.append(next(CronSim(expression, as_utc(after))))
        except (CronSimError, StopIteration) as error:
            raise ConfigError(f"schedule {expression!r} is not a cron expression (UTC): {error}") from None
    if not slots:
        raise ConfigError(f"schedule {schedule!r} names no time")
    return min(slots)


class Scheduler:
    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        catalog: Mapping[str, Job] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or store.settings
        self.clock = clock or SystemClock()
        self.catalog = dict(CATALOG if catalog is None else catalog)
        unknown = sorted(set(self.settings.jobs_off) - set(self.catalog))
        if unknown:
            raise ConfigError(
                f"PAPERSCOPE_JOBS_OFF names no job: {', '.join(unknown)} (jobs: {', '.join(self.catalog)})"
            )
        for name, schedule in self.settings.jobs_schedule.items():
            if name not in self.catalog:
                raise ConfigError(f"PAPERSCOPE_JOBS_SCHEDULE names no job: {name!r} (jobs: {', '.join(self.catalog)})")
            next_slot(schedule, self.clock.now())  # a bad expression fails at start, not at its slot
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None

    # -- what is there ------------------------------------------------------------------------
    def enabled(self) -> list[Job]:
        return [job for name, job in self.catalog.items() if name not in self.settings.jobs_off]

    def listing(self) -> list[dict[str, Any]]:
        """Every job of the catalog with its record (``paperscope jobs``)."""
        records = {run.name: run for run in self.store.job_runs()}
        now = self.clock.now()
        rows = []
        for name, job in self.catalog.items():
            record = records.get(name) or JobRun(name)
            enabled = name not in self.settings.jobs_off
            schedule = job.schedule_for(self.settings)
            next_run = record.next_run
            if next_run is None and enabled:
                next_run = iso(now) if job.run_at_start else iso(next_slot(schedule, now))
            rows.append(
                {
                    "name": name,
                    "schedule": schedule if enabled else "off",
                    "last_run": record.last_run,
                    "last_status": record.last_status,
                    "last_counts": record.last_counts,
                    "next_run": next_run if enabled else None,
                    "last_error": record.last_error,
                    "runs": record.runs,
                    "failures": record.failures,
                    "description": job.description,
                }
            )
        return rows

    # -- running ------------------------------------------------------------------------------
    def _due(self, job: Job, record: JobRun | None, now: datetime) -> bool:
        if record is None or record.next_run is None:
            if job.run_at_start:
                return True
            # First sight of a job that waits for its slot: book the slot, run nothing now.
            self.store.jobs.set_next_run(job.name, iso(next_slot(job.schedule_for(self.settings), now)))
            return False
        return parse_iso(record.next_run) <= now

    def run_due(self, names: Collection[str] | None = None, *, force: bool = False) -> list[Outcome]:
        """Run, here and now (one after another), the jobs that are due -- or, with ``force``,
        the ``names`` given whether due or not.  Returns what happened to each."""
        jobs = self.enabled() if names is None else [self._job(name) for name in names]
        return [self.run_job(job, force=force) for job in jobs]

    def _job(self, name: str) -> Job:
        if name not in self.catalog:
            raise PaperscopeError(f"no job named {name!r}; jobs: {', '.join(self.catalog)}")
        return self.catalog[name]

    def run_job(self, job: Job, *, force: bool = False) -> Outcome:
        with self.store.jobs.lock(job.name) as held:
            if not held:
                return Outcome(job.name, "busy")
            record = self.store.jobs.get(job.name)  # again, under the lock: another process may have run it
            now = self.clock.now()
            if not force and not self._due(job, record, now):
                return Outcome(job.name, "not-due", next_run=record.next_run if record else None)
            return self._run_locked(job, record, now)

    def _run_locked(self, job: Job, record: JobRun | None, now: datetime) -> Outcome:
        previous = parse_iso(record.last_run) if record and record.last_run else None
        if record is not None and record.last_status == RUNNING:
            # Read under the lock, so no one runs it: the run that wrote this was killed.  Its
            # committed work stays; this run finishes the rest (harvests resume from their state).
            log.warning("job %s: the run started at %s was interrupted; running it again", job.name, record.last_run)
        self.store.jobs.started(job.name, iso(now))
        log.info("job %s: started", job.name)
        context = JobContext(
            self.store, self.settings, self.clock, logging.getLogger(f"paperscope.jobs.{job.name}"), previous
        )
        counts: dict[str, Any] = {}
        error: str | None = None
        try:
            counts = dict(job.run(context))
        except PaperscopeError as failure:
            error = str(failure)
            counts = dict(getattr(failure, "counts", {}))
        except Exception as failure:  # a job's bug must not stop the other jobs or the server
            log.exception("job %s: crashed", job.name)
            error = f"{type(failure).__name__}: {failure}"
        finished = self.clock.now()
        schedule = job.schedule_for(self.settings)
        if error is None:
            following = next_slot(schedule, max(finished, now))
            log.info("job %s: ok %s; next run %s", job.name, counts, iso(following))
        else:
            wait = timedelta(minutes=self.settings.jobs_retry_minutes)
            following = next_slot(schedule, finished + wait - timedelta(seconds=1))
            log.error("job %s: failed: %s; next try %s", job.name, error, iso(following))
        status = OK if error is None else FAILED
        self.store.jobs.finished(
            job.name, at=iso(finished), status=status, counts=counts, error=error, next_run=iso(following)
        )
        return Outcome(job.name, status, counts, error, iso(following))

    # -- in the background (serve, worker) ---------------------------------------------------
    def start(self) -> None:
        """Run the schedule in a background thread until :meth:`stop`."""
        self._loop = threading.Thread(target=self.run_forever, name="paperscope-scheduler", daemon=True)
        self._loop.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._loop is not None:
            self._loop.join(timeout)
        # Jobs are not interrupted mid-transaction; a job still running when the process exits
        # is a killed job, which its next run finishes.
        for thread in list(self._threads.values()):
            thread.join(max(0.0, timeout))

    @property
    def running(self) -> bool:
        return self._loop is not None and self._loop.is_alive()

    def run_forever(self) -> None:
        log.info("scheduler: %s", ", ".join(f"{j.name} ({j.schedule_for(self.settings)})" for j in self.enabled()))
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:  # the database away for a moment: log, and look again later
                log.exception("scheduler: a round failed")
            self.clock.sleep(self._nap(), self._stop)

    def _round(self) -> None:
        now = self.clock.now()
        records = {run.name: run for run in self.store.job_runs()}
        for job in self.enabled():
            thread = self._threads.get(job.name)
            if thread is not None and thread.is_alive():
                continue
            if self._due(job, records.get(job.name), now):
                thread = threading.Thread(target=self.run_job, args=(job,), name=f"job-{job.name}", daemon=True)
                self._threads[job.name] = thread
                thread.start()

    def _nap(self) -> float:
        now = self.clock.now()
        upcoming = [parse_iso(r.next_run) for r in self.store.job_runs() if r.next_run]
        soonest = min(((when - now).total_seconds() for when in upcoming), default=MAX_NAP_S)
        return max(1.0, min(MAX_NAP_S, soonest))
