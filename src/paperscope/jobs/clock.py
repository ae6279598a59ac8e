"""The scheduler's clock.  Jobs ask it for "now" instead of the system, so a test (or
``paperscope jobs run --at``) can move days forward without waiting for them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float, stop: threading.Event) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)


class ManualClock:
    """A clock that reads a set time and moves only when told (``advance``/``set``); ``sleep``
    moves it instead of waiting."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = as_utc(when)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        self.advance(timedelta(seconds=seconds))


def as_utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def iso(when: datetime) -> str:
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
