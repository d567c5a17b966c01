"""Passages embedded for search by meaning, their change log, and the embedded version
of each record (see store/passage_tables.py, docs/semantic.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("start", sa.Integer),
        sa.Column("end", sa.Integer),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_passages_record_id", "passages", ["record_id"])
    op.create_table(
        "passage_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("passage_id", sa.Integer, nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("op", sa.String(3), nullable=False),
    )
    op.create_table(
        "embedded_records",
        sa.Column("record_id", sa.String(200), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("passages", sa.Integer, nullable=False),
        sa.Column("embedded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("embedded_records")
    op.drop_table("passage_log")
    op.drop_index("ix_passages_record_id", "passages")
    op.drop_table("passages")
