"""Accounts hardening: usernames unique ignoring case, API tokens told apart from browser sessions.

Revision ID: 0006_account_hardening
Revises: 0005_enrich
Create Date: 2026-12-05

``users``: a unique index on ``lower(username)``, so two concurrent sign-ups of ``racer`` and
``rAcEr`` cannot both succeed (the check before the insert was not enough under a race).  Names
that already collide keep the oldest account's name; the others get ``-<id>`` appended.

``sessions.kind``: ``browser`` (a sign-in) or ``api`` (``paperscope user token``), so that API
tokens can be listed and revoked (``paperscope user tokens`` / ``revoke``, the account's Tokens page).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_account_hardening"
down_revision = "0005_enrich"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE users SET username = username || '-' || CAST(id AS TEXT) WHERE id NOT IN "
        "(SELECT MIN(id) FROM users GROUP BY lower(username))"
    )
    op.create_index("ix_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("kind", sa.Text, nullable=False, server_default="browser"))
    op.create_index("ix_sessions_user_kind", "sessions", ["user_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_sessions_user_kind", table_name="sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("kind")
    op.drop_index("ix_users_username_lower", table_name="users")
