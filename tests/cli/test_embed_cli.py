"""``opis embed``: what it prints, a run killed with SIGKILL finished by the next, and
two runs at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from opis.services.archive import Archive
from paths import TESTS
from semantic_fixtures import record

SRC = TESTS.parent / "src"


def run_embed(db: Path, factory: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OPIS_EMBEDDER": f"semantic_fixtures:{factory}",
           "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)]), "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "opis", "embed", "--db", str(db), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def embedded(db: Path) -> int:
    """Records embedded so far, read without opening an archive (no migration check)."""
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute("SELECT count(*) FROM embedded_records").fetchone()[0]
        except sqlite3.OperationalError:  # the table is not there yet
            return 0


def twelve_records(folder: Path) -> Path:
    """An archive of twelve records in three scripts, two passages each."""
    db = folder / "a.db"
    archive = Archive(str(db))
    archive.put([record(f"r{i:02}", f"Запись {i} — 기록 {i} — 记录 {i}",
                        [f"Paragraph {i} about Pyongyang’s plenum, Müller’s “report”."])
                 for i in range(12)])
    archive.close()
    return db


def test_a_killed_run_is_finished_by_the_next(tmp_path):
    db = twelve_records(tmp_path)
    proc = run_embed(db, "slow_hashing", "--batch", "2")
    deadline = time.monotonic() + 60
    while embedded(db) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = embedded(db)
    assert 2 <= done < 12, "the kill came too late to test anything"
    finish = run_embed(db, "hashing")
    out, errors = finish.communicate(timeout=120)
    assert finish.returncode == 0, errors
    assert f"of {12 - done} records" in out, out
    assert embedded(db) == 12
    again = run_embed(db, "hashing")
    out, _ = again.communicate(timeout=120)
    assert "embedded 0 passages of 0 records" in out and "index holds 24 passages" in out


def test_a_bad_model_setting_is_a_message_not_a_traceback(tmp_path):
    proc = run_embed(tmp_path / "a.db", "no_such_factory")
    _, errors = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "OPIS_EMBEDDER" in errors and "no_such_factory" in errors
    assert "Traceback" not in errors


def test_two_runs_at_once_embed_each_record_once(tmp_path):
    """Two ``opis embed`` started together (a cron job and a curator): both finish, each
    record's passages are stored once, whichever run wrote them, and a third run finds
    nothing left to do."""
    db = twelve_records(tmp_path)
    runs = [run_embed(db, "slow_hashing", "--batch", "2") for _ in range(2)]
    outs = [run.communicate(timeout=180) for run in runs]
    for run, (out, errors) in zip(runs, outs, strict=True):
        assert run.returncode == 0, errors
        assert "index holds 24 passages" in out, out
    assert embedded(db) == 12
    with sqlite3.connect(db, timeout=30) as conn:
        rows = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        distinct = conn.execute("SELECT count(*) FROM (SELECT DISTINCT record_id, kind, "
                                "digest FROM passages)").fetchone()[0]
    assert rows == distinct == 24  # two passages a record, none twice
    again = run_embed(db, "hashing")
    out, _ = again.communicate(timeout=120)
    assert "embedded 0 passages of 0 records" in out and "index holds 24 passages" in out
