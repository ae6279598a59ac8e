"""Initial schema: papers and their facts, accounts, collections, subscriptions, digests.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

JSON-valued columns are TEXT holding JSON so that SQLite and PostgreSQL share one schema.
Times are ISO 8601 UTC text; days are YYYY-MM-DD text, which sort correctly as text.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _paper_fk(index: bool = False) -> sa.Column:
    fk = sa.ForeignKey("papers.id", ondelete="CASCADE")
    return sa.Column("paper_id", sa.Integer, fk, nullable=False, index=index)


def upgrade() -> None:
    op.create_table(
        "papers",
        _id(),
        # Public id: the arXiv id without version, or a stable local id "ps-<hash>".
        sa.Column("paper_key", sa.Text, nullable=False, unique=True),
        # Set, it equals paper_key, whose unique index also serves lookups by arXiv id.
        sa.Column("arxiv_id", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("title_norm", sa.Text, nullable=False),
        # 64-bit hash of title_norm: the merge lookup by title goes through this small
        # integer index instead of an index over long strings.
        sa.Column("title_key", sa.BigInteger, nullable=False, index=True),
        sa.Column("abstract", sa.Text, nullable=False, server_default=""),
        sa.Column("authors", sa.Text, nullable=False, server_default="[]"),
        sa.Column("categories", sa.Text, nullable=False, server_default="[]"),
        # No indexes on category or date: filtering and sorting by them is the search
        # indexes' job, and every index here is paid for on each of millions of inserts.
        sa.Column("primary_category", sa.Text),
        sa.Column("published", sa.Text),
        sa.Column("updated", sa.Text),
        sa.Column("versions", sa.Text, nullable=False, server_default="[]"),
        sa.Column("doi", sa.Text),
        sa.Column("journal_ref", sa.Text),
        sa.Column("comments", sa.Text),
        sa.Column("license", sa.Text),
        sa.Column("links", sa.Text, nullable=False, server_default="{}"),
        sa.Column("meta_source", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("modified_at", sa.Text, nullable=False),
    )
    # Old ids keep working after a local paper is merged into its arXiv record.
    op.create_table(
        "paper_aliases",
        sa.Column("alias", sa.Text, primary_key=True),
        _paper_fk(index=True),
    )
    # Provenance: which source said what about a paper, and when it last said it.
    op.create_table(
        "paper_sources",
        _paper_fk(),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("first_seen", sa.Text, nullable=False),
        sa.Column("last_seen", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("paper_id", "source"),
    )
    # The change record: every insert or update of a paper appends a row.  Indexers and
    # other processes follow it by sequence number to update incrementally.
    # Read by sequence number only, so paper_id has no index of its own.
    op.create_table(
        "paper_changes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        _paper_fk(),
        sa.Column("changed_at", sa.Text, nullable=False),
    )
    # A paper's appearance in a daily list (Hugging Face's or a local submission).
    op.create_table(
        "daily_entries",
        _paper_fk(),
        sa.Column("list_date", sa.Text, nullable=False, index=True),
        sa.Column("submitted_by", sa.Text),
        sa.Column("num_comments", sa.Integer),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("paper_id", "list_date"),
    )
    # Upvote counts observed at an external source (Hugging Face), kept apart from local votes.
    # Several observations of the same count (an API response, a saved list) are not added up:
    # readers see the largest.
    op.create_table(
        "upvote_counts",
        _paper_fk(),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("upvotes", sa.Integer, nullable=False),
        sa.Column("observed_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("paper_id", "source"),
    )
    op.create_table(
        "users",
        _id(),
        sa.Column("username", sa.Text, nullable=False, unique=True),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Text, nullable=False),
    )
    # Local upvotes: one row per user and paper, so a double vote cannot count twice.
    op.create_table(
        "votes",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        _paper_fk(index=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "paper_id"),
    )
    op.create_table(
        "collections",
        _id(),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.UniqueConstraint("user_id", "name"),
    )
    op.create_table(
        "collection_items",
        sa.Column(
            "collection_id", sa.Integer, sa.ForeignKey("collections.id", ondelete="CASCADE"), nullable=False
        ),
        _paper_fk(),
        sa.Column("added_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "paper_id"),
    )
    op.create_table(
        "subscriptions",
        _id(),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("frequency", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False, server_default="[]"),
        sa.Column("keywords", sa.Text, nullable=False, server_default=""),
        sa.Column("min_upvotes", sa.Integer, nullable=False, server_default="0"),
        # pending -> active -> unsubscribed | suspended
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("permanent_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("confirmed_at", sa.Text),
        sa.Column("unsubscribed_at", sa.Text),
        sa.UniqueConstraint("email", "frequency"),
    )
    # One row per (subscription, period): claiming it is what makes sending exactly-once.
    op.create_table(
        "digest_sends",
        _id(),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("period_key", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claimed_at", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("message_id", sa.Text),
        sa.Column("sent_at", sa.Text),
        sa.UniqueConstraint("subscription_id", "period_key"),
    )
    op.create_table(
        "digest_items",
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _paper_fk(),
        sa.Column("period_key", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", "paper_id"),
    )
    # Resumable positions of long jobs (OAI-PMH resumption tokens, index sequence numbers).
    op.create_table(
        "job_state",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "job_state",
        "digest_items",
        "digest_sends",
        "subscriptions",
        "collection_items",
        "collections",
        "votes",
        "sessions",
        "users",
        "upvote_counts",
        "daily_entries",
        "paper_changes",
        "paper_sources",
        "paper_aliases",
        "papers",
    ):
        op.drop_table(table)
