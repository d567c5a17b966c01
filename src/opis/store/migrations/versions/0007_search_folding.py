"""Diacritics folded in PostgreSQL's full-text search, as in Tantivy's (issue 16):
"Hammarskjold" finds "Hammarskjöld", "Dvorak" finds "Dvořák", "Елкин" finds "Ёлкин".

- the ``unaccent`` extension (in ``public``, so every schema's configurations share it);
- text search configurations ``opis_english``, ``opis_russian`` and ``opis_german``:
  copies of the built-in ones whose words pass through ``unaccent`` before stemming;
- ``search_documents`` emptied: the record count no longer matches, so the next open
  rebuilds every record's tsvector with the new configurations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CONFIGS = {"opis_english": "english", "opis_russian": "russian", "opis_german": "german"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    exists = "SELECT 1 FROM pg_extension WHERE extname = 'unaccent'"
    if not bind.execute(text(exists)).scalar():
        try:
            with bind.begin_nested():  # another process may be creating it right now
                bind.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public"))
        except DBAPIError:
            if not bind.execute(text(exists)).scalar():
                raise
    schema = bind.execute(text("SELECT nspname FROM pg_extension e JOIN pg_namespace n "
                               "ON n.oid = e.extnamespace WHERE extname = 'unaccent'")).scalar()
    for name, base in CONFIGS.items():
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = pg_catalog.{base})")
        op.execute(f"ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR hword, "
                   f"hword_part, word WITH {schema}.unaccent, {base}_stem")
    op.execute("DELETE FROM search_documents")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in CONFIGS:
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")
    op.execute("DELETE FROM search_documents")
