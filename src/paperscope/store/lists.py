"""Daily, weekly and monthly lists, and the trending ranking.

Trending score (also shown on the site's help text):

    score = upvotes / (age_days + 2) ** 1.5

where ``upvotes`` is imported Hugging Face upvotes plus local votes and ``age_days`` is the
time from the day the paper entered a daily list (else its publication day) to the anchor
day.  The gravity form (as Hacker News uses) lets a fresh paper with a few votes overtake an
older one with many, which is what "trending" means to readers; ``+ 2`` keeps day-zero papers
from dividing by ~0.  The anchor is today, or the newest list day in the store when the store
holds no recent lists (an offline copy should still show what was trending when it was fed).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .models import Paper
from .papers import get_papers

TRENDING_GRAVITY = 1.5
TRENDING_OFFSET_DAYS = 2.0
TRENDING_FORMULA = "score = upvotes / (age_days + 2) ^ 1.5"

_VOTES = (
    "COALESCE((SELECT MAX(u.upvotes) FROM upvote_counts u WHERE u.paper_id = {p}), 0)"
    " + (SELECT COUNT(*) FROM votes v WHERE v.paper_id = {p})"
)


def list_days(conn: Connection) -> list[str]:
    """Every day that has a daily list, oldest first."""
    return [
        r[0] for r in conn.execute(sa.text("SELECT DISTINCT list_date FROM daily_entries ORDER BY list_date"))
    ]


def _category_clause(category: str | None, params: dict[str, Any]) -> str:
    if not category:
        return ""
    # Categories are a JSON array of strings; match the quoted element so cs.CL never matches cs.CLX.
    # Case-insensitively on both backends (SQLite's LIKE already is, PostgreSQL's is not): the
    # category chooser sends the search index's lower-case names (cs.cl).
    params["cat"] = f'%"{category.lower()}"%'
    return " AND lower(p.categories) LIKE :cat"


def _submitter_clause(submitter: str | None, params: dict[str, Any], entry: str = "d.") -> str:
    """Entries put on the list by the account ``submitter`` (its handle; for entries recorded
    before handles were kept, the name shown), case-insensitively as Hugging Face matches it."""
    if not submitter:
        return ""
    params["submitter"] = submitter.lower()
    return (
        f" AND (LOWER({entry}submitter_user) = :submitter"
        f" OR ({entry}submitter_user IS NULL AND LOWER({entry}submitted_by) = :submitter))"
    )


def _daily_order(sort: str, paper: str = "") -> str:
    """ORDER BY for a daily list; ``paper`` qualifies the papers table's columns (``"p."``)."""
    order = {
        "upvotes": "votes DESC, first_day DESC, {p}id",
        # NULLs sort first in DESC on PostgreSQL and last on SQLite: say where they go.
        "published": "{p}published IS NULL, {p}published DESC, votes DESC, {p}id",
        "date": "first_day DESC, votes DESC, {p}id",
    }.get(sort)
    if order is None:
        raise ValueError(f"unknown sort {sort!r}: use upvotes, published or date")
    return order.format(p=paper)


def daily_papers(
    conn: Connection,
    start: str,
    end: str,
    *,
    sort: str = "upvotes",
    category: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    submitter: str | None = None,
) -> list[Paper]:
    """Papers that entered a daily list between ``start`` and ``end`` (inclusive, YYYY-MM-DD)."""
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "limit": limit if limit is not None else -1,
        "offset": offset,
    }
    order = _daily_order(sort, "p.")
    limit_clause = "LIMIT :limit OFFSET :offset" if limit is not None else "LIMIT -1 OFFSET :offset"
    if conn.dialect.name != "sqlite":
        limit_clause = "LIMIT :limit OFFSET :offset" if limit is not None else "OFFSET :offset"
    sql = (
        f"SELECT p.id, MIN(d.list_date) AS first_day, {_VOTES.format(p='p.id')} AS votes "
        "FROM papers p JOIN daily_entries d ON d.paper_id = p.id "
        "WHERE d.list_date BETWEEN :start AND :end"
        + _category_clause(category, params)
        + _submitter_clause(submitter, params)
        + " "
        f"GROUP BY p.id, p.published ORDER BY {order} {limit_clause}"
    )
    ids = [r[0] for r in conn.execute(sa.text(sql), params)]
    return get_papers(conn, ids)


def daily_page(
    conn: Connection,
    start: str,
    end: str,
    *,
    sort: str = "upvotes",
    category: str | None = None,
    limit: int = 50,
    offset: int = 0,
    submitter: str | None = None,
) -> tuple[list[Paper], int]:
    """One page of :func:`daily_papers` and the size of the whole list, in one query.

    Upvotes come from ``upvote_counts`` and ``votes`` aggregated once for the listed papers and
    joined, rather than two correlated subqueries per row; ``COUNT(*) OVER ()`` gives the total
    with the page, so no separate COUNT query (only a page past the end needs one).
    """
    params: dict[str, Any] = {"start": start, "end": end, "limit": limit, "offset": offset}
    order = _daily_order(sort)
    category_join = " JOIN papers p ON p.id = d.paper_id" if category else ""
    sql = (
        "WITH listed AS (SELECT d.paper_id AS id, MIN(d.list_date) AS first_day FROM daily_entries d"
        + category_join
        + " WHERE d.list_date BETWEEN :start AND :end"
        + _category_clause(category, params)
        + _submitter_clause(submitter, params)
        + " GROUP BY d.paper_id), "
        "hf AS (SELECT paper_id, MAX(upvotes) AS n FROM upvote_counts "
        "WHERE paper_id IN (SELECT id FROM listed) GROUP BY paper_id), "
        "local AS (SELECT paper_id, COUNT(*) AS n FROM votes "
        "WHERE paper_id IN (SELECT id FROM listed) GROUP BY paper_id), "
        "ranked AS (SELECT l.id, l.first_day, p.published, COALESCE(hf.n, 0) + COALESCE(local.n, 0) AS votes "
        "FROM listed l JOIN papers p ON p.id = l.id "
        "LEFT JOIN hf ON hf.paper_id = l.id LEFT JOIN local ON local.paper_id = l.id) "
        f"SELECT id, COUNT(*) OVER () AS total FROM ranked ORDER BY {order} LIMIT :limit OFFSET :offset"
    )
    rows = conn.execute(sa.text(sql), params).all()
    # No row: an empty list, or a page past the end (which still needs the list's size).
    total = int(rows[0][1]) if rows else (count_daily(conn, start, end, category, submitter) if offset else 0)
    return get_papers(conn, [r[0] for r in rows]), total


def count_daily(
    conn: Connection, start: str, end: str, category: str | None = None, submitter: str | None = None
) -> int:
    params: dict[str, Any] = {"start": start, "end": end}
    sql = (
        "SELECT COUNT(DISTINCT p.id) FROM papers p JOIN daily_entries d ON d.paper_id = p.id "
        "WHERE d.list_date BETWEEN :start AND :end"
        + _category_clause(category, params)
        + _submitter_clause(submitter, params)
    )
    return int(conn.execute(sa.text(sql), params).scalar() or 0)


def trending_anchor(conn: Connection, today: date | None = None) -> date:
    today = today or datetime.now(UTC).date()
    newest = conn.execute(
        sa.text("SELECT MAX(list_date) FROM daily_entries WHERE list_date <= :t"), {"t": today.isoformat()}
    ).scalar()
    if newest is None:
        return today
    newest_day = date.fromisoformat(newest)
    # A store fed within the last window is "live"; an older one is shown as of its newest list.
    return today if (today - newest_day).days <= 7 else newest_day


def trending_score(upvotes: int, age_days: float) -> float:
    return upvotes / (max(age_days, 0.0) + TRENDING_OFFSET_DAYS) ** TRENDING_GRAVITY


def trending(
    conn: Connection,
    *,
    window_days: int = 7,
    category: str | None = None,
    min_upvotes: int = 0,
    limit: int = 50,
    offset: int = 0,
    today: date | None = None,
) -> list[tuple[Paper, float]]:
    """Papers of the last ``window_days`` ranked by :data:`TRENDING_FORMULA`."""
    anchor = trending_anchor(conn, today)
    start = (anchor - timedelta(days=window_days - 1)).isoformat()
    params: dict[str, Any] = {"start": start, "end": anchor.isoformat()}
    sql = (
        f"SELECT p.id, MIN(d.list_date) AS first_day, {_VOTES.format(p='p.id')} AS votes "
        "FROM papers p JOIN daily_entries d ON d.paper_id = p.id "
        "WHERE d.list_date BETWEEN :start AND :end" + _category_clause(category, params) + " GROUP BY p.id"
    )
    scored: list[tuple[float, int]] = []
    for paper_id, first_day, votes in conn.execute(sa.text(sql), params):
        if int(votes) < min_upvotes:
            continue
        age = (anchor - date.fromisoformat(first_day)).days
        scored.append((trending_score(int(votes), age), paper_id))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    page = scored[offset : offset + limit]
    papers = {p.id: p for p in get_papers(conn, [pid for _, pid in page])}
    return [(papers[pid], score) for score, pid in page if pid in papers]
