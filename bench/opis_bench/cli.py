"""``python bench/generate.py``: make benchmark data. A thin shell over
:mod:`opis_bench.generate`, outside the product CLI because the kit is not in the wheel."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from opis_bench.generate import generate as generate_corpus

generate_app = typer.Typer(add_completion=False, no_args_is_help=True)
console = Console()
err = Console(stderr=True)


class Format(StrEnum):
    jsonl = "jsonl"
    text = "text"
    tei = "tei"


@generate_app.command()
def generate_command(
    docs: Annotated[int, typer.Option("--docs", min=0, help="How many records to write.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into (created).")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 1,
    fmt: Annotated[Format, typer.Option(
        "--format", help="jsonl: archive JSON Lines; text: one text export per record; "
                         "tei: FRUS-like TEI volumes.")] = Format.jsonl,
    shard_size: Annotated[int, typer.Option(
        "--shard-size", min=1, help="Records per .jsonl file, text folder or TEI volume.")
    ] = 10_000,
) -> None:
    """Write a synthetic corpus and print what was written and how fast."""
    try:
        report = generate_corpus(out, docs, seed=seed, fmt=fmt.value, shard_size=shard_size)
    except OSError as e:  # an unwritable folder or a full disk: say so, no traceback
        err.print(f"[red]Cannot write to {out}:[/red] {e.strerror or e}")
        raise typer.Exit(2) from None
    table = Table(title=f"{fmt.value} corpus in {out}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("records", f"{report.records:,}")
    table.add_row("files", f"{report.files:,}")
    table.add_row("bytes", f"{report.bytes:,}")
    table.add_row("seconds", f"{report.seconds:.2f}")
    table.add_row("records/s", f"{report.records_per_second:,.0f}")
    table.add_row("records/CPU-second", f"{report.records_per_cpu_second:,.0f}")
    table.add_row("MB/s", f"{report.megabytes_per_second:.1f}")
    console.print(table)


def main() -> None:
    """Entry point of ``python bench/generate.py``."""
    generate_app(prog_name="bench/generate.py")
