"""``opis ingest``: read source files into the archive, with a progress bar and a
report that names every file, line and record that failed, was flagged, or was held.

Mounted by ``opis.cli`` with ``cli_ingest.register(app)``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from opis.cli_common import DbOption, console, err
from opis.cli_common import open_archive as _open
from opis.config import resolve_database, shown_database
from opis.services.ingest_report import IngestProgress, IngestReport, reader_limits


def ingest(paths: Annotated[list[Path] | None, typer.Argument(
               help="Files or folders to read.")] = None,
           db: DbOption = None,
           dry_run: Annotated[bool, typer.Option(
               "--dry-run", help="Read and check everything, write nothing.")] = False,
           report_path: Annotated[Path | None, typer.Option(
               "--report", help="Write the report as JSON to this file.")] = None,
           workers: Annotated[int | None, typer.Option(
               help="Processes finding entities (default: 2, or 1 on one core).")] = None,
           original: Annotated[Path | None, typer.Option(
               help="With --translation: the original (scan, PDF) of one record.")] = None,
           translation: Annotated[Path | None, typer.Option(
               help="With --original: the translation of one record.")] = None,
           attachment_root: Annotated[list[Path] | None, typer.Option(
               "--attachment-root", help="A folder whose files records may attach, "
               "besides the folders given to read (repeatable).")] = None,
           encoding: Annotated[str | None, typer.Option(
               help="Read text files (.txt, .md, .csv) in this encoding (cp1251, euc-kr, "
               "...) instead of detecting it.")] = None,
           force: Annotated[bool, typer.Option(
               "--force", help="Apply updates that look damaged (a much shorter or cut "
               "text, most fields gone, mojibake) instead of holding them.")] = False,
           ) -> None:
    """Read source files into the archive (format detected per file).

    Runs again safely: stored records are recognised and skipped, so an interrupted
    ingest is finished by running the same command. Records attach only files inside
    the folders given (docs/ingest.md#attachments). An update that looks damaged is
    held (the stored record stays) unless --force (docs/ingest.md#re-ingest)."""
    if (original is None) != (translation is None):
        err.print("[red]--original and --translation go together[/red]")
        raise typer.Exit(2)
    if not paths and original is None:
        err.print("[red]Nothing to ingest: give files or folders, or --original and "
                  "--translation[/red]")
        raise typer.Exit(2)
    try:
        limits = reader_limits()
    except ValueError as e:
        err.print(f"[red]{e}[/red]", highlight=False)
        raise typer.Exit(2) from None
    archive = _open(db)
    if original is not None and translation is not None:
        report = archive.ingest_pair(translation, original, limits,
                                     attachment_root or [])
        archive.close()
        _print_report(report, dry_run=False, report_path=report_path)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("ingest", total=None, rate="")

        def tick(state: IngestProgress) -> None:
            name = state.path.name[:30] if state.path else ""
            progress.update(task, total=state.bytes_total or None,
                            completed=state.bytes_done, description=name,
                            rate=f"{state.records_done} records, {state.rate:.0f}/s")

        report = archive.ingest(paths or [], progress=tick, dry_run=dry_run,
                                workers=workers, limits=limits,
                                attachment_roots=attachment_root or [], encoding=encoding,
                                force=force)
    archive.close()
    _print_report(report, dry_run=dry_run, report_path=report_path)
    console.print(f"archive: {shown_database(resolve_database(db))}", highlight=False,
                  soft_wrap=True)


def _print_report(report: IngestReport, *, dry_run: bool, report_path: Path | None) -> None:
    prefix = "dry run: would have " if dry_run else ""
    n = len(report.warnings)
    warned = f", {n} warning{'' if n == 1 else 's'}" if n else ""
    flagged = report.flagged_records
    held = f", held {len(report.held)}" if report.held else ""
    console.print(f"{prefix}added {len(report.added)}, updated {len(report.updated)}"
                  f"{held}, unchanged {len(report.unchanged)}; stored {report.stored}, flagged "
                  f"{flagged}, failed {len(report.failed)}{warned} "
                  f"({report.seconds:.1f} s)", highlight=False)
    # Messages quote the source ("div[@type='document']"): escaped, never read as markup.
    for f in report.failed:
        console.print(f"[red]failed[/red] {escape(str(f))}", highlight=False, soft_wrap=True)
    for f in report.flagged:
        console.print(f"[yellow]flagged[/yellow] {escape(str(f))}", highlight=False,
                      soft_wrap=True)
    if any(f.limit for f in report.failed):
        console.print(f"reader limits: {report.limits.describe()}", highlight=False,
                      soft_wrap=True)
    for f in report.warnings:
        console.print(f"[yellow]warning[/yellow] {escape(str(f))}", highlight=False,
                      soft_wrap=True)
    for f in report.changes:
        console.print(f"[cyan]would update[/cyan] {escape(str(f))}", highlight=False,
                      soft_wrap=True)
    for f in report.held:
        console.print(f"[red]held[/red] {escape(str(f))}", highlight=False, soft_wrap=True)
    if report_path:
        report_path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    if report.failed or report.held:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``ingest`` to the ``opis`` command."""
    app.command("ingest")(ingest)


__all__ = ["ingest", "register"]
