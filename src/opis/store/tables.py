"""Tables. The store is the only package that speaks SQL.

A record's promoted columns serve filters, facets and listing; ``data`` holds the
whole record as JSON so nothing the readers found is ever dropped. Annotations get
their own rows so they can be queried and edited one by one.
"""

from __future__ import annotations

import datetime as dt
import threading
from datetime import datetime
from typing import Any

import orjson
import zstandard
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine


class PackedJSON(TypeDecorator):
    """JSON that SQLite stores compressed. A revision holds a whole version, text and
    name mentions included: as plain JSON it was 40% of an archive's size (22 kB a
    record); with Zstandard it is 6 kB, written in 0.08 ms instead of the 0.14 ms that
    encoding it as JSON text alone took. PostgreSQL already compresses large values
    (TOAST), so there it stays JSON. Rows an older opis wrote as JSON text are read as
    they are: SQLite keeps each value's own type, so no migration is needed."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(LargeBinary())
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name != "sqlite" or value is None:
            return value
        return _packer().compress(orjson.dumps(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name != "sqlite" or value is None:
            return value
        if isinstance(value, bytes):
            return orjson.loads(_unpacker().decompress(value))
        return orjson.loads(value)


# Zstandard contexts are not thread-safe: one per thread (web workers read revisions).
_local = threading.local()


def _packer() -> zstandard.ZstdCompressor:
    if not hasattr(_local, "packer"):
        _local.packer = zstandard.ZstdCompressor(level=3)
    return _local.packer


def _unpacker() -> zstandard.ZstdDecompressor:
    if not hasattr(_local, "unpacker"):
        _local.unpacker = zstandard.ZstdDecompressor()
    return _local.unpacker


class Base(DeclarativeBase):
    pass


class RecordRow(Base):
    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(String(64))
    # dt.date: the class's own ``date`` column would shadow the type here.
    date_start: Mapped[dt.date | None] = mapped_column(Date, index=True)
    date_end: Mapped[dt.date | None] = mapped_column(Date)
    original_language: Mapped[str | None] = mapped_column(String(16), index=True)
    classification: Mapped[str | None] = mapped_column(String(64))
    repository: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(Text)
    source_format: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    annotations: Mapped[list[AnnotationRow]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="AnnotationRow.seq"
    )
    mentions: Mapped[list[MentionRow]] = relationship(
        cascade="all, delete-orphan", order_by="MentionRow.id")


class AnnotationRow(Base):
    __tablename__ = "annotations"
    __table_args__ = (UniqueConstraint("record_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    record: Mapped[RecordRow] = relationship(back_populates="annotations")


class RevisionRow(Base):
    """Every version a record ever had, whole: nothing is overwritten without a trace."""

    __tablename__ = "revisions"
    __table_args__ = (
        UniqueConstraint("record_id", "number"),
        Index("ix_revisions_record", "record_id", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    author: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(PackedJSON)
    content_hash: Mapped[str] = mapped_column(String(64))


class EntityRow(Base):
    """An authority record: a person, organization, place or event."""

    __tablename__ = "entities"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    preferred: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    identifiers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    variants: Mapped[list[VariantRow]] = relationship(
        back_populates="entity", cascade="all, delete-orphan", order_by="VariantRow.id")


class VariantRow(Base):
    """A spelling of an entity seen in a source; ``key`` is its romanization key."""

    __tablename__ = "entity_variants"
    __table_args__ = (UniqueConstraint("entity_id", "variant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_id: Mapped[str] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    variant: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(300), index=True)

    entity: Mapped[EntityRow] = relationship(back_populates="variants")


class MentionRow(Base):
    __tablename__ = "mentions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(64))


class GlossaryRow(Base):
    __tablename__ = "glossary"
    __table_args__ = (UniqueConstraint("scope", "term", "expansion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    term: Mapped[str] = mapped_column(String(100))
    expansion: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(200))
    source_id: Mapped[str | None] = mapped_column(String(200))


class CollectionRow(Base):
    __tablename__ = "collections"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CollectionItemRow(Base):
    __tablename__ = "collection_items"

    collection_id: Mapped[str] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200), index=True)
