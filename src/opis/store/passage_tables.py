"""Tables for search by meaning: passages with their vectors, a change log, and which
version of each record was embedded.

The vectors live in the database on both backends (float32 bytes: SQLite BLOB,
PostgreSQL bytea), so the database stays the one truth and a backup holds them; the
approximate-nearest-neighbour index (usearch) is a file derived from them that any
process rebuilds or catches up through ``passage_log``, whose ``seq`` only grows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opis.store.tables import Base


class PassageRow(Base):
    __tablename__ = "passages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # title, text, note
    start: Mapped[int | None] = mapped_column(Integer)  # offsets into Record.text
    end: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of model, kind and text
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian


class PassageLogRow(Base):
    """Every passage added or removed, in order: what a process's vector index applies
    to catch up from the ``seq`` its snapshot was saved at."""

    __tablename__ = "passage_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    passage_id: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str] = mapped_column(String(200))
    op: Mapped[str] = mapped_column(String(3))  # "add" or "del"


class EmbeddedRow(Base):
    """The version of a record (its content hash) whose passages are embedded, and by
    which model: a record whose hash or model differs is embedded again."""

    __tablename__ = "embedded_records"

    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    passages: Mapped[int] = mapped_column(Integer)
    embedded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
