"""Sign-ups waiting for the mailbox owner's click.  Reached as ``store.signups``.

Why a sign-up waits: the form must answer the same whether or not its email address already
has an account, or it tells anyone which addresses are registered.  So the site never says;
it mails the address instead -- a link that finishes the sign-up when the address is free, a
notice that someone tried when it is taken (:mod:`paperscope.mail.signup`) -- and only the
mailbox owner learns which.  The link's token is random; only its hash is stored, next to
the password's argon2 hash (the password itself is never kept, not even in the mail).

The username is different, and the form does say when one is taken: a username is unique and
shown on public pages (a public collection names its owner), so whether a name exists is
already public, and a person choosing one must be told to choose another.  Saying so reveals
nothing that browsing the site does not, and nothing about the private email.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .accounts import AccountError, User, check_new_account, hash_password, hash_token

if TYPE_CHECKING:
    from . import Store

LINK_HOURS = 24


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Started:
    """What a sign-up form led to; only the mail to ``email`` tells the two cases apart.
    ``token``: the new link's (None when the address already has an account, ``existing``)."""

    username: str
    email: str
    token: str | None = None
    existing: str | None = None  # the username of the account the address already has


@dataclass(frozen=True, slots=True)
class Pending:
    username: str
    email: str


class Signups:
    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, username: str, email: str, password: str, *, now: datetime | None = None) -> Started:
        """Check the form (an :class:`AccountError` naming the field: bad values, a common
        password, a username already taken -- public anyway, see the module docstring), then
        either make a link (the address is free) or report the account the address has."""
        username, email = check_new_account(username, email, password)
        now = now or datetime.now(UTC)
        with self.store.connect() as conn:
            owner = conn.execute(sa.text("SELECT username FROM users WHERE email = :e"), {"e": email}).first()
            name_taken = conn.execute(
                sa.text("SELECT 1 FROM users WHERE lower(username) = lower(:u)"), {"u": username}
            ).first()
        if name_taken is not None:
            raise AccountError("that username is already taken: choose another", "username")
        if owner is not None:
            return Started(username, email, existing=str(owner[0]))
        token = secrets.token_urlsafe(32)
        with self.store.transaction() as conn:
            conn.execute(sa.text("DELETE FROM pending_signups WHERE expires_at <= :n"), {"n": _stamp(now)})
            conn.execute(
                sa.text(
                    "INSERT INTO pending_signups (token_hash, username, email, password_hash, created_at, expires_at) "
                    "VALUES (:h, :u, :e, :p, :c, :x)"
                ),
                {
                    "h": hash_token(token),
                    "u": username,
                    "e": email,
                    "p": hash_password(password),
                    "c": _stamp(now),
                    "x": _stamp(now + timedelta(hours=LINK_HOURS)),
                },
            )
        return Started(username, email, token=token)

    def pending(self, token: str, *, now: datetime | None = None) -> Pending | None:
        """The sign-up a link stands for, while it is valid (reading changes nothing)."""
        with self.store.connect() as conn:
            row = conn.execute(
                sa.text("SELECT username, email FROM pending_signups WHERE token_hash = :h AND expires_at > :n"),
                {"h": hash_token(token), "n": _stamp(now or datetime.now(UTC))},
            ).first()
        return Pending(row[0], row[1]) if row else None

    def finish(self, token: str, *, now: datetime | None = None) -> User:
        """The account of a valid link, made now; the link is spent either way.  An
        :class:`AccountError` when the link is unknown, spent or expired, or when the name or
        address was taken in the meantime."""
        with self.store.transaction() as conn:
            row = conn.execute(
                sa.text(
                    "DELETE FROM pending_signups WHERE token_hash = :h AND expires_at > :n "
                    "RETURNING username, email, password_hash"
                ),
                {"h": hash_token(token), "n": _stamp(now or datetime.now(UTC))},
            ).first()
        if row is None:
            raise AccountError(
                f"this sign-up link is not valid: it was used already, or is older than {LINK_HOURS} hours. "
                "Sign up again to get a new one.",
                "token",
            )
        return self.store.accounts.insert_user(row[0], row[1], row[2])
