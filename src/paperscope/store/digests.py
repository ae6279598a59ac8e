"""Subscriptions, digest sends and sent items: all the SQL of the email digests.

The exactly-once protocol lives in ``digest_sends`` (one row per subscription and period,
UNIQUE): a sender *claims* the row in its own transaction before it talks to SMTP, marks it
``committing`` right before the final ``.`` of SMTP DATA (the point after which the server
may have accepted the message), then ``sent``.  See :mod:`paperscope.mail.sending` for how a
stale claim is resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .upsert import utc_now

# Statuses of a subscription: pending -> active -> unsubscribed | suspended.
ACTIVE = "active"
PENDING = "pending"
UNSUBSCRIBED = "unsubscribed"
SUSPENDED = "suspended"

# Statuses of a digest send.  'sending' and 'committing' are claims in flight; 'deferred' is
# due again (temporary failure); 'sent', 'failed' (permanent) and 'unknown' are final.
SENDING = "sending"
COMMITTING = "committing"
SENT = "sent"
DEFERRED = "deferred"
FAILED = "failed"
UNKNOWN = "unknown"

SUSPEND_AFTER_FAILURES = 3


@dataclass(slots=True)
class Subscription:
    id: int
    email: str
    user_id: int | None
    frequency: str
    categories: list[str]
    keywords: str
    min_upvotes: int
    status: str
    permanent_failures: int
    created_at: str
    confirmed_at: str | None
    unsubscribed_at: str | None

    def filters(self) -> dict[str, Any]:
        return {"categories": self.categories, "keywords": self.keywords, "min_upvotes": self.min_upvotes}

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "user_id": self.user_id,
            "frequency": self.frequency,
            **self.filters(),
            "status": self.status,
            "permanent_failures": self.permanent_failures,
            "created_at": self.created_at,
            "confirmed_at": self.confirmed_at,
            "unsubscribed_at": self.unsubscribed_at,
        }


@dataclass(slots=True)
class DigestSend:
    id: int
    subscription_id: int
    period_key: str
    status: str
    attempts: int
    claimed_by: str | None
    claimed_at: str | None
    last_error: str | None
    message_id: str | None
    sent_at: str | None
    email: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(slots=True)
class Claim:
    """A won claim: the row to update as the send proceeds."""

    send_id: int
    subscription_id: int
    period_key: str
    claimed_by: str
    message_id: str
    reclaimed: bool = False
    notes: list[str] = field(default_factory=list)


def _row_to_subscription(row: Any) -> Subscription:
    m = row._mapping
    return Subscription(
        id=m["id"],
        email=m["email"],
        user_id=m["user_id"],
        frequency=m["frequency"],
        categories=orjson.loads(m["categories"]),
        keywords=m["keywords"] or "",
        min_upvotes=int(m["min_upvotes"] or 0),
        status=m["status"],
        permanent_failures=int(m["permanent_failures"] or 0),
        created_at=m["created_at"],
        confirmed_at=m["confirmed_at"],
        unsubscribed_at=m["unsubscribed_at"],
    )


def _row_to_send(row: Any) -> DigestSend:
    m = row._mapping
    return DigestSend(
        id=m["id"],
        subscription_id=m["subscription_id"],
        period_key=m["period_key"],
        status=m["status"],
        attempts=int(m["attempts"] or 0),
        claimed_by=m["claimed_by"],
        claimed_at=m["claimed_at"],
        last_error=m["last_error"],
        message_id=m["message_id"],
        sent_at=m["sent_at"],
        email=m.get("email", ""),
    )


# Statements more than one method runs, written once.
_SUBSCRIPTION_OF = sa.text("SELECT * FROM subscriptions WHERE email = :e AND frequency = :f")
_SEND_OF = sa.text("SELECT * FROM digest_sends WHERE subscription_id = :s AND period_key = :p")
_SEND = sa.text("SELECT * FROM digest_sends WHERE id = :i")
# A digest's items are released whenever its send is given up or will be retried: those papers
# were not delivered, so the next digest may carry them.
_FREE_ITEMS = sa.text("DELETE FROM digest_items WHERE subscription_id = :s AND period_key = :p")
# The columns _set_subscription may write (names are spliced into SQL: only these, never input).
_SUBSCRIPTION_COLUMNS = frozenset(
    {"user_id", "frequency", "categories", "keywords", "min_upvotes", "status", "permanent_failures",
     "confirmed_at", "unsubscribed_at"}
)


def _set_subscription(conn: Connection, subscription_id: int, where: str = "", **values: Any) -> int:
    """``UPDATE subscriptions SET <values> WHERE id = ...`` (plus ``where``); the row count."""
    assert values and set(values) <= _SUBSCRIPTION_COLUMNS, values
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    result = conn.execute(
        sa.text(f"UPDATE subscriptions SET {assignments} WHERE id = :_id {where}"), {**values, "_id": subscription_id}
    )
    return int(result.rowcount or 0)


def _free_items(conn: Connection, subscription_id: int, period_key: str) -> None:
    conn.execute(_FREE_ITEMS, {"s": subscription_id, "p": period_key})


class DigestStore:
    """The digest tables, reached as ``store.digests``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- subscriptions --------------------------------------------------------------------
    def subscribe(
        self,
        email: str,
        frequency: str,
        *,
        categories: Sequence[str] = (),
        keywords: str = "",
        min_upvotes: int = 0,
    ) -> Subscription:
        """Create (or re-open) a *pending* subscription; an active one is returned unchanged.

        Changing the filters of an active subscription needs the confirmation link (it carries
        the new filters) or a signed-in owner, so a stranger cannot rewrite someone's digest.
        """
        now = utc_now()
        params = {
            "e": email,
            "f": frequency,
            "c": orjson.dumps(list(categories)).decode(),
            "k": keywords,
            "m": min_upvotes,
            "t": now,
        }
        with self.engine.begin() as conn:
            existing = conn.execute(_SUBSCRIPTION_OF, params).first()
            if existing is None:
                conn.execute(
                    sa.text(
                        "INSERT INTO subscriptions (email, user_id, frequency, categories, keywords, "
                        "min_upvotes, status, permanent_failures, created_at) "
                        "VALUES (:e, NULL, :f, :c, :k, :m, 'pending', 0, :t)"
                    ),
                    params,
                )
            elif existing.status != ACTIVE:
                conn.execute(
                    sa.text(
                        "UPDATE subscriptions SET categories = :c, keywords = :k, min_upvotes = :m, "
                        "status = 'pending' "
                        "WHERE email = :e AND frequency = :f"
                    ),
                    params,
                )
            row = conn.execute(_SUBSCRIPTION_OF, params).one()
        return _row_to_subscription(row)

    def get(self, subscription_id: int) -> Subscription | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT * FROM subscriptions WHERE id = :i"), {"i": subscription_id}
            ).first()
        return _row_to_subscription(row) if row else None

    def subscriptions(self, *, email: str | None = None, status: str | None = None) -> list[Subscription]:
        sql = "SELECT * FROM subscriptions WHERE 1 = 1"
        params: dict[str, Any] = {}
        if email is not None:
            sql += " AND LOWER(email) = LOWER(:e)"
            params["e"] = email
        if status is not None:
            sql += " AND status = :s"
            params["s"] = status
        with self.engine.connect() as conn:
            return [_row_to_subscription(r) for r in conn.execute(sa.text(sql + " ORDER BY id"), params)]

    def for_user(self, user_id: int) -> list[Subscription]:
        """A signed-in user's subscriptions: those linked to the account by a confirmation click.

        Not matched by email address: account emails are not verified, so an address alone
        does not prove that the account owns the mailbox.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM subscriptions WHERE user_id = :u ORDER BY id"), {"u": user_id}
            )
            return [_row_to_subscription(r) for r in rows]

    def confirm(
        self, subscription_id: int, filters: dict[str, Any] | None = None, user_id: int | None = None
    ) -> Subscription | None:
        """Activate (double opt-in clicked); the signed link's filters and account are applied."""
        with self.engine.begin() as conn:
            if filters is not None:
                self._set_filters(conn, subscription_id, filters)
            if user_id is not None:
                _set_subscription(conn, subscription_id, user_id=user_id)
            _set_subscription(
                conn, subscription_id, status=ACTIVE, permanent_failures=0, confirmed_at=utc_now(), unsubscribed_at=None
            )
        return self.get(subscription_id)

    def update(
        self,
        subscription_id: int,
        *,
        frequency: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> Subscription | None:
        """Change a subscription in place (signed-in owner or operator)."""
        with self.engine.begin() as conn:
            if filters is not None:
                self._set_filters(conn, subscription_id, filters)
            if frequency is not None:
                _set_subscription(conn, subscription_id, frequency=frequency)
        return self.get(subscription_id)

    @staticmethod
    def _set_filters(conn: Connection, subscription_id: int, filters: dict[str, Any]) -> None:
        _set_subscription(
            conn,
            subscription_id,
            categories=orjson.dumps(list(filters.get("categories") or [])).decode(),
            keywords=filters.get("keywords") or "",
            min_upvotes=int(filters.get("min_upvotes") or 0),
        )

    def unsubscribe(self, subscription_id: int) -> Subscription | None:
        with self.engine.begin() as conn:
            _set_subscription(
                conn, subscription_id, "AND status <> 'unsubscribed'", status="unsubscribed", unsubscribed_at=utc_now()
            )
        return self.get(subscription_id)

    # -- what a subscriber has seen or saved ----------------------------------------------
    def sent_paper_ids(self, subscription_id: int) -> set[int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT paper_id FROM digest_items WHERE subscription_id = :s"),
                {"s": subscription_id},
            )
            return {int(r[0]) for r in rows}

    def saved_paper_ids(self, user_id: int) -> list[int]:
        """Papers a user upvoted or put in a collection, most recent first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT paper_id, MAX(at) AS latest FROM ("
                    " SELECT paper_id, created_at AS at FROM votes WHERE user_id = :u"
                    " UNION ALL"
                    " SELECT ci.paper_id, ci.added_at AS at FROM collection_items ci"
                    " JOIN collections c ON c.id = ci.collection_id WHERE c.user_id = :u"
                    ") saved GROUP BY paper_id ORDER BY latest DESC, paper_id"
                ),
                {"u": user_id},
            )
            return [int(r[0]) for r in rows]

    # -- sends ----------------------------------------------------------------------------
    def count_sent(self) -> int:
        """Digests delivered so far (for the metrics)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM digest_sends WHERE status = 'sent'")).scalar() or 0)

    def send_for(self, subscription_id: int, period_key: str) -> DigestSend | None:
        with self.engine.connect() as conn:
            row = conn.execute(_SEND_OF, {"s": subscription_id, "p": period_key}).first()
        return _row_to_send(row) if row else None

    def sends(
        self, *, statuses: Sequence[str] | None = None, period_key: str | None = None
    ) -> list[DigestSend]:
        sql = (
            "SELECT d.*, s.email AS email FROM digest_sends d "
            "JOIN subscriptions s ON s.id = d.subscription_id WHERE 1 = 1"
        )
        params: dict[str, Any] = {}
        if statuses:
            sql += " AND d.status IN :st"
            params["st"] = list(statuses)
        if period_key is not None:
            sql += " AND d.period_key = :p"
            params["p"] = period_key
        query = sa.text(sql + " ORDER BY d.id")
        if statuses:
            query = query.bindparams(sa.bindparam("st", expanding=True))
        with self.engine.connect() as conn:
            return [_row_to_send(r) for r in conn.execute(query, params)]

    def claim(
        self,
        subscription_id: int,
        period_key: str,
        *,
        claimed_by: str,
        message_id: str,
        is_stale: Callable[[DigestSend], bool],
    ) -> Claim | None:
        """Try to take the (subscription, period) send; None when it is done or someone else holds it.

        Each branch is a conditional write whose row count says whether *we* won, so two
        senders racing for one row cannot both get it (the UNIQUE constraint settles inserts).
        A stale ``committing`` claim is turned into ``unknown`` here, never resent.
        """
        now = utc_now()
        params = {"s": subscription_id, "p": period_key, "b": claimed_by, "t": now, "m": message_id}
        with self.engine.begin() as conn:
            inserted = conn.execute(
                sa.text(
                    "INSERT INTO digest_sends (subscription_id, period_key, status, attempts, claimed_by, "
                    "claimed_at, message_id) VALUES (:s, :p, 'sending', 1, :b, :t, :m) "
                    "ON CONFLICT (subscription_id, period_key) DO NOTHING"
                ),
                params,
            )
            row = conn.execute(_SEND_OF, params).one()
            current = _row_to_send(row)
            if inserted.rowcount == 1:
                return Claim(current.id, subscription_id, period_key, claimed_by, message_id)
            reclaim = current.status == DEFERRED or (current.status == SENDING and is_stale(current))
            if current.status == COMMITTING and is_stale(current):
                conn.execute(
                    sa.text(
                        "UPDATE digest_sends SET status = 'unknown', last_error = :e "
                        "WHERE id = :i AND status = 'committing' AND claimed_by = :old"
                    ),
                    {
                        "i": current.id,
                        "old": current.claimed_by,
                        "e": f"sender {current.claimed_by} stopped after the SMTP server had the whole "
                        "message; delivery unknown, not resent (resolve with 'paperscope digest resolve')",
                    },
                )
                return None
            if not reclaim:
                return None
            won = conn.execute(
                sa.text(
                    "UPDATE digest_sends SET status = 'sending', attempts = attempts + 1, claimed_by = :b, "
                    "claimed_at = :t, message_id = :m "
                    "WHERE id = :i AND status = :old_status AND COALESCE(claimed_by, '') = :old_by"
                ),
                {
                    **params,
                    "i": current.id,
                    "old_status": current.status,
                    "old_by": current.claimed_by or "",
                },
            )
            if won.rowcount != 1:
                return None
            # Items recorded by the abandoned claim were never delivered: free them again.
            _free_items(conn, subscription_id, period_key)
            return Claim(current.id, subscription_id, period_key, claimed_by, message_id, reclaimed=True)

    def record_items(self, claim: Claim, paper_ids: Sequence[int]) -> None:
        """Fix the papers of a claimed digest before sending (they are never sent twice)."""
        if not paper_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO digest_items (subscription_id, paper_id, period_key) VALUES (:s, :p, :k) "
                    "ON CONFLICT (subscription_id, paper_id) DO NOTHING"
                ),
                [{"s": claim.subscription_id, "p": pid, "k": claim.period_key} for pid in paper_ids],
            )

    def _update_claim(
        self, claim: Claim, sql: str, extra: dict[str, Any] | None = None, *, free_items: bool = False
    ) -> bool:
        """Run ``sql`` on the claimed send, only while ``claim`` still holds it; True when it did.
        With ``free_items`` the claim's digest items are released in the same transaction."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.text(sql + " WHERE id = :i AND claimed_by = :b"),
                {"i": claim.send_id, "b": claim.claimed_by, "t": utc_now(), **(extra or {})},
            )
            won = result.rowcount == 1
            if won and free_items:
                _free_items(conn, claim.subscription_id, claim.period_key)
            return won

    def mark_committing(self, claim: Claim) -> bool:
        return self._update_claim(claim, "UPDATE digest_sends SET status = 'committing', claimed_at = :t")

    def mark_sending(self, claim: Claim) -> bool:
        """Back from 'committing' after the server answered the DATA with a refusal (nothing sent)."""
        return self._update_claim(claim, "UPDATE digest_sends SET status = 'sending', claimed_at = :t")

    def mark_sent(self, claim: Claim) -> None:
        self._update_claim(
            claim, "UPDATE digest_sends SET status = 'sent', sent_at = :t, last_error = NULL"
        )
        with self.engine.begin() as conn:
            _set_subscription(conn, claim.subscription_id, permanent_failures=0)

    def mark_unknown(self, claim: Claim, error: str) -> None:
        self._update_claim(
            claim, "UPDATE digest_sends SET status = 'unknown', last_error = :e", {"e": error}
        )

    def release(self, claim: Claim) -> None:
        """Give a claim up as if it never happened (nothing to send yet): no row, no items."""
        with self.engine.begin() as conn:
            gone = conn.execute(
                sa.text(
                    "DELETE FROM digest_sends WHERE id = :i AND claimed_by = :b AND status = 'sending'"
                ),
                {"i": claim.send_id, "b": claim.claimed_by},
            )
            if gone.rowcount == 1:
                _free_items(conn, claim.subscription_id, claim.period_key)

    def defer(self, claim: Claim, error: str) -> None:
        """A temporary failure: the digest stays due and its papers are free again."""
        self._update_claim(
            claim,
            "UPDATE digest_sends SET status = 'deferred', last_error = :e, claimed_by = NULL",
            {"e": error},
            free_items=True,
        )

    def fail(self, claim: Claim, error: str) -> bool:
        """A permanent failure for this period; True when the address is now suspended."""
        if not self._update_claim(
            claim, "UPDATE digest_sends SET status = 'failed', last_error = :e", {"e": error}, free_items=True
        ):
            return False
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE subscriptions SET permanent_failures = permanent_failures + 1 WHERE id = :s"
                ),
                {"s": claim.subscription_id},
            )
            suspended = _set_subscription(
                conn,
                claim.subscription_id,
                f"AND status = 'active' AND permanent_failures >= {int(SUSPEND_AFTER_FAILURES)}",
                status="suspended",
            )
            return suspended == 1

    def resolve(self, send_id: int, *, delivered: bool) -> DigestSend | None:
        """Operator decision on an 'unknown' send: delivered -> 'sent', else due again."""
        with self.engine.begin() as conn:
            row = conn.execute(_SEND, {"i": send_id}).first()
            if row is None:
                return None
            if row.status == UNKNOWN:
                if delivered:
                    conn.execute(
                        sa.text("UPDATE digest_sends SET status = 'sent', sent_at = :t WHERE id = :i"),
                        {"i": send_id, "t": utc_now()},
                    )
                else:
                    _free_items(conn, row.subscription_id, row.period_key)
                    conn.execute(
                        sa.text(
                            "UPDATE digest_sends SET status = 'deferred', claimed_by = NULL WHERE id = :i"
                        ),
                        {"i": send_id},
                    )
            row = conn.execute(_SEND, {"i": send_id}).one()
        return _row_to_send(row)
