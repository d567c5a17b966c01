"""The opis command, run as a user would run it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from opis.cli import app
from paths import DATA

REFERENCE = DATA / "wcda_114165.txt"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_ingest_search_show(tmp_path):
    db = str(tmp_path / "a.db")
    result = run("ingest", str(REFERENCE), "--db", db)
    assert result.exit_code == 0, result.output
    assert "added 1" in result.output
    result = run("search", '"cult of personality"', "--db", db, "--json")
    data = json.loads(result.output)
    assert data["total"] == 1 and data["hits"][0]["id"] == "114165"
    assert "<mark>" in data["hits"][0]["snippet"]
    assert data["facets"]["language"] == [{"value": "ru", "count": 1, "label": "Russian"}]
    result = run("show", "114165", "--db", db, "--json")
    record = json.loads(result.output)
    assert record["archival_reference"]["delo"] == "486"
    assert "source_path" not in record
    result = run("show", "114165", "--db", db)
    assert "RGANI" in result.output
    assert run("reindex", "--db", db).output.strip() == "indexed 1 records"


def test_failures_are_reported_with_exit_code(tmp_path):
    db = str(tmp_path / "a.db")
    bad = tmp_path / "bad.txt"
    bad.write_text("**Octember 99, 1956**\n**T**\n\n**Contents:**\n\nx\n")
    result = run("ingest", str(REFERENCE), str(bad), str(tmp_path / "missing.txt"), "--db", db)
    assert result.exit_code == 1
    assert "added 1" in result.output and "failed 2" in result.output
    assert "bad.txt, line 1: cannot read the date" in result.output.replace("\n", "")
    assert "missing.txt: no such file" in result.output.replace("\n", "")
    assert "Traceback" not in result.output


def test_show_missing_and_bad_database(tmp_path):
    result = run("show", "nope", "--db", str(tmp_path / "a.db"))
    assert result.exit_code == 1
    result = runner.invoke(app, ["search", "x", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x"])
    assert result.exit_code == 2 and "Cannot open the database" in result.output


def test_database_from_environment(tmp_path, monkeypatch):
    db = tmp_path / "env.db"
    monkeypatch.setenv("OPIS_DATABASE", str(db))
    assert run("ingest", str(REFERENCE)).exit_code == 0
    assert db.exists() and Path(str(db) + ".tantivy").is_dir()


def test_demo_builds_from_packaged_corpus(tmp_path, monkeypatch):
    """Into the default archive, the one every other command reads without --db."""
    monkeypatch.setenv("OPIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPIS_DATABASE", "")
    result = run("demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "opis.db").exists()
    result = run("show", "114165", "--json")
    assert json.loads(result.output)["classification"] == "SECRET"


def test_show_formats(tmp_path):
    import rispy

    db = str(tmp_path / "a.db")
    run("ingest", str(REFERENCE), "--db", db)
    ris = run("show", "114165", "--db", db, "--format", "ris").output
    (entry,) = rispy.loads(ris)
    assert entry["title"].startswith("Communist Party of the Soviet Union")
    tei = run("show", "114165", "--db", db, "--format", "tei.xml").output
    assert tei.lstrip().startswith("<?xml") or tei.lstrip().startswith("<TEI")
    result = runner.invoke(app, ["show", "114165", "--db", db, "--format", "docx"])
    assert result.exit_code == 2 and "unknown export format" in result.output


def test_report_keeps_bracketed_text(tmp_path):
    """Messages quote the source's XPath ("div[@type='document']"): printed as written,
    not eaten as console markup."""
    volume = tmp_path / "vol.xml"
    volume.write_text(
        '<?xml version="1.0"?>\n<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="vol1">\n'
        "<teiHeader><fileDesc><titleStmt><title>Vol</title></titleStmt></fileDesc>"
        "</teiHeader>\n<text><body>\n"
        '<div type="document" n="1"><head>1. Без id</head><p>Text.</p></div>\n'
        '<div type="document" xml:id="d2" n="2"><head/></div>\n'
        "</body></text></TEI>\n", encoding="utf-8")
    result = run("ingest", str(volume), "--db", str(tmp_path / "a.db"))
    out = result.output.replace("\n", "")
    assert result.exit_code == 1
    assert "stored 1, flagged 1, failed 1" in out
    assert "div[@type='document'] number 1" in out
    assert "vol.xml, line 6: document 'd2' has no <head>" in out
