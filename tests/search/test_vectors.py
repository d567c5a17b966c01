"""The embedding stage and the vector index on both backends (services/embedding.py,
search/vectors.py), with a small local model so the mechanics are quick to test."""

from __future__ import annotations

import pytest

from opis.enrich.embeddings import record_passages
from opis.search.vectors import SemanticSearch, VectorIndex
from opis.services.archive import Archive
from opis.services.embedding import embed_archive, semantic_search
from opis.store import audit
from semantic_fixtures import HashingEmbedder, record

RECORDS = [
    record("pyongyang", "Доклад о положении в Трудовой партии Кореи",
           ["Пленум ЦК ТПК в августе 1956 года осудил Пак Чхан Ока и Чхве Чхан Ика.",
            "Советское посольство в Пхеньяне сообщает о разногласиях с КНР."],
           summary="Report on the August Plenum"),
    record("geneva", "Telegram from Geneva",
           ["Held first meeting with Chinese ambassador Wang at four o’clock.",
            "Wang read a prepared statement on repatriation of civilians."],
           notes=["Source: Department of State, Central Files, 611.93/8–155."]),
    record("bonn", "Gespräch des Bundeskanzlers mit Präsident Jelzin",
           ["Der Bundeskanzler begrüßte Präsident Jelzin in Baden-Baden.",
            "Über die NATO-Erweiterung und die Lage in Tschetschenien."]),
]


@pytest.fixture
def archive(db_url: str, tmp_path, monkeypatch):
    monkeypatch.setenv("OPIS_DATA_DIR", str(tmp_path / "data"))
    a = Archive(db_url)
    a.put(RECORDS)
    yield a
    a.close()


def found(archive: Archive, query: str, model: HashingEmbedder, k: int = 3,
          search: SemanticSearch | None = None) -> list[str]:
    search = search or semantic_search(archive.db, model)
    with archive.db.sessions() as session:
        return [h.record_id for h in search.search(session, query, k)]


def test_embedded_records_are_found_by_their_passages(archive):
    model = HashingEmbedder()
    report = embed_archive(archive.db, model)
    assert report.records == 3 and report.embedded == report.indexed > 6
    search = semantic_search(archive.db, model)
    with archive.db.sessions() as session:
        hits = search.search(session, "prepared statement repatriation civilians", 3)
    assert hits[0].record_id == "geneva"
    assert hits[0].kind == "text" and "repatriation" in hits[0].text
    text = archive.get("geneva").text
    assert text[hits[0].start:hits[0].end] == hits[0].text
    assert found(archive, "Пленум ЦК ТПК Пак Чхан Ока", model)[0] == "pyongyang"
    assert found(archive, "Source Central Files", model)[0] == "geneva"  # a footnote


def test_a_second_run_embeds_nothing_and_an_edit_only_what_changed(archive):
    model = HashingEmbedder()
    embed_archive(archive.db, model)
    model.calls.clear()
    again = embed_archive(archive.db, model)
    assert (again.records, again.embedded, model.calls) == (0, 0, [])
    edited = record("bonn", RECORDS[2].title,
                    ["Der Bundeskanzler begrüßte Präsident Jelzin in Baden-Baden.",
                     "Über den Vertrag zur Abrüstung konventioneller Streitkräfte."])
    archive.put([edited])
    third = embed_archive(archive.db, model)
    assert third.records == 1 and third.embedded == 1 and third.removed == 1
    assert sum(model.calls) == 1  # the changed paragraph alone went through the model
    assert found(archive, "Abrüstung konventioneller Streitkräfte", model)[0] == "bonn"
    assert "bonn" not in found(archive, "NATO-Erweiterung Tschetschenien", model, k=1)


def test_withdrawn_records_leave_the_index(archive):
    model = HashingEmbedder()
    embed_archive(archive.db, model)
    with archive.db.transaction() as session:
        audit.set_status(session, "geneva", "withdrawn", author="test", reason="test")
    report = embed_archive(archive.db, model)
    assert report.forgotten == 1 and report.removed >= 3
    assert "geneva" not in found(archive, "prepared statement repatriation civilians", model)


def test_an_interrupted_run_keeps_its_batches_and_the_next_finishes(archive):
    class Dies(HashingEmbedder):
        def embed(self, texts):
            if len(self.calls) == 1:
                raise KeyboardInterrupt  # as a kill between two batches
            return super().embed(texts)

    dying = Dies()
    with pytest.raises(KeyboardInterrupt):
        embed_archive(archive.db, dying, batch=1)
    model = HashingEmbedder()
    report = embed_archive(archive.db, model, batch=1)
    assert report.records == 2  # the first batch was committed and is not redone
    first = len(record_passages(RECORDS[2], model.passage_words))  # "bonn" comes first
    assert report.kept == 0 and report.indexed == report.embedded + first
    for query, rid in (("Jelzin Baden-Baden", "bonn"), ("prepared statement Wang", "geneva"),
                       ("Пленум ЦК ТПК Пак Чхан Ока", "pyongyang")):
        assert found(archive, query, model, k=1) == [rid]


def test_another_process_catches_up_from_the_log(archive):
    """A web worker holding a snapshot sees passages embedded after it started, and one
    starting later loads the saved snapshot instead of rebuilding it."""
    model = HashingEmbedder()
    worker = semantic_search(archive.db, model)
    assert found(archive, "Jelzin", model, search=worker) == []
    embed_archive(archive.db, model)
    with archive.db.sessions() as session:
        assert worker.index(session, fresh=True).seq > 0
    assert found(archive, "Jelzin Baden-Baden", model, search=worker)[0] == "bonn"
    later = semantic_search(archive.db, model)
    assert later.path.exists()
    index = VectorIndex(later.path, model.dimensions, model.name)
    assert len(index) == len(worker._index) and index.seq == worker._index.seq


def test_a_lost_snapshot_is_rebuilt_from_the_table(archive):
    model = HashingEmbedder()
    embed_archive(archive.db, model)
    search = semantic_search(archive.db, model)
    search.path.unlink()
    search.path.with_name(search.path.name + ".json").unlink()
    assert found(archive, "Jelzin Baden-Baden", model, search=semantic_search(
        archive.db, model))[0] == "bonn"
    assert search.path.exists()


def test_the_index_adds_removes_and_persists(tmp_path):
    model = HashingEmbedder()
    index = VectorIndex(tmp_path / "x.vectors", model.dimensions, model.name)
    vectors = model.embed(["Пхеньян 1956", "조선로동당 보고서", "苏共中央报告"])
    index.add([1, 2, 3], vectors)
    assert index.search(vectors[1], 1)[0][0] == 2
    index.remove([2])
    assert 2 not in [k for k, _ in index.search(vectors[1], 3)]
    index.seq = 7
    index.save()
    loaded = VectorIndex(tmp_path / "x.vectors", model.dimensions, model.name)
    assert (len(loaded), loaded.seq) == (2, 7)
    other = VectorIndex(tmp_path / "x.vectors", model.dimensions, "another-model")
    assert len(other) == 0  # another model's snapshot is not used


def test_a_snapshot_from_another_history_is_rebuilt(archive):
    """A restored backup brings a log whose entries differ from those the snapshot was
    saved at: the index is rebuilt instead of trusting it."""
    model = HashingEmbedder()
    embed_archive(archive.db, model)
    search = semantic_search(archive.db, model)
    meta = search.path.with_name(search.path.name + ".json")
    import json

    data = json.loads(meta.read_text())
    meta.write_text(json.dumps({**data, "last_passage": -1}))
    index = VectorIndex(search.path, model.dimensions, model.name)
    with archive.db.sessions() as session:
        assert index.sync(session) == len(index) > 0  # rebuilt: every passage added anew


def test_the_server_embeds_in_the_background(archive):
    """``opis serve --embed``: records put while serving are found by meaning soon after."""
    import threading
    import time

    from opis.services.embedding import embed_in_background

    model = HashingEmbedder()
    search = semantic_search(archive.db, model)
    stop = threading.Event()
    thread = embed_in_background(archive.db, search, interval=0.1, stop=stop)
    try:
        archive.put([record("late", "Письмо из Сеула", ["Ли Сын Ман пишет Эйзенхауэру."])])
        deadline = time.monotonic() + 60
        while "late" not in found(archive, "Ли Сын Ман Эйзенхауэру", model, search=search) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert found(archive, "Ли Сын Ман Эйзенхауэру", model, search=search)[0] == "late"
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_new_passage_rules_recut_every_record_but_keep_unchanged_vectors(archive, monkeypatch):
    from opis.enrich import embeddings

    model = HashingEmbedder()
    embed_archive(archive.db, model)
    model.calls.clear()
    monkeypatch.setattr(embeddings, "PASSAGE_RULES", embeddings.PASSAGE_RULES + 1)
    report = embed_archive(archive.db, model)
    assert report.records == 3 and report.embedded == 0 and report.kept > 0
    assert model.calls == []


def test_the_change_log_is_compacted_and_a_process_behind_it_rebuilds(archive, monkeypatch):
    """After a run the log keeps only its newest entries; a worker whose index reflects
    less than what was dropped rebuilds from the table and finds every record, old and
    new, in every script."""
    import opis.services.embedding as embedding
    from opis.store import passages as passage_store

    model = HashingEmbedder()
    monkeypatch.setattr(embedding, "LOG_KEEP", 1)
    embed_archive(archive.db, model)
    worker = semantic_search(archive.db, model)  # a web worker, synced now
    with archive.db.sessions() as session:
        before = worker.index(session, fresh=True).seq
        assert [e[0] for e in passage_store.log_since(session, 0)] == [before]  # one kept
        assert passage_store.compacted_through(session) == before - 1
    archive.put([record("seoul", "서울에서 온 전보 — Telegram from Seoul",
                        ["The “harvest” in Kyŏnggi was poor; Müller’s note agrees."])])
    embed_archive(archive.db, model)
    with archive.db.sessions() as session:
        assert len(passage_store.log_since(session, 0)) == 1
        assert passage_store.compacted_through(session) > before  # the worker's seq is gone
        index = worker.index(session, fresh=True)
        assert index.seq > before and len(index) == passage_store.count_passages(session)
    assert found(archive, "harvest in Kyŏnggi Müller", model, search=worker)[0] == "seoul"
    assert found(archive, "서울에서 온 전보", model, search=worker)[0] == "seoul"
    assert found(archive, "Jelzin Baden-Baden", model, search=worker)[0] == "bonn"
    assert found(archive, "Пленум ЦК ТПК Пак Чхан Ока", model, search=worker)[0] == "pyongyang"
    later = semantic_search(archive.db, model)  # a process started afterwards
    assert found(archive, "서울에서 온 전보", model, search=later)[0] == "seoul"
