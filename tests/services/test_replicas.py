"""Read replicas: reads go to a replica, writes and read-your-writes to the primary, a
replica that is down is skipped, and `opis serve` takes the configuration.

The "replica" here is another schema of the test PostgreSQL database, loaded with the
same records and then left behind: a replica whose lag never ends, which makes visible
which database every read came from. tests/services/test_streaming_replica.py runs
against a real streaming standby (lag, read-your-writes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from test_reliability import Proxy
from typer.testing import CliRunner

from conftest import PG_BASE, pg_schema
from curation_helpers import (  # noqa: F401
    PASSWORD,
    bearer,
    csrf,
    fast_hashing,
    free_port,
    login,
    sample_record,
    seed,
)
from opis.cli import app as cli
from opis.search.base import SearchRequest
from opis.services.accounts import Accounts
from opis.services.archive import Archive
from opis.services.curation import Curator
from opis.services.oai import OaiProvider
from opis.store.db import Database, ReplicaError, replica_urls
from opis.web.app import APP_FACTORY, create_app, create_app_from_env

TITLE = "Report on the Plenum"
runner = CliRunner()


@pytest.fixture
def replica_url(pg_ok: bool) -> Iterator[str]:
    """A second, empty schema to play the replica."""
    with pg_schema(pg_ok, "replica_") as url:
        yield url


def load(url: str, *records: object) -> None:
    archive = Archive(url)
    archive.put(list(records) or [sample_record("r1")])
    archive.close()


def dead_url() -> str:
    """A PostgreSQL URL where nothing listens: a replica that is down."""
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = {n for (n,) in conn.execute(text(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()"))}
    engine.dispose()
    return names


# -- routing ------------------------------------------------------------------------------------

def test_reads_go_to_the_replica_and_writes_to_the_primary(pg_url, replica_url):
    load(pg_url)
    load(replica_url)
    archive = Archive(pg_url, [replica_url])
    curator = Curator(archive)
    curator.edit("r1", {"title": "Minutes of the Politburo"}, author="eddie",
                 reason="the title was wrong")

    # Pages and searches read the replica, which has not seen the edit (yet, or ever).
    assert archive.get("r1").title == TITLE
    assert archive.revisions("r1")[-1].number == 1
    assert archive.search(SearchRequest(query="Politburo")).result.total == 0
    # The edit is on the primary: its revision, and its search entry in the same commit.
    primary = Archive(pg_url)
    assert primary.get("r1").title == "Minutes of the Politburo"
    assert primary.search(SearchRequest(query="Politburo")).result.total == 1
    primary.close()
    # Curation reads the primary: the editor sees the edit at once (read your writes).
    state = curator.state("r1")
    assert state.version == 2 and state.record.title == "Minutes of the Politburo"
    assert [(h.number, h.reason) for h in curator.history("r1")][0] == (2, "the title was wrong")
    assert [e.action for e in curator.audit_log()[0]][0] == "edit"
    # So does OAI-PMH: a harvest lists what changed before it began, which a lagging
    # replica would hide from it and from every later incremental harvest.
    xml = OaiProvider(archive).respond(
        [("verb", "GetRecord"), ("identifier", "oai:example.org:r1"),
         ("metadataPrefix", "oai_dc")], "https://example.org/oai", "example.org")
    assert b"Minutes of the Politburo" in xml
    archive.close()


def test_read_sessions_are_read_only(pg_url, replica_url):
    """A write that strayed into a read session fails (as on a real standby) rather than
    writing to a replica, or to whichever database took the read."""
    load(pg_url)
    load(replica_url)
    db = Database(pg_url, [replica_url])
    with db.sessions() as session, pytest.raises(Exception, match="read-only transaction"):
        session.execute(text("UPDATE records SET title = 'x'"))
    db.dispose()


def test_reads_are_spread_over_the_replicas(pg_url, replica_url):
    load(pg_url)
    load(replica_url, sample_record("r1", title="On the replica"))
    archive = Archive(pg_url, [replica_url, pg_url])  # the primary doubles as a replica
    titles = [archive.get("r1").title for _ in range(6)]
    assert titles.count("On the replica") == 3 and titles.count(TITLE) == 3
    archive.close()


def test_a_replica_that_is_down_falls_back_to_the_primary(pg_url, replica_url, caplog):
    load(pg_url)
    load(replica_url, sample_record("r1", title="On the replica"))
    with caplog.at_level(logging.WARNING, logger="opis.db"):
        archive = Archive(pg_url, [dead_url()])
        # Every read is answered (by the primary), none fails.
        assert archive.get("r1").title == TITLE
        assert archive.search(SearchRequest(query="plenum")).result.total == 1
        assert "is unreachable" in caplog.text and "reading from the primary" in caplog.text
        archive.close()
        # With one replica down and one up, reads skip the dead one.
        archive = Archive(pg_url, [dead_url(), replica_url])
        assert {archive.get("r1").title for _ in range(4)} == {"On the replica"}
        archive.close()


def test_a_replica_that_stops_and_comes_back(pg_url, replica_url, caplog):
    load(pg_url)
    load(replica_url, sample_record("r1", title="On the replica"))
    real = make_url(replica_url)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    through_proxy = real.set(port=proxy.port).render_as_string(hide_password=False)
    archive = Archive(pg_url, [through_proxy])
    archive.db.replicas[0].retry = 0.0  # try a down replica again on every read
    try:
        with TestClient(create_app(archive)) as client:
            assert client.get("/document/r1.json").json()["title"] == "On the replica"
            proxy.stop()  # connections cut, new ones refused
            with caplog.at_level(logging.WARNING, logger="opis.db"):
                for _ in range(3):  # no request fails: the primary answers
                    r = client.get("/document/r1.json")
                    assert r.status_code == 200 and r.json()["title"] == TITLE
            assert "is unreachable" in caplog.text
            proxy.start()
            with caplog.at_level(logging.WARNING, logger="opis.db"):
                assert client.get("/document/r1.json").json()["title"] == "On the replica"
            assert "is back" in caplog.text
    finally:
        proxy.stop()
        archive.close()


def test_migrations_run_on_the_primary_only(pg_url, replica_url):
    db = Database(pg_url, [replica_url])
    db.migrate()
    db.dispose()
    assert "records" in tables(pg_url)
    assert tables(replica_url) == set()  # a standby gets its schema by replication


def test_sqlite_with_replicas_is_refused_clearly(tmp_path):
    with pytest.raises(ReplicaError, match="read replicas need PostgreSQL"):
        Database(str(tmp_path / "a.db"), [PG_BASE])
    with pytest.raises(ReplicaError, match="is not a PostgreSQL URL"):
        Database(PG_BASE, [str(tmp_path / "b.db")])
    r = runner.invoke(cli, ["serve", "--db", str(tmp_path / "a.db"), "--read-replica", PG_BASE])
    assert r.exit_code == 2
    assert "read replicas need PostgreSQL" in r.output and "Traceback" not in r.output


# -- accounts and sessions, across workers, with a replica that has none of them ------------

def test_workers_share_sessions_csrf_and_login_limits(pg_url, replica_url, monkeypatch):
    """Two workers (each its own app and archive, as `opis serve --workers 2` makes them)
    reading from a replica that has no accounts, no signing key and no login failures:
    all three live on the primary, so a session, its CSRF token and the failed-login
    count carry from one worker to the other."""
    load(pg_url)
    Archive(replica_url).close()  # the replica has the tables, not the rows
    archive = Archive(pg_url)
    seed(archive)
    archive.close()
    monkeypatch.setenv("OPIS_DATABASE", pg_url)
    monkeypatch.setenv("OPIS_READ_REPLICAS", replica_url)
    monkeypatch.delenv("OPIS_SECRET_KEY", raising=False)
    monkeypatch.delenv("OPIS_READ_ONLY", raising=False)
    one, two = create_app_from_env(), create_app_from_env()
    assert one.state.archive.db.read_urls == [replica_url]
    with TestClient(one) as a, TestClient(two) as b:
        token = login(a, "eddie")  # the signing key is made here, by worker one
        b.cookies.update(a.cookies)
        # Worker two knows the session and accepts the CSRF token worker one issued.
        assert b.get("/document/r1/edit").status_code == 200
        r = b.post("/document/r1/edit", data={
            "csrf_token": token, "title": "Edited through worker two", "reason": "typo fixed",
            "action": "save", "version": "1"}, follow_redirects=False)
        assert r.status_code == 303, r.text[:500]
        # ... and the edit is on its history page at once, through either worker.
        assert "typo fixed" in a.get("/document/r1/history").text
        # Failed logins from one address count on every worker: five failures spread
        # over both, then the sixth attempt is refused, whichever worker it reaches.
        a.cookies.clear()
        b.cookies.clear()
        for client in (a, b, a, b, a):
            r = client.post("/login", data={"username": "rita", "password": "wrong password",
                                            "csrf_token": csrf(client)})
            assert r.status_code == 401
        r = b.post("/login", data={"username": "rita", "password": PASSWORD,
                                   "csrf_token": csrf(b)})
        assert r.status_code == 429
    one.state.archive.close()
    two.state.archive.close()


def test_a_token_revoked_on_the_primary_is_refused_at_once(pg_url, replica_url):
    load(pg_url)
    load(replica_url)
    archive = Archive(pg_url, [replica_url])
    accounts = Accounts(archive.db)
    accounts.add_user("eddie", "editor", PASSWORD)
    token_id, token = accounts.create_token("eddie", ["edit"])
    with TestClient(create_app(archive)) as client:
        assert client.get("/api/v1/records/r1", headers=bearer(token)).status_code == 200
        accounts.revoke_token(token_id)
        assert client.get("/api/v1/records/r1", headers=bearer(token)).status_code == 401
    archive.close()


# -- `opis serve` ------------------------------------------------------------------------------

def test_replica_urls_from_options_or_environment():
    env = {"OPIS_READ_REPLICAS": " postgresql://r1/db, ,postgresql://r2/db "}
    assert replica_urls(None, env) == ["postgresql://r1/db", "postgresql://r2/db"]
    assert replica_urls(["postgresql://r3/db"], env) == ["postgresql://r3/db"]  # option wins
    assert replica_urls(None, {}) == []


@pytest.fixture
def fake_uvicorn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, dict]]:
    """uvicorn.run replaced by a recorder; the environment `opis serve` sets is restored."""
    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    for name in ("OPIS_DATABASE", "OPIS_READ_REPLICAS", "OPIS_READ_ONLY"):
        monkeypatch.setenv(name, "")  # so that undoing restores its absence, whatever
        monkeypatch.delenv(name)  # `opis serve` sets meanwhile
    return calls


def test_serve_passes_workers_and_replicas_to_each_worker(pg_url, replica_url, fake_uvicorn):
    load(pg_url)
    Archive(replica_url).close()
    other = dead_url()
    r = runner.invoke(cli, ["serve", "--db", pg_url, "--workers", "3", "--port", "8123",
                            "--read-replica", replica_url, "--read-replica", other])
    assert r.exit_code == 0, r.output
    assert "with 3 workers, reading from 2 replica(s)" in " ".join(r.output.split())
    app, kw = fake_uvicorn[0]
    assert app == APP_FACTORY and kw["factory"] is True and kw["workers"] == 3
    assert kw["port"] == 8123
    # What each worker process will build its app from:
    assert os.environ["OPIS_DATABASE"] == pg_url
    assert os.environ["OPIS_READ_REPLICAS"] == f"{replica_url},{other}"
    assert "OPIS_READ_ONLY" not in os.environ  # PostgreSQL workers write too
    worker = create_app_from_env()
    assert worker.state.archive.db.read_urls == [replica_url, other]
    worker.state.archive.close()


def test_serve_reads_replicas_from_the_environment(pg_url, replica_url, fake_uvicorn,
                                                   monkeypatch):
    load(pg_url)
    load(replica_url, sample_record("r1", title="On the replica"))
    monkeypatch.setenv("OPIS_READ_REPLICAS", replica_url)
    r = runner.invoke(cli, ["serve", "--db", pg_url])
    assert r.exit_code == 0, r.output
    app, kw = fake_uvicorn[0]
    assert isinstance(app, FastAPI) and "workers" not in kw  # one worker: in process
    with TestClient(app) as client:
        assert client.get("/document/r1.json").json()["title"] == "On the replica"
    app.state.archive.close()


def test_serve_sqlite_with_workers_is_read_only(tmp_path, fake_uvicorn):
    db = str(tmp_path / "opis.db")
    load(db)
    r = runner.invoke(cli, ["serve", "--db", db, "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert "served read-only" in " ".join(r.output.split())
    assert fake_uvicorn[0][1]["workers"] == 2 and os.environ["OPIS_READ_ONLY"] == "1"


def test_read_only_mode_for_a_public_mirror(pg_url, fake_uvicorn, monkeypatch):
    """OPIS_READ_ONLY=1 (what `opis serve --workers N` sets over SQLite) on any archive:
    pages and OAI-PMH work, anything that could write is refused and nothing changes."""
    load(pg_url)
    archive = Archive(pg_url)
    token = seed(archive).tokens["editor"]
    archive.close()
    monkeypatch.setenv("OPIS_READ_ONLY", "1")
    assert runner.invoke(cli, ["serve", "--db", pg_url]).exit_code == 0
    app = fake_uvicorn[0][0]
    with TestClient(app) as client:
        assert client.get("/document/r1").status_code == 200
        assert client.post("/oai", data={"verb": "Identify"}).status_code == 200
        r = client.patch("/api/v1/records/r1", headers=bearer(token),
                         json={"changes": {"title": "x"}, "reason": "try"})
        assert r.status_code == 503 and "read-only" in r.json()["error"]
        assert client.get("/document/r1.json").json()["title"] == TITLE
    app.state.archive.close()
