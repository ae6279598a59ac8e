"""Who put a paper on a daily list, as Hugging Face describes them.

Revision ID: 0004_submitters
Revises: 0003_job_runs
Create Date: 2026-12-05

``daily_entries.submitted_by`` keeps the name shown to readers (a full name from Hugging Face, a
local username for a submission here).  ``submitter_user`` is the account handle, which the API's
``submitter=`` filter matches (Hugging Face filters by handle: ``akhaliq``, not ``AK``), and
``submitter`` the rest of the account object as the source gave it (JSON: ``_id``, ``avatarUrl``,
``type``...), so that the API can answer ``submittedBy`` in Hugging Face's shape.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_submitters"
down_revision = "0003_job_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daily_entries") as batch:
        batch.add_column(sa.Column("submitter_user", sa.Text))
        batch.add_column(sa.Column("submitter", sa.Text))
    op.create_index("ix_daily_entries_submitter_user", "daily_entries", ["submitter_user"])


def downgrade() -> None:
    op.drop_index("ix_daily_entries_submitter_user", "daily_entries")
    with op.batch_alter_table("daily_entries") as batch:
        batch.drop_column("submitter")
        batch.drop_column("submitter_user")
