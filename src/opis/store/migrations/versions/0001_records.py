"""Records, annotations, revisions; PostgreSQL full-text search table.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("date", sa.String(64)),
        sa.Column("date_start", sa.Date),
        sa.Column("date_end", sa.Date),
        sa.Column("original_language", sa.String(16)),
        sa.Column("classification", sa.String(64)),
        sa.Column("repository", sa.String(200)),
        sa.Column("source_url", sa.Text),
        sa.Column("source_format", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False, server_default="published"),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_records_date_start", "records", ["date_start"])
    op.create_index("ix_records_original_language", "records", ["original_language"])
    op.create_index("ix_records_status", "records", ["status"])
    op.create_index("ix_records_updated_at", "records", ["updated_at"])
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(200),
                  sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("record_id", "seq"),
    )
    op.create_index("ix_annotations_record_id", "annotations", ["record_id"])
    op.create_index("ix_annotations_kind", "annotations", ["kind"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("record_id", "number"),
    )
    op.create_index("ix_revisions_record", "revisions", ["record_id", "number"])
    if op.get_bind().dialect.name == "postgresql":
        # Weighted tsvector kept in the same transaction as the record it indexes.
        op.execute(
            "CREATE TABLE search_documents ("
            " record_id varchar(200) PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE,"
            " tsv tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING GIN (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE search_documents")
    op.drop_table("revisions")
    op.drop_table("annotations")
    op.drop_table("records")
