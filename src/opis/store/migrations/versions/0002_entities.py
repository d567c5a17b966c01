"""Authority file (entities, name variants), mentions, glossary, collections.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("preferred", sa.Text, nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("identifiers", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_entities_kind_key", "entities", ["kind", "key"])
    op.create_table(
        "entity_variants",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity_id", sa.String(200),
                  sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("variant", sa.Text, nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.UniqueConstraint("entity_id", "variant"),
    )
    op.create_index("ix_entity_variants_key", "entity_variants", ["key"])
    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(200),
                  sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
        sa.Column("entity_id", sa.String(200),
                  sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("start", sa.Integer),
        sa.Column("end", sa.Integer),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
    )
    op.create_index("ix_mentions_record", "mentions", ["record_id"])
    op.create_index("ix_mentions_entity", "mentions", ["entity_id", "record_id"])
    op.create_table(
        "glossary",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("term", sa.String(100), nullable=False),
        sa.Column("expansion", sa.Text, nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),  # "global" or a collection id
        sa.Column("source_id", sa.String(200)),
        sa.UniqueConstraint("scope", "term", "expansion"),
    )
    op.create_table(
        "collections",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "collection_items",
        sa.Column("collection_id", sa.String(200),
                  sa.ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.String(200), nullable=False),
    )
    op.create_index("ix_collection_items_record", "collection_items", ["record_id"])


def downgrade() -> None:
    op.drop_table("collection_items")
    op.drop_table("collections")
    op.drop_table("glossary")
    op.drop_table("mentions")
    op.drop_table("entity_variants")
    op.drop_table("entities")
