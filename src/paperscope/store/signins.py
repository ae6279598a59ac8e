"""Failed sign-ins, counted in the database so every worker and host of a site sees the same
counts, on SQLite and PostgreSQL alike.  Reached as ``store.signins``.

Three limits, each over the last :data:`WINDOW`; none lets one person lock out another:

- per account *and* client address (:data:`PAIR_LIMIT`): the guesser is stopped on that
  account from that address.  Everyone else behind the same address (an office, a carrier
  NAT) still signs in to their own accounts, and the account's owner still signs in from home.
- per account, from all addresses (:data:`ACCOUNT_LIMIT`): an account guessed at from many
  addresses is *slowed* to one attempt per :data:`SLOW_S` seconds, not locked, so its owner
  is delayed at worst rather than shut out.
- per client address, over all accounts (:data:`ADDRESS_LIMIT`): one address spraying many
  accounts is slowed the same way.  That slows the others behind it too, which is why the
  threshold is far above what a shared address's people mistype in a quarter of an hour.

An account is counted by its user id whichever name it was typed as (username or email), and
a name with no account by the name: a name that does not exist is limited exactly like one that
does, so the limits do not tell which accounts exist.  Counting is check-then-insert, not one
atomic step: concurrent guesses can pass a limit by the number of workers, a fixed amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

WINDOW = timedelta(minutes=15)
PAIR_LIMIT = 5
ACCOUNT_LIMIT = 20
ADDRESS_LIMIT = 100
SLOW_S = 30


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt is refused before its password is even checked, and for how long."""

    reason: str
    retry_after: int


class Signins:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def refusal(self, account: str, address: str, now: datetime | None = None) -> Refusal | None:
        """None when an attempt on ``account`` from ``address`` may go ahead, else why not."""
        now = now or datetime.now(UTC)
        since = _stamp(now - WINDOW)
        where_pair = "account = :a AND address = :i"
        with self.engine.connect() as conn:
            counts = {
                name: conn.execute(
                    sa.text(
                        f"SELECT COUNT(*), MIN(failed_at), MAX(failed_at) FROM signin_failures "
                        f"WHERE {where} AND failed_at > :since"
                    ),
                    {"a": account, "i": address, "since": since},
                ).one()
                for name, where in (("pair", where_pair), ("account", "account = :a"), ("address", "address = :i"))
            }
        count, oldest, _newest = counts["pair"]
        if count >= PAIR_LIMIT:
            # Blocked until the oldest of these failures leaves the window.
            wait = (_parse(oldest) + WINDOW - now).total_seconds()
            return Refusal("too many failed sign-ins to this account from your address", max(1, int(wait) + 1))
        for name, limit in (("account", ACCOUNT_LIMIT), ("address", ADDRESS_LIMIT)):
            count, _oldest, newest = counts[name]
            if count >= limit:
                wait = (_parse(newest) + timedelta(seconds=SLOW_S) - now).total_seconds()
                if wait > 0:
                    what = "this account" if name == "account" else "your address"
                    return Refusal(f"many failed sign-ins to {what} lately: one try every {SLOW_S} s", int(wait) + 1)
        return None

    def failed(self, account: str, address: str, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            # Forget what left the window (indexed), so the table stays the size of one window.
            conn.execute(
                sa.text("DELETE FROM signin_failures WHERE failed_at <= :since"), {"since": _stamp(now - WINDOW)}
            )
            conn.execute(
                sa.text("INSERT INTO signin_failures (account, address, failed_at) VALUES (:a, :i, :t)"),
                {"a": account, "i": address, "t": _stamp(now)},
            )

    def succeeded(self, account: str, address: str) -> None:
        """A right password: this address's failures on this account are forgiven (a typo or
        two must not add up to a block over the day); the account's other counts stay."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM signin_failures WHERE account = :a AND address = :i"),
                {"a": account, "i": address},
            )
