"""Work that a web request hands to the scheduler: papers to fetch and mail to send.

Revision ID: 0007_queues
Revises: 0006_account_hardening
Create Date: 2026-12-05

``fetch_queue``: a paper submitted on the site, fetched later from the arXiv API by the
``fetch-queue`` job (:mod:`paperscope.harvest.fetch_queue`).  ``mail_outbox``: a rendered
message (the digest confirmation) that the ``outbox`` job delivers exactly once
(:mod:`paperscope.mail.outbox`).  Both carry their own attempts and next-attempt time, so a
failure is retried with back-off instead of at every round.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_queues"
down_revision = "0006_account_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fetch_queue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("input", sa.Text, nullable=False),  # as the user gave it (URL, versioned id...)
        sa.Column("arxiv_id", sa.Text, nullable=False),  # canonical, without version
        sa.Column("submitted_by", sa.Text),
        sa.Column("list_date", sa.Text, nullable=False),
        # queued -> done | failed (arXiv does not know it, or attempts ran out)
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Text, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("paper_key", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("done_at", sa.Text),
    )
    op.create_index("ix_fetch_queue_due", "fetch_queue", ["status", "next_attempt_at"])
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text, nullable=False),  # what it is, for logs and metrics ("confirmation")
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),  # the whole RFC 5322 message, rendered at queue time
        sa.Column("message_id", sa.Text, nullable=False),
        # queued -> sending -> committing -> sent; queued again after a temporary failure;
        # failed (permanent refusal or attempts ran out); unknown (sender died after the server
        # had the whole message: never resent automatically).
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Text, nullable=False),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claimed_at", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Text),
    )
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_due", "mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index("ix_fetch_queue_due", "fetch_queue")
    op.drop_table("fetch_queue")
