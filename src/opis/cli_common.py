"""What every ``opis`` command module shares: consoles, the --db option, opening the
archive with an error message instead of a traceback."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from opis.config import resolve_database
from opis.services.archive import Archive

console = Console()
err = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database file or URL "
                     "(default: $OPIS_DATABASE or the user data folder).")]


def open_archive(db: str | None) -> Archive:
    url = resolve_database(db)
    try:
        return Archive(url)
    except Exception as e:  # a bad URL or an unreachable server: say so, no traceback
        err.print(f"[red]Cannot open the database {url}:[/red] {e.__class__.__name__}: {e}")
        raise typer.Exit(2) from None
