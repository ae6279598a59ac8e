"""Logging for every command and for the server: time, level, logger name and message, as text or
as JSON lines (``--log-format json``, the ``log_format`` setting) for a log collector.

One dictConfig serves both: the CLI applies it at start, and ``serve`` hands it to uvicorn as its
``log_config`` -- uvicorn's own default configures only its loggers and leaves the root logger at
WARNING, which is why ``paperscope.*`` INFO records (the index refresher, the scheduler) used to
vanish under the server.  Here uvicorn's loggers propagate to the root like everyone else's.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test runner swaps it per
    command; a handler that kept the first one would write to a closed stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def log_config(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` dictionary for ``log_format`` (``text`` or ``json``)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
        }
        if log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        # Loggers made at import time (uvicorn's, ours) must keep working after this runs.
        "disable_existing_loggers": False,
        "formatters": {"paperscope": formatter},
        "handlers": {"stderr": {"()": StderrHandler, "formatter": "paperscope"}},
        # Other libraries speak at WARNING and up (alembic's INFO lines would bury a command's
        # own output); paperscope's and the server's own loggers at ``level``.
        "root": {"handlers": ["stderr"], "level": "DEBUG" if level == "DEBUG" else "WARNING"},
        "loggers": {
            # uvicorn's default config gives its loggers their own handlers; ours send them to the root.
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("paperscope", "uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    logging.config.dictConfig(log_config(log_format, level))
