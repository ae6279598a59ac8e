"""The scheduler's side of the store: one row per job in ``job_runs``, and the lock that lets
one process at a time run a job across workers and hosts.

The lock is a PostgreSQL session advisory lock in server mode (held by one connection for the
run; a killed process's connection closes and frees it) and, on SQLite, a file lock beside the
database file (``flock``: the kernel frees it when the process dies).  Either way a lock is
tried, never waited for: another process running the job means this one skips the slot.

A run is recorded ``running`` when it starts and ``ok``/``failed`` when it ends, both under the
lock.  A process killed in between leaves ``running`` behind with its lock freed (by the kernel
or the closed connection), so a ``running`` row whose lock nobody holds is read as
``interrupted``: the lock, not the row, says whether a run is alive.  The row itself is left as
it is; the next run (due at the slot the killed one was booked for) overwrites it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .upsert import utc_now

RUNNING, OK, FAILED, INTERRUPTED = "running", "ok", "failed", "interrupted"


@dataclass(slots=True)
class JobRun:
    """What the store knows of one job (all times UTC ISO-8601, None when it never happened)."""

    name: str
    last_run: str | None = None
    last_finished: str | None = None
    last_status: str | None = None
    last_counts: dict[str, Any] = field(default_factory=dict)
    last_error: str | None = None
    next_run: str | None = None
    runs: int = 0
    failures: int = 0
    last_ok: str | None = None  # when a run last finished ``ok``

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "last_run": self.last_run,
            "last_finished": self.last_finished,
            "last_status": self.last_status,
            "last_counts": self.last_counts,
            "last_error": self.last_error,
            "next_run": self.next_run,
            "runs": self.runs,
            "failures": self.failures,
            "last_ok": self.last_ok,
        }


_COLUMNS = "name, last_run, last_finished, last_status, last_counts, last_error, next_run, runs, failures, last_ok"


def _row_to_run(row: Any) -> JobRun:
    return JobRun(
        name=row[0],
        last_run=row[1],
        last_finished=row[2],
        last_status=row[3],
        last_counts=orjson.loads(row[4]) if row[4] else {},
        last_error=row[5],
        next_run=row[6],
        runs=int(row[7] or 0),
        failures=int(row[8] or 0),
        last_ok=row[9],
    )


class JobStore:
    """Reached as ``store.jobs``; ``Store.job_runs()`` is the short way to read every job's row."""

    def __init__(self, engine: Engine, lock_dir: Path) -> None:
        self.engine = engine
        self.lock_dir = lock_dir

    # -- reading ----------------------------------------------------------------------------
    def runs(self) -> list[JobRun]:
        """Every job's row, a ``running`` one whose process is gone shown as ``interrupted``."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT {_COLUMNS} FROM job_runs ORDER BY name")).all()
        runs = [_row_to_run(row) for row in rows]
        for run in runs:
            if run.last_status == RUNNING and not self.is_held(run.name):
                run.last_status = INTERRUPTED
        return runs

    def get(self, name: str) -> JobRun | None:
        """The row as stored (``running`` even when that run was killed): read under the lock."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.text(f"SELECT {_COLUMNS} FROM job_runs WHERE name = :n"), {"n": name}).first()
        return _row_to_run(row) if row else None

    def is_held(self, name: str) -> bool:
        """Whether some process (this one included) holds job ``name``'s lock, i.e. runs it now."""
        with self.lock(name) as held:
            return not held

    # -- writing ----------------------------------------------------------------------------
    def _ensure(self, conn: sa.Connection, name: str) -> None:
        conn.execute(
            sa.text(
                "INSERT INTO job_runs (name, runs, failures, updated_at) VALUES (:n, 0, 0, :t) "
                "ON CONFLICT (name) DO NOTHING"
            ),
            {"n": name, "t": utc_now()},
        )

    def set_next_run(self, name: str, next_run: str | None) -> None:
        with self.engine.begin() as conn:
            self._ensure(conn, name)
            conn.execute(
                sa.text("UPDATE job_runs SET next_run = :x, updated_at = :t WHERE name = :n"),
                {"n": name, "x": next_run, "t": utc_now()},
            )

    def started(self, name: str, at: str) -> None:
        with self.engine.begin() as conn:
            self._ensure(conn, name)
            conn.execute(
                sa.text(
                    "UPDATE job_runs SET last_run = :at, last_status = :s, last_finished = NULL, "
                    "updated_at = :t WHERE name = :n"
                ),
                {"n": name, "at": at, "s": RUNNING, "t": utc_now()},
            )

    def finished(
        self,
        name: str,
        *,
        at: str,
        status: str,
        counts: dict[str, Any],
        error: str | None,
        next_run: str | None,
    ) -> None:
        with self.engine.begin() as conn:
            self._ensure(conn, name)
            conn.execute(
                sa.text(
                    "UPDATE job_runs SET last_finished = :at, last_status = :s, last_counts = :c, "
                    "last_error = :e, next_run = :x, runs = runs + 1, "
                    "failures = failures + CASE WHEN :s = 'failed' THEN 1 ELSE 0 END, "
                    "last_ok = CASE WHEN :s = 'ok' THEN :at ELSE last_ok END, updated_at = :t "
                    "WHERE name = :n"
                ),
                {
                    "n": name,
                    "at": at,
                    "s": status,
                    "c": orjson.dumps(counts).decode(),
                    "e": error,
                    "x": next_run,
                    "t": utc_now(),
                },
            )

    # -- one process at a time ---------------------------------------------------------------
    @contextmanager
    def lock(self, name: str) -> Iterator[bool]:
        """Try to take job ``name``'s lock; yields whether this process holds it."""
        if self.engine.dialect.name == "postgresql":
            with self._advisory_lock(name) as held:
                yield held
            return
        from filelock import FileLock, Timeout

        self.lock_dir.mkdir(parents=True, exist_ok=True)
        file_lock = FileLock(str(self.lock_dir / f"job-{name}.lock"))
        try:
            file_lock.acquire(timeout=0)
        except Timeout:
            yield False
            return
        try:
            yield True
        finally:
            file_lock.release()

    @contextmanager
    def _advisory_lock(self, name: str) -> Iterator[bool]:
        # A stable 63-bit key from the name (hash() varies between processes).
        key = int.from_bytes(hashlib.sha256(f"paperscope-job:{name}".encode()).digest()[:8], "big") >> 1
        with self.engine.connect() as conn:
            held = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield held
            finally:
                if held:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
