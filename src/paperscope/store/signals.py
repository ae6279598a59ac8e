"""What each reader tells the recommender: upvotes and collections (kept in ``accounts``), plus
"more / less like this" feedback, followed authors and categories, saved searches, and the
token of their private feed.  Reached as ``store.signals``.

Everything here is per user, readable as one JSON document (:meth:`Signals.export`) and
deletable by its owner, one signal at a time (undo) or all at once (:meth:`Signals.delete_all`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..names import normalize_category, normalize_name
from .accounts import AccountError, User, hash_token
from .upsert import record_changes, utc_now

if TYPE_CHECKING:
    from . import Store

FOLLOW_KINDS = ("author", "category")
MAX_FOLLOW = 200  # characters of a followed name or category
MAX_QUERY = 500
MAX_FOLLOWS = 500  # per reader and kind: a bound on what every recommendation list reads


@dataclass(frozen=True, slots=True)
class PaperSignal:
    """One thing a reader did to a paper.  ``kind``: upvote, saved, more (positive) or less."""

    paper_id: int
    kind: str
    at: str
    detail: str = ""  # for ``saved``: the collection's name

    @property
    def positive(self) -> bool:
        return self.kind != "less"


@dataclass(frozen=True, slots=True)
class Follow:
    id: int
    kind: str
    value: str
    value_norm: str
    created_at: str


@dataclass(frozen=True, slots=True)
class SavedSearch:
    id: int
    query: str
    created_at: str


@dataclass(slots=True)
class ReaderSignals:
    """All of one reader's signals, read in one go for the recommender."""

    user_id: int
    papers: list[PaperSignal] = field(default_factory=list)
    follows: list[Follow] = field(default_factory=list)
    searches: list[SavedSearch] = field(default_factory=list)

    @property
    def negative_ids(self) -> set[int]:
        return {s.paper_id for s in self.papers if s.kind == "less"}

    @property
    def positives(self) -> list[PaperSignal]:
        """Positive signals, newest first; "less like this" on a paper overrides its other signals."""
        negative = self.negative_ids
        return sorted((s for s in self.papers if s.positive and s.paper_id not in negative),
                      key=lambda s: s.at, reverse=True)

    @property
    def positive_ids(self) -> list[int]:
        return list(dict.fromkeys(s.paper_id for s in self.positives))

    @property
    def authors(self) -> list[Follow]:
        return [f for f in self.follows if f.kind == "author"]

    @property
    def categories(self) -> list[Follow]:
        return [f for f in self.follows if f.kind == "category"]

    @property
    def is_empty(self) -> bool:
        return not self.papers and not self.follows and not self.searches

    @property
    def fingerprint(self) -> tuple[object, ...]:
        """Changes whenever a signal is added or removed (what a cached model is keyed on)."""
        return (
            tuple(sorted((s.paper_id, s.kind, s.at) for s in self.papers)),
            tuple(sorted(f.id for f in self.follows)),
            tuple(sorted(s.id for s in self.searches)),
        )


def normalize_follow(kind: str, value: str) -> tuple[str, str]:
    """The (shown, matched) forms of a followed author or category; raises AccountError when bad."""
    if kind not in FOLLOW_KINDS:
        raise AccountError(f"one can follow an author or a category, not {kind!r}", "kind")
    shown = " ".join(value.split())
    if not 1 <= len(shown) <= MAX_FOLLOW:
        raise AccountError(f"a followed {kind} must be 1 to {MAX_FOLLOW} characters", "value")
    return shown, normalize_name(shown) if kind == "author" else normalize_category(shown)


class Signals:
    """Reader signals of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- "more / less like this" --------------------------------------------------------------
    def set_feedback(self, user_id: int, paper_id: int, value: int) -> None:
        """+1 more like this, -1 less like this, 0 takes the feedback back (all idempotent)."""
        if value not in (-1, 0, 1):
            raise AccountError("feedback is 1 (more like this), -1 (less like this) or 0 (undo)", "value")
        with self.store.transaction() as conn:
            if value == 0:
                conn.execute(sa.text("DELETE FROM paper_feedback WHERE user_id = :u AND paper_id = :p"),
                             {"u": user_id, "p": paper_id})
                return
            conn.execute(
                sa.text(
                    "INSERT INTO paper_feedback (user_id, paper_id, value, created_at) VALUES (:u, :p, :v, :t) "
                    "ON CONFLICT (user_id, paper_id) DO UPDATE SET value = excluded.value, "
                    "created_at = excluded.created_at"
                ),
                {"u": user_id, "p": paper_id, "v": value, "t": utc_now()},
            )

    def feedback_for(self, user_id: int, paper_ids: list[int]) -> dict[int, int]:
        """This reader's feedback on the given papers (one query for a whole page)."""
        if not paper_ids:
            return {}
        query = sa.text(
            "SELECT paper_id, value FROM paper_feedback WHERE user_id = :u AND paper_id IN :ids"
        ).bindparams(sa.bindparam("ids", expanding=True))
        with self.store.connect() as conn:
            return {int(r[0]): int(r[1]) for r in conn.execute(query, {"u": user_id, "ids": paper_ids})}

    # -- follows ------------------------------------------------------------------------------
    def follow(self, user_id: int, kind: str, value: str) -> Follow:
        shown, norm = normalize_follow(kind, value)
        with self.store.transaction() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM follows WHERE user_id = :u AND kind = :k"),
                                 {"u": user_id, "k": kind}).scalar_one()
            if int(count) >= MAX_FOLLOWS:
                raise AccountError(f"you follow {MAX_FOLLOWS} {kind}s already; unfollow some first", "value")
            conn.execute(
                sa.text(
                    "INSERT INTO follows (user_id, kind, value, value_norm, created_at) VALUES (:u, :k, :v, :n, :t) "
                    "ON CONFLICT (user_id, kind, value_norm) DO NOTHING"
                ),
                {"u": user_id, "k": kind, "v": shown, "n": norm, "t": utc_now()},
            )
            row = conn.execute(
                sa.text("SELECT id, kind, value, value_norm, created_at FROM follows "
                        "WHERE user_id = :u AND kind = :k AND value_norm = :n"),
                {"u": user_id, "k": kind, "n": norm},
            ).one()
        return Follow(int(row[0]), row[1], row[2], row[3], row[4])

    def unfollow(self, user_id: int, kind: str, value: str) -> bool:
        _shown, norm = normalize_follow(kind, value)
        with self.store.transaction() as conn:
            return bool(conn.execute(
                sa.text("DELETE FROM follows WHERE user_id = :u AND kind = :k AND value_norm = :n"),
                {"u": user_id, "k": kind, "n": norm},
            ).rowcount)

    def follows(self, user_id: int, kind: str | None = None) -> list[Follow]:
        sql = "SELECT id, kind, value, value_norm, created_at FROM follows WHERE user_id = :u"
        if kind is not None:
            sql += " AND kind = :k"
        with self.store.connect() as conn:
            rows = conn.execute(sa.text(sql + " ORDER BY kind, value_norm"), {"u": user_id, "k": kind})
            return [Follow(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def is_following(self, user_id: int, kind: str, value: str) -> bool:
        _shown, norm = normalize_follow(kind, value)
        with self.store.connect() as conn:
            return conn.execute(
                sa.text("SELECT 1 FROM follows WHERE user_id = :u AND kind = :k AND value_norm = :n"),
                {"u": user_id, "k": kind, "n": norm},
            ).first() is not None

    # -- saved searches -----------------------------------------------------------------------
    def save_search(self, user_id: int, query: str) -> SavedSearch:
        text = " ".join(query.split())
        if not 1 <= len(text) <= MAX_QUERY:
            raise AccountError(f"a saved search must be 1 to {MAX_QUERY} characters", "query")
        with self.store.transaction() as conn:
            conn.execute(
                sa.text("INSERT INTO saved_searches (user_id, query, created_at) VALUES (:u, :q, :t) "
                        "ON CONFLICT (user_id, query) DO NOTHING"),
                {"u": user_id, "q": text, "t": utc_now()},
            )
            row = conn.execute(sa.text("SELECT id, query, created_at FROM saved_searches "
                                       "WHERE user_id = :u AND query = :q"), {"u": user_id, "q": text}).one()
        return SavedSearch(int(row[0]), row[1], row[2])

    def delete_search(self, user_id: int, search_id: int) -> bool:
        with self.store.transaction() as conn:
            return bool(conn.execute(sa.text("DELETE FROM saved_searches WHERE id = :i AND user_id = :u"),
                                     {"i": search_id, "u": user_id}).rowcount)

    def searches(self, user_id: int) -> list[SavedSearch]:
        with self.store.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, query, created_at FROM saved_searches WHERE user_id = :u "
                                        "ORDER BY created_at DESC, id DESC"), {"u": user_id})
            return [SavedSearch(int(r[0]), r[1], r[2]) for r in rows]

    # -- everything at once -------------------------------------------------------------------
    def has_any(self, user_id: int) -> bool:
        """Whether the reader has given any signal at all (one cheap query, for the home page)."""
        with self.store.connect() as conn:
            return bool(conn.execute(
                sa.text(
                    "SELECT EXISTS (SELECT 1 FROM votes WHERE user_id = :u) "
                    "OR EXISTS (SELECT 1 FROM paper_feedback WHERE user_id = :u) "
                    "OR EXISTS (SELECT 1 FROM follows WHERE user_id = :u) "
                    "OR EXISTS (SELECT 1 FROM saved_searches WHERE user_id = :u) "
                    "OR EXISTS (SELECT 1 FROM collection_items i JOIN collections c ON c.id = i.collection_id "
                    "WHERE c.user_id = :u)"
                ),
                {"u": user_id},
            ).scalar())

    def reader(self, user_id: int) -> ReaderSignals:
        """Every signal of one reader (upvotes, saved papers, feedback, follows, searches)."""
        with self.store.connect() as conn:
            papers = [PaperSignal(int(r[0]), "upvote", r[1]) for r in conn.execute(
                sa.text("SELECT paper_id, created_at FROM votes WHERE user_id = :u"), {"u": user_id})]
            papers += [PaperSignal(int(r[0]), "saved", r[1], r[2]) for r in conn.execute(
                sa.text("SELECT i.paper_id, i.added_at, c.name FROM collection_items i "
                        "JOIN collections c ON c.id = i.collection_id WHERE c.user_id = :u"), {"u": user_id})]
            papers += [PaperSignal(int(r[0]), "more" if int(r[1]) > 0 else "less", r[2]) for r in conn.execute(
                sa.text("SELECT paper_id, value, created_at FROM paper_feedback WHERE user_id = :u"), {"u": user_id})]
        return ReaderSignals(user_id, papers, self.follows(user_id), self.searches(user_id))

    def export(self, user_id: int) -> dict[str, Any]:
        """Every signal of a reader as plain JSON-able data, papers named by their public ids."""
        signals = self.reader(user_id)
        ids = sorted({s.paper_id for s in signals.papers})
        keys: dict[int, tuple[str, str]] = {}
        if ids:
            query = sa.text("SELECT id, paper_key, title FROM papers WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True))
            with self.store.connect() as conn:
                keys = {int(r[0]): (r[1], r[2]) for r in conn.execute(query, {"ids": ids})}

        def papers(kind: str) -> list[dict[str, str]]:
            chosen = sorted((s for s in signals.papers if s.kind == kind), key=lambda s: s.at, reverse=True)
            rows = []
            for s in chosen:
                row = {"paper": keys[s.paper_id][0], "title": keys[s.paper_id][1], "at": s.at}
                if s.detail:
                    row["collection"] = s.detail
                rows.append(row)
            return rows

        collections = [
            {"name": c.name, "public": c.public, "created_at": c.created_at,
             "papers": [keys[p][0] for p in self.store.accounts.collection_paper_ids(c.id) if p in keys]}
            for c in self.store.accounts.collections(user_id)
        ]
        return {
            "user_id": user_id,
            "exported_at": utc_now(),
            "upvotes": papers("upvote"),
            "more_like_this": papers("more"),
            "less_like_this": papers("less"),
            "collections": collections,
            "followed_authors": [{"name": f.value, "since": f.created_at} for f in signals.authors],
            "followed_categories": [{"category": f.value, "since": f.created_at} for f in signals.categories],
            "saved_searches": [{"query": s.query, "saved_at": s.created_at} for s in signals.searches],
        }

    def delete_all(self, user_id: int) -> dict[str, int]:
        """Forget every signal of a reader (their collections stay: they are the reader's own lists)."""
        now = utc_now()
        counts: dict[str, int] = {}
        with self.store.transaction() as conn:
            voted = [int(r[0]) for r in conn.execute(sa.text("SELECT paper_id FROM votes WHERE user_id = :u"),
                                                     {"u": user_id})]
            for table, name in (("votes", "upvotes"), ("paper_feedback", "feedback"),
                                ("follows", "follows"), ("saved_searches", "saved_searches")):
                counts[name] = int(conn.execute(sa.text(f"DELETE FROM {table} WHERE user_id = :u"),
                                                {"u": user_id}).rowcount or 0)
            # Upvote counts changed: the search indexes (upvote filter and sort) follow the change record.
            record_changes(conn, [{"paper_id": p, "changed_at": now} for p in voted])
        return counts

    def upvotes(self, user_id: int) -> list[tuple[int, str]]:
        """(paper id, when) of every upvote of a reader, newest first."""
        with self.store.connect() as conn:
            rows = conn.execute(sa.text("SELECT paper_id, created_at FROM votes WHERE user_id = :u "
                                        "ORDER BY created_at DESC, paper_id"), {"u": user_id})
            return [(int(r[0]), r[1]) for r in rows]

    # -- private feed tokens ------------------------------------------------------------------
    def new_feed_token(self, user_id: int) -> str:
        """A new private-feed token for the reader (the old one stops working); only its hash is kept."""
        token = secrets.token_urlsafe(24)
        with self.store.transaction() as conn:
            conn.execute(sa.text("DELETE FROM feed_tokens WHERE user_id = :u"), {"u": user_id})
            conn.execute(sa.text("INSERT INTO feed_tokens (user_id, token_hash, created_at) VALUES (:u, :h, :t)"),
                         {"u": user_id, "h": hash_token(token), "t": utc_now()})
        return token

    def revoke_feed_token(self, user_id: int) -> bool:
        with self.store.transaction() as conn:
            return bool(conn.execute(sa.text("DELETE FROM feed_tokens WHERE user_id = :u"),
                                     {"u": user_id}).rowcount)

    def feed_token_created(self, user_id: int) -> str | None:
        """When the reader's current feed token was made, or None when they have none."""
        with self.store.connect() as conn:
            value = conn.execute(sa.text("SELECT created_at FROM feed_tokens WHERE user_id = :u"),
                                 {"u": user_id}).scalar()
        return str(value) if value else None

    def feed_token_user(self, token: str) -> User | None:
        if not token or len(token) > 200:
            return None
        with self.store.connect() as conn:
            row = conn.execute(
                sa.text("SELECT u.id, u.username, u.email, u.created_at FROM feed_tokens f "
                        "JOIN users u ON u.id = f.user_id WHERE f.token_hash = :h"),
                {"h": hash_token(token)},
            ).first()
        return User(int(row[0]), row[1], row[2], row[3]) if row else None
