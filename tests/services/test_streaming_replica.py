"""Read replicas for real (issue 19): a streaming standby of the test server, made with
pg_basebackup and started on a free port, replaying what the primary writes.

What a reader sees: pages and searches come from the standby once it has replayed a
write; while its replay trails by more than the lag bound, opis reads from the primary
instead; and a curator who has just saved reads the primary at once (the cookie the
save sets), while other readers still see the standby's older copy.

The standby needs the primary to accept replication connections from 127.0.0.1
(``host replication all 127.0.0.1/32 trust`` in pg_hba.conf, which .ci/run adds) and
root, to run the standby as the ``postgres`` user. Without them the tests are skipped
locally; with OPIS_TEST_REPLICA=required (.ci/run) they fail instead.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from conftest import PG_BASE, pg_schema
from curation_helpers import fast_hashing, free_port, login, sample_record, seed  # noqa: F401
from opis.model import Record
from opis.search.base import SearchRequest
from opis.services.archive import Archive
from opis.store.db import Database
from opis.web.app import create_app

pytestmark = pytest.mark.postgres


def _unavailable(why: str) -> None:
    if os.environ.get("OPIS_TEST_REPLICA") == "required":
        pytest.fail(f"no streaming standby could be made: {why}")
    pytest.skip(f"no streaming standby: {why}")


def _bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup"))
    return found[-1].parent if found else None


def _as_postgres(*cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def standby(pg_ok: bool) -> Iterator[int]:
    """The port of a hot standby streaming from the test server."""
    if not pg_ok:
        _unavailable("the test PostgreSQL server is not running")
    if os.geteuid() != 0:
        _unavailable("the standby is started as the postgres user, which needs root")
    binaries = _bin()
    if binaries is None:
        _unavailable("pg_basebackup is not installed")
    primary = make_url(PG_BASE.split("?")[0])
    folder = Path(tempfile.mkdtemp(prefix="opis-standby-"))
    ids = pwd.getpwnam("postgres")
    os.chown(folder, ids.pw_uid, ids.pw_gid)
    data = folder / "data"
    port = free_port()
    made = _as_postgres(str(binaries / "pg_basebackup"), "-h", primary.host or "127.0.0.1",
                        "-p", str(primary.port or 5432), "-U", "postgres", "-D", str(data),
                        "-R", "-X", "stream", "-c", "fast")
    if made.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"pg_basebackup failed: {made.stderr.strip()[-300:]}")
    # Debian keeps a cluster's configuration in /etc: the copy gets its own (a hot
    # standby needs at least the primary's max_connections, the default's 100).
    (data / "postgresql.conf").write_text(
        f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{folder}'\nhot_standby = on\n"
        "shared_buffers = 32MB\nfsync = off\n", encoding="utf-8")
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n",
                                      encoding="utf-8")
    (data / "pg_ident.conf").write_text("", encoding="utf-8")
    for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
        os.chown(data / name, ids.pw_uid, ids.pw_gid)
    started = _as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-l",
                           str(folder / "log"), "-w", "-t", "60", "start")
    if started.returncode != 0:
        log = (folder / "log").read_text(errors="replace")[-500:] if (folder / "log").exists() \
            else ""
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"the standby did not start: {started.stderr.strip()} {log}")
    try:
        yield port
    finally:
        _as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _on_standby(url: str, port: int) -> str:
    return url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{port}/")


def _standby_sql(port: int, sql: str) -> object:
    engine = create_engine(_on_standby(PG_BASE, port))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _replayed(url: str, record_id: str, timeout: float = 30) -> None:
    """Wait until the standby has replayed the record's row."""
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    if conn.execute(text("SELECT 1 FROM records WHERE id = :id"),
                                    {"id": record_id}).first():
                        return
            except Exception:  # noqa: BLE001 - the schema not replayed yet
                pass
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"the standby did not replay {record_id} in {timeout} s")


@pytest.fixture
def paused(standby: int) -> Iterator[int]:
    """The standby with its replay paused (it still receives the primary's WAL)."""
    try:
        yield standby
    finally:
        _standby_sql(standby, "SELECT pg_wal_replay_resume()")


def test_the_standby_serves_reads_and_a_lagging_one_is_skipped(pg_ok, paused):
    with pg_schema(pg_ok) as url:
        replica = _on_standby(url, paused)
        Archive(url).put([sample_record("r1")])
        _replayed(replica, "r1")
        archive = Archive(url, [replica])
        try:
            assert archive.get("r1") is not None
            assert _standby_sql(paused, "SELECT pg_is_in_recovery()") is True
            # Replay paused: the primary's next write reaches the standby's disk but not
            # its tables. Within the lag bound (5 s), reads still come from the standby,
            # which does not show it yet: the lag is what the bound allows.
            _standby_sql(paused, "SELECT pg_wal_replay_pause()")
            archive.put([Record("r2", "Пхеньян, 평양 and 平壤: a “later” report",
                                "Kwaśniewski wrote of the harvest.", date="1957")])
            assert archive.get("r2") is None
            assert archive.search(SearchRequest(query="Kwaśniewski")).result.total == 0
            # Past the bound the standby is skipped and the primary answers.
            lagging = Database(url, [replica], replica_max_lag=1.0)
            time.sleep(2.2)
            with lagging.sessions() as session:
                assert session.execute(text("SELECT count(*) FROM records")).scalar() == 2
                assert session.execute(text("SELECT NOT pg_is_in_recovery()")).scalar()
            assert lagging.replicas[0].lagging and lagging.replicas[0].lag > 1.0
            lagging.dispose()
            # Replay resumed: the standby catches up and serves the new record.
            _standby_sql(paused, "SELECT pg_wal_replay_resume()")
            _replayed(replica, "r2")
            found = archive.search(SearchRequest(query="Kwaśniewski")).result
            assert [h.id for h in found.hits] == ["r2"]
        finally:
            archive.close()


def test_a_curator_reads_the_save_at_once_while_others_see_the_standby(
        pg_ok, paused, fast_hashing, monkeypatch):  # noqa: F811 - the fixture
    monkeypatch.setenv("OPIS_REPLICA_MAX_LAG", "60")  # the standby's copy stays in use
    with pg_schema(pg_ok) as url:
        replica = _on_standby(url, paused)
        setup = Archive(url)
        setup.put([sample_record("r1")])
        seed(setup)
        setup.close()
        _replayed(replica, "r1")
        archive = Archive(url, [replica])
        try:
            with TestClient(create_app(archive)) as curator, \
                    TestClient(create_app(archive)) as reader:
                token = login(curator, "eddie")
                _standby_sql(paused, "SELECT pg_wal_replay_pause()")
                r = curator.post("/document/r1/edit", data={
                    "csrf_token": token, "title": "Minutes of the Politburo",
                    "reason": "title from the original", "action": "save", "version": "1"},
                    follow_redirects=False)
                assert r.status_code == 303, r.text[:300]
                assert "opis_wrote" in r.headers.get("set-cookie", "")
                # The curator's next page reads the primary: the save is there.
                assert "Minutes of the Politburo" in curator.get("/document/r1").text
                # Another reader's page comes from the standby, which has not replayed it.
                page = reader.get("/document/r1").text
                assert "Report on the Plenum" in page and "Minutes of the Politburo" not in page
                _standby_sql(paused, "SELECT pg_wal_replay_resume()")
                deadline = time.monotonic() + 30
                while "Minutes of the Politburo" not in reader.get("/document/r1").text:
                    assert time.monotonic() < deadline, "the standby never replayed the save"
                    time.sleep(0.2)
        finally:
            archive.close()
