"""Footnotes and source notes as their own searchable text (issue 15).

- ``search_documents.notes``: a record's footnotes and source note, kept beside its
  tsvector (where they weigh as the body) so a hit found only there gets its snippet
  from them, labelled "in a footnote". Rows indexed before this version have empty
  notes until ``opis reindex``; records stored from now on are indexed with them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-15
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_documents ADD COLUMN notes text NOT NULL DEFAULT ''")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_documents DROP COLUMN notes")
