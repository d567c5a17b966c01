"""``opis user``, ``opis token``, ``opis backup`` and ``opis restore``: a thin shell over
the accounts and backup services.

Self-contained (it does not import ``opis.cli``) so ``opis.cli`` can mount it:

    app.add_typer(user_app, name="user"); app.add_typer(token_app, name="token")
    app.command("backup")(backup_cmd); app.command("restore")(restore_cmd)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.table import Table

from opis.cli_common import DbOption, console, err
from opis.config import resolve_database, shown_database
from opis.services.accounts import (
    ROLES,
    SCOPES,
    AccountError,
    Accounts,
    as_utc,
    token_status,
)
from opis.services.archive import Archive
from opis.services.backup import FORMATS, BackupError, backup, files_folder, restore
from opis.store.db import Database

user_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="Accounts: admins, editors and readers.")
T = TypeVar("T")
token_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="API tokens for scripts (sent as 'Authorization: Bearer ...').")


def _database(db: str | None) -> Database:
    url = resolve_database(db)
    try:
        database = Database(url)
        database.migrate()
    except Exception as e:  # a bad URL or an unreachable server: say so, no traceback
        err.print(f"[red]Cannot open the database {url}:[/red] {e.__class__.__name__}: {e}")
        raise typer.Exit(2) from None
    return database


def _accounts(db: str | None) -> Accounts:
    return Accounts(_database(db))


def _fail(message: object) -> NoReturn:
    err.print(f"[red]{message}[/red]", highlight=False)
    raise typer.Exit(1)


def _on_accounts(db: str | None, action: Callable[[Accounts], T]) -> T:
    """Run ``action`` on the accounts of ``db``: an AccountError is a one-line message
    and exit code 1, and the database is closed either way."""
    accounts = _accounts(db)
    try:
        return action(accounts)
    except AccountError as e:
        _fail(e)
    finally:
        accounts.db.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _when(value: object) -> str:
    value = as_utc(value)  # type: ignore[arg-type]
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


# -- users ------------------------------------------------------------------------------------

@user_app.command("add")
def user_add(name: str,
             role: Annotated[str, typer.Option(help="reader, editor or admin")] = "editor",
             password_stdin: Annotated[bool, typer.Option(
                 "--password-stdin", help="Read the password from the first line of stdin.")]
             = False,
             db: DbOption = None) -> None:
    """Create an account (the password is asked for twice unless --password-stdin)."""
    if role not in ROLES:
        _fail(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    user = _on_accounts(db, lambda a: a.add_user(name, role,
                                                 _read_password(password_stdin)))
    console.print(f"added {user.role} {user.name} to {shown_database(resolve_database(db))}",
                  highlight=False, soft_wrap=True)


@user_app.command("list")
def user_list(db: DbOption = None,
              as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
              ) -> None:
    """List accounts."""
    users = _on_accounts(db, lambda a: a.users())
    if as_json:
        print(json.dumps([{"name": u.name, "role": u.role, "disabled": u.disabled,
                           "created": _when(u.created_at)} for u in users], indent=2))
        return
    table = Table(title=f"{len(users)} accounts")
    for column in ("name", "role", "status", "created"):
        table.add_column(column)
    for u in users:
        table.add_row(u.name, u.role, "disabled" if u.disabled else "active", _when(u.created_at))
    console.print(table)


@user_app.command("sessions")
def user_sessions(name: str, db: DbOption = None,
                  as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
                  ) -> None:
    """List an account's signed-in browsers (end them with 'opis user logout')."""
    found = _on_accounts(db, lambda a: a.sessions(name))
    rows = [{"id": s.id_hash[:12], "started": _when(s.created_at),
             "last_seen": _when(s.last_seen_at), "expires": _when(s.expires_at),
             "client": s.ip, "browser": s.user_agent} for s in found]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} sessions of {name}")
    for column in ("id", "started", "last_seen", "expires", "client", "browser"):
        table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*(row[c] for c in ("id", "started", "last_seen", "expires", "client",
                                         "browser")))
    console.print(table)


@user_app.command("logout")
def user_logout(name: str,
                session: Annotated[str, typer.Option(
                    "--session", help="Only this session (its id from 'opis user sessions').")]
                = "",
                db: DbOption = None) -> None:
    """End an account's sessions on the server: those browsers must log in again."""
    ended = _on_accounts(db, lambda a: a.end_sessions(name,
                                                      prefix=session.strip().lower()))
    console.print(f"ended {ended} session{'s' if ended != 1 else ''} of {name}",
                  highlight=False)


@user_app.command("disable")
def user_disable(name: str, db: DbOption = None) -> None:
    """Disable an account: its sessions end and its tokens are revoked, for good."""
    _on_accounts(db, lambda a: a.disable_user(name))
    console.print(f"disabled {name}", highlight=False)


@user_app.command("enable")
def user_enable(name: str, db: DbOption = None) -> None:
    """Enable a disabled account again (its old sessions and tokens stay dead)."""
    _on_accounts(db, lambda a: a.enable_user(name))
    console.print(f"enabled {name}", highlight=False)


@user_app.command("role")
def user_role(name: str, role: str, db: DbOption = None) -> None:
    """Change an account's role (reader, editor, admin)."""
    _on_accounts(db, lambda a: a.set_role(name, role))
    console.print(f"{name} is now {role}", highlight=False)


@user_app.command("password")
def user_password(name: str,
                  password_stdin: Annotated[bool, typer.Option(
                      "--password-stdin", help="Read the password from stdin.")] = False,
                  db: DbOption = None) -> None:
    """Set a new password; the account's sessions end."""
    _on_accounts(db, lambda a: a.set_password(name, _read_password(password_stdin)))
    console.print(f"password changed for {name}", highlight=False)


# -- tokens -----------------------------------------------------------------------------------

@token_app.command("create")
def token_create(name: Annotated[str, typer.Argument(help="The user the token acts as.")],
                 scope: Annotated[list[str], typer.Option(
                     help="read, edit or admin (repeatable); never more than the user's "
                          "role allows")] = ["read"],  # noqa: B006 - typer reads defaults
                 label: Annotated[str, typer.Option(help="What the token is for.")] = "",
                 expires_days: Annotated[float | None, typer.Option(
                     "--expires-days", min=0.0007, help="Stop working after this many days.")]
                 = None,
                 db: DbOption = None) -> None:
    """Create an API token and print it once: only its hash is kept."""
    bad = [s for s in scope if s not in SCOPES]
    if bad:
        _fail(f"unknown scope {bad[0]!r}; use: {', '.join(SCOPES)}")
    expires = timedelta(days=expires_days) if expires_days is not None else None
    token_id, token = _on_accounts(db, lambda a: a.create_token(name, scope, label,
                                                                expires_in=expires))
    err.print(f"token {token_id} for {name} ({' '.join(scope)}); copy it now, "
              "it will not be shown again:", highlight=False)
    print(token)


@token_app.command("list")
def token_list(name: Annotated[str | None, typer.Argument(help="Only this user's.")] = None,
               db: DbOption = None,
               as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
               ) -> None:
    """List tokens (never the tokens themselves), each with what it can do now:
    active, expired, revoked, or user disabled."""
    tokens = _on_accounts(db, lambda a: a.tokens(name))
    rows = [{"id": t.id, "user": t.user_name, "scopes": " ".join(t.scopes), "label": t.label,
             "created": _when(t.created_at), "last_used": _when(t.last_used_at),
             "expires": _when(t.expires_at), "revoked": _when(t.revoked_at),
             "status": token_status(t)} for t in tokens]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} tokens")
    for column in ("id", "user", "scopes", "label", "created", "last used", "expires",
                   "status"):
        table.add_column(column)
    for row in rows:
        status = row["status"]
        if status == "revoked":
            status = f"revoked {row['revoked']}"
        elif status == "expired":
            status = f"expired {row['expires']}"
        table.add_row(*(None if v is None else str(v) for v in (
            row["id"], row["user"], row["scopes"], row["label"], row["created"],
            row["last_used"], row["expires"] or "never", status)))
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(metavar="ID")],
                 db: DbOption = None) -> None:
    """Revoke a token at once (its id is shown by 'opis token list')."""
    token = _on_accounts(db, lambda a: a.revoke_token(token_id))
    console.print(f"revoked token {token.id} of {token.user_name}", highlight=False)


# -- backup and restore -----------------------------------------------------------------------

def backup_cmd(path: Annotated[Path, typer.Argument(help="File to write.")],
               db: DbOption = None,
               fmt: Annotated[str | None, typer.Option(
                   "--format", help="sqlite (SQLite default), pgdump (PostgreSQL default), "
                                    "or jsonl (portable between the two)")] = None,
               without_attachments: Annotated[bool, typer.Option(
                   "--without-attachments",
                   help="Do not copy the attachment files to FILE.files/ (when the "
                        "attachment store is backed up by other means).")] = False) -> None:
    """Write a consistent backup while opis keeps serving, with the attachment files
    beside it in FILE.files/ (the search index is rebuilt on restore, so it is not
    copied)."""
    if fmt is not None and fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    database = _database(db)
    try:
        result = backup(database, path, fmt, files=not without_attachments)
    except BackupError as e:
        _fail(e)
    finally:
        database.dispose()
    files = "" if without_attachments else \
        f"; {_files(result.files)} in {files_folder(path)}"
    console.print(f"backed up to {path} ({result.format}, {path.stat().st_size:,} bytes"
                  f"{files})", highlight=False)
    _warn_missing(result.missing)


def _files(n: int) -> str:
    return f"{n} attachment file{'' if n == 1 else 's'}"


def _warn_missing(missing: list[str]) -> None:
    if missing:
        err.print(f"[yellow]{len(missing)} attachment file(s) named by records are not in "
                  f"the attachment store, so not in this archive:[/yellow] "
                  f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}",
                  highlight=False)


def restore_cmd(path: Annotated[Path, typer.Argument(help="Backup file to restore.")],
                db: DbOption = None,
                yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Replace the database's contents with a backup and rebuild the search index.
    Stop 'opis serve' first: the index is rebuilt in place."""
    url = resolve_database(db)
    if not yes and not typer.confirm(f"Replace everything in {url} with {path}?"):
        raise typer.Exit(1)
    database = _database(db)
    try:
        result = restore(database, path)
    except BackupError as e:
        _fail(e)
    finally:
        database.dispose()
    archive = Archive(url)
    try:
        n = archive.reindex()
        ended = Accounts(archive.db).end_all_sessions(actor="restore")
    finally:
        archive.close()
    console.print(f"restored {path} ({result.format}, {_files(result.files)}); indexed "
                  f"{n} records; ended {ended} sessions the backup held (everyone logs in "
                  "again)", highlight=False)
    _warn_missing(result.missing)
