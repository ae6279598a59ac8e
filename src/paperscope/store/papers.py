"""Reading papers: by id or key, in bulk for indexing, and the change record."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..arxiv_ids import canonical_arxiv_id
from ..checks import safe_links
from ..records import normalize_title
from .models import Change, Paper
from .upsert import title_key

_PAPER_SELECT = """
SELECT p.*,
  COALESCE((SELECT MAX(u.upvotes) FROM upvote_counts u WHERE u.paper_id = p.id), 0) AS hf_upvotes,
  (SELECT COUNT(*) FROM votes v WHERE v.paper_id = p.id) AS local_upvotes
FROM papers p
"""


def row_to_paper(row: Any) -> Paper:
    m = row._mapping
    return Paper(
        id=m["id"],
        key=m["paper_key"],
        arxiv_id=m["arxiv_id"],
        title=m["title"],
        abstract=m["abstract"],
        authors=orjson.loads(m["authors"]),
        categories=orjson.loads(m["categories"]),
        primary_category=m["primary_category"],
        published=m["published"],
        updated=m["updated"],
        versions=orjson.loads(m["versions"]),
        doi=m["doi"],
        journal_ref=m["journal_ref"],
        comments=m["comments"],
        license=m["license"],
        # Only http(s) links leave the store, whatever an older ingest let in (checks.safe_links).
        links=safe_links(orjson.loads(m["links"])),
        meta_source=m["meta_source"],
        created_at=m["created_at"],
        modified_at=m["modified_at"],
        hf_upvotes=int(m["hf_upvotes"] or 0),
        local_upvotes=int(m["local_upvotes"] or 0),
        ai_summary=m["ai_summary"] or None,
        ai_keywords=orjson.loads(m["ai_keywords"] or "[]"),
        published_at=m["published_at"],
    )


def _one_of_ids(conn: Connection, column: str) -> str:
    """SQL for "``column`` is one of the ids bound as ``:ids``" (bind :func:`_ids_value`).

    One fixed statement for any number of ids, which SQLAlchemy compiles once and caches; an
    expanding ``IN :ids`` is rendered again on every call, about half of the 1.2 ms that reading
    a results page of 20 papers took (search reads one page per query)."""
    if conn.dialect.name == "postgresql":
        return f"{column} = ANY(:ids)"
    return f"{column} IN (SELECT value FROM json_each(:ids))"


def _ids_value(conn: Connection, ids: Sequence[int]) -> object:
    # PostgreSQL takes a list as an array; SQLite takes the ids as one JSON array.
    return [int(i) for i in ids] if conn.dialect.name == "postgresql" else orjson.dumps([int(i) for i in ids]).decode()


def _attach_daily(conn: Connection, papers: list[Paper]) -> None:
    if not papers:
        return
    by_id = {p.id: p for p in papers}
    query = sa.text(
        "SELECT paper_id, list_date, submitted_by, num_comments, submitter, submitted_at FROM daily_entries "
        f"WHERE {_one_of_ids(conn, 'paper_id')} ORDER BY list_date"
    )
    for row in conn.execute(query, {"ids": _ids_value(conn, list(by_id))}):
        paper = by_id[row.paper_id]
        if not paper.list_dates:
            paper.listed_at = row.submitted_at
        paper.list_dates.append(row.list_date)
        if row.submitted_by:
            paper.submitted_by = row.submitted_by
            paper.submitter = orjson.loads(row.submitter) if row.submitter else None
        if row.num_comments:
            paper.num_comments = max(paper.num_comments, int(row.num_comments))


def resolve_key(conn: Connection, key: str) -> int | None:
    """The paper id for a public key: arXiv id (any spelling, versioned or URL), local id, or alias."""
    candidates = [key.strip()]
    canonical = canonical_arxiv_id(key)
    if canonical:
        candidates.insert(0, canonical)
    for candidate in candidates:
        found = conn.execute(sa.text("SELECT id FROM papers WHERE paper_key = :k"), {"k": candidate}).scalar()
        if found is None:
            found = conn.execute(
                sa.text("SELECT paper_id FROM paper_aliases WHERE alias = :k"), {"k": candidate}
            ).scalar()
        if found is not None:
            return int(found)
    return None


def find_by_doi(conn: Connection, doi: str) -> int | None:
    """The paper with this DOI (DOIs are case-insensitive), if one is stored."""
    found = conn.execute(
        sa.text("SELECT id FROM papers WHERE LOWER(doi) = :d ORDER BY id LIMIT 1"), {"d": doi.strip().lower()}
    ).scalar()
    return int(found) if found is not None else None


def find_by_title(conn: Connection, title: str) -> int | None:
    """The paper whose title is this one once case, accents, TeX and punctuation are folded (the
    same key the merge of records uses), through the indexed title hash."""
    norm = normalize_title(title)
    if not norm:
        return None
    found = conn.execute(
        sa.text("SELECT id FROM papers WHERE title_key = :k AND title_norm = :n ORDER BY id LIMIT 1"),
        {"k": title_key(norm), "n": norm},
    ).scalar()
    return int(found) if found is not None else None


def get_papers(conn: Connection, ids: Sequence[int]) -> list[Paper]:
    """Papers in the order of ``ids``; ids that do not exist are skipped."""
    if not ids:
        return []
    query = sa.text(f"{_PAPER_SELECT} WHERE {_one_of_ids(conn, 'p.id')}")
    found = {p.id: p for p in map(row_to_paper, conn.execute(query, {"ids": _ids_value(conn, ids)}))}
    papers = [found[i] for i in ids if i in found]
    _attach_daily(conn, papers)
    return papers


def iter_papers(conn: Connection, batch_size: int = 2000, after_id: int = 0) -> Iterator[list[Paper]]:
    """Every paper in id order, a batch at a time (keyset paging keeps memory flat)."""
    last = after_id
    while True:
        rows = conn.execute(
            sa.text(_PAPER_SELECT + " WHERE p.id > :last ORDER BY p.id LIMIT :n"),
            {"last": last, "n": batch_size},
        ).all()
        if not rows:
            return
        papers = [row_to_paper(r) for r in rows]
        yield papers
        last = papers[-1].id


def changes_since(conn: Connection, seq: int, limit: int = 10000) -> list[Change]:
    rows = conn.execute(
        sa.text("SELECT seq, paper_id FROM paper_changes WHERE seq > :seq ORDER BY seq LIMIT :n"),
        {"seq": seq, "n": limit},
    )
    return [Change(seq=r.seq, paper_id=r.paper_id) for r in rows]
