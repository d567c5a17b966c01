"""The ingest pipeline: dry runs, reports, batches, both cores, resuming after a kill."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opis.cli import app
from opis.search.base import SearchRequest
from opis.services.archive import Archive
from paths import DATA, ROOT

REFERENCE = DATA / "wcda_114165.txt"


def many_records(path: Path, n: int) -> Path:
    src = [json.loads(line) for line in (DATA / "wcda-records.jsonl").read_text().splitlines()]
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            r = dict(src[i % len(src)])
            r["record_id"] = str(700000 + i)
            r["title"] = f"{r['title']} (copy {i})"
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_dry_run_writes_nothing(tmp_path):
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([REFERENCE, DATA / "frus1955-57v03-excerpt.xml"], dry_run=True)
    assert report.ok and report.dry_run and len(report.added) == 13
    assert archive.count() == 0
    assert archive.search(SearchRequest(query="Mikoyan")).result.total == 0
    assert archive.list_entities() == []
    archive.close()


def test_report_file_and_cli_dry_run(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"record_id": "1", "title": "ok"}\n{not json\n', encoding="utf-8")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["ingest", str(REFERENCE), str(bad), "--db",
                                      str(tmp_path / "a.db"), "--report", str(report),
                                      "--dry-run"])
    assert result.exit_code == 1
    assert "dry run: would have added 2" in result.output  # the good line of bad.jsonl too
    data = json.loads(report.read_text())
    assert data["added"] == 2 and data["failed"] == 1 and data["dry_run"]
    assert data["stored"] == 2 and data["flagged"] == 0
    (failure,) = data["failures"]
    assert failure["file"].endswith("bad.jsonl") and failure["line"] == 2
    assert not (tmp_path / "a.db.tantivy").exists() or Archive(str(tmp_path / "a.db")).count() == 0


def test_batches_and_workers_give_the_same_archive(tmp_path):
    src = many_records(tmp_path / "many.jsonl", 60)
    one = Archive(str(tmp_path / "one.db"))
    two = Archive(str(tmp_path / "two.db"))
    r1 = one.ingest([src], workers=1, batch_size=7)
    r2 = two.ingest([src], workers=2, batch_size=25)
    assert r1.ok and r2.ok and len(r1.added) == len(r2.added) == 60
    for rid in ("700000", "700031", "700059"):
        assert one.get(rid) == two.get(rid)
    q = SearchRequest(query="Chiang Ching-kuo", limit=100)
    assert {h.id for h in one.search(q).result.hits} == {h.id for h in two.search(q).result.hits}
    again = two.ingest([src], workers=2)
    assert len(again.unchanged) == 60 and not again.added
    one.close()
    two.close()


def test_killed_ingest_resumes_without_duplicates(tmp_path):
    src = many_records(tmp_path / "many.jsonl", 1500)
    db = tmp_path / "k.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "opis", "ingest", str(src), "--db", str(db)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it once at least one batch is committed, in the middle of later ones.
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.5)
        try:  # read-only peek: opening an Archive here would race the child's migration
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                done = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        except sqlite3.Error:
            continue
        if done >= 500:
            break
    children = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The extraction workers die with their parent: nothing is left running.
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children)
    archive = Archive(str(db))  # heals the index if the kill fell between the two commits
    partial = archive.count()
    assert 0 < partial <= 1500
    report = archive.ingest([src])
    assert report.ok
    assert len(report.unchanged) == partial and len(report.added) == 1500 - partial
    assert archive.count() == 1500
    for rid in ("700000", "700777", "701499"):
        record = archive.get(rid)
        assert record.check_annotations() == []
        assert [r.number for r in archive.revisions(rid)] == [1]
    assert archive.search(SearchRequest(query="", limit=1)).result.total == 1500
    archive.close()


def test_a_bad_line_mid_file_costs_only_itself(tmp_path):
    """Batches overlap (one is written while the next is extracted), and a bad line
    costs only itself: the records before and after it are stored."""
    src = many_records(tmp_path / "many.jsonl", 40)
    lines = src.read_text(encoding="utf-8").splitlines()
    lines.insert(33, "{not json")
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([src], workers=2, batch_size=10)
    assert [(f.line, f.path.endswith("many.jsonl")) for f in report.failed] == [(34, True)]
    assert len(report.added) == 40 and archive.count() == 40 and report.stored == 40
    assert archive.get("700029") is not None and archive.get("700030") is not None
    assert archive.search(SearchRequest(query="copy", limit=1)).result.total == 40
    # Running it again after the fix stores nothing twice.
    src.write_text("\n".join(line for line in lines if line != "{not json") + "\n",
                   encoding="utf-8")
    again = archive.ingest([src], workers=2, batch_size=10)
    assert again.ok and len(again.added) == 0 and len(again.unchanged) == 40
    assert archive.count() == 40
    archive.close()


def test_a_withdrawn_record_stays_out_of_search_when_its_source_changes(tmp_path):
    from opis.services.curation import Curator

    src = many_records(tmp_path / "many.jsonl", 3)
    archive = Archive(str(tmp_path / "a.db"))
    archive.ingest([src], workers=1)
    Curator(archive).withdraw("700001", author="ada", reason="rights unclear")
    changed = src.read_text(encoding="utf-8").replace("(copy 1)", "(copy 1, corrected)")
    src.write_text(changed, encoding="utf-8")
    report = archive.ingest([src], workers=1)
    assert report.updated == ["700001"]
    result = archive.search(SearchRequest(query="copy", limit=10)).result
    assert result.total == 2 and {h.id for h in result.hits} == {"700000", "700002"}
    assert archive.get("700001") is None  # still withdrawn, its new version kept
    assert archive.revisions("700001")[-1].data["title"].endswith("(copy 1, corrected)")
    archive.close()


def test_index_entries_lagging_after_a_crash_are_healed_on_open(tmp_path, monkeypatch):
    """A crash after the database commit and before the index commit leaves the records
    in the journal; the next open indexes them."""
    src = many_records(tmp_path / "many.jsonl", 5)
    archive = Archive(str(tmp_path / "a.db"))

    def crash(self: object) -> None:
        raise RuntimeError("killed between the two commits")

    monkeypatch.setattr(type(archive.engine), "commit", crash)
    with pytest.raises(RuntimeError):
        archive.ingest([src], workers=1)
    monkeypatch.undo()
    archive.engine.rollback()
    archive.close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select count(*) from index_pending").fetchone() == (5,)
    reopened = Archive(str(tmp_path / "a.db"))
    assert reopened.search(SearchRequest(query="copy", limit=10)).result.total == 5
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select count(*) from index_pending").fetchone() == (0,)
    reopened.close()


def test_a_database_error_is_a_reported_failure_not_a_traceback(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from opis.store import records as store

    src = many_records(tmp_path / "many.jsonl", 4)
    archive = Archive(str(tmp_path / "a.db"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("deadlock detected"))

    monkeypatch.setattr(store, "put_records", refuse)
    report = archive.ingest([src], workers=1)
    (failure,) = report.failed
    assert "deadlock detected" in failure.message and "run the ingest again" in failure.message
    assert archive.count() == 0
    monkeypatch.undo()
    assert archive.ingest([src], workers=1).ok and archive.count() == 4
    archive.close()


def test_ingest_leaves_planner_statistics(tmp_path):
    """Without statistics SQLite read a page of hits through the index on ``status`` and
    scanned every record; after an ingest (or opening an older archive) it has them and
    looks hits up by id."""
    src = many_records(tmp_path / "many.jsonl", 30)
    archive = Archive(str(tmp_path / "a.db"))
    archive.ingest([src], workers=1)
    archive.close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select count(*) from sqlite_stat1 where tbl = 'records'").fetchone()[0]
        plan = db.execute("explain query plan select id, data from records "
                          "where id in ('700001', '700002') and status = 'published'").fetchall()
        assert "status" not in str(plan)
        db.execute("drop table sqlite_stat1")
    Archive(str(tmp_path / "a.db")).close()  # an archive without statistics gains them
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select count(*) from sqlite_stat1").fetchone()[0]


def test_the_cycle_collector_is_paused_during_an_ingest_and_restored_after(tmp_path,
                                                                           monkeypatch):
    """Ingest runs without Python's cycle collector (30% of its time), collects between
    batches, and leaves the collector as it found it, even when pauses nest."""
    import gc

    from opis.services import pipeline

    seen = []
    real = pipeline.collect_garbage
    monkeypatch.setattr("opis.services.ingest.collect_garbage",
                        lambda: (seen.append(gc.isenabled()), real()))
    src = many_records(tmp_path / "in.jsonl", 30)
    archive = Archive(str(tmp_path / "a.db"))
    try:
        assert archive.ingest([src], batch_size=10).ok
    finally:
        archive.close()
    assert seen == [False, False, False]  # asked after each batch, the collector off
    assert gc.isenabled()
    with pipeline.collection_paused():
        with pipeline.collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with pipeline.collection_paused():
            pass
        assert not gc.isenabled()  # a caller that had turned it off keeps it off
    finally:
        gc.enable()


def test_a_folder_with_one_bad_file_loads_the_rest(tmp_path):
    """A Markdown folder: the bad file is reported with its line, the others stored."""
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: Письмо Мао\n---\n«Текст» письма.\n",
                                 encoding="utf-8")
    (folder / "b.md").write_text("---\ntitle: [unclosed\n---\nBody\n", encoding="utf-8")
    (folder / "c.md").write_text("---\ntitle: 金日成への手紙\n---\nA letter to Kim.\n",
                                 encoding="utf-8")
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([folder], workers=1)
    assert sorted(report.added) == ["a", "c"] and report.stored == 2
    [failure] = report.failed
    assert failure.path.endswith("b.md") and failure.line == 2
    result = CliRunner().invoke(app, ["ingest", str(folder), "--db", str(tmp_path / "b.db")])
    assert result.exit_code == 1
    assert "stored 2, flagged 0, failed 1" in result.output
    assert "b.md, line 2:" in result.output.replace("\n", "")
    archive.close()
