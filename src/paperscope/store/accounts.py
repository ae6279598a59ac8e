"""Accounts, server-side sessions, local upvotes and collections.

Reached as ``store.accounts``.  Passwords are hashed here with argon2 (argon2-cffi) so that the
web app and the ``paperscope user`` command cannot disagree on how; the database only ever
sees the hash.  Session tokens are random 32-byte strings given to the browser; the
``sessions`` table keeps their SHA-256, so a leaked database does not leak live sessions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from ..checks import is_email
from ..errors import PaperscopeError
from ..passwords import is_common
from .signins import Refusal
from .upsert import record_changes, utc_now

if TYPE_CHECKING:
    from . import Store

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is a cheap DoS
SESSION_DAYS = 30
COMMON_PASSWORD = (
    "that password is one of the most common ones (or your username or email), which attackers "
    "try first: choose another, such as a few unrelated words"
)
MAX_COLLECTION_NAME = 100

# OWASP's recommended argon2id settings (19 MiB, 2 passes, 1 lane) rather than argon2-cffi's
# heavier default (64 MiB, 3 passes, 4 lanes): on a 2-core server the default costs ~0.5 s of
# CPU per sign-in, which turns a burst of sign-ins into a denial of service.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash to verify against when the user does not exist, so that sign-in takes the same
    time either way and response time does not reveal which usernames exist."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("paperscope-dummy-password")
    return _dummy_hash


class AccountError(PaperscopeError):
    """A sign-up, sign-in or collection request that cannot be done as asked; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    email: str
    created_at: str


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as its owner sees it: an id (the start of its hash), never the token itself."""

    id: str
    created_at: str
    expires_at: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "created_at": self.created_at, "expires_at": self.expires_at}


TOKEN_ID_CHARS = 12
BROWSER, API = "browser", "api"


@dataclass(frozen=True, slots=True)
class Collection:
    id: int
    user_id: int
    name: str
    created_at: str
    size: int = 0
    public: bool = False


@dataclass(frozen=True, slots=True)
class VoteCounts:
    """Upvotes of one paper after a vote: Hugging Face's, ours, and whether this user voted."""

    paper_id: int
    hf_upvotes: int
    local_upvotes: int
    voted: bool

    @property
    def upvotes(self) -> int:
        return self.hf_upvotes + self.local_upvotes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _collection(r: Any) -> Collection:
    return Collection(int(r[0]), int(r[1]), r[2], r[3], int(r[4]), bool(r[5]))


# Statements more than one method runs, written once.
_USER = "SELECT id, username, email, created_at FROM users"
_COLLECTION = (
    "SELECT c.id, c.user_id, c.name, c.created_at, "
    "(SELECT COUNT(*) FROM collection_items i WHERE i.collection_id = c.id), c.public FROM collections c"
)


def check_new_account(username: str, email: str, password: str) -> tuple[str, str]:
    """The username and email as stored (trimmed; the email lower-case), or an
    :class:`AccountError` naming the field that cannot be used as given."""
    username = username.strip()
    email = email.strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError(
            "username must be 3-32 characters: letters, digits, '_', '-' or '.', starting with a letter or digit",
            "username",
        )
    if not is_email(email):
        raise AccountError("email must be an address such as name@example.org", "email")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", "password")
    if is_common(password, username, email, email.partition("@")[0]):
        raise AccountError(COMMON_PASSWORD, "password")
    return username, email


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _user(row: Any) -> User:
    return User(id=int(row[0]), username=row[1], email=row[2], created_at=row[3])


class Accounts:
    """Users, sessions, votes and collections of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- users ----------------------------------------------------------------------------
    def create_user(self, username: str, email: str, password: str) -> User:
        username, email = check_new_account(username, email, password)
        return self.insert_user(username, email, _hasher.hash(password))

    def insert_user(self, username: str, email: str, password_hash: str) -> User:
        """The new account of already checked values (:func:`check_new_account`); an
        :class:`AccountError` naming the field when the username or email is taken."""
        now = utc_now()
        try:
            with self.store.transaction() as conn:
                taken = conn.execute(
                    sa.text("SELECT username, email FROM users WHERE lower(username) = lower(:u) OR email = :e"),
                    {"u": username, "e": email},
                ).first()
                if taken is not None:
                    field = "username" if taken[0].lower() == username.lower() else "email"
                    raise AccountError(f"that {field} is already registered", field)
                user_id = conn.execute(
                    sa.text(
                        "INSERT INTO users (username, email, password_hash, created_at) "
                        "VALUES (:u, :e, :h, :t) RETURNING id"
                    ),
                    {"u": username, "e": email, "h": password_hash, "t": now},
                ).scalar_one()
        except IntegrityError as error:  # a concurrent sign-up took the name between check and insert
            raise AccountError("that username or email is already registered", "username") from error
        return User(id=int(user_id), username=username, email=email, created_at=now)

    def get_user(self, user_id: int) -> User | None:
        with self.store.connect() as conn:
            row = conn.execute(
                sa.text(f"{_USER} WHERE id = :i"), {"i": user_id}
            ).first()
        return _user(row) if row else None

    def get_user_by_name(self, username: str) -> User | None:
        with self.store.connect() as conn:
            row = conn.execute(
                sa.text(f"{_USER} WHERE lower(username) = lower(:u)"),
                {"u": username.strip()},
            ).first()
        return _user(row) if row else None

    def sign_in(self, name: str, password: str, address: str) -> User | Refusal | None:
        """:meth:`authenticate` under the failed-sign-in limits (:mod:`.signins`): the user, None
        for a wrong name or password, or the :class:`~.signins.Refusal` of a limit (the password
        is then not even checked)."""
        with self.store.connect() as conn:
            found = conn.execute(
                sa.text("SELECT id FROM users WHERE lower(username) = lower(:u) OR email = lower(:u)"),
                {"u": name.strip()},
            ).first()
        # One account whichever of its names was typed; a name without one counts as itself.
        account = f"user:{found[0]}" if found else f"name:{name.strip().lower()[:300]}"
        signins = self.store.signins
        refusal = signins.refusal(account, address)
        if refusal is not None:
            return refusal
        user = self.authenticate(name, password)
        if user is None:
            signins.failed(account, address)
        else:
            signins.succeeded(account, address)
        return user

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches, else None (same work either way)."""
        with self.store.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT id, username, email, created_at, password_hash FROM users "
                    "WHERE lower(username) = lower(:u) OR email = lower(:u)"
                ),
                {"u": username.strip()},
            ).first()
        stored = row[4] if row else _dummy()
        try:
            _hasher.verify(stored, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.store.transaction() as conn:
                conn.execute(
                    sa.text("UPDATE users SET password_hash = :h WHERE id = :i"),
                    {"h": _hasher.hash(password), "i": row[0]},
                )
        return _user(row)

    # -- sessions -------------------------------------------------------------------------
    def create_session(self, user_id: int, days: int = SESSION_DAYS, *, kind: str = BROWSER) -> str:
        """A new session for ``user_id``; returns the raw token (only its hash is stored).
        ``kind`` is ``browser`` (a sign-in) or ``api`` (a bearer token, listable and revocable)."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.store.transaction() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, kind) "
                    "VALUES (:h, :u, :c, :e, :k)"
                ),
                {
                    "h": hash_token(token),
                    "u": user_id,
                    "c": now.isoformat(timespec="seconds"),
                    "e": (now + timedelta(days=days)).isoformat(timespec="seconds"),
                    "k": kind,
                },
            )
        return token

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        """A user's live API tokens, newest first."""
        with self.store.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT token_hash, created_at, expires_at FROM sessions "
                    "WHERE user_id = :u AND kind = :k AND expires_at > :now ORDER BY created_at DESC, token_hash"
                ),
                {"u": user_id, "k": API, "now": datetime.now(UTC).isoformat(timespec="seconds")},
            )
            return [ApiToken(r[0][:TOKEN_ID_CHARS], r[1], r[2]) for r in rows]

    def revoke_token(self, user_id: int, token_id: str | None) -> int:
        """Revoke one API token of ``user_id`` by its id (None: all of them); how many went."""
        sql = "DELETE FROM sessions WHERE user_id = :u AND kind = :k"
        params: dict[str, Any] = {"u": user_id, "k": API}
        if token_id is not None:
            if len(token_id) != TOKEN_ID_CHARS or not all(c in "0123456789abcdef" for c in token_id):
                return 0
            sql += " AND substr(token_hash, 1, :n) = :t"
            params.update(n=TOKEN_ID_CHARS, t=token_id)
        with self.store.transaction() as conn:
            return int(conn.execute(sa.text(sql), params).rowcount or 0)

    def session_user(self, token: str) -> User | None:
        """The user a live session token belongs to, or None (unknown or expired)."""
        if not token or len(token) > 200:
            return None
        with self.store.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT u.id, u.username, u.email, u.created_at FROM sessions s "
                    "JOIN users u ON u.id = s.user_id WHERE s.token_hash = :h AND s.expires_at > :now"
                ),
                {"h": hash_token(token), "now": datetime.now(UTC).isoformat(timespec="seconds")},
            ).first()
        return _user(row) if row else None

    def delete_session(self, token: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(sa.text("DELETE FROM sessions WHERE token_hash = :h"), {"h": hash_token(token)})

    def purge_expired_sessions(self) -> int:
        with self.store.transaction() as conn:
            result = conn.execute(
                sa.text("DELETE FROM sessions WHERE expires_at <= :now"),
                {"now": datetime.now(UTC).isoformat(timespec="seconds")},
            )
        return int(result.rowcount or 0)

    # -- votes ----------------------------------------------------------------------------
    def toggle_vote(self, user_id: int, paper_id: int) -> VoteCounts:
        """Add this user's vote, or take it back when it is there; returns the counts after."""
        return self._vote(user_id, paper_id, None)

    def set_vote(self, user_id: int, paper_id: int, voted: bool) -> VoteCounts:
        """Make the vote be ``voted`` whatever it was (idempotent, for clients that retry)."""
        return self._vote(user_id, paper_id, voted)

    def _vote(self, user_id: int, paper_id: int, wanted: bool | None) -> VoteCounts:
        """The (user, paper) primary key is what makes counts exact under concurrent requests:
        ``ON CONFLICT DO NOTHING`` tells us whether the row was new, and a toggle deletes only
        when it was not.  A vote that changed anything enters the change record, so the search
        indexes (upvote filter and sort) pick it up on their next incremental update."""
        params = {"u": user_id, "p": paper_id, "t": utc_now()}
        with self.store.transaction() as conn:
            changed = 0
            if wanted is None or wanted:
                changed = conn.execute(
                    sa.text(
                        "INSERT INTO votes (user_id, paper_id, created_at) VALUES (:u, :p, :t) "
                        "ON CONFLICT (user_id, paper_id) DO NOTHING"
                    ),
                    params,
                ).rowcount
            voted = bool(changed) if wanted is None else wanted
            if not voted:
                changed = conn.execute(
                    sa.text("DELETE FROM votes WHERE user_id = :u AND paper_id = :p"), params
                ).rowcount
            if changed:
                record_changes(conn, [{"paper_id": paper_id, "changed_at": params["t"]}])
            return self._counts(conn, user_id, paper_id, voted=voted)

    @staticmethod
    def _counts(conn: sa.Connection, user_id: int, paper_id: int, *, voted: bool) -> VoteCounts:
        row = conn.execute(
            sa.text(
                "SELECT COALESCE((SELECT MAX(upvotes) FROM upvote_counts WHERE paper_id = :p), 0), "
                "(SELECT COUNT(*) FROM votes WHERE paper_id = :p)"
            ),
            {"p": paper_id},
        ).one()
        return VoteCounts(paper_id=paper_id, hf_upvotes=int(row[0]), local_upvotes=int(row[1]), voted=voted)

    def voted(self, user_id: int, paper_ids: list[int]) -> set[int]:
        """Which of ``paper_ids`` this user has upvoted (one query for a whole page)."""
        if not paper_ids:
            return set()
        query = sa.text("SELECT paper_id FROM votes WHERE user_id = :u AND paper_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        )
        with self.store.connect() as conn:
            return {int(r[0]) for r in conn.execute(query, {"u": user_id, "ids": paper_ids})}

    # -- collections ----------------------------------------------------------------------
    def create_collection(self, user_id: int, name: str) -> Collection:
        name = " ".join(name.split())
        if not 1 <= len(name) <= MAX_COLLECTION_NAME:
            raise AccountError(f"a collection name must be 1 to {MAX_COLLECTION_NAME} characters", "name")
        now = utc_now()
        try:
            with self.store.transaction() as conn:
                new_id = conn.execute(
                    sa.text("INSERT INTO collections (user_id, name, created_at) VALUES (:u, :n, :t) RETURNING id"),
                    {"u": user_id, "n": name, "t": now},
                ).scalar_one()
        except IntegrityError as error:
            raise AccountError(f"you already have a collection named {name!r}", "name") from error
        return Collection(id=int(new_id), user_id=user_id, name=name, created_at=now)

    def collections(self, user_id: int) -> list[Collection]:
        with self.store.connect() as conn:
            rows = conn.execute(
                sa.text(f"{_COLLECTION} WHERE c.user_id = :u ORDER BY lower(c.name), c.id"),
                {"u": user_id},
            )
            return [_collection(r) for r in rows]

    def get_collection(self, user_id: int, collection_id: int) -> Collection | None:
        """The collection when ``user_id`` owns it; another user's collection is None, as if absent."""
        with self.store.connect() as conn:
            r = conn.execute(
                sa.text(f"{_COLLECTION} WHERE c.id = :c AND c.user_id = :u"),
                {"c": collection_id, "u": user_id},
            ).first()
        return _collection(r) if r else None

    def collection_by_id(self, collection_id: int) -> Collection | None:
        """Any collection by its id, whoever owns it (for jobs acting for its owner; never a page)."""
        with self.store.connect() as conn:
            r = conn.execute(sa.text(f"{_COLLECTION} WHERE c.id = :c"), {"c": collection_id}).first()
        return _collection(r) if r else None

    def visible_collection(self, collection_id: int, user_id: int | None) -> Collection | None:
        """The collection when it is public or ``user_id`` owns it; else None, as if absent."""
        with self.store.connect() as conn:
            r = conn.execute(
                sa.text(f"{_COLLECTION} WHERE c.id = :c AND (c.public OR c.user_id = :u)"),
                {"c": collection_id, "u": -1 if user_id is None else user_id},
            ).first()
        return _collection(r) if r else None

    def set_collection_public(self, user_id: int, collection_id: int, public: bool) -> bool:
        """Share a collection at its URL (and feed), or make it private again; False when not theirs."""
        with self.store.transaction() as conn:
            return bool(conn.execute(
                sa.text("UPDATE collections SET public = :p WHERE id = :c AND user_id = :u"),
                {"p": public, "c": collection_id, "u": user_id},
            ).rowcount)

    def collection_paper_ids(self, collection_id: int) -> list[int]:
        """Paper ids in a collection, most recently added first."""
        with self.store.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT paper_id FROM collection_items WHERE collection_id = :c ORDER BY added_at DESC, paper_id"
                ),
                {"c": collection_id},
            )
            return [int(r[0]) for r in rows]

    def collection_added_at(self, collection_id: int) -> dict[int, str]:
        """When each paper of a collection was saved to it (paper id -> ISO time)."""
        with self.store.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT paper_id, added_at FROM collection_items WHERE collection_id = :c"),
                {"c": collection_id},
            )
            return {int(r[0]): str(r[1]) for r in rows}

    def add_to_collection(self, user_id: int, collection_id: int, paper_id: int) -> bool:
        """Save a paper (True when newly added); raises AccountError when the collection is not theirs."""
        if self.get_collection(user_id, collection_id) is None:
            raise AccountError("no such collection", "collection")
        with self.store.transaction() as conn:
            added = conn.execute(
                sa.text(
                    "INSERT INTO collection_items (collection_id, paper_id, added_at) VALUES (:c, :p, :t) "
                    "ON CONFLICT (collection_id, paper_id) DO NOTHING"
                ),
                {"c": collection_id, "p": paper_id, "t": utc_now()},
            ).rowcount
        return bool(added)

    def remove_from_collection(self, user_id: int, collection_id: int, paper_id: int) -> bool:
        if self.get_collection(user_id, collection_id) is None:
            raise AccountError("no such collection", "collection")
        with self.store.transaction() as conn:
            removed = conn.execute(
                sa.text("DELETE FROM collection_items WHERE collection_id = :c AND paper_id = :p"),
                {"c": collection_id, "p": paper_id},
            ).rowcount
        return bool(removed)

    def delete_collection(self, user_id: int, collection_id: int) -> bool:
        with self.store.transaction() as conn:
            deleted = conn.execute(
                sa.text("DELETE FROM collections WHERE id = :c AND user_id = :u"),
                {"c": collection_id, "u": user_id},
            ).rowcount
        return bool(deleted)
