"""One lossless archive format: ``opis backup --format jsonl`` writes the file ``opis
export --format jsonl`` writes (with the accounts, the server's settings and the
embeddings added), ``opis import`` and ``opis restore`` read either, and a JSON Lines
backup made by an older opis (``opis-backup``, tests/data/opis-backup-v1.jsonl) is still
restored and imported."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from curation_helpers import PASSWORD, sample_record, seed
from opis.cli import app
from opis.search.base import SearchRequest
from opis.services.accounts import Accounts
from opis.services.archive import Archive
from opis.services.backup import BackupError, backup, detect_format, restore
from opis.services.bulk import BulkError, export_archive, import_archive
from opis.services.curation import Curator
from opis.services.embedding import embed_archive
from paths import DATA
from semantic_fixtures import hashing

OLD_BACKUP = DATA / "opis-backup-v1.jsonl"
SCRIPTS = ("Посол Иванов беседовал с Ким Ир Сеном (김일성, 金日成) о «пленуме». "
           "Dvořák’s “note” was [illegible] on folio 3.")


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPIS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("OPIS_ARGON2_TIME_COST", "1")


def populated(url: str) -> Archive:
    archive = Archive(url)
    archive.put([sample_record(),
                 sample_record("r2", title="Беседа с Ким Ир Сеном",
                               text="Kim Du-bon " + SCRIPTS + "\n")])
    seed(archive)
    Curator(archive).edit("r1", {"title": "Report on the August Plenum"}, author="eddie",
                          reason="fuller title")
    accounts = Accounts(archive.db)
    accounts.create_token("rita", ["read"], "expiring", expires_in=timedelta(days=3))
    accounts.secret_key()  # made once and kept in the settings table
    embed_archive(archive.db, hashing())
    return archive


def state(archive: Archive) -> dict:
    """What a person would miss if a move lost it."""
    with archive.db.sessions() as s:
        q = lambda sql: s.execute(text(sql)).all()  # noqa: E731
        return {
            "records": q("SELECT id, title, status, version, content_hash FROM records "
                         "ORDER BY id"),
            "revisions": q("SELECT record_id, number, author, reason FROM revisions "
                           "ORDER BY record_id, number"),
            "users": q("SELECT name, role, password_hash FROM users ORDER BY name"),
            "tokens": [(label, scopes, h, e is not None) for label, scopes, h, e in
                       q("SELECT label, scopes, token_hash, expires_at FROM api_tokens "
                         "ORDER BY token_hash")],
            "settings": q("SELECT key, value FROM settings ORDER BY key"),
            "passages": q("SELECT record_id, kind, start, \"end\", digest, vector "
                          "FROM passages ORDER BY id"),
            "embedded": q("SELECT record_id, content_hash, model FROM embedded_records "
                          "ORDER BY record_id"),
        }


def kinds(path: Path) -> list[str]:
    return [json.loads(line)["type"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_jsonl_backup_is_an_export_and_either_command_reads_it(tmp_path: Path) -> None:
    source = populated(str(tmp_path / "source.db"))
    before = state(source)
    assert before["passages"] and before["settings"] and before["tokens"]
    path = tmp_path / "nightly.jsonl"
    assert backup(source.db, path, "jsonl", files=False).format == "jsonl"
    source.close()
    assert detect_format(path) == "jsonl"
    found = kinds(path)
    assert found[0] == "opis-export"
    assert {"entity", "record", "revision", "audit", "user", "token", "row"} <= set(found)

    # `opis import` takes the backup into a new archive ...
    copy = Archive(str(tmp_path / "imported.db"))
    report = import_archive(copy, path)
    assert report.indexed == 2
    assert state(copy) == before
    assert copy.search(SearchRequest(query="김일성")).result.total == 1
    copy.close()

    # ... and `opis restore` replaces a changed archive with it.
    target = Archive(str(tmp_path / "restored.db"))
    target.put([sample_record("gone", title="Added before the restore")])
    target.close()
    result = CliRunner().invoke(app, ["restore", str(path), "--yes", "--db",
                                      str(tmp_path / "restored.db")])
    assert result.exit_code == 0, result.output
    restored = Archive(str(tmp_path / "restored.db"))
    assert state(restored) == before
    assert restored.get("gone") is None
    # The restored passwords work: rita signs in as before.
    assert Accounts(restored.db).authenticate("rita", PASSWORD, "127.0.0.1") is not None
    restored.close()


def test_restore_reads_an_export_with_accounts(tmp_path: Path) -> None:
    source = populated(str(tmp_path / "source.db"))
    path = tmp_path / "export.jsonl"
    export_archive(source, "jsonl", path, include_accounts=True)
    source.close()
    target = Archive(str(tmp_path / "target.db"))
    restore(target.db, path)
    target.reindex()
    assert target.get("r2").title == "Беседа с Ким Ир Сеном"
    assert [r.number for r in target.revisions("r1")] == [1, 2]
    assert Accounts(target.db).authenticate("eddie", PASSWORD, "127.0.0.1") is not None
    target.close()


def test_a_truncated_backup_restores_nothing(tmp_path: Path) -> None:
    source = populated(str(tmp_path / "source.db"))
    path = tmp_path / "b.jsonl"
    backup(source.db, path, "jsonl", files=False)
    source.close()
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if '"type":"record"' in line)
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("".join(lines[:cut]) + lines[cut][: len(lines[cut]) // 2],
                         encoding="utf-8")

    target = Archive(str(tmp_path / "target.db"))
    target.put([sample_record("kept", title="Still here after the failed restore")])
    with pytest.raises(BackupError, match=rf"line {cut + 1}: not JSON.*nothing was restored"):
        restore(target.db, truncated)
    assert target.get("kept") is not None
    result = CliRunner().invoke(app, ["restore", str(truncated), "--yes", "--db",
                                      str(tmp_path / "target.db")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"line {cut + 1}" in " ".join(result.output.split())
    target.close()


def test_a_backup_from_an_older_opis_is_restored(tmp_path: Path) -> None:
    target = Archive(str(tmp_path / "a.db"))
    target.put([sample_record("gone")])
    restore(target.db, OLD_BACKUP)
    target.reindex()
    assert target.count() == 1 and target.get("r2") is None  # r2 was withdrawn
    assert target.get("r1").title == "Report on the August Plenum"
    assert [r.number for r in target.revisions("r2")] == [1, 2]
    assert Accounts(target.db).authenticate("ada", PASSWORD, "127.0.0.1") is not None
    assert target.search(SearchRequest(query="Plenum")).result.total == 1
    target.close()


def test_an_old_backup_imports_only_into_an_empty_archive(tmp_path: Path) -> None:
    fresh = Archive(str(tmp_path / "fresh.db"))
    report = import_archive(fresh, OLD_BACKUP)
    assert report.indexed == 1
    assert fresh.get("r1").title == "Report on the August Plenum"
    fresh.close()

    used = Archive(str(tmp_path / "used.db"))
    Accounts(used.db).add_user("admin", "admin", PASSWORD)
    with pytest.raises(BulkError, match="older opis.*new database"):
        import_archive(used, OLD_BACKUP)
    assert used.get("r1") is None
    result = CliRunner().invoke(app, ["import", str(OLD_BACKUP), "--merge", "--db",
                                      str(tmp_path / "used.db")])
    assert result.exit_code == 1 and "opis restore" in " ".join(result.output.split())
    used.close()


def test_an_exported_token_keeps_its_expiry(tmp_path: Path) -> None:
    source = populated(str(tmp_path / "source.db"))
    path = tmp_path / "e.jsonl"
    export_archive(source, "jsonl", path, include_accounts=True)
    source.close()
    token = next(line for line in map(json.loads, path.read_text().splitlines())
                 if line["type"] == "token" and line["label"] == "expiring")
    expires = datetime.fromisoformat(token["expires_at"])
    assert timedelta(days=2) < expires - datetime.now(UTC) <= timedelta(days=3)


def test_a_damaged_row_line_is_named(tmp_path: Path) -> None:
    source = populated(str(tmp_path / "source.db"))
    path = tmp_path / "b.jsonl"
    backup(source.db, path, "jsonl", files=False)
    source.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if '"table":"passages"' in line)
    row = json.loads(lines[at])
    row["row"]["vector"] = "not base64!"
    lines[at] = json.dumps(row)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(tmp_path / "source.db", tmp_path / "target.db")
    target = Archive(str(tmp_path / "target.db"))
    with pytest.raises(BackupError, match=rf"line {at + 1}: a passages row"):
        restore(target.db, bad)
    assert target.get("r1") is not None
    target.close()


@pytest.mark.postgres
def test_postgresql_restores_embeddings_and_takes_new_ones(pg_url: str, tmp_path: Path) -> None:
    archive = populated(pg_url)
    before = state(archive)
    path = tmp_path / "pg.jsonl"
    backup(archive.db, path, "jsonl", files=False)
    archive.put([sample_record("r3", title="Added after the backup")])
    archive.close()
    target = Archive(pg_url)
    restore(target.db, path)
    target.reindex()
    assert state(target) == before
    # Sequences continue past the restored ids: new passages and accounts can be added.
    target.put([sample_record("r4", title="Новая запись после восстановления")])
    assert embed_archive(target.db, hashing()).records == 1
    Accounts(target.db).add_user("newbie", "reader", PASSWORD)
    target.close()
