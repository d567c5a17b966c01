"""Failures the interfaces answer for: the database's (from ``store.errors``), re-exported
so that the web layer and the CLI never import the store."""

from opis.store.errors import ANSWERED, DatabaseError, database_unavailable

__all__ = ["ANSWERED", "DatabaseError", "database_unavailable"]
