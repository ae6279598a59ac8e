"""``paperscope jobs`` (list, run now) and ``paperscope worker`` (the scheduler without the site)."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from types import FrameType
from typing import Any

import click

from .common import AppContext, echo_json, json_option, pass_app

AT_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]


def _scheduler(app: AppContext, at: datetime | None = None) -> Any:
    from ..jobs import ManualClock, Scheduler, SystemClock

    return Scheduler(app.store, clock=ManualClock(at) if at is not None else SystemClock())


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def jobs(ctx: click.Context, as_json: bool) -> None:
    """List the scheduled jobs: schedule, last run, status, counts and next run."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext)
    assert app is not None
    rows = _scheduler(app).listing()
    if as_json:
        echo_json({"jobs": rows})
        return
    for row in rows:
        counts = " ".join(f"{k}={v}" for k, v in row["last_counts"].items() if not isinstance(v, dict | list))
        click.echo(
            f"{row['name']:14} {row['schedule']:24} last {row['last_run'] or 'never':20} "
            f"{row['last_status'] or '-':8} next {row['next_run'] or '-':20} {counts}"
        )
        if row["last_status"] == "failed" and row["last_error"]:
            click.echo(f"{'':14} failed: {row['last_error']}")
        elif row["last_status"] == "interrupted":
            click.echo(f"{'':14} interrupted: the run started at {row['last_run']} ended without finishing")


@jobs.command("run")
@click.argument("names", nargs=-1)
@click.option(
    "--at",
    type=click.DateTime(AT_FORMATS),
    default=None,
    help="Run as if it were this time (UTC, YYYY-MM-DDTHH:MM[:SS]): which jobs are due, what 'today' is.",
)
@json_option
@pass_app
def run_cmd(app: AppContext, names: tuple[str, ...], at: datetime | None, as_json: bool) -> None:
    """Run the jobs that are due now, once (or the NAMES given, due or not); skip a job another
    process is running.  Exit status 1 when a job failed."""
    scheduler = _scheduler(app, at)
    outcomes = scheduler.run_due(list(names) or None, force=bool(names))
    if as_json:
        echo_json({"runs": [o.as_dict() for o in outcomes]})
    else:
        for outcome in outcomes:
            detail = outcome.error or " ".join(
                f"{k}={v}" for k, v in outcome.counts.items() if not isinstance(v, dict | list)
            )
            click.echo(f"{outcome.name:14} {outcome.status:8} next {outcome.next_run or '-'} {detail}".rstrip())
    if any(o.status == "failed" for o in outcomes):
        raise SystemExit(1)


@click.command()
@pass_app
def worker(app: AppContext) -> None:
    """Run the scheduled jobs until stopped (SIGTERM or Ctrl-C), without serving the site."""
    scheduler = _scheduler(app)
    stopped = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    click.echo(f"paperscope worker: running jobs for {app.store.settings.home}", err=True)
    scheduler.start()
    while not stopped.wait(1.0):
        if not scheduler.running:
            raise SystemExit("the scheduler stopped unexpectedly; see the log")
    scheduler.stop()


def register(group: click.Group) -> None:
    group.add_command(jobs)
    group.add_command(worker)
