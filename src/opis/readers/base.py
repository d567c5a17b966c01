"""What every reader shares: the error it raises and the items it yields.

A reader turns the bytes of one source file into model objects and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opis.model import Record
from opis.model.entity import Collection, Entity, GlossaryEntry

# What a reader may yield. Records are the main product; a TEI volume also yields
# its persons list (Entity), its terms list (GlossaryEntry) and itself as a Collection.
Item = Record | Entity | GlossaryEntry | Collection


class ReadError(Exception):
    """A source the reader could not read, with the place to look."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.message, self.line))


class LimitError(ReadError):
    """A source over one of the reader limits (readers/limits.py); ``limit`` names the
    variable that sets it, so the report can say which limit was hit."""

    def __init__(self, path: Path | str, message: str, line: int | None = None, *,
                 limit: str):
        super().__init__(path, message, line)
        self.limit = limit

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions pickle their args; this one travels back from the reader process.
        return (_limit_error, (self.path, self.message, self.line, self.limit))


def _limit_error(path: str, message: str, line: int | None, limit: str) -> LimitError:
    return LimitError(path, message, line, limit=limit)


@dataclass
class Rejected:
    """One record of a file that cannot be stored (over a limit: a ``LimitError``;
    unreadable: a bad JSON line, a TEI document without text), yielded in its place with
    the file and line: the ingest reports it as failed and reads on, so one bad record
    does not cost the others."""

    error: ReadError
    record_id: str | None = None
