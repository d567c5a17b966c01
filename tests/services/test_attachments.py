"""Original files beside translations: content-addressed, served, never duplicated."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opis.cli import app
from opis.services.archive import Archive
from opis.web.app import create_app
from scan_fixtures import RUSSIAN, page, require_tesseract, save_png

TRANSLATION = """---
id: pair1
title: Record of a conversation with the Soviet ambassador
date: 1957-03-05
original_language: ru
---

The Soviet embassy in the DPRK reports on its talks.
"""


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    require_tesseract("rus")
    scan = save_png(page(RUSSIAN, "ru"), tmp_path / "scan.png")
    text = tmp_path / "translation.md"
    text.write_text(TRANSLATION, encoding="utf-8")
    return text, scan


def test_ingest_original_with_translation(tmp_path, pair):
    text, scan = pair
    db = tmp_path / "a.db"
    result = CliRunner().invoke(app, ["ingest", "--translation", str(text), "--original",
                                      str(scan), "--db", str(db)])
    assert result.exit_code == 0, result.output
    archive = Archive(str(db))
    record = archive.get("pair1")
    assert "Посольство" in record.extra["original_text"]
    assert record.extra["original_language"] == "ru"
    roles = {a["role"]: a for a in record.extra["attachments"]}
    assert set(roles) == {"translation", "scan"}
    assert all("path" not in a and len(a["sha256"]) == 64 for a in roles.values())
    stored = list((tmp_path / "a.db.files").rglob("*"))
    assert len([p for p in stored if p.is_file()]) == 2
    # The original is searchable in its own language.
    from opis.search.base import SearchRequest
    assert [h.id for h in archive.search(SearchRequest(query="посольства")).result.hits] == [
        "pair1"]
    with TestClient(create_app(archive)) as c:
        sha = roles["scan"]["sha256"]
        r = c.get(f"/attachments/{sha}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.content == scan.read_bytes()
        assert f'href="/attachments/{sha}"' in c.get("/document/pair1").text
        assert c.get("/attachments/" + "0" * 64).status_code == 404
        assert c.get("/attachments/..%2F..%2Fetc%2Fpasswd").status_code == 404
    archive.close()


def test_same_file_is_stored_once(tmp_path, pair):
    text, scan = pair
    archive = Archive(str(tmp_path / "b.db"))
    assert archive.ingest_pair(text, scan).ok
    other = tmp_path / "other.md"
    other.write_text(TRANSLATION.replace("pair1", "pair2"), encoding="utf-8")
    assert archive.ingest_pair(other, scan).ok
    files = [p for p in (tmp_path / "b.db.files").rglob("*") if p.is_file()]
    assert len(files) == 3  # one scan, two translations
    archive.close()


def test_options_go_together(tmp_path):
    result = CliRunner().invoke(app, ["ingest", "--original", "x.png", "--db",
                                      str(tmp_path / "c.db")])
    assert result.exit_code == 2 and "go together" in result.output


def test_files_over_the_size_limit_are_refused(tmp_path, monkeypatch):
    big = tmp_path / "big.jsonl"
    big.write_bytes(b'{"record_id": "1", "title": "t"}\n' * 40000)
    monkeypatch.setenv("OPIS_MAX_FILE_MB", "1")
    archive = Archive(str(tmp_path / "d.db"))
    report = archive.ingest([big])
    (failure,) = report.failed
    assert "over the limit of 1 MB" in failure.message and "OPIS_MAX_FILE_MB" in failure.message
    assert archive.count() == 0
    archive.close()
