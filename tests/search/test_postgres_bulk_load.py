"""A first load into an empty PostgreSQL archive goes in without the full-text index and
builds it once at the end (issue 19: a RUM index costs 2.6 ms a record to insert into,
row by row); a load into a searchable archive keeps it; a load killed with SIGKILL
leaves whole batches, and the next open builds the index over them, after which the
same command finishes the rest: nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text
from tests.conftest import pg_schema

from opis.search.base import SearchRequest
from opis.services.archive import Archive
from paths import DATA

SAMPLES = DATA / "wcda-records.jsonl"


def _indexes(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents'"
                " AND schemaname = current_schema() AND indexname LIKE 'ix_search_documents_%'"
            )).scalars())
    finally:
        engine.dispose()


def _records(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM records")).scalar_one()
    finally:
        engine.dispose()


def _export_files(folder, files: int, per_file: int) -> list[str]:
    """Records as the archive's JSON export has them, in every script the search must
    handle, ``files`` files of ``per_file`` each (a file is at least one transaction)."""
    ids = []
    for f in range(files):
        rows = []
        for j in range(per_file):
            rid = f"bulk-{f:03d}-{j:02d}"
            ids.append(rid)
            rows.append({"document_url": f"https://digitalarchive.example.org/document/{rid}",
                         "record_id": rid, "title": f"Harvest report {rid} from Pyongyang",
                         "original_publication_date": "May 1, 1957",
                         "text_body": "The cooperative’s harvest in Pyongyang (평양, 平壤, "
                                      "Пхеньян) was reported to the embassy by Kwaśniewski. "
                                      * 20,
                         "summary": f"Summary of {rid}.", "language": ["Russian"],
                         "subjects_discussed": ["Korea (North)"]})
        (folder / f"part-{f:03d}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return ids


def test_a_first_load_builds_the_index_once_and_a_later_load_keeps_it(pg_ok, tmp_path):
    seen: list[set[str]] = []
    with pg_schema(pg_ok) as url:
        archive = Archive(url)
        try:
            assert _indexes(url) == {"ix_search_documents_rank"}  # an empty archive has it
            report = archive.ingest([SAMPLES], progress=lambda _s: seen.append(_indexes(url)))
            assert report.ok and len(report.added) == 11
            assert seen and all(not s for s in seen[:-1])  # the rows went in unindexed
            assert _indexes(url) == {"ix_search_documents_rank"}  # and it was built once
            found = archive.search(SearchRequest(query="Chiang Ching-kuo")).result
            assert found.total > 0 and found.hits[0].score > 0  # ranked from the index

            seen.clear()
            more = tmp_path / "more"
            more.mkdir()
            _export_files(more, 2, 3)
            report = archive.ingest([more], progress=lambda _s: seen.append(_indexes(url)))
            assert report.ok and len(report.added) == 6
            assert seen and all(s == {"ix_search_documents_rank"} for s in seen)
            hits = archive.search(SearchRequest(query="Пхеньян")).result
            assert hits.total == 6
        finally:
            archive.close()


def test_an_archive_opened_during_a_first_load_leaves_the_build_to_the_load(pg_ok):
    with pg_schema(pg_ok) as url:
        loader = Archive(url)
        try:
            with loader.writes.load():
                assert _indexes(url) == set()
                reader = Archive(url)  # a web server started meanwhile: it must not build
                reader.close()
                assert _indexes(url) == set()
            assert _indexes(url) == {"ix_search_documents_rank"}
        finally:
            loader.close()


def test_a_killed_first_load_is_healed_at_open_and_finished_by_running_it_again(
        pg_ok, tmp_path):
    folder = tmp_path / "load"
    folder.mkdir()
    ids = _export_files(folder, 30, 20)
    with pg_schema(pg_ok) as url:
        Archive(url).close()  # the schema made, so that the count can be watched
        proc = subprocess.Popen([sys.executable, "-m", "opis", "ingest", str(folder),
                                 "--db", url, "--workers", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while _records(url) < 40 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        stored = _records(url)
        if not 0 < stored < len(ids):
            pytest.skip(f"the load was not caught midway ({stored} of {len(ids)} stored)")
        assert stored % 20 == 0  # whole files only: each is one transaction
        assert _indexes(url) == set()  # killed before it could build the index

        archive = Archive(url)  # the next open builds it over what was stored
        try:
            assert _indexes(url) == {"ix_search_documents_rank"}
            assert archive.search(SearchRequest(query="harvest")).result.total == stored
            report = archive.ingest([folder])  # the same command again finishes the rest
            assert report.ok
            assert len(report.added) == len(ids) - stored
            assert len(report.unchanged) == stored
            assert _records(url) == len(ids)
            found = archive.search(SearchRequest(query="Kwaśniewski", limit=1000)).result
            assert found.total == len(ids)
            assert sorted(h.id for h in found.hits) == sorted(ids)  # each once, none lost
        finally:
            archive.close()
