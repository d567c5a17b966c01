"""``opis export`` and ``opis import``: a thin shell over ``opis.services.bulk``.

It does not import ``opis.cli`` (shared pieces are in ``opis.cli_common``), so
``opis.cli`` can mount it with ``cli_bulk.register(app)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opis import config
from opis.cli_common import DbOption, console, err
from opis.cli_common import open_archive as _open
from opis.services.bulk import FORMATS, BulkError, export_archive, import_archive


def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="File to write (for tei: a .xml file for "
                                      "one teiCorpus, any other path for a folder of files).")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl (lossless, for opis import), "
                                     "csv, tei or ris.")] = "jsonl",
    query: Annotated[str | None, typer.Option("--query", help="Export only the records this "
                                              "search finds.")] = None,
    include_accounts: Annotated[bool, typer.Option(
        "--include-accounts", help="jsonl only: add user accounts with their password hashes "
        "and API token hashes. Keep such a file as safe as the database.")] = False,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="csv, ris and tei: the site's public address, so that each "
        "record names its opis page (default: OPIS_BASE_URL).")] = None,
    db: DbOption = None,
) -> None:
    """Export the whole archive, or a search result, in one file."""
    if fmt not in FORMATS:
        err.print(f"[red]Unknown format {fmt!r}:[/red] use one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    if include_accounts and fmt != "jsonl":
        err.print("[red]--include-accounts goes with --format jsonl only[/red]")
        raise typer.Exit(2)
    try:  # --base-url gets the check OPIS_BASE_URL gets at startup
        site = config.site_address(base_url.strip()) if base_url else config.base_url()
    except ValueError as e:
        err.print(f"[red]{e}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    archive = _open(db)
    try:
        report = export_archive(archive, fmt, out, query=query,
                                include_accounts=include_accounts, site=site)
    except (BulkError, OSError) as e:
        err.print(f"[red]Cannot export:[/red] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        archive.close()
    console.print(f"wrote {report.summary()} to {out}", highlight=False, soft_wrap=True)


def import_cmd(
    path: Annotated[Path, typer.Argument(help="An opis JSONL export.")],
    merge: Annotated[bool, typer.Option(
        "--merge", help="Import into a database that has records already: add what is "
        "missing, keep what is there.")] = False,
    db: DbOption = None,
) -> None:
    """Import an opis JSONL export, all or nothing, then rebuild the search index."""
    archive = _open(db)
    try:
        report = import_archive(archive, path, merge=merge)
    except (BulkError, OSError) as e:
        err.print(f"[red]Nothing imported:[/red] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        archive.close()
    console.print(f"imported {report.summary()}; indexed {report.indexed} records",
                  highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``export`` and ``import`` to the ``opis`` command."""
    app.command("export")(export_cmd)
    app.command("import")(import_cmd)


__all__ = ["export_cmd", "import_cmd", "register"]
