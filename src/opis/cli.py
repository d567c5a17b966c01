"""The ``opis`` command: a thin shell over the archive service."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from opis import cli_admin, cli_bulk, cli_ingest
from opis.cli_common import DbOption, console, err
from opis.cli_common import open_archive as _open
from opis.config import (
    REPLICAS_ENV,
    ReplicaError,
    SettingsError,
    allowed_hosts,
    base_url,
    default_database,
    replica_urls,
    resolve_database,
    settings,
    shown_database,
)
from opis.search.base import SearchRequest
from opis.services import reading
from opis.services.archive import Archive
from opis.services.export import FORMATS, UnknownFormatError, export
from opis.services.records import record_json
from opis.services.search_results import results_data

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="opis: publish, search and cite translated historical documents.")


@app.callback()
def global_options(db: DbOption = None) -> None:
    """`opis --db URL COMMAND ...` means the same as `opis COMMAND ... --db URL` (a --db
    after the command still wins). Every OPIS_* setting is checked before any command
    runs: a bad one is named, and nothing starts."""
    if db:
        os.environ["OPIS_DATABASE"] = db
    try:
        settings()
    except SettingsError as e:
        err.print(f"[red]{e}[/red] (docs/deployment.md#settings)", highlight=False,
                  soft_wrap=True)
        raise typer.Exit(2) from None


@app.command()
def search(query: Annotated[str, typer.Argument(help='Words, "phrases", prefix*, AND/OR/NOT.')],
           db: DbOption = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
           limit: Annotated[int, typer.Option(min=1, max=1000)] = 10,
           date_from: Annotated[str | None, typer.Option("--from", help="YYYY[-MM-DD]")] = None,
           date_to: Annotated[str | None, typer.Option("--to", help="YYYY[-MM-DD]")] = None,
           language: Annotated[list[str] | None, typer.Option("--language")] = None,
           mode: Annotated[str, typer.Option(
               help="auto, lexical (words), semantic (meaning, any language) or hybrid "
                    "(both; needs opis embed)")] = "auto") -> None:
    """Search the archive."""
    from opis.services.embedding import mode_problem

    if problem := mode_problem(mode):
        err.print(f"[red]--mode: {problem}[/red]", highlight=False)
        raise typer.Exit(2)
    request = SearchRequest(query=query, limit=limit, languages=language or [], mode=mode,
                            date_from=_day(date_from, start=True),
                            date_to=_day(date_to, start=False))
    archive = _open(db)
    timed = archive.search(request)
    archive.close()
    result = timed.result
    if as_json:
        print(json.dumps(results_data(timed, query, mode), ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{result.total} records ({timed.milliseconds:.1f} ms, {result.mode})")
    table.add_column("id")
    table.add_column("date")
    table.add_column("title")
    table.add_column("matched by")
    for h in result.hits:
        table.add_row(h.id, h.date or "", h.title, h.matched)
    console.print(table)


def _day(value: str | None, *, start: bool) -> date | None:
    if not value:
        return None
    from opis.model.dates import typed_day

    day = typed_day(value, start=start)
    if day is None:
        err.print(f"[red]Not a date:[/red] {value} (use YYYY, YYYY-MM or YYYY-MM-DD)")
        raise typer.Exit(2)
    return day


@app.command()
def show(record_id: str, db: DbOption = None,
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
         fmt: Annotated[str | None, typer.Option(
             "--format", help="Export format: json, " + ", ".join(FORMATS))] = None) -> None:
    """Show one record, or export it (--format ris|bib|csl.json|dc.xml|tei.xml|json)."""
    archive = _open(db)
    record = archive.get(record_id)
    archive.close()
    if record is None:
        err.print(f"[red]No record with id {record_id}[/red]")
        raise typer.Exit(1)
    if fmt and fmt != "json":
        try:
            _media, body = export(record, fmt)
        except UnknownFormatError as e:
            err.print(f"[red]{e}[/red]")
            raise typer.Exit(2) from None
        sys.stdout.write(body if body.endswith("\n") else body + "\n")
        return
    if as_json or fmt == "json":
        print(json.dumps(record_json(record), ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{record.title}[/bold]")
    for label, value in [("Date", record.date), ("Citation", record.citation),
                         ("Archival reference",
                          record.archival_reference.text if record.archival_reference else None),
                         ("Original language", record.original_language),
                         ("Classification", record.classification),
                         ("Summary", record.summary)]:
        if value:
            console.print(f"[bold]{label}:[/bold] {value}", highlight=False)
    console.print()
    console.print(record.text, highlight=False, markup=False)


@app.command()
def embed(db: DbOption = None,
          batch: Annotated[int, typer.Option(min=1, max=1000,
                                             help="Records per transaction.")] = 16,
          as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
          = False) -> None:
    """Embed the records' passages for search by meaning (docs/semantic.md).

    A stage of its own after ingest: only records new or changed since the last run are
    read, only their changed passages go through the model, and an interrupted run
    (even killed) is finished by running it again."""
    from opis.services.embedding import (
        EmbedderError,
        EmbedProgress,
        configured_embedder,
        embed_archive,
    )

    try:
        model = configured_embedder()
    except EmbedderError as e:
        err.print(f"[red]{e}[/red]", highlight=False)
        raise typer.Exit(2) from None
    archive = _open(db)
    columns = (TextColumn("embed"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("embed", total=None, rate="loading the model")

        def tick(state: EmbedProgress) -> None:
            progress.update(task, total=state.total, completed=state.records,
                            rate=f"{state.passages} passages, {state.rate:.1f}/s")

        report = embed_archive(archive.db, model, progress=tick, batch=batch,
                               search=archive.semantic)
    archive.close()
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    gone = f", {report.forgotten} withdrawn or deleted records" if report.forgotten else ""
    console.print(f"embedded {report.embedded} passages of {report.records} records, kept "
                  f"{report.kept} unchanged, removed {report.removed}{gone} "
                  f"({report.seconds:.1f} s, {report.rate:.1f} passages/s); the index holds "
                  f"{report.indexed} passages", highlight=False)


@app.command()
def reindex(db: DbOption = None) -> None:
    """Rebuild the search index from the stored records."""
    archive = _open(db)
    n = archive.reindex()
    archive.close()
    console.print(f"indexed {n} records")


@app.command()
def serve(db: DbOption = None, host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(
              "--workers", min=1, max=64, metavar="N",
              help="Worker processes (uvicorn). With PostgreSQL they share everything; "
                   "with SQLite several workers serve reads only.")] = 1,
          read_replica: Annotated[list[str] | None, typer.Option(
              "--read-replica", metavar="URL",
              help="PostgreSQL read replica URL for searches and pages "
              "(repeatable; default: $OPIS_READ_REPLICAS, comma-separated).")] = None,
          embed: Annotated[bool, typer.Option(
              "--embed", help="Also run the embedding stage (opis embed) in the background, "
              "every minute, so new records become findable by meaning.")] = False,
          ) -> None:
    """Serve the web interface and JSON API."""
    _serve(resolve_database(db), host, port, workers=workers,
           read_urls=replica_urls(read_replica), embed=embed)


def _serve(url: str, host: str, port: int, *, workers: int = 1,
           read_urls: list[str] | None = None, embed: bool = False) -> None:
    import uvicorn

    from opis.web.app import APP_FACTORY, create_app_from_env

    try:
        # Opened here even with several workers: migrations run once, on the primary, and
        # a bad URL or an SQLite file with replicas is reported before any worker starts.
        archive = Archive(url, read_urls or [])
    except ReplicaError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    except Exception as e:  # a bad URL or an unreachable server: say so, no traceback
        err.print(f"[red]Cannot open the database {url}:[/red] {e.__class__.__name__}: {e}")
        raise typer.Exit(2) from None
    try:
        base = base_url()
    except ValueError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    if not (base or allowed_hosts()) and host not in ("127.0.0.1", "localhost", "::1"):
        err.print("[yellow]Neither OPIS_BASE_URL nor OPIS_ALLOWED_HOSTS is set: absolute "
                  "links (OAI-PMH, citations) will name the address a request reached, "
                  f"port {port} (docs/deployment.md).[/yellow]")
    sqlite = archive.db.dialect == "sqlite"
    console.print(f"opis is serving {archive.count()} records of {shown_database(url)}"
                  f" at http://{host}:{port}/"
                  + (f" with {workers} workers" if workers > 1 else "")
                  + (f", reading from {len(archive.db.replicas)} replica(s)"
                     if archive.db.replicas else ""))
    if embed:  # in this process (with several workers, their supervisor): one writer
        from opis.services.embedding import EmbedderError, embed_in_background

        try:
            archive.semantic.embedder  # noqa: B018 - a bad OPIS_EMBEDDER stops here, named
        except EmbedderError as e:
            err.print(f"[red]{e}[/red]", highlight=False)
            raise typer.Exit(2) from None
        embed_in_background(archive.db, archive.semantic)
    if workers == 1:  # in this process, with the archive just opened
        uvicorn.run(create_app_from_env(archive), host=host, port=port, log_level="warning")
        return
    # Each worker is its own process and builds its own app (APP_FACTORY) from these.
    if not embed:
        archive.close()
    os.environ["OPIS_DATABASE"] = url
    os.environ[REPLICAS_ENV] = ",".join(read_urls or [])
    if sqlite:
        # Tantivy lets one process write the index, and a worker that has written keeps
        # the lock: several SQLite workers would fail each other's edits. They read.
        os.environ["OPIS_READ_ONLY"] = "1"
        err.print("[yellow]SQLite with several workers: the archive is served read-only "
                  "(edits, logins and collection changes are refused). Serve one worker "
                  "to curate, or use PostgreSQL.[/yellow]")
    uvicorn.run(APP_FACTORY, factory=True, workers=workers, host=host, port=port,
                log_level="warning")


def sample_corpus() -> Path:
    return Path(str(resources.files("opis") / "data" / "sample"))


@app.command()
def demo(db: DbOption = None, host: str = "127.0.0.1", port: int = 8000,
         no_serve: Annotated[bool, typer.Option("--no-serve", help="Build only.")] = False) -> None:
    """Load the sample corpus into the archive if it is empty, and serve it.

    The archive is the one every other command uses by default, so `opis user add` then
    makes accounts on the site being served."""
    url = resolve_database(db)
    archive = _open(url)
    count = archive.count()
    if count == 0:
        console.print(f"loading the sample corpus into {shown_database(url)}",
                      highlight=False, soft_wrap=True)
        report = archive.ingest([sample_corpus()])
        console.print(f"loaded {len(report.added)} records")
        for f in report.failed:
            err.print(f"[yellow]skipped[/yellow] {escape(str(f))}")
    else:
        console.print(f"{shown_database(url)} already holds {count} records: the sample "
                      "corpus is loaded only into an empty archive", highlight=False,
                      soft_wrap=True)
    console.print("to log in and edit: opis user add NAME --role editor"
                  + ("" if url == default_database() else f" --db {shown_database(url)}"),
                  highlight=False, soft_wrap=True)
    archive.close()
    if not no_serve:
        _serve(url, host, port)


entities_app = typer.Typer(help="The authority file: people, places, organizations, events.",
                           no_args_is_help=True)
app.add_typer(entities_app, name="entities")


@entities_app.command("list")
def entities_list(db: DbOption = None,
                  kind: Annotated[str | None, typer.Option(help="person, place, ...")] = None,
                  limit: int = 50,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Entities by the number of documents that name them."""
    archive = _open(db)
    rows = archive.list_entities(kind, limit)
    archive.close()
    if as_json:
        print(json.dumps([{"id": r.entity.id, "preferred": r.entity.preferred,
                           "variants": r.entity.variants, "records": r.records,
                           "mentions": r.mentions} for r in rows], ensure_ascii=False, indent=2))
        return
    table = Table()
    for col in ("id", "preferred", "records", "variants"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.entity.id, r.entity.preferred, str(r.records),
                      "; ".join(r.entity.variants[:6]))
    console.print(table)


@entities_app.command("show")
def entities_show(entity_id: str, db: DbOption = None) -> None:
    """One entity: its spellings, documents and companions."""
    archive = _open(db)
    entity = archive.entity(entity_id)
    if entity is None:
        archive.close()
        err.print(f"[red]No entity with id {entity_id}[/red]")
        raise typer.Exit(1)
    docs = archive.entity_records(entity_id, 20)
    companions = reading.co_mentioned(archive, entity_id, limit=10)
    archive.close()
    print(json.dumps({**entity.__dict__, "records": [
        {"id": r.id, "title": r.title, "mentions": n} for r, n in docs],
        "co_mentioned": [{"id": eid, "preferred": name, "shared": n}
                         for eid, name, n in companions]}, ensure_ascii=False, indent=2))


@entities_app.command("merge")
def entities_merge(keep: str, drop: str, db: DbOption = None) -> None:
    """Merge DROP into KEEP: its spellings and mentions move, DROP disappears."""
    archive = _open(db)
    try:
        moved = archive.merge_entities(keep, drop)
    except (KeyError, ValueError) as e:
        err.print(f"[red]Cannot merge:[/red] {e}")
        raise typer.Exit(1) from None
    finally:
        archive.close()
    console.print(f"merged {drop} into {keep} ({moved} mentions moved)")


@entities_app.command("rename")
def entities_rename(entity_id: str, preferred: str, db: DbOption = None) -> None:
    """Change an entity's preferred form (the old one stays a variant)."""
    archive = _open(db)
    try:
        archive.rename_entity(entity_id, preferred)
    except KeyError:
        err.print(f"[red]No entity with id {entity_id}[/red]")
        raise typer.Exit(1) from None
    finally:
        archive.close()
    console.print(f"{entity_id} is now '{preferred}'")


@entities_app.command("split")
def entities_split(entity_id: str,
                   variant: Annotated[list[str], typer.Option(help="Spelling to move.")],
                   name: Annotated[str, typer.Option(help="Preferred form of the new entity.")],
                   db: DbOption = None) -> None:
    """Give some spellings (and their mentions) of an entity to a new one."""
    archive = _open(db)
    try:
        new = archive.split_entity(entity_id, variant, name)
    except KeyError:
        err.print(f"[red]No entity with id {entity_id}[/red]")
        raise typer.Exit(1) from None
    finally:
        archive.close()
    console.print(f"created {new.id}")


@entities_app.command("import")
def entities_import(path: Path, db: DbOption = None) -> None:
    """Import an authority file (CSV or JSON; see docs/names.md)."""
    from opis.services.authority_file import AuthorityFileError, read_authority_file

    try:
        entities = list(read_authority_file(path))
    except (AuthorityFileError, OSError) as e:
        err.print(f"[red]Cannot import:[/red] {e}")
        raise typer.Exit(1) from None
    archive = _open(db)
    n = archive.import_authority(entities)
    archive.close()
    console.print(f"imported {n} entities")


collections_app = typer.Typer(help="Curated, ordered sets of records.", no_args_is_help=True)
app.add_typer(collections_app, name="collections")


@collections_app.command("list")
def collections_list(db: DbOption = None) -> None:
    archive = _open(db)
    rows = archive.list_collections()
    archive.close()
    for c, n in rows:
        print(f"{c.id}\t{n} records\t{c.title}")


@collections_app.command("create")
def collections_create(collection_id: str, title: str, db: DbOption = None,
                       description: str | None = None,
                       record: Annotated[list[str] | None, typer.Option()] = None) -> None:
    """Create or replace a collection with records in the given order."""
    from opis.model.entity import Collection

    archive = _open(db)
    missing = [r for r in record or [] if archive.get(r) is None]
    if missing:
        archive.close()
        err.print(f"[red]No record with id {', '.join(missing)}[/red]")
        raise typer.Exit(1)
    archive.save_collection(Collection(collection_id, title, description, list(record or [])))
    archive.close()
    console.print(f"saved {collection_id} ({len(record or [])} records)")


@collections_app.command("add")
def collections_add(collection_id: str, records: list[str], db: DbOption = None) -> None:
    """Append records to a collection."""
    archive = _open(db)
    c = archive.collection(collection_id, public=False)  # keep withdrawn members too
    if c is None:
        archive.close()
        err.print(f"[red]No collection with id {collection_id}[/red]")
        raise typer.Exit(1)
    missing = [r for r in records if archive.get(r) is None]
    if missing:
        archive.close()
        err.print(f"[red]No record with id {', '.join(missing)}[/red]")
        raise typer.Exit(1)
    c.record_ids += [r for r in records if r not in c.record_ids]
    archive.save_collection(c)
    archive.close()
    console.print(f"{collection_id} now holds {len(c.record_ids)} records")


@collections_app.command("delete")
def collections_delete(collection_id: str, db: DbOption = None) -> None:
    archive = _open(db)
    ok = archive.delete_collection(collection_id)
    archive.close()
    if not ok:
        err.print(f"[red]No collection with id {collection_id}[/red]")
        raise typer.Exit(1)
    console.print(f"deleted {collection_id}")


cli_bulk.register(app)
cli_ingest.register(app)
app.add_typer(cli_admin.user_app, name="user", help="Accounts: add, list, disable.")
app.add_typer(cli_admin.token_app, name="token", help="API tokens: create, revoke.")
app.command("backup")(cli_admin.backup_cmd)
app.command("restore")(cli_admin.restore_cmd)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
