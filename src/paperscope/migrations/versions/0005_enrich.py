"""Enrichment: what arXiv said about papers it was asked to complete, and the Hugging Face AI summary.

Revision ID: 0005_enrich
Revises: 0004_submitters
Create Date: 2026-12-05

``paper_enrichment`` holds one row per paper that the enrich job asked arXiv about and did not
get an answer for (arXiv does not know it, or the title matched nothing exactly), with when to
ask again: the back-off lives in the database so that every process and every rerun honours it.
A paper that gets completed loses its row in the same transaction.

``papers.ai_summary`` / ``ai_keywords`` are Hugging Face's AI summary and keywords, kept apart
from the abstract so that a one-line summary never stands in for it.  ``published_at`` is the
publication time with its time of day when a source gives one (``published`` stays the day,
which lists and filters use).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_enrich"
down_revision = "0004_submitters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("ai_summary", sa.Text))
        batch.add_column(sa.Column("ai_keywords", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("published_at", sa.Text))
    op.create_table(
        "paper_enrichment",
        sa.Column(
            "paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
        ),
        # "not_found": arXiv does not know the id / no exact title match; "failed": it answered badly.
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_tried", sa.Text, nullable=False),
        # Not asked again before this time (ISO 8601 UTC text, which sorts as time).
        sa.Column("next_try", sa.Text, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("paper_enrichment")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("published_at")
        batch.drop_column("ai_keywords")
        batch.drop_column("ai_summary")
