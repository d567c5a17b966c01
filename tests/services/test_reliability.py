"""Reliability: online backups and restores; SIGKILL at random points of an ingest and of
curators' edits leaves a consistent database and an index in step; a PostgreSQL outage
gives a clear 503 and opis recovers by itself."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import crash_driver
from curation_helpers import (
    bearer,
    fast_hashing,  # noqa: F401 - autouse: test-sized Argon2
    sample_record,
    seed,
)
from opis.model import Record
from opis.search.base import SearchRequest
from opis.services.archive import Archive
from opis.services.backup import BackupError, backup, detect_format, restore
from opis.services.curation import Curator
from opis.store import audit as audit_store
from opis.store import records as store
from opis.web.app import create_app
from paths import DATA

REFERENCE = DATA / "wcda_114165.txt"
KILLS = 20


# -- consistency ------------------------------------------------------------------------------

def check_consistent(url: str, acks: list[str], searched: set[str] | None = None
                     ) -> dict[str, int]:
    """Everything the crash test promises, checked on a freshly opened archive; the
    search check runs for the records in ``searched`` (all when None)."""
    archive = Archive(url)  # heals an index whose size is off
    Curator(archive)  # heals index entries noted as pending
    try:
        with archive.db.sessions() as session:
            rows = {r.id: r for r in session.execute(text(
                "SELECT id, version, status, content_hash, title, text FROM records"))}
            revs: dict[str, list[tuple[int, str, str]]] = {}
            for rid, number, reason, digest in session.execute(text(
                    "SELECT record_id, number, reason, content_hash FROM revisions"
                    " ORDER BY record_id, number")):
                revs.setdefault(rid, []).append((number, reason, digest))
            spans = session.execute(text(
                'SELECT record_id, start, "end", text FROM annotations')).all()
            assert audit_store.pending(session) == []
            index_count = archive.engine.count(session)
        published = [r for r in rows.values() if r.status == "published"]
        for r in rows.values():
            numbers = [n for n, _, _ in revs.get(r.id, [])]
            assert numbers == list(range(1, r.version + 1)), (r.id, r.version, numbers)
            assert revs[r.id][-1][2] == r.content_hash, f"{r.id}: not its last revision"
        for rid, start, end, span in spans:  # no partial record: every mark fits its text
            assert rows[rid].text[start:end] == span, (rid, start, end)
        assert index_count == len(published), (index_count, sorted(r.id for r in published))
        for line in acks:  # no acknowledged write was lost
            kind, *rest = line.split()
            if kind == "ingest":
                assert rest[0] in rows, line
            elif kind == "edit":
                rid, version, token = rest
                reasons = [reason for n, reason, _ in revs[rid] if n == int(version)]
                assert reasons and token in reasons[0], line
        for r in rows.values():  # the index says what the records say
            if searched is not None and r.id not in searched:
                continue
            title = '"' + r.title.replace('"', " ") + '"'  # the title, as a phrase
            found = archive.search(SearchRequest(query=title, limit=1000))
            ids = {h.id for h in found.result.hits}
            assert (r.id in ids) == (r.status == "published"), (r.id, r.status, r.title)
        return {"records": len(rows), "published": len(published)}
    finally:
        archive.close()


def read_acks(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines()
            if line.startswith(("ingest ", "edit "))]


def wait_for(path: Path, marker: str, timeout: float = 30) -> None:
    """Until a line containing ``marker`` is in the acknowledgement file."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and marker in path.read_text():
            return
        time.sleep(0.005)
    raise AssertionError(f"the writer never wrote {marker!r}")


def test_sigkill_at_random_points_leaves_a_consistent_archive(db_url, tmp_path):
    archive = Archive(db_url)
    archive.ingest([REFERENCE])
    archive.put([sample_record(), sample_record("r2", title="Second report")])
    archive.close()
    # Writers fork from a clean, single-threaded server with opis already imported:
    # starting one costs milliseconds, so 20 kills take seconds.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["crash_driver", "opis.services.archive",
                                "opis.services.curation", "opis.web.app"])
    seed_ = int(os.environ.get("OPIS_CRASH_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed_)
    acks_path = tmp_path / "acks.txt"
    workdir = tmp_path / "incoming"
    workdir.mkdir()
    checking, checked = 0.0, 0
    for run_no in range(KILLS):
        mode = "ingest" if run_no % 2 == 0 else "edit"
        proc = ctx.Process(target=crash_driver.run,
                           args=(db_url, mode, str(workdir), run_no, str(acks_path)))
        proc.start()
        if run_no % 5 == 2:  # some kills while the archive is being opened
            time.sleep(rng.uniform(0.0, 0.4))
        else:
            wait_for(acks_path, f"ready {mode} {run_no}\n")  # open; heals, ingests, edits
            if run_no % 4 != 3:  # mostly among the writes; some during healing and warm-up
                wait_for(acks_path, f"k{run_no}x" if mode == "ingest" else f"t{run_no}q")
            time.sleep(rng.uniform(0.0, 0.6))
        proc.kill()
        proc.join(10)
        assert proc.exitcode == -9, f"writer {run_no} ended by itself ({proc.exitcode})"
        started = time.perf_counter()
        acks = read_acks(acks_path)
        touched = {a.split()[1] for a in acks[checked:]} | {"114165", "r1", "r2"}
        check_consistent(db_url, acks, touched)  # every record's search: at the end
        checked = len(acks)
        checking += time.perf_counter() - started
    print(f"crash seed {seed_}; {checking:.1f} s spent checking")
    acks = read_acks(acks_path)
    check_consistent(db_url, acks)
    assert sum(a.startswith("ingest") for a in acks) >= 3, f"seed {seed_}: too few ingests"
    assert sum(a.startswith("edit") for a in acks) >= 3, f"seed {seed_}: too few edits"


def test_archive_opens_after_a_crash_while_opening(tmp_path):
    """What SIGKILL during Archive() can leave: an empty schema marker beside the index."""
    url = str(tmp_path / "m.db")
    archive = Archive(url)
    archive.put([sample_record()])
    archive.close()
    (tmp_path / "m.db.tantivy" / "opis-schema.json").write_text("")
    archive = Archive(url)
    assert archive.search(SearchRequest(query="plenum")).result.total == 1
    archive.close()


# -- backup and restore -----------------------------------------------------------------------

def snapshot(archive: Archive) -> dict:
    with archive.db.sessions() as session:
        return {
            "records": {r.id: r.to_dict() for r in store.iter_records(session, public=False)},
            "revisions": session.execute(text(
                "SELECT record_id, number, author, reason FROM revisions"
                " ORDER BY record_id, number")).all(),
            "users": session.execute(text("SELECT name, role FROM users ORDER BY name")).all(),
            "audit": session.execute(text("SELECT count(*) FROM audit_log")).scalar(),
        }


@pytest.mark.parametrize("fmt", [None, "jsonl"])
def test_backup_and_restore_round_trip(db_url, tmp_path, fmt):
    archive = Archive(db_url)
    archive.put([sample_record(), sample_record("r2", title="Second report")])
    seed(archive)
    curator = Curator(archive)
    curator.edit("r1", {"title": "Edited before the backup"}, author="eddie", reason="fix")
    curator.withdraw("r2", author="ada", reason="rights unclear")
    before = snapshot(archive)
    path = tmp_path / "backup.bin"
    used = backup(archive.db, path, fmt).format
    assert detect_format(path) == used
    # Changes after the backup are undone by the restore.
    curator.edit("r1", {"title": "Edited after the backup"}, author="eddie", reason="later")
    archive.put([sample_record("r3", title="Added after the backup")])
    archive.close()

    target = Archive(db_url)
    restore(target.db, path)
    target.close()
    archive = Archive(db_url)
    archive.reindex()
    assert snapshot(archive) == before
    assert [h.id for h in archive.search(SearchRequest(query="Edited")).result.hits] == ["r1"]
    assert archive.search(SearchRequest(query="Second")).result.total == 0  # still withdrawn
    # The restored archive takes new writes: ids and sequences continue past the restored.
    Curator(archive).edit("r1", {"title": "After restore"}, author="eddie", reason="works")
    seed_more = archive.db
    from opis.services.accounts import Accounts

    Accounts(seed_more).add_user("newbie", "reader", "long enough password")
    archive.close()


def test_backup_is_consistent_while_writes_go_on(tmp_path):
    """SQLite's online backup copies one consistent state even while edits commit."""
    url = str(tmp_path / "busy.db")
    archive = Archive(url)
    archive.put([sample_record()])
    curator = Curator(archive)
    stop = threading.Event()

    def keep_editing() -> None:
        i = 0
        while not stop.is_set():
            curator.edit("r1", {"summary": f"summary {i}"}, author="e", reason=f"edit {i}")
            i += 1

    writer = threading.Thread(target=keep_editing)
    writer.start()
    try:
        for n in range(5):
            path = tmp_path / f"b{n}.db"
            backup(archive.db, path)
            con = sqlite3.connect(path)
            version, = con.execute("SELECT version FROM records WHERE id='r1'").fetchone()
            numbers = [n for (n,) in con.execute(
                "SELECT number FROM revisions WHERE record_id='r1' ORDER BY number")]
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            con.close()
            assert numbers == list(range(1, version + 1))
    finally:
        stop.set()
        writer.join()
        archive.close()


def test_restore_refuses_what_is_not_a_backup(tmp_path):
    archive = Archive(str(tmp_path / "a.db"))
    bogus = tmp_path / "bogus.bin"
    bogus.write_text("hello")
    with pytest.raises(BackupError):
        restore(archive.db, bogus)
    with pytest.raises(BackupError):
        restore(archive.db, tmp_path / "missing.db")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.close()
    with pytest.raises(BackupError, match="not an opis database"):
        restore(archive.db, tmp_path / "other.db")
    archive.close()


def test_backup_cli_commands(tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from opis.cli_admin import backup_cmd, restore_cmd, token_app, user_app

    app = typer.Typer()
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    r = runner.invoke(app, ["user", "add", "ed", "--role", "editor", "--password-stdin",
                            "--db", db], input="a long password\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["user", "add", "ed", "--password-stdin", "--db", db],
                      input="a long password\n")
    assert r.exit_code == 1 and "exists already" in r.output
    r = runner.invoke(app, ["token", "create", "ed", "--scope", "edit", "--label", "bot",
                            "--db", db])
    assert r.exit_code == 0 and r.stdout.strip().splitlines()[-1].startswith("opis_")
    r = runner.invoke(app, ["user", "list", "--json", "--db", db])
    assert '"role": "editor"' in r.stdout
    r = runner.invoke(app, ["token", "revoke", "1", "--db", db])
    assert r.exit_code == 0 and "revoked token 1" in r.stdout
    r = runner.invoke(app, ["user", "disable", "ed", "--db", db])
    assert r.exit_code == 0
    r = runner.invoke(app, ["backup", str(tmp_path / "b.db"), "--db", db])
    assert r.exit_code == 0 and "(sqlite" in r.stdout
    r = runner.invoke(app, ["restore", str(tmp_path / "b.db"), "--db", db, "--yes"])
    assert r.exit_code == 0 and "restored" in r.stdout


# -- PostgreSQL going away --------------------------------------------------------------------

class Proxy:
    """A TCP proxy on loopback in front of PostgreSQL: stopping it is the database
    vanishing for opis (connections cut, new ones refused) without touching the server."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        if self.listener:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                c.close()
            self.conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def test_postgres_outage_gives_503_and_recovers(pg_url):
    from sqlalchemy.engine import make_url

    real = make_url(pg_url)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    url = real.set(port=proxy.port).render_as_string(hide_password=False)
    archive = Archive(url)
    archive.put([sample_record()])
    seeded = seed(archive)
    with TestClient(create_app(archive), raise_server_exceptions=False) as client:
        assert client.get("/document/r1").status_code == 200
        proxy.stop()
        for path in ("/document/r1", "/search?q=plenum", "/"):
            r = client.get(path)
            assert r.status_code == 503, (path, r.status_code)
            assert "database is unavailable" in r.text and r.headers["retry-after"] == "30"
            assert "Traceback" not in r.text
        for path in ("/document/r1.json", "/search.json?q=plenum", "/api/v1/records/r1"):
            r = client.get(path)
            assert r.status_code == 503 and r.json()["status"] == 503, path
        r = client.patch("/api/v1/records/r1", headers=bearer(seeded.tokens["editor"]),
                         json={"changes": {"title": "during the outage"}, "reason": "outage"})
        assert r.status_code == 503 and r.json()["status"] == 503
        proxy.start()  # the database is back: no restart, no operator
        deadline = time.monotonic() + 20
        while client.get("/document/r1").status_code != 200:
            assert time.monotonic() < deadline, "opis did not recover"
            time.sleep(0.2)
        assert client.get("/search.json?q=plenum").json()["total"] == 1
        r = client.patch("/api/v1/records/r1", headers=bearer(seeded.tokens["editor"]),
                         json={"changes": {"title": "after the outage"}, "reason": "back"})
        assert r.status_code == 200
    proxy.stop()
    archive.close()


def test_sqlite_locked_for_too_long_is_a_503(tmp_path, monkeypatch):
    """An SQLite database locked past the busy timeout is also 'unavailable', not a crash."""
    from sqlalchemy.exc import OperationalError

    archive = Archive(str(tmp_path / "l.db"))
    archive.put([sample_record()])
    app = create_app(archive)

    def locked(*_a, **_k) -> Record:
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(archive, "get", locked)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/document/r1").status_code == 503
        assert client.get("/document/r1.json").json()["status"] == 503
    archive.close()
