"""The domain model: plain typed classes, no I/O."""

from opis.model.record import (
    ANNOTATION_KINDS,
    CONTRIBUTOR_ROLES,
    Annotation,
    ArchivalReference,
    Author,
    Contents,
    Contributor,
    HandwrittenNote,
    Record,
    Stamp,
)

__all__ = [
    "ANNOTATION_KINDS",
    "CONTRIBUTOR_ROLES",
    "Annotation",
    "ArchivalReference",
    "Author",
    "Contents",
    "Contributor",
    "HandwrittenNote",
    "Record",
    "Stamp",
]
