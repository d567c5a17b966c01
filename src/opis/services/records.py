"""The public shape of a record: what /document/{id}.json and ``opis show --json`` return."""

from __future__ import annotations

from typing import Any

from opis.model import Record

PRIVATE_FIELDS = ("source_path",)


def record_json(record: Record) -> dict[str, Any]:
    """The record with its documented field names (docs/json.md); server paths removed."""
    data = record.to_dict()
    for name in PRIVATE_FIELDS:
        data.pop(name, None)
    return data
