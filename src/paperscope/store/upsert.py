"""Writing source records into the store: merge, classify, and write in one transaction per batch.

Why by hand: what we need is a merge policy (which source wins which field, version history
kept, a local paper folded into its arXiv record), not an ORM's generic upsert.  The work is
done batch-wise (one SELECT per kind of lookup, one executemany per kind of write) because
that is what makes a million-line snapshot ingest run at tens of thousands of records per
second.

The merge policy, stated once (:func:`_merge`, :func:`_fold_facts` and :func:`_combine` carry it out):

* a record *takes over* a paper when its source is more trusted (``SOURCE_PRIORITY``) or it
  describes a newer version; then each field and link it gives replaces the stored one.
  Otherwise it only fills fields that are empty.  An empty value never erases anything;
* the version history is a union; ``published`` is the first version's day, ``updated`` the last's;
* an upvote count is per source, and the latest record's count replaces the stored one;
* a daily-list entry is per day: a later record adds a submitter or a newer comment count and
  never erases a submitter already known;
* a record finds its paper by arXiv id, by local key or alias, else by title (:meth:`_Batch.find`);
* when one file names a paper several times, the last occurrence wins as a whole
  (``PaperRecord.supersedes``, set by the ingest stage): it replaces every field the earlier
  occurrence of its source wrote, empty ones included, and that day's list entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..records import SOURCE_PRIORITY, PaperRecord, normalize_title
from .models import UpsertCounts

_CORE_FIELDS = (
    "title",
    "abstract",
    "primary_category",
    "published",
    "updated",
    "doi",
    "journal_ref",
    "comments",
    "license",
)
_MERGED_FIELDS = (*_CORE_FIELDS, "authors", "categories", "ai_summary", "ai_keywords")
_COLUMNS = (
    "paper_key",
    "arxiv_id",
    "title",
    "title_norm",
    "title_key",
    "abstract",
    "authors",
    "categories",
    "primary_category",
    "published",
    "updated",
    "versions",
    "doi",
    "journal_ref",
    "comments",
    "license",
    "links",
    "meta_source",
    "content_hash",
    "ai_summary",
    "ai_keywords",
    "published_at",
)
# Columns added after the first schema: hashed only when set, so that a paper stored before they
# existed keeps its hash and re-ingesting it after the upgrade is still a no-op.
_LATER_COLUMNS = ("ai_summary", "ai_keywords", "published_at")
_JSON_COLUMNS = ("authors", "categories", "versions", "links", "ai_keywords")


_NAMED = re.compile(r"(?<!:):([a-z_]+)")


def _executemany(conn: Connection, sql: str, rows: list[dict[str, Any]]) -> None:
    """executemany straight to the driver: SQLAlchemy's per-row parameter processing costs more
    than SQLite's insert itself on a million-record ingest.  sqlite3 takes ``:name``; psycopg
    takes ``%(name)s``."""
    if conn.dialect.name != "sqlite":
        sql = _NAMED.sub(r"%(\1)s", sql)
    conn.exec_driver_sql(sql, rows)


# Any constant will do: it names the one advisory lock that orders writers of paper_changes.
_CHANGES_LOCK = 0x70617065  # "pape"


def record_changes(conn: Connection, changed: list[dict[str, Any]]) -> None:
    """Append ``{"paper_id", "changed_at"}`` rows to the change record; every writer goes through here.

    Readers follow the change record by seq (``changes_since``) and remember the last seq
    they saw, so seqs must become visible in order.  On PostgreSQL a sequence hands out seqs
    at insert time, not at commit: a transaction holding seq 3 may commit after another that
    took seq 4, and a reader that already moved past 4 would never see 3.  A transaction-scoped
    advisory lock, taken just before the insert and held to commit, makes commit order seq
    order; taken this late, writers wait only for each other's last steps.  SQLite has one
    writer at a time already.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHANGES_LOCK})
    _executemany(conn, "INSERT INTO paper_changes (paper_id, changed_at) VALUES (:paper_id, :changed_at)", changed)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def title_key(title_norm: str) -> int:
    """The indexed stand-in for a normalised title (collisions are resolved by comparing titles)."""
    return int.from_bytes(hashlib.blake2b(title_norm.encode(), digest_size=8).digest(), "big", signed=True)


def local_key(title_norm: str) -> str:
    """A stable id for a paper that has no arXiv id yet, derived from its normalised title."""
    return "ps-" + hashlib.blake2b(title_norm.encode(), digest_size=6).hexdigest()


@dataclass(slots=True)
class _State:
    """One paper as it is being merged: decoded columns plus what happened to it in this batch."""

    row: dict[str, Any]
    id: int | None
    original_hash: str | None
    old_key: str | None = None
    facts_changed: bool = False
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    upvotes: dict[str, int] = field(default_factory=dict)
    daily: dict[str, _Entry] = field(default_factory=dict)


    @classmethod
    def stored(cls, row: dict[str, Any]) -> _State:
        """A paper read from the store (``row`` is decoded; its ``id`` moves to the state)."""
        return cls(row=row, id=row.pop("id"), original_hash=row["content_hash"])


# (submitted_by, num_comments, source, the submitter's account object as JSON text, the moment
# the paper entered the list when known)
_Entry = tuple[str | None, int | None, str, str | None, str | None]


@dataclass(slots=True)
class _StoredFacts:
    """Upvote counts and daily-list entries already stored for the batch's papers."""

    upvotes: dict[int, dict[str, int]]
    daily: dict[int, dict[str, _Entry]]


@dataclass(slots=True)
class _Batch:
    """The papers one batch touches, and the ways a record finds its paper among them."""

    states: dict[int | str, _State] = field(default_factory=dict)
    by_key: dict[str, _State] = field(default_factory=dict)
    by_arxiv: dict[str, _State] = field(default_factory=dict)
    by_norm: dict[str, _State] = field(default_factory=dict)
    by_id: dict[int, _State] = field(default_factory=dict)
    alias_ids: dict[str, int] = field(default_factory=dict)

    def remember(self, state: _State) -> None:
        """(Re-)register ``state`` under its current key, arXiv id and title (the first paper of a title wins)."""
        self.states[state.id if state.id is not None else "new:" + state.row["paper_key"]] = state
        self.by_key[state.row["paper_key"]] = state
        if state.row["arxiv_id"]:
            self.by_arxiv[state.row["arxiv_id"]] = state
        self.by_norm.setdefault(state.row["title_norm"], state)

    def find(self, record: PaperRecord, norm: str) -> _State | None:
        """The paper ``record`` belongs to, or None for a new paper.

        An arXiv record: the paper with its id, else a paper of the same title that has no
        arXiv id yet (the same paper seen earlier on a page).  A record without an arXiv id:
        the paper its local key is an alias of, else the paper with that explicit local key,
        else (no local key given) a paper of the same title."""
        if record.arxiv_id:
            state = self.by_arxiv.get(record.arxiv_id)
            if state is None:
                candidate = self.by_norm.get(norm)
                if candidate is not None and not candidate.row["arxiv_id"]:
                    state = candidate
            return state
        alias_id = self.alias_ids.get(record.local_id or local_key(norm))
        state = self.by_id.get(alias_id) if alias_id is not None else None
        if state is None and record.local_id:
            return self.by_key.get(record.local_id)
        if state is None:
            return self.by_norm.get(norm)
        return state


def _fold_facts(state: _State, stored: _StoredFacts, record: PaperRecord) -> bool:
    """Take the record's upvote count and daily-list entry into ``state``; True when either changed."""
    changed = False
    if record.upvotes is not None:
        current = state.upvotes.get(record.source, stored.upvotes.get(state.id or -1, {}).get(record.source))
        if current != record.upvotes:
            state.upvotes[record.source] = record.upvotes
            changed = True
    if record.daily_date:
        day = record.daily_date
        entry = state.daily.get(day) or stored.daily.get(state.id or -1, {}).get(day)
        account = orjson.dumps(record.submitter).decode() if record.submitter else None
        # A time on another day than the list's describes some other listing: not this entry's.
        at = record.daily_at if record.daily_at and record.daily_at[:10] == day else None
        incoming = (record.submitted_by, record.num_comments, record.source, account, at)
        merged = incoming if record.supersedes else _combine(entry, incoming)
        if merged != entry:
            state.daily[day] = merged
            changed = True
    return changed


def _decode(row: sa.Row[Any]) -> dict[str, Any]:
    data = dict(row._mapping)
    for name in _JSON_COLUMNS:
        data[name] = orjson.loads(data[name])
    return data


def _content_hash(row: dict[str, Any]) -> str:
    values: list[Any] = [
        row[name] for name in _COLUMNS if name not in ("content_hash", "meta_source", *_LATER_COLUMNS)
    ]
    later = {name: row[name] for name in _LATER_COLUMNS if row[name]}
    if later:
        values.append(later)
    payload = orjson.dumps(values)
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def _version_number(version: dict[str, Any]) -> int:
    digits = str(version.get("version", "")).lstrip("vV")
    return int(digits) if digits.isdigit() else 0


def _rank(priority: int, versions: list[dict[str, Any]]) -> tuple[int, int]:
    return priority, max(map(_version_number, versions), default=0)


def _new_row(record: PaperRecord, title_norm: str) -> dict[str, Any]:
    key = record.arxiv_id or record.local_id or local_key(title_norm)
    return {
        "paper_key": key,
        "arxiv_id": record.arxiv_id,
        "title": "",
        "title_norm": title_norm,
        "title_key": title_key(title_norm),
        "abstract": "",
        "authors": [],
        "categories": [],
        "primary_category": None,
        "published": None,
        "updated": None,
        "versions": [],
        "doi": None,
        "journal_ref": None,
        "comments": None,
        "license": None,
        "links": {},
        "meta_source": record.source,
        "content_hash": "",
        "ai_summary": None,
        "ai_keywords": [],
        "published_at": None,
    }


def _merge(row: dict[str, Any], record: PaperRecord, is_new: bool) -> None:
    """Fold one record's fields into a paper, by the merge policy in the module's docstring."""
    incoming_versions = [{"version": v.version, "date": v.date} for v in record.versions]
    # Strictly greater, not equal: two equally trusted sources describing the same version
    # (the same OAI record harvested twice with different categories) would otherwise take
    # turns overwriting each other, and re-ingesting would never be a no-op.
    # A later occurrence in the same file replaces what the earlier one of its source wrote.
    whole = record.supersedes and not is_new and row["meta_source"] == record.source
    take_over = is_new or whole or _rank(record.priority, incoming_versions) > _rank(
        SOURCE_PRIORITY.get(row["meta_source"], 0), row["versions"]
    )

    old_title = row["title"]
    for name in _MERGED_FIELDS:
        value = getattr(record, name)
        # Empty means "this source does not say", never "erase it" (but for a whole replacement).
        if value and (take_over or not row[name]):
            row[name] = value
        elif whole and not value:
            row[name] = [] if isinstance(row[name], list) else "" if name == "abstract" else None
    if record.arxiv_id and not row["arxiv_id"]:
        row["arxiv_id"] = record.arxiv_id
        row["paper_key"] = record.arxiv_id
    if record.published_at and (take_over or not row["published_at"]):
        row["published_at"] = record.published_at
    if take_over:
        row["meta_source"] = record.source
    if row["title"] != old_title and not is_new:
        row["title_norm"] = normalize_title(row["title"])
        row["title_key"] = title_key(row["title_norm"])

    # Version history is a union: an older snapshot never erases a newer version.
    by_label = {v["version"]: dict(v) for v in row["versions"]}
    for version in incoming_versions:
        known = by_label.get(version["version"])
        if known is None:
            by_label[version["version"]] = version
        elif not known.get("date") and version["date"]:
            known["date"] = version["date"]
    row["versions"] = sorted(by_label.values(), key=_version_number)
    dated = [v["date"] for v in row["versions"] if v.get("date")]
    if dated:
        row["published"] = min(dated)[:10]
        if "T" in min(dated):
            row["published_at"] = min(dated)
        if len(dated) > 1 or not row["updated"]:
            row["updated"] = max(max(dated)[:10], row["updated"] or "")

    # A time of day that no longer matches the day (a more trusted source moved it) is dropped.
    if row["published_at"] and row["published_at"][:10] != row["published"]:
        row["published_at"] = None

    links = dict(row["links"])
    for name, url in record.links.items():
        if url and (take_over or not links.get(name)):
            links[name] = url
    row["links"] = links


def _record_fields(record: PaperRecord) -> str:
    present = [
        name
        for name in (*_CORE_FIELDS, "authors", "categories", "versions", "links", "ai_summary", "ai_keywords")
        if getattr(record, name)
    ]
    return ",".join(present)


class BatchWriter:
    """Writes batches of records; one instance per ingest run."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _fetch_titles(self, norms: set[str], where: str = "") -> list[dict[str, Any]]:
        keys = {title_key(norm) for norm in norms}
        return [row for row in self._fetch("title_key", keys, where) if row["title_norm"] in norms]

    def _fetch(self, column: str, values: set[Any], where: str = "") -> list[dict[str, Any]]:
        if not values:
            return []
        query = sa.text(f"SELECT * FROM papers WHERE {column} IN :values {where} ORDER BY id").bindparams(
            sa.bindparam("values", expanding=True)
        )
        return [_decode(row) for row in self.connection.execute(query, {"values": list(values)})]

    def _fetch_aliases(self, aliases: set[str]) -> dict[str, int]:
        if not aliases:
            return {}
        query = sa.text("SELECT alias, paper_id FROM paper_aliases WHERE alias IN :values").bindparams(
            sa.bindparam("values", expanding=True)
        )
        return {row.alias: row.paper_id for row in self.connection.execute(query, {"values": list(aliases)})}

    def _upvotes(self, ids: list[int]) -> dict[int, dict[str, int]]:
        """Stored upvote counts: paper id -> source -> count."""
        found: dict[int, dict[str, int]] = {}
        query = sa.text("SELECT paper_id, source, upvotes FROM upvote_counts WHERE paper_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        )
        for paper_id, source, upvotes in self.connection.execute(query, {"ids": ids}) if ids else ():
            found.setdefault(paper_id, {})[source] = upvotes
        return found

    def _daily(self, ids: list[int]) -> dict[int, dict[str, _Entry]]:
        """Stored daily-list entries: paper id -> list day -> (submitter, comments, source)."""
        found: dict[int, dict[str, _Entry]] = {}
        query = sa.text(
            "SELECT paper_id, list_date, submitted_by, num_comments, source, submitter, submitted_at "
            "FROM daily_entries WHERE paper_id IN :ids"
        ).bindparams(sa.bindparam("ids", expanding=True))
        rows = self.connection.execute(query, {"ids": ids}) if ids else ()
        for paper_id, day, submitter, comments, source, account, at in rows:
            found.setdefault(paper_id, {})[day] = (submitter, comments, source, account, at)
        return found

    def write(self, records: Sequence[PaperRecord]) -> UpsertCounts:
        """Merge and write one batch inside the caller's transaction; return per-record outcomes.

        Three steps: find the stored papers the batch's records can belong to (:meth:`_lookup`),
        fold each record into its paper in memory (:meth:`_fold`, the policy in :func:`_merge`),
        then write every touched paper and its facts at once (:meth:`_flush`)."""
        now = utc_now()
        norms = [normalize_title(r.title) for r in records]
        batch = self._lookup(records, norms)
        known_ids = [s.id for s in batch.states.values() if s.id is not None]
        need_facts = any(r.upvotes is not None or r.daily_date for r in records)
        stored = _StoredFacts(
            self._upvotes(known_ids) if need_facts else {}, self._daily(known_ids) if need_facts else {}
        )
        counts = UpsertCounts()
        for record, norm in zip(records, norms, strict=True):
            outcome = self._fold(batch, stored, record, norm)
            setattr(counts, outcome, getattr(counts, outcome) + 1)
        self._flush(list(batch.states.values()), now)
        return counts

    def _lookup(self, records: Sequence[PaperRecord], norms: list[str]) -> _Batch:
        """The stored papers that records of this batch may merge into, found in a few queries."""
        batch = _Batch()
        arxiv_ids = {r.arxiv_id for r in records if r.arxiv_id}
        # A paper with an arXiv id has it as its key, so the key's unique index finds it.
        for row in self._fetch("paper_key", arxiv_ids, "AND arxiv_id IS NOT NULL"):
            batch.remember(_State.stored(row))
        # Title lookups are only needed where the arXiv id did not find the paper.
        # An arXiv record only ever merges into a paper without an arXiv id (distinct arXiv
        # papers may share a title: "Erratum", "Introduction"); a record without an id merges
        # into any paper of the same title.
        pairs = list(zip(records, norms, strict=True))
        unlinked_norms = {n for r, n in pairs if r.arxiv_id and r.arxiv_id not in batch.by_arxiv}
        any_norms = {n for r, n in pairs if not r.arxiv_id and not r.local_id}
        explicit_keys = {r.local_id for r in records if r.local_id and not r.arxiv_id}
        found = self._fetch("paper_key", explicit_keys)
        found += self._fetch_titles(unlinked_norms - any_norms, "AND arxiv_id IS NULL")
        found += self._fetch_titles(any_norms)
        for row in found:
            if row["arxiv_id"] in batch.by_arxiv or row["paper_key"] in batch.by_key:
                continue
            batch.remember(_State.stored(row))
        # Local keys a paper had before it got its arXiv id (paper_aliases) lead to that paper.
        batch.alias_ids = self._fetch_aliases({r.local_id or local_key(n) for r, n in pairs if not r.arxiv_id})
        known = {s.id for s in batch.states.values()}
        missing = {pid for pid in batch.alias_ids.values() if pid not in known}
        if missing:
            query = sa.text("SELECT * FROM papers WHERE id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
            for raw in self.connection.execute(query, {"ids": list(missing)}):
                batch.remember(_State.stored(_decode(raw)))
        batch.by_id = {s.id: s for s in batch.states.values() if s.id is not None}
        return batch

    def _fold(self, batch: _Batch, stored: _StoredFacts, record: PaperRecord, norm: str) -> str:
        """Merge one record into its paper (a new one when none matches); "added", "updated" or "unchanged"."""
        state = batch.find(record, norm)
        is_new = state is None
        if state is None:
            state = _State(row=_new_row(record, norm), id=None, original_hash=None)
        before_hash = None if is_new else _content_hash(state.row)
        old_key = state.row["paper_key"]
        _merge(state.row, record, is_new)
        if not is_new and state.row["paper_key"] != old_key and state.old_key is None:
            state.old_key = old_key  # a local paper got its arXiv id: the old key becomes an alias
        batch.remember(state)
        state.sources[record.source] = (record.origin, _record_fields(record))
        facts_changed = _fold_facts(state, stored, record)
        state.facts_changed = state.facts_changed or facts_changed
        if is_new:
            return "added"
        if _content_hash(state.row) != before_hash or facts_changed:
            return "updated"
        return "unchanged"

    def _flush(self, states: list[_State], now: str) -> None:
        conn = self.connection
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for state in states:
            state.row["content_hash"] = _content_hash(state.row)
            params = {name: state.row[name] for name in _COLUMNS}
            for name in _JSON_COLUMNS:
                params[name] = orjson.dumps(params[name]).decode()
            if state.id is None:
                inserts.append({**params, "created_at": now, "modified_at": now})
            elif state.row["content_hash"] != state.original_hash:
                updates.append({**params, "id": state.id, "modified_at": now})
        if inserts:
            columns = ", ".join((*_COLUMNS, "created_at", "modified_at"))
            values = ", ".join(f":{c}" for c in (*_COLUMNS, "created_at", "modified_at"))
            _executemany(conn, f"INSERT INTO papers ({columns}) VALUES ({values})", inserts)
            query = sa.text("SELECT id, paper_key FROM papers WHERE paper_key IN :keys").bindparams(
                sa.bindparam("keys", expanding=True)
            )
            rows = conn.execute(query, {"keys": [p["paper_key"] for p in inserts]})
            ids = {key: paper_id for paper_id, key in rows}
            for state in states:
                if state.id is None:
                    state.id = ids[state.row["paper_key"]]
        if updates:
            assignments = ", ".join(f"{c} = :{c}" for c in (*_COLUMNS, "modified_at"))
            _executemany(conn, f"UPDATE papers SET {assignments} WHERE id = :id", updates)
        aliases = [{"alias": s.old_key, "paper_id": s.id} for s in states if s.old_key]
        if aliases:
            _executemany(
                conn,
                "INSERT INTO paper_aliases (alias, paper_id) VALUES (:alias, :paper_id) ON CONFLICT DO NOTHING",
                aliases,
            )
        changed = [
            {"paper_id": s.id, "changed_at": now}
            for s in states
            if s.original_hash is None or s.row["content_hash"] != s.original_hash or s.facts_changed
        ]
        if changed:
            record_changes(conn, changed)
        provenance = [
            {"paper_id": s.id, "source": source, "origin": origin, "fields": fields, "now": now}
            for s in states
            for source, (origin, fields) in s.sources.items()
        ]
        if provenance:
            _executemany(
                conn,
                "INSERT INTO paper_sources (paper_id, source, origin, fields, first_seen, last_seen) "
                "VALUES (:paper_id, :source, :origin, :fields, :now, :now) "
                "ON CONFLICT (paper_id, source) DO UPDATE SET origin = excluded.origin, "
                "fields = excluded.fields, last_seen = excluded.last_seen "
                "WHERE paper_sources.origin <> excluded.origin OR paper_sources.fields <> excluded.fields",
                provenance,
            )
        votes = [
            {"paper_id": s.id, "source": source, "upvotes": count, "now": now}
            for s in states
            for source, count in s.upvotes.items()
        ]
        if votes:
            _executemany(
                conn,
                "INSERT INTO upvote_counts (paper_id, source, upvotes, observed_at) "
                "VALUES (:paper_id, :source, :upvotes, :now) ON CONFLICT (paper_id, source) "
                "DO UPDATE SET upvotes = excluded.upvotes, observed_at = excluded.observed_at",
                votes,
            )
        daily = [
            {
                "paper_id": s.id,
                "list_date": day,
                "submitted_by": e[0],
                "num_comments": e[1],
                "source": e[2],
                "submitter": e[3],
                "submitter_user": _handle(e[3]),
                "submitted_at": e[4],
                "now": now,
            }
            for s in states
            for day, e in s.daily.items()
        ]
        if daily:
            _executemany(
                conn,
                "INSERT INTO daily_entries (paper_id, list_date, submitted_by, num_comments, source, submitter, "
                "submitter_user, submitted_at, recorded_at) "
                "VALUES (:paper_id, :list_date, :submitted_by, :num_comments, :source, :submitter, :submitter_user, "
                ":submitted_at, :now) ON CONFLICT (paper_id, list_date) DO UPDATE SET submitted_by = "
                "excluded.submitted_by, num_comments = excluded.num_comments, source = excluded.source, "
                "submitter = excluded.submitter, submitter_user = excluded.submitter_user, "
                "submitted_at = excluded.submitted_at",
                daily,
            )


def _combine(current: _Entry | None, entry: _Entry) -> _Entry:
    """Merge what a record says about a daily-list entry into what is known: a later record adds a
    submitter or a newer comment count, and never erases a submitter already known."""
    if current is None:
        return entry
    submitter = entry[0] or current[0]
    comments = entry[1] if entry[1] is not None else current[1]
    # The account object goes with the submitter it describes: kept unless another submitter replaces it.
    account = (entry[3] or current[3]) if entry[0] in (None, current[0]) else entry[3]
    # The moment it was listed is a fact of the listing: a record that does not say keeps it.
    return (submitter, comments, entry[2] if entry[0] else current[2], account, entry[4] or current[4])


def _handle(account: str | None) -> str | None:
    """The account handle in a stored submitter object (what ``submitter=`` filters match)."""
    if not account:
        return None
    handle = orjson.loads(account).get("user")
    return str(handle) if handle else None
