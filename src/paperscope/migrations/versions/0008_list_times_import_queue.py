"""When a paper entered a daily list, and imports waiting on the fetch queue.

Revision ID: 0008_list_times_import_queue
Revises: 0007_queues
Create Date: 2026-12-05

``daily_entries.submitted_at``: the moment the paper entered the list, when its source says
(Hugging Face's ``submittedOnDailyAt``, or the outer ``publishedAt`` of a ``/api/daily_papers``
item; a submission here: when it was submitted).  NULL when only the day is known, and the API
then answers the list day at midnight UTC as before.

``fetch_queue.collection_id``: a paper queued by a library import into a collection (the web
form), added to that collection once the ``fetch-queue`` job has fetched it.  Such a row puts no
paper on a daily list, so ``fetch_queue.list_date`` becomes optional.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_list_times_import_queue"
down_revision = "0007_queues"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daily_entries") as batch:
        batch.add_column(sa.Column("submitted_at", sa.Text))
    with op.batch_alter_table("fetch_queue") as batch:
        # A deleted collection takes its waiting imports with it (nothing left to add them to).
        batch.add_column(sa.Column("collection_id", sa.Integer))
        batch.create_foreign_key(
            "fk_fetch_queue_collection", "collections", ["collection_id"], ["id"], ondelete="CASCADE"
        )
        batch.alter_column("list_date", existing_type=sa.Text, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM fetch_queue WHERE list_date IS NULL")
    with op.batch_alter_table("fetch_queue") as batch:
        batch.alter_column("list_date", existing_type=sa.Text, nullable=False)
        batch.drop_constraint("fk_fetch_queue_collection", type_="foreignkey")
        batch.drop_column("collection_id")
    with op.batch_alter_table("daily_entries") as batch:
        batch.drop_column("submitted_at")
