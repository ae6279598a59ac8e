"""When each job last succeeded.

Revision ID: 0010_job_last_ok
Revises: 0009_sign_in_and_up
Create Date: 2026-12-05

``job_runs`` keeps only the last run's outcome, so a harvest that succeeded yesterday and failed
today looked as if it had never run: the home page then said the sources had "not been harvested
on this site".  ``last_ok`` is the finish time of the newest successful run.  Rows written before
this revision take their last finish when that run was ``ok``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_job_last_ok"
down_revision = "0009_sign_in_and_up"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("last_ok", sa.Text))
    op.execute("UPDATE job_runs SET last_ok = last_finished WHERE last_status = 'ok'")


def downgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("last_ok")
