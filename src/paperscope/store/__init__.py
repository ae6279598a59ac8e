"""The store: the one module that owns all storage.  Every other stage goes through :class:`Store`.

SQLite (one file in the home, WAL mode) is the default; the same schema and SQL run on
PostgreSQL.  Sub-stores group the API by noun: papers here, accounts and digests in their
own modules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..config import Settings, load_settings
from ..records import PaperRecord
from . import enrichment as _enrichment
from . import lists as _lists
from . import papers as _papers
from .digests import DigestStore
from .engine import create_engine, migrate
from .enrichment import Candidate, Miss
from .jobs import JobRun, JobStore
from .models import Change, Paper, UpsertCounts
from .upsert import BatchWriter, utc_now

if TYPE_CHECKING:
    from .accounts import Accounts
    from .queues import FetchQueue, Outbox
    from .signals import Signals
    from .signins import Signins
    from .signups import Signups

__all__ = ["Candidate", "Change", "JobRun", "Miss", "Paper", "Store", "UpsertCounts", "utc_now"]


class Store:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine

    @classmethod
    def open(
        cls,
        home: str | None = None,
        database_url: str | None = None,
        *,
        upgrade: bool = True,
        settings: Settings | None = None,
    ) -> Store:
        """The store of ``settings`` (else of the home and database named, see :func:`load_settings`)."""
        settings = settings or load_settings(home, database_url)
        engine = create_engine(settings.database_url)
        if upgrade:
            migrate(engine)
        return cls(settings, engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def accounts(self) -> Accounts:
        """Users, sessions, local upvotes and collections (see :mod:`.accounts`)."""
        from .accounts import Accounts

        return Accounts(self)

    @property
    def signins(self) -> Signins:
        """Failed sign-ins, for the per-account and per-address limits (see :mod:`.signins`)."""
        from .signins import Signins

        return Signins(self.engine)

    @property
    def signups(self) -> Signups:
        """Sign-ups waiting for the mailed link (see :mod:`.signups`)."""
        from .signups import Signups

        return Signups(self)

    @property
    def signals(self) -> Signals:
        """Reader signals: feedback, follows, saved searches, feed tokens (see :mod:`.signals`)."""
        from .signals import Signals

        return Signals(self)

    @property
    def jobs(self) -> JobStore:
        """The scheduler's record of each job and its one-at-a-time lock (``store/jobs.py``)."""
        db = self.engine.url.database if self.dialect == "sqlite" else None
        lock_dir = Path(db).resolve().parent if db and db != ":memory:" else self.settings.home
        return JobStore(self.engine, lock_dir)

    def job_runs(self) -> list[JobRun]:
        """Every job's last run, status, counts, failure reason and next slot (``paperscope jobs``,
        ``/healthz``, ``/metrics``): jobs that never ran or were never scheduled are absent."""
        return self.jobs.runs()

    @property
    def digests(self) -> DigestStore:
        """Subscriptions and digest sends (``store/digests.py``)."""
        return DigestStore(self.engine)

    @property
    def fetch_queue(self) -> FetchQueue:
        """Papers submitted on the site, waiting to be fetched (``store/queues.py``)."""
        from .queues import FetchQueue

        return FetchQueue(self.engine)

    @property
    def outbox(self) -> Outbox:
        """Rendered mail waiting to be delivered exactly once (``store/queues.py``)."""
        from .queues import Outbox

        return Outbox(self.engine)

    def ping(self) -> None:
        """One round trip to the database; raises (SQLAlchemy's error) when it cannot be reached."""
        with self.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- writing papers -------------------------------------------------------------------
    def write_records(
        self, records: Sequence[PaperRecord], job: tuple[str, dict[str, Any] | None] | None = None
    ) -> UpsertCounts:
        """Merge one batch of source records in a single transaction (all or nothing).

        ``job`` (name, state) is saved in the same transaction, so a harvester's position can
        never run ahead of, or fall behind, the records it has committed.
        """
        with self.transaction() as conn:
            counts = BatchWriter(conn).write(records) if records else UpsertCounts()
            if job is not None:
                self.set_job_state(job[0], job[1], conn)
            return counts

    # -- completing papers from arXiv (store/enrichment.py) -------------------------------
    def enrich_candidates(self, now: datetime, limit: int | None = None) -> list[Candidate]:
        """Papers lacking arXiv metadata and not held back by a back-off, id-carrying ones first."""
        with self.connect() as conn:
            return _enrichment.due(conn, now, limit)

    def count_enrich_due(self, now: datetime) -> int:
        with self.connect() as conn:
            return _enrichment.count_due(conn, now)

    def count_enrich_waiting(self, now: datetime) -> int:
        """Papers arXiv did not know last time, waiting for their next try."""
        with self.connect() as conn:
            return _enrichment.count_waiting(conn, now)

    def write_enrichment(
        self,
        records: Sequence[PaperRecord],
        completed: Sequence[int],
        misses: Sequence[Miss],
        attempts: dict[int, int],
        *,
        now: datetime,
        backoff: timedelta,
        max_backoff: timedelta,
    ) -> UpsertCounts:
        """arXiv's records for one batch and the papers it did not know, in one transaction."""
        with self.transaction() as conn:
            return _enrichment.write(conn, records, completed, misses, attempts, now, backoff, max_backoff)

    def last_harvest(self) -> str | None:
        """When the sources were last harvested (UTC ISO 8601): the newest successful finish of a
        ``harvest-*`` job; None when no harvest job ever succeeded."""
        times = [run.last_ok for run in self.job_runs() if run.name.startswith("harvest") and run.last_ok]
        return max(times) if times else None

    def last_paper_added(self) -> str | None:
        """When the newest paper arrived (an ingest, or a harvest run by hand); None when empty."""
        with self.connect() as conn:
            # The newest paper by primary key: one index step, whatever the store's size.
            newest = conn.execute(sa.text("SELECT created_at FROM papers ORDER BY id DESC LIMIT 1")).scalar()
        return str(newest) if newest else None

    def enrichment_status(self, paper_id: int) -> dict[str, Any] | None:
        with self.connect() as conn:
            return _enrichment.status_of(conn, paper_id)

    # -- reading papers -------------------------------------------------------------------
    def get_paper(self, key: str) -> Paper | None:
        with self.connect() as conn:
            paper_id = _papers.resolve_key(conn, key)
            if paper_id is None:
                return None
            found = _papers.get_papers(conn, [paper_id])
        return found[0] if found else None

    def get_papers(self, ids: Sequence[int]) -> list[Paper]:
        with self.connect() as conn:
            return _papers.get_papers(conn, ids)

    def resolve_key(self, key: str) -> int | None:
        with self.connect() as conn:
            return _papers.resolve_key(conn, key)

    def find_paper(self, *, doi: str | None = None, title: str | None = None) -> int | None:
        """A stored paper by DOI, else by exact title (folded as records are merged), else None."""
        with self.connect() as conn:
            found = _papers.find_by_doi(conn, doi) if doi else None
            if found is None and title:
                found = _papers.find_by_title(conn, title)
            return found

    def iter_papers(self, batch_size: int = 2000, after_id: int = 0) -> Iterator[list[Paper]]:
        with self.connect() as conn:
            yield from _papers.iter_papers(conn, batch_size, after_id)

    def changes_since(self, seq: int, limit: int = 10000) -> list[Change]:
        with self.connect() as conn:
            return _papers.changes_since(conn, seq, limit)

    def last_change_seq(self) -> int:
        with self.connect() as conn:
            return int(conn.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM paper_changes")).scalar() or 0)

    def count_changes_since(self, seq: int) -> int:
        """How many change records come after ``seq`` (an index at ``seq`` has not seen them)."""
        with self.connect() as conn:
            found = conn.execute(sa.text("SELECT COUNT(*) FROM paper_changes WHERE seq > :s"), {"s": seq})
            return int(found.scalar() or 0)

    def count_papers(self) -> int:
        with self.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM papers")).scalar() or 0)

    # -- daily lists and trending ---------------------------------------------------------
    def list_days(self) -> list[str]:
        with self.connect() as conn:
            return _lists.list_days(conn)

    def daily_papers(
        self,
        start: str,
        end: str,
        *,
        sort: str = "upvotes",
        category: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        submitter: str | None = None,
    ) -> list[Paper]:
        with self.connect() as conn:
            return _lists.daily_papers(
                conn, start, end, sort=sort, category=category, limit=limit, offset=offset, submitter=submitter
            )

    def daily_page(
        self,
        start: str,
        end: str,
        *,
        sort: str = "upvotes",
        category: str | None = None,
        limit: int = 50,
        offset: int = 0,
        submitter: str | None = None,
    ) -> tuple[list[Paper], int]:
        """A page of :meth:`daily_papers` and the list's total size, in one query (``submitter``:
        only entries put there by that account handle)."""
        with self.connect() as conn:
            return _lists.daily_page(
                conn, start, end, sort=sort, category=category, limit=limit, offset=offset, submitter=submitter
            )

    def count_daily(self, start: str, end: str, category: str | None = None) -> int:
        with self.connect() as conn:
            return _lists.count_daily(conn, start, end, category)

    def trending(
        self,
        *,
        window_days: int = 7,
        category: str | None = None,
        min_upvotes: int = 0,
        limit: int = 50,
        offset: int = 0,
        today: date | None = None,
    ) -> list[tuple[Paper, float]]:
        with self.connect() as conn:
            return _lists.trending(
                conn,
                window_days=window_days,
                category=category,
                min_upvotes=min_upvotes,
                limit=limit,
                offset=offset,
                today=today,
            )

    # -- resumable job positions ----------------------------------------------------------
    def get_job_state(self, name: str) -> dict[str, Any] | None:
        with self.connect() as conn:
            raw = conn.execute(sa.text("SELECT state FROM job_state WHERE name = :n"), {"n": name}).scalar()
        return orjson.loads(raw) if raw else None

    def set_job_state(self, name: str, state: dict[str, Any] | None, conn: Connection | None = None) -> None:
        """Save (or with None, clear) a job's position; pass ``conn`` to commit it with other writes."""
        if conn is None:
            with self.transaction() as own:
                self.set_job_state(name, state, own)
            return
        if state is None:
            conn.execute(sa.text("DELETE FROM job_state WHERE name = :n"), {"n": name})
            return
        conn.execute(
            sa.text(
                "INSERT INTO job_state (name, state, updated_at) VALUES (:n, :s, :t) "
                "ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
            ),
            {"n": name, "s": orjson.dumps(state).decode(), "t": utc_now()},
        )

    # -- statistics -----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self.connect() as conn:

            def pairs(sql: str) -> dict[str, int]:
                return {str(k): int(v) for k, v in conn.execute(sa.text(sql))}

            return {
                "papers": int(conn.execute(sa.text("SELECT COUNT(*) FROM papers")).scalar() or 0),
                "with_arxiv_id": int(
                    conn.execute(sa.text("SELECT COUNT(*) FROM papers WHERE arxiv_id IS NOT NULL")).scalar()
                    or 0
                ),
                "by_source": pairs(
                    "SELECT source, COUNT(*) FROM paper_sources GROUP BY source ORDER BY source"
                ),
                "by_month": pairs(
                    "SELECT SUBSTR(published, 1, 7) AS m, COUNT(*) FROM papers WHERE published IS NOT NULL "
                    "GROUP BY m ORDER BY m"
                ),
                "daily_entries": int(
                    conn.execute(sa.text("SELECT COUNT(*) FROM daily_entries")).scalar() or 0
                ),
                "list_days": int(
                    conn.execute(sa.text("SELECT COUNT(DISTINCT list_date) FROM daily_entries")).scalar() or 0
                ),
                "papers_with_upvotes": int(
                    conn.execute(sa.text("SELECT COUNT(DISTINCT paper_id) FROM upvote_counts")).scalar() or 0
                ),
                "rejects": _count_rejects(self.settings.rejects_path),
            }


def _count_rejects(path: Any) -> int:
    """Distinct rejected records in ``rejects.jsonl``: the log is append-only, so every rerun of an
    ingest over the same bad record adds a line; a reader asks how many records are bad."""
    seen: set[tuple[object, object]] = set()
    try:
        with open(path, "rb") as handle:
            for line in handle:
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    seen.add((line, None))  # a damaged line still counts, once
                    continue
                seen.add((entry.get("origin"), entry.get("reason")) if isinstance(entry, dict) else (line, None))
    except FileNotFoundError:
        return 0
    return len(seen)


def open_store(home: str | None = None, database_url: str | None = None) -> Store:
    return Store.open(home, database_url)
