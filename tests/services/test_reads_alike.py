"""Related documents by content: the records whose passages read like this one's, with
the pair of passages as the reason (issue 20, item 5)."""

from __future__ import annotations

import pytest

from opis.services import reading
from opis.services.archive import Archive
from opis.services.embedding import embed_archive
from semantic_fixtures import ALIKE, hashing


@pytest.fixture
def embedded(db_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPIS_EMBEDDER", "semantic_fixtures:hashing")
    archive = Archive(db_url)
    archive.put(ALIKE)
    embed_archive(archive.db, hashing())
    yield archive
    archive.close()


def test_the_record_whose_passage_reads_alike_is_related(embedded: Archive) -> None:
    found = reading.reads_alike(embedded, embedded.get("a"))
    assert [r.record.id for r in found] == ["b"]
    [pair] = found
    assert pair.mine.startswith("The ambassador reported that comrade Kim Il Sung")
    assert "August plenum and demanded" in pair.theirs and pair.theirs.startswith("A second")
    assert pair.score >= 0.5
    assert reading.reads_alike(embedded, embedded.get("a"), exclude=["b"]) == []
    assert [r.record.id for r in reading.reads_alike(embedded, embedded.get("b"))] == ["a"]
    assert reading.reads_alike(embedded, embedded.get("c")) == []


def test_nothing_before_the_archive_is_embedded(tmp_path) -> None:
    archive = Archive(str(tmp_path / "a.db"))
    archive.put(ALIKE)
    assert reading.reads_alike(archive, archive.get("a")) == []
    archive.close()
