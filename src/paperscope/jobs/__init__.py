"""Scheduled jobs: the catalog (``catalog.py``), what the default jobs do (``tasks.py``), the
scheduler that runs them one process at a time (``scheduler.py``) and its clock (``clock.py``)."""

from __future__ import annotations

from .catalog import CATALOG, Job, JobContext
from .clock import Clock, ManualClock, SystemClock
from .scheduler import Outcome, Scheduler, next_slot

__all__ = ["CATALOG", "Clock", "Job", "JobContext", "ManualClock", "Outcome", "Scheduler", "SystemClock", "next_slot"]
