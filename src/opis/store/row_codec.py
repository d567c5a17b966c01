"""Table rows as JSON values and back: timestamps and dates as ISO 8601, binary columns
(embedding vectors) as base64. Shared by the lossless archive format's ``row`` lines
and by the reader of backups made before it (``opis-backup``)."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, LargeBinary, Table, text
from sqlalchemy.engine import Connection

from opis.store.tables import Base


def encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def encode_row(row: Any) -> dict[str, Any]:
    return {k: encode(v) for k, v in dict(row).items()}


def decode_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A row as the table takes it; a column a later opis dropped is left out."""
    out = {}
    for name, value in row.items():
        if name not in table.c:
            continue
        kind = table.c[name].type
        if value is not None and isinstance(kind, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(kind, Date):
            value = date.fromisoformat(value)
        elif value is not None and isinstance(kind, LargeBinary):
            value = base64.b64decode(value)
        out[name] = value
    return out


def reset_sequences(conn: Connection) -> None:
    """Rows came with their ids: move each id sequence past the largest one restored."""
    quote = conn.dialect.identifier_preparer.quote
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1:
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                           {"t": table.name, "c": pk[0].name}).scalar()
        if seq:
            conn.execute(text(f"SELECT setval(:s, coalesce((SELECT max({quote(pk[0].name)}) "
                              f"FROM {quote(table.name)}), 0) + 1, false)"), {"s": seq})
