"""A held update is kept for a curator, never lost and never applied unseen: accepting
stores it as a new revision, rejecting forgets it and the record stays (issue 17)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from opis.services.archive import Archive
from opis.services.backup import backup, restore
from opis.services.curation import NotFound
from opis.services.held_updates import HeldUpdates
from opis.store import audit
from paths import DATA

ORIGINAL = (DATA / "wcda_114165.txt").read_text(encoding="utf-8")
CUT = ORIGINAL[:ORIGINAL.index("Kim Il Sung") + 6]  # a truncated copy, cut mid-word


@pytest.fixture
def held(tmp_path: Path):
    folder = tmp_path / "export"
    folder.mkdir()
    path = folder / "114165.txt"
    shutil.copy(DATA / "wcda_114165.txt", path)
    archive = Archive(str(tmp_path / "a.db"))
    assert archive.ingest([path]).added == ["114165"]
    path.write_text(CUT, encoding="utf-8")
    report = archive.ingest([path])
    assert [f.record for f in report.held] == ["114165"]
    yield archive, path
    archive.close()


def test_the_held_update_waits_whole_with_its_reason(held) -> None:
    archive, path = held
    [view] = HeldUpdates(archive).list()
    assert view.held.record_id == "114165" and view.held.source == str(path)
    assert "truncated copy" in view.held.reason
    assert len(view.held.record.text) < len(archive.get("114165").text)  # stored stays
    assert "text (" in view.changes
    again = archive.ingest([path])  # held again: still one waiting, the latest
    assert [f.record for f in again.held] == ["114165"]
    assert len(HeldUpdates(archive).list()) == 1


def test_accepting_stores_a_new_revision(held) -> None:
    archive, _path = held
    updates = HeldUpdates(archive)
    [view] = updates.list()
    before = len(archive.revisions("114165"))
    assert updates.accept(view.held.id, author="eddie", reason="the cut is right") == "114165"
    record = archive.get("114165")
    assert record.text == view.held.record.text
    revisions = archive.revisions("114165")
    assert len(revisions) == before + 1 and revisions[-1].author == "eddie"
    assert revisions[-1].reason == "the cut is right"
    assert updates.list() == [] and updates.count() == 0
    with archive.db.sessions() as session:
        assert audit.entries(session, limit=1)[0].action == "held.accept"
    with pytest.raises(NotFound, match="accepted or rejected it already"):
        updates.accept(view.held.id, author="ada")


def test_rejecting_keeps_the_record(held) -> None:
    archive, _path = held
    updates = HeldUpdates(archive)
    [view] = updates.list()
    text = archive.get("114165").text
    updates.reject(view.held.id, author="eddie", reason="a broken copy")
    assert archive.get("114165").text == text and updates.list() == []
    with archive.db.sessions() as session:
        assert audit.entries(session, limit=1)[0].action == "held.reject"


def test_a_dry_run_holds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "114165.txt"
    shutil.copy(DATA / "wcda_114165.txt", path)
    archive = Archive(str(tmp_path / "a.db"))
    archive.ingest([path])
    path.write_text(CUT, encoding="utf-8")
    report = archive.ingest([path], dry_run=True)
    assert report.held and HeldUpdates(archive).list() == []
    archive.close()


def test_a_backup_keeps_what_is_held(held, tmp_path: Path) -> None:
    archive, _path = held
    target = tmp_path / "b.jsonl"
    backup(archive.db, target, "jsonl", files=False)
    copy = Archive(str(tmp_path / "copy.db"))
    restore(copy.db, target)
    [view] = HeldUpdates(copy).list()
    assert view.held.record_id == "114165" and "truncated copy" in view.held.reason
    copy.close()
