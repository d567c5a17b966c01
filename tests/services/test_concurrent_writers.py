"""Several processes writing to one archive at once: what stays correct.

docs/deployment.md ("Several workers writing at once") states the guarantees these tests
check. The writers are real processes (multiprocessing's spawn context, or `opis serve
--workers N`) on one PostgreSQL schema, started together behind a barrier so that their
transactions overlap.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from curation_helpers import fast_hashing, free_port, sample_record, seed  # noqa: F401
from opis.services.archive import Archive
from opis.services.curation import Conflict, Curator
from opis_bench.generate import generate

PG_BASE = os.environ.get("OPIS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WAIT = 240  # seconds a child may take before the test gives up on it (a hang, not a timing)


# -- what each writer process runs ---------------------------------------------------------

def _edit_once(url: str, rid: str, who: str, barrier: Any, out: Any) -> None:
    """Read the record's version, wait for the other writer, then save against it."""
    archive = Archive(url)
    curator = Curator(archive)
    version = curator.state(rid).version
    barrier.wait()
    reason = f"edit by {who}"
    try:
        result = curator.edit(rid, {"summary": f"Summary written by {who}."}, author=who,
                              reason=reason, version=version)
        out.put((who, "ok", result.version, reason))
    except Conflict as e:
        out.put((who, "conflict", e.version, str(e)))
    archive.close()


def _edit_many(url: str, rid: str, who: str, n: int, barrier: Any, out: Any) -> None:
    """``n`` edits, each against the version just read; a Conflict means read again and
    retry, as an editor reloading the form would."""
    archive = Archive(url)
    curator = Curator(archive)
    barrier.wait()
    acked, conflicts = [], 0
    for i in range(n):
        reason = f"{who} edit {i}"
        while True:
            version = curator.state(rid).version
            try:
                result = curator.edit(rid, {"summary": f"{who} says {i}."}, author=who,
                                      reason=reason, version=version)
                acked.append((result.version, reason))
                break
            except Conflict:
                conflicts += 1
    out.put((who, acked, conflicts))
    archive.close()


def _ingest(url: str, files: list[str], who: str, barrier: Any, out: Any) -> None:
    archive = Archive(url)
    barrier.wait()
    try:
        report = archive.ingest([Path(f) for f in files], workers=1, batch_size=8)
        out.put((who, "done", report.added, report.updated, report.unchanged,
                 [str(f) for f in report.failed]))
    except Exception as e:  # reported to the test, which fails on it
        out.put((who, "crashed", repr(e)[:500], [], [], []))
    archive.close()


def _together(target: Any, argsets: list[tuple]) -> list[tuple]:
    """Run ``target(*args, barrier, queue)`` in one spawned process per argument set, all
    released at once; their results, in the order they finished."""
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(len(argsets)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, out)) for args in argsets]
    for p in procs:
        p.start()
    try:
        results = [out.get(timeout=WAIT) for _ in procs]
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return results


# -- database helpers ------------------------------------------------------------------------

@contextmanager
def fresh_schema() -> Iterator[str]:
    """Another PostgreSQL schema (the reference run of an ingest is made in one)."""
    schema = "cw_" + uuid.uuid4().hex[:12]
    engine = create_engine(PG_BASE)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def revisions_per_record(url: str) -> dict[str, int]:
    return dict(query(url, "SELECT r.id, count(v.id) FROM records r "
                           "LEFT JOIN revisions v ON v.record_id = r.id GROUP BY r.id"))


def same_person_twice(url: str) -> list[tuple]:
    """Entities of one kind whose preferred names have the same romanization key. Linking
    one ingest at a time never makes them (a name whose key is known links to the entity
    that has it); two ingests creating the same person at once would."""
    return query(url, "SELECT kind, key, count(*) FROM entities GROUP BY kind, key "
                      "HAVING count(*) > 1")


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    """Two JSON Lines files of 40 synthetic records each, naming the same people (the
    generator draws from 242 people of Cold War Korea, China and the USSR)."""
    generate(tmp_path / "corpus", 80, seed=11, fmt="jsonl", shard_size=40)
    files = sorted((tmp_path / "corpus").glob("*.jsonl"))
    assert len(files) == 2
    return files


# -- (a) curation edits of one record from two processes -----------------------------------

def test_two_processes_editing_one_record_lose_no_edit(pg_url):
    archive = Archive(pg_url)
    archive.put([sample_record("r1")])
    archive.close()

    # Both read version 1, then both save against it: one wins, the other is told.
    results = _together(_edit_once, [(pg_url, "r1", "ann"), (pg_url, "r1", "bob")])
    outcomes = sorted(r[1] for r in results)
    assert outcomes == ["conflict", "ok"], results
    winner = next(r for r in results if r[1] == "ok")
    loser = next(r for r in results if r[1] == "conflict")
    assert winner[2] == 2
    assert "changed since version 1" in loser[3] and loser[2] == 2
    assert query(pg_url, "SELECT number, reason FROM revisions WHERE record_id = 'r1' "
                         "ORDER BY number") == [(1, "ingest"), (2, winner[3])]

    # Then each saves four times, re-reading after a conflict: every acknowledged edit is
    # a revision with its reason at its number, numbers run 1..n without a gap, and the
    # record is its newest revision.
    results = _together(_edit_many, [(pg_url, "r1", "ann", 4), (pg_url, "r1", "bob", 4)])
    acked = [a for _, edits, _ in results for a in edits]
    assert len(acked) == 8
    revs = query(pg_url, "SELECT number, reason FROM revisions WHERE record_id = 'r1' "
                         "ORDER BY number")
    assert [n for n, _ in revs] == list(range(1, 11))
    assert set(acked) <= set(revs)
    who, _, i = max(acked)[1].partition(" edit ")
    archive = Archive(pg_url)
    state = Curator(archive).state("r1")
    archive.close()
    assert state.version == 10 and state.record.summary == f"{who} says {i}."


# -- (b) two ingests of different files naming the same people -----------------------------

def test_two_ingests_naming_the_same_people(pg_url, corpus):
    Archive(pg_url).close()  # the schema, made once before the race
    results = _together(_ingest, [(pg_url, [str(corpus[0])], "one"),
                                  (pg_url, [str(corpus[1])], "two")])
    for who, status, added, updated, unchanged, failed in results:
        assert status == "done", (who, added)  # before the fix: a deadlock or a duplicate
        assert failed == [], (who, failed)  # key failed a whole batch
        assert len(added) == 40 and not updated and not unchanged, who
    counts = revisions_per_record(pg_url)
    assert len(counts) == 80 and set(counts.values()) == {1}
    assert same_person_twice(pg_url) == []
    # Every record is linked: its mentions point at entities that exist.
    assert query(pg_url, "SELECT count(DISTINCT record_id) FROM mentions")[0][0] == 80
    assert query(pg_url, "SELECT count(*) FROM mentions m LEFT JOIN entities e "
                         "ON e.id = m.entity_id WHERE e.id IS NULL") == [(0,)]


# -- (c) the same file ingested by two processes at once -----------------------------------

def test_the_same_file_ingested_twice_at_once(pg_url, corpus):
    Archive(pg_url).close()
    results = _together(_ingest, [(pg_url, [str(corpus[0])], "one"),
                                  (pg_url, [str(corpus[0])], "two")])
    added: list[str] = []
    for who, status, got, updated, unchanged, failed in results:
        assert status == "done" and failed == [], (who, got, failed)
        assert not updated, who
        assert len(got) + len(unchanged) == 40, who
        added += got
    # Each record was added by exactly one of them; the other found it stored.
    assert sorted(added) == sorted(set(added)) and len(added) == 40
    counts = revisions_per_record(pg_url)
    assert len(counts) == 40 and set(counts.values()) == {1}  # one revision per content
    assert same_person_twice(pg_url) == []
    # The authority file is what one ingest of the file makes: the loser's batches link
    # against the winner's entities and add none of their own.
    with fresh_schema() as reference:
        archive = Archive(reference)
        assert archive.ingest([corpus[0]], workers=1, batch_size=8).ok
        archive.close()
        sql = "SELECT id, kind, preferred FROM entities ORDER BY id"
        assert query(pg_url, sql) == query(reference, sql)


# -- several `opis serve` workers -------------------------------------------------------------

def serve(db: str, workers: int, tmp_path: Path, env: dict[str, str] | None = None
          ) -> tuple[subprocess.Popen, str]:
    """`opis serve --workers N` in a subprocess; ready when /healthz answers."""
    port = free_port()
    log = (tmp_path / f"serve-{port}.log").open("w")
    inherited = {k: v for k, v in os.environ.items()
                 if k not in ("OPIS_DATABASE", "OPIS_READ_REPLICAS", "OPIS_READ_ONLY")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from opis.cli import main; main()", "serve", "--db", db,
         "--port", str(port), "--workers", str(workers)],
        stdout=log, stderr=subprocess.STDOUT, env={**inherited, **(env or {})},
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise AssertionError("opis serve did not start")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server and its workers (their own process group, made for them)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def worker_pids(proc: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return [int(c) for c in children
            if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]


def test_two_workers_editing_over_http_lose_no_edit(pg_url, tmp_path):
    archive = Archive(pg_url)
    archive.put([sample_record("r1")])
    token = seed(archive).tokens["editor"]
    archive.close()
    proc, base = serve(pg_url, 2, tmp_path)
    try:
        assert len(worker_pids(proc)) == 2
        headers = {"Authorization": f"Bearer {token}"}

        def patch(reason: str, version: int | None) -> httpx.Response:
            body: dict[str, Any] = {"changes": {"summary": f"Summary: {reason}."},
                                    "reason": reason}
            if version is not None:
                body["version"] = version
            return httpx.patch(f"{base}/api/v1/records/r1", json=body, headers=headers,
                               timeout=60)

        # Eight saves against version 1 at once, spread over both workers by the kernel:
        # exactly one is accepted, the others are told the record changed.
        answers: list[httpx.Response] = []
        threads = [threading.Thread(target=lambda i=i: answers.append(patch(f"v1 #{i}", 1)))
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in answers)
        assert codes == [200] + [409] * 7, [(r.status_code, r.text[:200]) for r in answers]

        # Unversioned saves from eight threads: all accepted, each its own revision.
        acked: list[tuple[int, str]] = []

        def save(i: int) -> None:
            r = patch(f"free #{i}", None)
            assert r.status_code == 200, r.text
            acked.append((r.json()["version"], f"free #{i}"))

        threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(acked) == 8
        revs = query(pg_url, "SELECT number, reason FROM revisions WHERE record_id = 'r1' "
                             "ORDER BY number")
        assert [n for n, _ in revs] == list(range(1, 11))
        assert set(acked) <= set(revs)
        history = httpx.get(f"{base}/document/r1/history.json", headers=headers).json()
        assert history["version"] == 10 and len(history["revisions"]) == 10
    finally:
        stop(proc)


def test_sqlite_workers_read_and_refuse_writes_clearly(tmp_path):
    db = str(tmp_path / "opis.db")
    archive = Archive(db)
    archive.put([sample_record("r1")])
    token = seed(archive).tokens["editor"]
    archive.close()
    proc, base = serve(db, 2, tmp_path)
    try:
        assert len(worker_pids(proc)) == 2
        for _ in range(6):
            assert httpx.get(f"{base}/document/r1").status_code == 200
            assert httpx.get(f"{base}/search.json", params={"q": "plenum"}).json()["total"] == 1
        r = httpx.patch(f"{base}/api/v1/records/r1", json={"changes": {"title": "x"},
                        "reason": "try"}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 503 and "read-only" in r.json()["error"]
        r = httpx.post(f"{base}/login", data={"username": "eddie", "password": "x"})
        assert r.status_code == 503 and "read-only" in r.text
        # No worker holds the search index's writer: another process (an ingest) can
        # write, and every worker's searches see what it committed.
        archive = Archive(db)
        archive.put([sample_record("r2", title="Minutes of the Politburo")])
        archive.close()
        for _ in range(6):
            hits = httpx.get(f"{base}/search.json", params={"q": "Politburo"}).json()
            assert [h["id"] for h in hits["hits"]] == ["r2"]
    finally:
        stop(proc)
    assert query(f"sqlite:///{db}", "SELECT count(*) FROM revisions WHERE record_id = 'r1'"
                 ) == [(1,)]
