"""PostgreSQL search that scales with the page, not with the hits (issue 19).

- ``search_documents.sample``: the record's sample bucket (as the embedded engine's),
  so that facet counts over many hits can be estimated from a few buckets;
- ``search_documents.entities`` and ``.collections``: the ids the record links and the
  collections that hold it, so facet counts read one row a hit instead of joining its
  mention rows (about 90 a record);
- the record's filter and facet columns (language, repository, classification, dates,
  year) on its index row too, so a search never joins every hit with its record (the
  index holds published records only, as the embedded engine's does);
- the RUM index ``ix_search_documents_rank`` in place of the GIN index where the server
  has the ``rum`` extension (Debian: postgresql-15-rum): it keeps each word's positions,
  so the best hits come out of the index in rank order and phrases are checked inside
  it, without reading every hit's tsvector from the table. A server without it keeps
  the GIN index, and search ranks as before;
- ``search_documents`` emptied: the next open rebuilds every row with the new columns.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _rum_available(bind) -> bool:
    """Whether the ``rum`` extension is installed in the database or can be: created
    here when it is not yet (it needs the right to create extensions; without it, the
    GIN index stays)."""
    exists = "SELECT 1 FROM pg_extension WHERE extname = 'rum'"
    if bind.execute(text(exists)).scalar():
        return True
    if not bind.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
                        ).scalar():
        return False
    try:
        with bind.begin_nested():  # another process may be creating it right now
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS rum SCHEMA public"))
    except DBAPIError:
        pass
    return bool(bind.execute(text(exists)).scalar())


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DELETE FROM search_documents")
    op.execute("ALTER TABLE search_documents"
               " ADD COLUMN sample smallint NOT NULL DEFAULT 0,"
               " ADD COLUMN entities text[] NOT NULL DEFAULT '{}',"
               " ADD COLUMN collections text[] NOT NULL DEFAULT '{}',"
               " ADD COLUMN language varchar(16), ADD COLUMN repository text,"
               " ADD COLUMN classification text, ADD COLUMN date_start date,"
               " ADD COLUMN date_end date, ADD COLUMN year integer")
    if _rum_available(bind):
        schema = bind.execute(text("SELECT nspname FROM pg_extension e JOIN pg_namespace n"
                                   " ON n.oid = e.extnamespace WHERE extname = 'rum'")).scalar()
        op.execute("DROP INDEX IF EXISTS ix_search_documents_tsv")
        op.execute("CREATE INDEX ix_search_documents_rank ON search_documents"
                   f" USING rum (tsv {schema}.rum_tsvector_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DELETE FROM search_documents")
    op.execute("DROP INDEX IF EXISTS ix_search_documents_rank")
    op.execute("CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents"
               " USING GIN (tsv)")
    op.execute("ALTER TABLE search_documents DROP COLUMN sample,"
               " DROP COLUMN entities, DROP COLUMN collections, DROP COLUMN language,"
               " DROP COLUMN repository, DROP COLUMN classification,"
               " DROP COLUMN date_start, DROP COLUMN date_end, DROP COLUMN year")
