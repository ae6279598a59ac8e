"""Reader signals for the "For you" recommender: feedback, follows, saved searches, feed tokens;
collections that can be public.

Revision ID: 0002_reader_signals
Revises: 0001
Create Date: 2026-12-05

Upvotes (``votes``) and collections already are signals; the tables here add what a reader
says explicitly.  Every table is keyed by user and cascades with the user, so deleting an
account deletes its signals.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_reader_signals"
down_revision = "0001"
branch_labels = None
depends_on = None


def _user_fk() -> sa.Column:
    return sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    # "More like this" (+1) and "less like this" (-1), one row per reader and paper: the last word wins.
    op.create_table(
        "paper_feedback",
        _user_fk(),
        sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "paper_id"),
    )
    # Followed authors and categories.  ``value`` is the name as the reader followed it (shown);
    # ``value_norm`` (case- and accent-folded) is what matching and uniqueness use.
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _user_fk(),
        sa.Column("kind", sa.Text, nullable=False),  # author | category
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("value_norm", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.UniqueConstraint("user_id", "kind", "value_norm"),
    )
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _user_fk(),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.UniqueConstraint("user_id", "query"),
    )
    # One private-feed token per reader (only its SHA-256 is stored); revoking deletes the row.
    op.create_table(
        "feed_tokens",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    with op.batch_alter_table("collections") as batch:
        batch.add_column(sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("collections") as batch:
        batch.drop_column("public")
    for table in ("feed_tokens", "saved_searches", "follows", "paper_feedback"):
        op.drop_table(table)
