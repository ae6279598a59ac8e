"""Failed sign-ins, for the per-account and per-address limits (``store/signins.py``).

Revision ID: 0008_signin_failures
Revises: 0007_queues
Create Date: 2026-12-05

In the database rather than in each worker's memory, so the limits hold across workers and
hosts.  Rows older than the window are deleted as new ones come, so the table stays small.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_signin_failures"
down_revision = "0007_queues"
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


def downgrade() -> None:
    op.drop_table("signin_failures")
