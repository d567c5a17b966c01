"""Attachments come only from files the curator named, and are served so that no
browser runs them: the regression tests for issue 13's second defect (a record's
``attachments[].path`` published /etc/passwd and the archive's own database) and for
the scan URL, ``javascript:`` source URL and backup findings beside it."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from fpdf import FPDF
from PIL import Image
from typer.testing import CliRunner

from curation_helpers import live_server
from opis.cli import app as cli
from opis.model import Record
from opis.model.urls import is_local_path, web_address_problem
from opis.services.archive import Archive
from opis.services.attachments import AttachmentStore, served_type
from opis.services.backup import BackupError, backup, restore
from opis.services.curation import Curator
from opis.web.app import ATTACHMENT_CSP, create_app

# Text in every script the archive holds, so the text/plain check is not ASCII-only.
MIXED = "Запись беседы · 회담 기록 · 谈话记录 · Außenminister Nam Il · “Top secret” — ‘copy 2’\n"
HOSTILE_HTML = """<!doctype html><html><head><title>scan</title>
<script src="/attachments/{js}"></script>
<script>document.title = "pwned-inline"; fetch("/api/v1/records/r1", {{method: "PATCH",
 credentials: "include", body: JSON.stringify({{title: "edited by a script"}})}});</script>
</head><body><img src=x onerror="document.title='pwned-onerror'">
<svg onload="document.title='pwned-svg'"></svg></body></html>
"""
HOSTILE_JS = 'document.title = "pwned-external"; window.__attachment_ran = true;\n'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_hashes(archive: Archive) -> set[str]:
    return set(archive.attachments.hashes())


def image(path: Path, color: str = "white") -> Path:
    """A small image. Beside records in a folder it is a GIF: opis reads PNG, JPEG and
    TIFF files of a folder as scans of their own, with OCR."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), color).save(path)
    return path


def text_pdf(path: Path) -> Path:
    doc = FPDF()
    doc.add_page()
    doc.set_font("Helvetica", size=12)
    doc.multi_cell(0, 8, "Record of a conversation with the Minister of Foreign Affairs.")
    doc.output(str(path))
    return path


def front_matter(path: Path, rid: str, attachments: list, **more: str) -> Path:
    lines = [f"id: {rid}", f"title: Record {rid}"] + [f"{k}: {v}" for k, v in more.items()]
    lines.append("attachments: " + json.dumps(attachments))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + "\n".join(lines) + "\n---\n\n" + MIXED, encoding="utf-8")
    return path


def boxed(tmp_path: Path, rid: str, color: str, role: str | None = None) -> tuple[Path, Path]:
    """A folder holding one image and a record that attaches it: (folder, image)."""
    folder = tmp_path / "box"
    scan = image(folder / "p.gif", color)
    entry = {"path": "p.gif", **({"role": role} if role else {})}
    front_matter(folder / f"{rid}.md", rid, [entry])
    return folder, scan


@pytest.fixture
def donor(tmp_path: Path) -> dict[str, Path]:
    """A hostile donor's folder: records naming files outside it, inside the archive,
    through a symlink, hidden, or through ``..``; a secret beside the folder."""
    secret = tmp_path / "secret"
    secret.write_text("OPIS_SECRET_KEY=do-not-publish\n", encoding="utf-8")
    db = tmp_path / "archive.db"
    folder = tmp_path / "donor"
    (folder / "letters" / "1957").mkdir(parents=True)
    (folder / ".env").write_text("PASSWORD=hunter2\n", encoding="utf-8")
    (folder / "innocent.gif").symlink_to(secret)
    rows = [
        {"record_id": "j1", "title": "Passwords", "attachments": [{"path": "/etc/passwd"}]},
        {"record_id": "j2", "title": "The database", "attachments": [{"path": str(db)}]},
        {"record_id": "j3", "title": "Its write-ahead log and store",
         "attachments": [{"path": str(db) + "-wal"},
                         {"path": str(db) + ".tantivy/meta.json"}]},
        {"record_id": "j4", "title": "Via a symlink", "attachments": [{"path": "innocent.gif"}]},
        {"record_id": "j5", "title": "Hidden", "attachments": [".env"]},
        {"record_id": "j6", "title": "The environment",
         "attachments": [{"path": "/proc/self/environ", "media_type": "text/html"}]},
        {"record_id": "j7", "title": "A made-up hash", "attachments": [{"sha256": "ab" * 32}]},
    ]
    (folder / "records.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (folder / "records.csv").write_text(
        "record_id,title,attachments\n"
        f"c1,From a CSV,/etc/passwd; ../secret\n"
        f"c2,From a CSV as JSON,\"[{{\"\"path\"\": \"\"{db}\"\"}}]\"\n", encoding="utf-8")
    front_matter(folder / "letters" / "1957" / "m1.md", "m1", [{"path": "../../../secret"}])
    return {"folder": folder, "secret": secret, "db": db}


def test_record_named_paths_are_refused_reported_and_never_served(donor):
    db = donor["db"]
    archive = Archive(str(db))
    try:
        report = archive.ingest([donor["folder"]])
        assert report.ok, report.failed
        ids = {"j1", "j2", "j3", "j4", "j5", "j6", "j7", "c1", "c2", "m1"}
        assert set(report.added) == ids  # every record still loads ...
        for rid in ids:
            assert "attachments" not in archive.get(rid).extra, rid  # ... without them
        assert stored_hashes(archive) == set()  # nothing was copied into the store
        by_record: dict[str, list[str]] = {}
        for w in report.warnings:
            rid = w.message.split(":")[0].removeprefix("record ")
            by_record.setdefault(rid, []).append(w.message)
            assert w.path.endswith(("records.jsonl", "records.csv", "m1.md"))
        assert set(by_record) == ids
        j1 = by_record["j1"][0]
        assert "attachments[0].path '/etc/passwd'" in j1 and "outside the files and folders" \
            in j1 and "stored without it" in j1
        assert "part of the archive itself" in by_record["j2"][0]
        assert len(by_record["j3"]) == 2 and all("part of the archive itself" in m
                                                 for m in by_record["j3"])
        assert "outside" in by_record["j4"][0]  # the symlink is followed, then refused
        assert "hidden" in by_record["j5"][0]
        assert "attachments[0].sha256" in by_record["j7"][0]
        assert "'../../../secret'" in by_record["m1"][0]
        assert len(by_record["c1"]) == 2 and "'../secret'" in by_record["c1"][1]
        assert str(db) in by_record["c2"][0]
        assert "warnings" in json.dumps(report.to_json())
        with TestClient(create_app(archive)) as c:
            for secret in (Path("/etc/passwd").read_bytes(), donor["secret"].read_bytes()):
                assert c.get(f"/attachments/{sha(secret)}").status_code == 404
            assert "/attachments/" not in c.get("/document/j1").text
    finally:
        archive.close()


def test_the_archive_is_never_attached_even_inside_the_folder(tmp_path):
    """A curator who keeps the archive inside the folder ingested: the database, its
    index and store, and any SQLite file (a backup) are refused by what they are."""
    folder = tmp_path / "work"
    folder.mkdir()
    db = folder / "arch.db"
    archive = Archive(str(db))
    backup(archive.db, folder / "nightly.bak")
    front_matter(folder / "a.md", "a", [{"path": "arch.db"}, {"path": "arch.db.tantivy"},
                                        {"path": "nightly.bak"}])
    try:
        report = archive.ingest([folder])
        assert report.added == ["a"] and "attachments" not in archive.get("a").extra
        messages = [w.message for w in report.warnings]
        assert "part of the archive itself" in messages[0]
        assert "part of the archive itself" in messages[1]
        assert "an SQLite database is never attached" in messages[2]
    finally:
        archive.close()


def test_dry_run_reports_the_same_and_copies_nothing(donor):
    archive = Archive(str(donor["db"]))
    try:
        report = archive.ingest([donor["folder"]], dry_run=True)
        assert len(report.warnings) >= 10 and archive.count() == 0
        assert stored_hashes(archive) == set()
    finally:
        archive.close()


def test_legit_original_is_stored_and_served_as_a_download(tmp_path):
    pdf = text_pdf(tmp_path / "original.pdf")
    translation = tmp_path / "translation.md"
    translation.write_text("---\nid: pair1\ntitle: Запись беседы\n---\n\n" + MIXED,
                           encoding="utf-8")
    db = tmp_path / "a.db"
    result = CliRunner().invoke(cli, ["ingest", "--translation", str(translation),
                                      "--original", str(pdf), "--db", str(db)])
    assert result.exit_code == 0, result.output
    archive = Archive(str(db))
    try:
        roles = {a["role"]: a for a in archive.get("pair1").extra["attachments"]}
        assert roles["original"]["media_type"] == "application/pdf"
        assert roles["translation"]["media_type"] == "text/plain; charset=utf-8"
        with TestClient(create_app(archive)) as c:
            r = c.get(f"/attachments/{roles['original']['sha256']}")
            assert r.status_code == 200 and r.content == pdf.read_bytes()
            assert r.headers["content-type"] == "application/pdf"
            assert r.headers["content-disposition"] == 'attachment; filename="original.pdf"'
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["content-security-policy"] == ATTACHMENT_CSP
            assert r.headers["cross-origin-resource-policy"] == "same-origin"
            t = c.get(f"/attachments/{roles['translation']['sha256']}")
            assert t.headers["content-type"] == "text/plain; charset=utf-8"
            assert t.headers["content-disposition"].startswith("attachment;")
            assert MIXED in t.content.decode("utf-8")
    finally:
        archive.close()


def test_folder_ingest_attaches_files_beside_the_record(tmp_path):
    """A record may name files inside the folder given on the command line, relative to
    its own file; an image the bytes confirm is shown inline, the rest downloads."""
    folder = tmp_path / "box"
    scan = image(folder / "scans" / "p1.gif")
    (folder / "scans" / "p2.gif").write_bytes(b"<html><script>alert(1)</script></html>")
    named = image(folder / "scans" / "Запись “1957” 회담 谈话 é.gif", "gray")
    front_matter(folder / "letters" / "l1.md", "l1",
                 [{"path": "../scans/p1.gif", "role": "scan"},
                  {"path": "../scans/p2.gif", "media_type": "image/gif"},
                  {"path": f"../scans/{named.name}"}])
    archive = Archive(str(tmp_path / "a.db"))
    try:
        report = archive.ingest([folder])
        assert report.ok and not report.warnings, report.warnings
        first, second, third = archive.get("l1").extra["attachments"]
        assert first == {"role": "scan", "name": "p1.gif", "sha256": sha(scan.read_bytes()),
                         "bytes": scan.stat().st_size, "media_type": "image/gif"}
        assert second["media_type"] == "text/plain; charset=utf-8"  # not what it claimed
        with TestClient(create_app(archive)) as c:
            r = c.get(f"/attachments/{first['sha256']}")
            assert r.headers["content-type"] == "image/gif"
            assert r.headers["content-disposition"] == 'inline; filename="p1.gif"'
            assert r.headers["content-security-policy"] == ATTACHMENT_CSP
            fake = c.get(f"/attachments/{second['sha256']}")
            assert fake.headers["content-type"] == "text/plain; charset=utf-8"
            assert fake.headers["content-disposition"].startswith("attachment;")
            page = c.get("/document/l1").text
            assert f'href="/attachments/{first["sha256"]}"' in page
            r = c.get(f"/attachments/{third['sha256']}")
            assert r.content == named.read_bytes()  # the name is encoded, not sent raw
            assert r.headers["content-disposition"] == (
                "inline; filename*=utf-8''" + quote(named.name))
            assert "Запись “1957” 회담 谈话 é.gif" in page
    finally:
        archive.close()


def test_a_folder_outside_needs_to_be_named(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    image(scans / "p1.png")
    record = front_matter(tmp_path / "records" / "r.md", "r", [{"path": "../scans/p1.png"}])
    archive = Archive(str(tmp_path / "a.db"))
    try:
        refused = archive.ingest([record])  # a file named alone allows only itself
        assert "outside the files and folders" in refused.warnings[0].message
        assert "--attachment-root" in refused.warnings[0].message
        assert "attachments" not in archive.get("r").extra
        allowed = archive.ingest([record], attachment_roots=[scans])
        assert not allowed.warnings and allowed.updated == ["r"]
        assert archive.get("r").extra["attachments"][0]["media_type"] == "image/png"
    finally:
        archive.close()


def test_attachment_roots_from_the_environment_and_the_cli(tmp_path, monkeypatch):
    scans = tmp_path / "scans"
    scans.mkdir()
    image(scans / "p1.png")
    record = front_matter(tmp_path / "r.md", "r", [{"path": str(scans / "p1.png")}])
    report_path = tmp_path / "report.json"
    db = str(tmp_path / "a.db")
    refused = CliRunner().invoke(cli, ["ingest", str(record), "--db", db,
                                       "--report", str(report_path)])
    assert refused.exit_code == 0 and "1 warning" in refused.output
    assert "warning" in refused.output and "p1.png" in refused.output
    (warning,) = json.loads(report_path.read_text())["warnings"]
    assert warning["file"] == str(record) and "attachments[0].path" in warning["reason"]
    ok = CliRunner().invoke(cli, ["ingest", str(record), "--db", db,
                                  "--attachment-root", str(scans)])
    assert ok.exit_code == 0 and "warning" not in ok.output, ok.output
    monkeypatch.setenv("OPIS_ATTACHMENT_ROOTS", str(scans))
    archive = Archive(db)
    try:
        assert not archive.ingest([record]).warnings
    finally:
        archive.close()


def test_withdrawn_records_files_are_not_served(tmp_path):
    folder, scan = boxed(tmp_path, "w", "black")
    archive = Archive(str(tmp_path / "a.db"))
    try:
        assert archive.ingest([folder]).ok
        url = f"/attachments/{sha(scan.read_bytes())}"
        with TestClient(create_app(archive)) as c:
            assert c.get(url).status_code == 200
            Curator(archive).withdraw("w", author="ada", reason="rights unclear")
            assert c.get(url).status_code == 404
    finally:
        archive.close()


def test_served_type_comes_from_the_bytes(tmp_path):
    assert served_type(image(tmp_path / "a.png").read_bytes()) == "image/png"
    jpeg = tmp_path / "a.jpg"
    Image.new("RGB", (8, 8)).save(jpeg)
    assert served_type(jpeg.read_bytes()) == "image/jpeg"
    tiff = tmp_path / "a.tif"
    Image.new("RGB", (8, 8)).save(tiff)
    assert served_type(tiff.read_bytes()) == "image/tiff"
    assert served_type(text_pdf(tmp_path / "a.pdf").read_bytes()) == "application/pdf"
    for text in (MIXED, "<!doctype html><script>alert(1)</script>", '{"a": "й"}',
                 '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'):
        assert served_type(text.encode("utf-8")) == "text/plain; charset=utf-8", text
    # Cut inside a multi-byte letter at the sniffing limit: still text.
    assert served_type(("й" * 5000).encode("utf-8")[:8191]) == "text/plain; charset=utf-8"
    assert served_type(MIXED.encode("utf-16")) == "application/octet-stream"
    assert served_type(b"\x00\x01\x02binary") == "application/octet-stream"
    assert served_type(b"GIF89a" + b"\x00" * 20) == "image/gif"


def test_a_database_already_in_the_store_is_never_served(tmp_path):
    """An archive attacked before the fix holds its own database in the store, listed
    by a published record: it is no longer sent."""
    archive = Archive(str(tmp_path / "a.db"))
    try:
        stolen = archive.attachments.root / "copy"
        stolen.parent.mkdir(parents=True)
        backup(archive.db, stolen, files=False)
        digest = archive.attachments.add(stolen, sha(stolen.read_bytes()))
        archive.put([Record("old", "Attacked before", MIXED)])
        Curator(archive).edit("old", {"extra": {"attachments": [{"sha256": digest}]}},
                              author="eddie", reason="as an older opis stored it")
        with TestClient(create_app(archive)) as c:
            assert c.get(f"/attachments/{digest}").status_code == 404
    finally:
        archive.close()


def test_store_refuses_a_symlink_swapped_in(tmp_path):
    """The file is opened without following a final symlink: a path that turned into
    one after the check is refused instead of read."""
    store = AttachmentStore(tmp_path / "store")
    target = tmp_path / "secret"
    target.write_text("secret")
    link = tmp_path / "link"
    link.symlink_to(target)
    from opis.services.attachments import AttachmentRefused

    with pytest.raises(AttachmentRefused, match="cannot be opened"):
        store._store(link, dry_run=False)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(AttachmentRefused, match="not a regular file"):
        store._store(fifo, dry_run=False)


# -- URLs that become links and images ---------------------------------------------------

LOCAL_LOOKALIKES = ["/\\evil.example/x.png", "//evil.example/x.png", "/%5Cevil.example/x.png",
                    "/%2F/evil.example/x.png", "/%252F%252Fevil.example/x.png",
                    "/\t/evil.example/x.png", "/\n/evil.example/x.png", " //evil.example/x",
                    "\\\\evil.example\\x.png", "https:/evil.example/x.png",
                    "javascript:alert(1)", "data:image/png;base64,AAAA", "x.png"]


def test_local_paths_are_strict():
    assert is_local_path("/attachments/" + "ab" * 32)
    assert is_local_path("/static/scans/p%C3%A9ge 1.png".replace(" ", "%20"))
    for bad in LOCAL_LOOKALIKES:
        assert not is_local_path(bad), bad
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
                "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>",
                "vbscript:msgbox(1)", "//evil.example/", "/relative", "ftp://x.example/"):
        assert web_address_problem(bad), bad
    assert web_address_problem("https://digitalarchive.wilsoncenter.org/document/114165") \
        is None


def test_scan_urls_that_only_look_local_are_never_images(tmp_path):
    archive = Archive(str(tmp_path / "a.db"))
    local = "/attachments/" + "cd" * 32
    archive.put([Record("s1", "Scans", MIXED)])
    # An editor's extra is free JSON, stored as given: the page must still hold.
    Curator(archive).edit("s1", {"extra": {
        "scans": [*LOCAL_LOOKALIKES, local, "https://archive.example/scan.png"],
        "attachments": [{"sha256": "../../admin/audit", "name": "audit"}]}},
        author="eddie", reason="hostile extra")
    assert archive.get("s1").extra["attachments"][0]["sha256"] == "../../admin/audit"
    try:
        with TestClient(create_app(archive)) as c:
            page = c.get("/document/s1").text
        assert page.count("<img ") == 1 and f'<img src="{local}"' in page
        assert 'href="https://archive.example/scan.png"' in page
        assert "evil.example" not in page and "javascript:" not in page
        assert "data:image" not in page
        assert "/admin" not in page and "/attachments/.." not in page
    finally:
        archive.close()


def test_ingest_refuses_script_source_urls_as_the_edit_form_does(tmp_path):
    rows = [{"record_id": "u1", "title": "JS", "document_url": "javascript:alert(1)"},
            {"record_id": "u2", "title": "Data", "document_url": "data:text/html,<b>x</b>"},
            {"record_id": "u3", "title": "VB", "document_url": " VBScript:msgbox(1)"},
            {"record_id": "u4", "title": "Fine",
             "document_url": "https://digitalarchive.wilsoncenter.org/document/114165"}]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    doc = tmp_path / "m.md"
    doc.write_text("---\nid: u5\ntitle: T\nsource_url: javascript:window.__x=1\n---\n\nText.\n",
                   encoding="utf-8")
    archive = Archive(str(tmp_path / "a.db"))
    try:
        report = archive.ingest([path, doc])
        assert report.ok and sorted(report.added) == ["u1", "u2", "u3", "u4", "u5"]
        assert [archive.get(f"u{i}").source_url for i in range(1, 6)] == [
            None, None, None, rows[3]["document_url"], None]
        warned = sorted(w.message for w in report.warnings)
        assert len(warned) == 4 and all("source_url" in m and "http" in m for m in warned)
        assert warned[0].startswith("record u1: source_url 'javascript:alert(1)'")
        assert report.warnings[-1].path == str(doc)
    finally:
        archive.close()


# -- backups -------------------------------------------------------------------------------

def test_backup_and_restore_bring_the_attachments_back(tmp_path, db_url, monkeypatch):
    """An SQLite archive, and a PostgreSQL one moved by a jsonl backup, come back whole
    in a fresh SQLite archive elsewhere: the scan is served byte for byte."""
    monkeypatch.setenv("OPIS_ATTACHMENTS", str(tmp_path / "bucket"))  # PostgreSQL's store
    folder, scan = boxed(tmp_path, "b", "red")
    archive = Archive(db_url)
    assert archive.ingest([folder]).ok
    fmt = "sqlite" if archive.db.dialect == "sqlite" else "jsonl"
    result = backup(archive.db, tmp_path / "backup.db", fmt)
    assert result.format == fmt and result.files == 1 and result.missing == []
    archive.close()

    fresh = Archive(str(tmp_path / "elsewhere" / "fresh.db"))
    assert fresh.count() == 0
    restored = restore(fresh.db, tmp_path / "backup.db")
    assert restored.files == 1 and restored.missing == []
    fresh.close()
    again = Archive(str(tmp_path / "elsewhere" / "fresh.db"))
    try:
        again.reindex()
        with TestClient(create_app(again)) as c:
            r = c.get(f"/attachments/{sha(scan.read_bytes())}")
            assert r.status_code == 200 and r.content == scan.read_bytes()
            assert r.headers["content-type"] == "image/gif"
    finally:
        again.close()


def test_a_damaged_attachment_in_a_backup_stops_the_restore(tmp_path):
    folder, scan = boxed(tmp_path, "b", "green")
    archive = Archive(str(tmp_path / "a.db"))
    assert archive.ingest([folder]).ok
    backup(archive.db, tmp_path / "backup.db")
    archive.close()
    digest = sha(scan.read_bytes())
    kept = tmp_path / "backup.db.files" / digest[:2] / digest
    kept.write_bytes(kept.read_bytes()[:-1] + b"\x00")
    fresh = Archive(str(tmp_path / "fresh.db"))
    try:
        with pytest.raises(BackupError, match=f"{digest}.*damaged"):
            restore(fresh.db, tmp_path / "backup.db")
        assert fresh.count() == 0  # nothing was replaced
        assert fresh.attachments.path_for(digest) is None
    finally:
        fresh.close()


def test_backup_cli_reports_attachments(tmp_path):
    folder, _ = boxed(tmp_path, "b", "blue")
    db = str(tmp_path / "a.db")
    assert CliRunner().invoke(cli, ["ingest", str(folder), "--db", db]).exit_code == 0
    made = CliRunner().invoke(cli, ["backup", str(tmp_path / "b.bak"), "--db", db])
    assert made.exit_code == 0 and "1 attachment" in made.output, made.output
    fresh = str(tmp_path / "fresh.db")
    back = CliRunner().invoke(cli, ["restore", str(tmp_path / "b.bak"), "--db", fresh, "--yes"])
    assert back.exit_code == 0 and "1 attachment" in back.output, back.output
    con = sqlite3.connect(fresh)
    assert con.execute("SELECT count(*) FROM records").fetchone() == (1,)
    con.close()


# -- in a browser --------------------------------------------------------------------------

def test_an_html_attachment_runs_no_script_in_chromium(tmp_path, browser):
    """The attack of issue 13: an HTML attachment loading a second attachment as a
    script, opened by an editor. Now it downloads; shown anyway (a proxy dropping the
    download header), the sandbox runs nothing; and the second attachment, loaded as a
    script by a page of the site, is refused for its type."""
    folder = tmp_path / "box"
    folder.mkdir()
    js = folder / "evil.js"
    js.write_text(HOSTILE_JS, encoding="utf-8")
    html = folder / "scan.html"
    html.write_text(HOSTILE_HTML.format(js=sha(js.read_bytes())), encoding="utf-8")
    front_matter(folder / "r1.md", "r1", [{"path": "scan.html", "media_type": "text/html"},
                                          {"path": "evil.js"}])
    archive = Archive(str(tmp_path / "a.db"))
    assert archive.ingest([folder]).ok
    html_url = f"/attachments/{sha(html.read_bytes())}"
    js_url = f"/attachments/{sha(js.read_bytes())}"
    try:
        with live_server(create_app(archive)) as base:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            with page.expect_download() as download:
                try:
                    page.goto(base + html_url)
                except Exception as e:  # Chromium aborts a navigation that downloads
                    assert "ERR_ABORTED" in str(e) or "Download" in str(e), e
            assert download.value.suggested_filename == "scan.html"

            # Shown anyway: the same response with its download header removed.
            def shown_inline(route) -> None:
                response = route.fetch()
                headers = {k: v for k, v in response.headers.items()
                           if k.lower() != "content-disposition"}
                headers["content-type"] = "text/html"
                route.fulfill(response=response, headers=headers)

            page.route(base + html_url, shown_inline)
            page.goto(base + html_url)
            page.wait_for_timeout(500)
            assert page.title() == "scan"  # no script changed it
            assert all(js_url not in u and "/api/" not in u for u in requested), requested

            # A page of the site loading the script attachment: refused for its type.
            page.unroute(base + html_url)
            page.goto(base + "/")
            outcome = page.evaluate("""src => new Promise(done => {
                const s = document.createElement('script');
                s.src = src; s.onload = () => done('loaded'); s.onerror = () => done('error');
                document.head.appendChild(s);
            })""", js_url)
            assert outcome == "error"
            assert page.evaluate("window.__attachment_ran === undefined")
            context.close()
        assert archive.get("r1").title == "Record r1"
    finally:
        archive.close()


def test_a_scan_image_still_shows_in_chromium(tmp_path, browser):
    """The sandbox CSP on an image does not stop the document page from showing it."""
    folder, scan = boxed(tmp_path, "s", "navy", role="scan")
    archive = Archive(str(tmp_path / "a.db"))
    assert archive.ingest([folder]).ok
    local = f"/attachments/{sha(scan.read_bytes())}"
    record = archive.get("s")
    record.extra["scans"] = [local]
    archive.put([record])
    try:
        with live_server(create_app(archive)) as base:
            page = browser.new_page()
            page.goto(base + "/document/s")
            width = page.evaluate("""src => new Promise(done => {
                const img = [...document.images].find(i => i.getAttribute('src') === src);
                if (img.complete) done(img.naturalWidth);
                img.onload = () => done(img.naturalWidth); img.onerror = () => done(-1);
            })""", local)
            assert width == 40
            page.close()
    finally:
        archive.close()
