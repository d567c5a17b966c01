"""Authority files from CSV or JSON: curators bring lists of people, places, bodies.

CSV columns: id (optional), kind, preferred, variants (separated by "|" or ";"),
description, and any identifier columns such as wikidata. JSON: a list of objects
with the same keys (variants as a list, identifiers as an object).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from opis.model.entity import ENTITY_KINDS, Entity
from opis.names.authority import slug

KNOWN_COLUMNS = {"id", "kind", "preferred", "variants", "description", "identifiers"}


class AuthorityFileError(ValueError):
    def __init__(self, path: Path, where: str, message: str):
        super().__init__(f"{path}, {where}: {message}")


def read_authority_file(path: Path) -> Iterator[Entity]:
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise AuthorityFileError(path, f"line {e.lineno}", e.msg) from None
        if not isinstance(rows, list):
            raise AuthorityFileError(path, "line 1", "expected a list of entities")
        for i, row in enumerate(rows, 1):
            yield _entity(path, f"entry {i}", row)
        return
    with path.open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f), 2):
            yield _entity(path, f"line {i}", row)


def _entity(path: Path, where: str, row: object) -> Entity:
    if not isinstance(row, dict):
        raise AuthorityFileError(path, where, "expected an object")
    kind = (row.get("kind") or "").strip()
    preferred = (row.get("preferred") or "").strip()
    if kind not in ENTITY_KINDS:
        raise AuthorityFileError(path, where, f"field 'kind' must be one of {ENTITY_KINDS}")
    if not preferred:
        raise AuthorityFileError(path, where, "field 'preferred' is empty")
    variants = row.get("variants") or []
    if isinstance(variants, str):
        variants = [v.strip() for v in variants.replace(";", "|").split("|") if v.strip()]
    identifiers = row.get("identifiers") if isinstance(row.get("identifiers"), dict) else {}
    identifiers = dict(identifiers or {})
    for k, v in row.items():
        if k not in KNOWN_COLUMNS and v:
            identifiers[k] = str(v)
    eid = (row.get("id") or "").strip() or f"{kind}/{slug(preferred)}"
    if not eid.startswith(kind + "/"):
        eid = f"{kind}/{eid}"
    return Entity(eid, kind, preferred, list(variants), row.get("description") or None,
                  identifiers)
