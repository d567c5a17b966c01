"""What every reader shares: the error it raises and the items it yields.

A reader turns the bytes of one source file into model objects and nothing else.
"""

from __future__ import annotations

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
