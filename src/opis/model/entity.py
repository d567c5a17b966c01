"""People, organizations, places and events, their mentions, and curated collections."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class EntityKind(StrEnum):
    """What an authority record names; the value is what the database, the index's
    facet fields and the URLs (/person/...) use."""

    PERSON = "person"
    ORGANIZATION = "organization"
    PLACE = "place"
    EVENT = "event"


ENTITY_KINDS = tuple(kind.value for kind in EntityKind)


@dataclass
class Entity:
    """An authority record: one real-world referent with every spelling seen."""

    id: str
    kind: str
    preferred: str
    variants: list[str] = field(default_factory=list)
    description: str | None = None
    identifiers: dict[str, str] = field(default_factory=dict)  # e.g. {"frus": "p_YD1"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Mention:
    """An entity named in a record's text (offsets into Record.text) or its metadata."""

    entity_id: str
    start: int | None
    end: int | None
    text: str
    field: str = "text"  # "text", "authors", "distribution", "contributors", "metadata"


@dataclass
class GlossaryEntry:
    """An abbreviation and what it stands for (a FRUS terms list entry, say)."""

    term: str
    expansion: str
    id: str | None = None


@dataclass
class Collection:
    """A curated, ordered set of records (a FRUS volume, a teaching set)."""

    id: str
    title: str
    description: str | None = None
    record_ids: list[str] = field(default_factory=list)
