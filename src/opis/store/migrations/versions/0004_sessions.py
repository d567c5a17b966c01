"""Server-side sessions, device-aware login limits, token expiry.

- ``sessions``: one row per signed-in browser, keyed by the SHA-256 of the random id its
  cookie carries, so logout, disabling a user or a password change end it on the server.
- ``login_failures.device``: the nonce of the device cookie a failed attempt came with
  (NULL for a browser that never signed in as that user), for per-device limits.
- ``api_tokens.expires_at``: tokens may expire.
- Tokens of users disabled before this version are revoked now, since disabling revokes
  tokens from here on and enabling the user again must not bring them back.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-14
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    with op.batch_alter_table("login_failures") as batch:
        batch.add_column(sa.Column("device", sa.String(32)))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True)))
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("disabled", sa.Boolean))
    tokens = sa.table("api_tokens", sa.column("user_id", sa.Integer),
                      sa.column("revoked_at", sa.DateTime(timezone=True)))
    op.execute(tokens.update()
               .where(tokens.c.revoked_at.is_(None),
                      tokens.c.user_id.in_(sa.select(users.c.id).where(users.c.disabled)))
               .values(revoked_at=datetime.now(UTC)))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_column("device")
    op.drop_table("sessions")
