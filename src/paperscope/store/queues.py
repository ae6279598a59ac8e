"""The two queues a web request fills instead of waiting on the network: papers to fetch and mail to send.

``fetch_queue`` rows are submitted papers (``store.fetch_queue``); ``mail_outbox`` rows are
rendered messages (``store.outbox``).  What to do with them lives upstream:
:mod:`paperscope.harvest.fetch_queue` and :mod:`paperscope.mail.outbox`.

The outbox follows the digest sends' exactly-once protocol (:mod:`.digests`): a sender claims a
row with a conditional write (``sending``), marks it ``committing`` right before the final
``.`` of SMTP DATA and ``sent`` after the server's answer; a stale ``sending`` claim is taken
over (nothing was delivered), a stale ``committing`` one becomes ``unknown`` (never resent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .upsert import utc_now

# Both queues retry a failed row on one schedule: 1, 2, 4... minutes, capped at an hour, about
# eight hours of trying in all before the row is marked failed (with its last error) for good.
RETRY_BASE_S = 60.0
RETRY_MAX_S = 3600.0
MAX_ATTEMPTS = 12

QUEUED = "queued"
DONE = "done"
SENDING = "sending"
COMMITTING = "committing"
SENT = "sent"
FAILED = "failed"
UNKNOWN = "unknown"


@dataclass(slots=True)
class FetchItem:
    id: int
    input: str
    arxiv_id: str
    submitted_by: str | None
    list_date: str | None  # the daily list it joins; None for an import (collection_id), which joins none
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    paper_key: str | None
    created_at: str
    done_at: str | None
    collection_id: int | None = None  # a library import: added to this collection once fetched


@dataclass(slots=True)
class OutboxItem:
    id: int
    kind: str
    recipient: str
    message: str
    message_id: str
    status: str
    attempts: int
    next_attempt_at: str
    claimed_by: str | None
    claimed_at: str | None
    last_error: str | None
    created_at: str
    sent_at: str | None


def iso(moment: datetime) -> str:
    """The queues' time format (that of ``utc_now``), which sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def retry_at(now: datetime, attempts: int) -> str:
    """When a row that has failed ``attempts`` times is due again."""
    delay = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** max(0, attempts - 1))
    return iso(now + timedelta(seconds=delay))


def _fetch_item(row: Any) -> FetchItem:
    return FetchItem(**dict(row._mapping))


def _outbox_item(row: Any) -> OutboxItem:
    return OutboxItem(**dict(row._mapping))


def _counts(engine: Engine, table: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT status, COUNT(*) FROM {table} GROUP BY status"))
        return {str(status): int(n) for status, n in rows}


class FetchQueue:
    """Submitted papers waiting for the arXiv API, reached as ``store.fetch_queue``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enqueue(
        self,
        text: str,
        arxiv_id: str,
        *,
        submitted_by: str | None,
        list_date: str | None,
        collection_id: int | None = None,
    ) -> FetchItem:
        """Queue one paper; the same paper queued by the same person for the same day (or the
        same collection) is one row."""
        now = utc_now()
        params = {"i": text, "a": arxiv_id, "u": submitted_by, "d": list_date, "c": collection_id, "t": now}
        same = (
            "SELECT * FROM fetch_queue WHERE arxiv_id = :a AND COALESCE(list_date, '') = COALESCE(:d, '') "
            "AND status = 'queued' AND COALESCE(submitted_by, '') = COALESCE(:u, '') "
            "AND COALESCE(collection_id, 0) = COALESCE(:c, 0) ORDER BY id LIMIT 1"
        )
        with self.engine.begin() as conn:
            row = conn.execute(sa.text(same), params).first()
            if row is None:
                conn.execute(
                    sa.text(
                        "INSERT INTO fetch_queue (input, arxiv_id, submitted_by, list_date, collection_id, status, "
                        "attempts, next_attempt_at, created_at) VALUES (:i, :a, :u, :d, :c, 'queued', 0, :t, :t)"
                    ),
                    params,
                )
                row = conn.execute(sa.text(same), params).one()
        return _fetch_item(row)

    def due(self, now: str, limit: int) -> list[FetchItem]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT * FROM fetch_queue WHERE status = 'queued' AND next_attempt_at <= :t "
                    "ORDER BY id LIMIT :n"
                ),
                {"t": now, "n": limit},
            )
            return [_fetch_item(r) for r in rows]

    def items(self, status: str | None = None) -> list[FetchItem]:
        sql = "SELECT * FROM fetch_queue" + (" WHERE status = :s" if status else "") + " ORDER BY id"
        with self.engine.connect() as conn:
            return [_fetch_item(r) for r in conn.execute(sa.text(sql), {"s": status})]

    def recent(self, submitted_by: str, limit: int = 10) -> list[FetchItem]:
        """Someone's latest submissions, newest first (the submit page shows how they went)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM fetch_queue WHERE submitted_by = :u ORDER BY id DESC LIMIT :n"),
                {"u": submitted_by, "n": limit},
            )
            return [_fetch_item(r) for r in rows]

    def pending(self, arxiv_id: str) -> bool:
        """Whether a submission of this paper is still waiting (the paper page says it is on its way)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM fetch_queue WHERE arxiv_id = :a AND status = 'queued' LIMIT 1"),
                {"a": arxiv_id},
            ).first()
        return found is not None

    def done(self, item_id: int, paper_key: str) -> None:
        self._set(item_id, "status = 'done', paper_key = :k, done_at = :t, last_error = NULL", {"k": paper_key})

    def fail(self, item_id: int, error: str) -> None:
        self._set(item_id, "status = 'failed', attempts = attempts + 1, last_error = :e, done_at = :t", {"e": error})

    def retry(self, item_id: int, error: str, next_attempt_at: str) -> None:
        self._set(
            item_id,
            "attempts = attempts + 1, last_error = :e, next_attempt_at = :n",
            {"e": error, "n": next_attempt_at},
        )

    def _set(self, item_id: int, assignments: str, params: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(f"UPDATE fetch_queue SET {assignments} WHERE id = :id AND status = 'queued'"),
                {"id": item_id, "t": utc_now(), **params},
            )

    def counts(self) -> dict[str, int]:
        return _counts(self.engine, "fetch_queue")


class Outbox:
    """Rendered mail waiting to be delivered exactly once, reached as ``store.outbox``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enqueue(self, kind: str, recipient: str, message: str, message_id: str) -> OutboxItem:
        now = utc_now()
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    "INSERT INTO mail_outbox (kind, recipient, message, message_id, status, attempts, "
                    "next_attempt_at, created_at) VALUES (:k, :r, :m, :mid, 'queued', 0, :t, :t) "
                    "RETURNING *"
                ),
                {"k": kind, "r": recipient, "m": message, "mid": message_id, "t": now},
            ).one()
        return _outbox_item(row)

    def get(self, item_id: int) -> OutboxItem | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.text("SELECT * FROM mail_outbox WHERE id = :i"), {"i": item_id}).first()
        return _outbox_item(row) if row else None

    def items(self, status: str | None = None) -> list[OutboxItem]:
        sql = "SELECT * FROM mail_outbox" + (" WHERE status = :s" if status else "") + " ORDER BY id"
        with self.engine.connect() as conn:
            return [_outbox_item(r) for r in conn.execute(sa.text(sql), {"s": status})]

    def recover(self, is_stale: Callable[[OutboxItem], bool]) -> list[OutboxItem]:
        """Settle claims whose sender is gone: ``sending`` is due again, ``committing`` becomes
        ``unknown``.  Returns the rows made unknown (the caller reports them)."""
        unknown: list[OutboxItem] = []
        for item in self.items(SENDING) + self.items(COMMITTING):
            if not is_stale(item):
                continue
            extra: dict[str, str] = {}
            if item.status == SENDING:
                sql = "status = 'queued', claimed_by = NULL"
            else:
                sql = "status = 'unknown', last_error = :e"
                extra = {
                    "e": f"sender {item.claimed_by} stopped after the SMTP server had the whole message; "
                    "delivery unknown, not resent"
                }
            with self.engine.begin() as conn:
                won = conn.execute(
                    sa.text(
                        f"UPDATE mail_outbox SET {sql} WHERE id = :i AND status = :s AND claimed_by = :b"
                    ),
                    {"i": item.id, "s": item.status, "b": item.claimed_by, **extra},
                )
            if won.rowcount == 1 and item.status == COMMITTING:
                unknown.append(item)
        return unknown

    def claim_due(
        self, claimed_by: str, now: str, limit: int, ids: Sequence[int] | None = None
    ) -> list[OutboxItem]:
        """Claim up to ``limit`` due rows (of ``ids`` when given) for this sender; each conditional
        write says whether we won it."""
        sql = "SELECT id FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= :t"
        query = sa.text(sql + " ORDER BY id LIMIT :n")
        if ids is not None:
            query = sa.text(sql + " AND id IN :ids ORDER BY id LIMIT :n").bindparams(
                sa.bindparam("ids", expanding=True)
            )
        with self.engine.connect() as conn:
            candidates = [
                int(r[0]) for r in conn.execute(query, {"t": now, "n": limit, "ids": list(ids or [])})
            ]
        claimed: list[OutboxItem] = []
        for item_id in candidates:
            with self.engine.begin() as conn:
                won = conn.execute(
                    sa.text(
                        "UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1, claimed_by = :b, "
                        "claimed_at = :c WHERE id = :i AND status = 'queued'"
                    ),
                    {"i": item_id, "b": claimed_by, "c": utc_now()},
                )
                if won.rowcount == 1:
                    row = conn.execute(sa.text("SELECT * FROM mail_outbox WHERE id = :i"), {"i": item_id}).one()
                    claimed.append(_outbox_item(row))
        return claimed

    def _update(self, item: OutboxItem, sql: str, extra: dict[str, Any] | None = None) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.text(f"UPDATE mail_outbox SET {sql} WHERE id = :i AND claimed_by = :b"),
                {"i": item.id, "b": item.claimed_by, "t": utc_now(), **(extra or {})},
            )
            return result.rowcount == 1

    def mark_committing(self, item: OutboxItem) -> bool:
        return self._update(item, "status = 'committing', claimed_at = :t")

    def mark_sent(self, item: OutboxItem) -> bool:
        return self._update(item, "status = 'sent', sent_at = :t, last_error = NULL")

    def mark_unknown(self, item: OutboxItem, error: str) -> bool:
        return self._update(item, "status = 'unknown', last_error = :e", {"e": error})

    def retry(self, item: OutboxItem, error: str, next_attempt_at: str) -> bool:
        """A temporary failure: nothing was delivered, due again at ``next_attempt_at``."""
        return self._update(
            item,
            "status = 'queued', claimed_by = NULL, last_error = :e, next_attempt_at = :n",
            {"e": error, "n": next_attempt_at},
        )

    def release(self, item: OutboxItem) -> bool:
        """Give a claim back untried (the run stopped before it): as it was, the attempt not counted."""
        return self._update(item, "status = 'queued', claimed_by = NULL, attempts = attempts - 1")

    def fail(self, item: OutboxItem, error: str) -> bool:
        return self._update(item, "status = 'failed', last_error = :e", {"e": error})

    def counts(self) -> dict[str, int]:
        return _counts(self.engine, "mail_outbox")
