"""The scheduler's record of each job: its last run, outcome and counts, and its next slot.

Revision ID: 0003_job_runs
Revises: 0002_reader_signals
Create Date: 2026-12-05

One row per job name, rewritten by every run (history is in the logs); ``runs`` and
``failures`` only grow, for /metrics.  Times are UTC ISO-8601 text like every other table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_job_runs"
down_revision = "0002_reader_signals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("last_run", sa.Text),  # when the last run started
        sa.Column("last_finished", sa.Text),
        sa.Column("last_status", sa.Text),  # running | ok | failed
        sa.Column("last_counts", sa.Text),  # JSON object
        sa.Column("last_error", sa.Text),  # the reason of the last failure
        sa.Column("next_run", sa.Text),
        sa.Column("runs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
