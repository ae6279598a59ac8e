"""Which papers still lack arXiv's metadata, and what arXiv said when it was asked about them.

A paper needs enriching while its metadata comes from a source other than arXiv's own (a
Hugging Face list, a saved page, a JSON list holding a bare id).  Once the arXiv record is
merged its ``meta_source`` is arXiv's and it is no longer a candidate, so nothing else needs
remembering for it.  Papers arXiv did not answer for get a ``paper_enrichment`` row with a
back-off (``next_try``), so each round asks only about papers that are due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..records import PaperRecord
from .models import UpsertCounts
from .upsert import BatchWriter, _executemany

# Sources whose metadata is arXiv's own.  BEIR corpora (evaluation sets) are not arXiv papers and
# are never looked up.
ARXIV_SOURCES = ("arxiv-api", "arxiv-oai", "arxiv-snapshot", "submit")
NEVER_ENRICHED = ("beir",)

_CANDIDATE_WHERE = """
p.meta_source NOT IN :done
AND NOT EXISTS (SELECT 1 FROM paper_enrichment e WHERE e.paper_id = p.id AND e.next_try > :now)
"""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A paper to complete: its id, public key, arXiv id (None: look it up by title) and title."""

    id: int
    key: str
    arxiv_id: str | None
    title: str
    title_norm: str
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Miss:
    """A paper arXiv gave no record for: ``status`` is ``not_found`` or ``failed``."""

    paper_id: int
    status: str
    reason: str


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _candidates_query(with_limit: bool) -> sa.TextClause:
    # Papers with an arXiv id first (one request answers 100 of them), then title lookups.
    sql = (
        "SELECT p.id, p.paper_key, p.arxiv_id, p.title, p.title_norm, "
        "COALESCE((SELECT e.attempts FROM paper_enrichment e WHERE e.paper_id = p.id), 0) AS attempts "
        f"FROM papers p WHERE {_CANDIDATE_WHERE} "
        "ORDER BY CASE WHEN p.arxiv_id IS NULL THEN 1 ELSE 0 END, p.id"
    )
    if with_limit:
        sql += " LIMIT :limit"
    return sa.text(sql).bindparams(sa.bindparam("done", expanding=True))


def due(conn: Connection, now: datetime, limit: int | None = None) -> list[Candidate]:
    """Papers lacking arXiv metadata whose back-off (if any) has passed, id-carrying ones first."""
    params: dict[str, Any] = {"done": [*ARXIV_SOURCES, *NEVER_ENRICHED], "now": _stamp(now)}
    if limit is not None:
        params["limit"] = limit
    rows = conn.execute(_candidates_query(limit is not None), params)
    return [
        Candidate(
            id=r.id, key=r.paper_key, arxiv_id=r.arxiv_id, title=r.title, title_norm=r.title_norm, attempts=r.attempts
        )
        for r in rows
    ]


def count_due(conn: Connection, now: datetime) -> int:
    query = sa.text(f"SELECT COUNT(*) FROM papers p WHERE {_CANDIDATE_WHERE}").bindparams(
        sa.bindparam("done", expanding=True)
    )
    return int(conn.execute(query, {"done": [*ARXIV_SOURCES, *NEVER_ENRICHED], "now": _stamp(now)}).scalar() or 0)


def count_waiting(conn: Connection, now: datetime) -> int:
    """Papers held back by their back-off: not due now, asked about again later."""
    query = sa.text(
        "SELECT COUNT(*) FROM paper_enrichment e JOIN papers p ON p.id = e.paper_id "
        "WHERE e.next_try > :now AND p.meta_source NOT IN :done"
    ).bindparams(sa.bindparam("done", expanding=True))
    return int(conn.execute(query, {"done": [*ARXIV_SOURCES, *NEVER_ENRICHED], "now": _stamp(now)}).scalar() or 0)


def write(
    conn: Connection,
    records: Sequence[PaperRecord],
    completed: Sequence[int],
    misses: Sequence[Miss],
    attempts: dict[int, int],
    now: datetime,
    backoff: timedelta,
    max_backoff: timedelta,
) -> UpsertCounts:
    """Merge arXiv's records and note the misses, in the caller's one transaction.

    A miss is asked about again after ``backoff`` doubled per earlier miss, at most ``max_backoff``:
    arXiv may list a paper days after Hugging Face does, but a paper it never lists should not
    cost a request every round.
    """
    counts = BatchWriter(conn).write(records) if records else UpsertCounts()
    if completed:
        query = sa.text("DELETE FROM paper_enrichment WHERE paper_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        )
        conn.execute(query, {"ids": list(completed)})
    rows = []
    for miss in misses:
        tries = attempts.get(miss.paper_id, 0) + 1
        wait = min(backoff * (2 ** (tries - 1)), max_backoff)
        rows.append(
            {
                "paper_id": miss.paper_id,
                "status": miss.status,
                "reason": miss.reason,
                "attempts": tries,
                "last_tried": _stamp(now),
                "next_try": _stamp(now + wait),
            }
        )
    if rows:
        _executemany(
            conn,
            "INSERT INTO paper_enrichment (paper_id, status, reason, attempts, last_tried, next_try) "
            "VALUES (:paper_id, :status, :reason, :attempts, :last_tried, :next_try) "
            "ON CONFLICT (paper_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, "
            "attempts = excluded.attempts, last_tried = excluded.last_tried, next_try = excluded.next_try",
            rows,
        )
    return counts


def status_of(conn: Connection, paper_id: int) -> dict[str, Any] | None:
    """The enrichment row of one paper (status, reason, attempts, last_tried, next_try), if any."""
    row = conn.execute(
        sa.text(
            "SELECT status, reason, attempts, last_tried, next_try FROM paper_enrichment WHERE paper_id = :id"
        ),
        {"id": paper_id},
    ).first()
    return dict(row._mapping) if row is not None else None
