"""Failed sign-ins, for the per-account and per-address limits (``store/signins.py``), and
sign-ups waiting for their mailed link (``store/signups.py``).

Revision ID: 0009_sign_in_and_up
Revises: 0008_list_times_import_queue
Create Date: 2026-12-05

In the database rather than in each worker's memory, so the limits hold across workers and
hosts.  Rows older than the window are deleted as new ones come, so the table stays small.

``pending_signups``: a sign-up is an account only once the mailbox owner opens the mailed link,
so that the sign-up form answers the same whether or not the address has an account.  The link
carries a random token, of which only the hash is kept here, with the already hashed password.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sign_in_and_up"
down_revision = "0008_list_times_import_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        # "user:<id>" for an account (typed as username or email), "name:<typed>" for none.
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),  # the client address (the proxy's word behind --proxy)
        sa.Column("failed_at", sa.Text, nullable=False),  # UTC, ISO 8601 with microseconds: sorts as text
    )
    op.create_index("ix_signin_failures_account", "signin_failures", ["account", "failed_at"])
    op.create_index("ix_signin_failures_address", "signin_failures", ["address", "failed_at"])
    op.create_index("ix_signin_failures_failed_at", "signin_failures", ["failed_at"])
    op.create_table(
        "pending_signups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Text, nullable=False),
    )
    op.create_index("ix_pending_signups_expires_at", "pending_signups", ["expires_at"])
    op.create_index("ix_pending_signups_email", "pending_signups", ["email", "created_at"])


def downgrade() -> None:
    op.drop_table("pending_signups")
    op.drop_table("signin_failures")
