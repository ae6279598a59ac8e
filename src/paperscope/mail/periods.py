"""Which digest is due on a given day, and which days of lists it covers.

Daily digests go out on weekdays only (Hugging Face publishes no lists at weekends), keyed
by the date; weekly digests are keyed by ISO week (``2026-W48``).
"""

from __future__ import annotations

from datetime import date

from ..dates import week_key

FREQUENCIES = ("daily", "weekly")


def period_key(frequency: str, today: date) -> str | None:
    """The key of the digest due on ``today``, or None when none is (daily, at weekends)."""
    if frequency == "daily":
        return today.isoformat() if today.weekday() < 5 else None
    if frequency == "weekly":
        return week_key(today)
    raise ValueError(f"unknown frequency {frequency!r}: use daily or weekly")


def window_days(frequency: str, today: date) -> int:
    """How many days of lists a digest looks at, ending on the trending anchor day.

    A daily digest covers the previous weekday too (cron may run before today's list is
    out), and Monday's reaches back to Friday; papers already sent are excluded anyway.
    """
    if frequency == "weekly":
        return 7
    return 4 if today.weekday() == 0 else 2
