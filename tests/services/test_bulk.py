"""Bulk export (jsonl, csv, tei, ris) and the lossless JSONL import, on SQLite and
PostgreSQL: export, import into a fresh database, export again, and the two files are
the same bytes; the databases hold the same rows; a search finds the same records."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import rispy
import typer
from lxml import etree
from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from conftest import PG_BASE
from opis import cli_bulk
from opis.cli import sample_corpus
from opis.model.entity import Collection
from opis.search.base import SearchRequest
from opis.services.accounts import Accounts
from opis.services.archive import Archive
from opis.services.bulk import CSV_COLUMNS, BulkError, export_archive, import_archive
from opis.services.curation import Curator
from opis.services.export.ris import RIS_LIST_TAGS, RIS_MAPPING
from opis.store.account_tables import AuditRow, TokenRow, UserRow
from opis.store.tables import (
    AnnotationRow,
    CollectionItemRow,
    CollectionRow,
    EntityRow,
    GlossaryRow,
    MentionRow,
    RecordRow,
    RevisionRow,
    VariantRow,
)

QUERIES = ("Korea", "Kim Il Sung", "plenum", "Blair", "Dulles")
TEI = "{http://www.tei-c.org/ns/1.0}"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at a test-sized cost: the same code path, in milliseconds."""
    monkeypatch.setenv("OPIS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("OPIS_ARGON2_TIME_COST", "1")


def populate(archive: Archive) -> None:
    """The sample corpus, a collection, an edit (a second revision) and a withdrawal."""
    report = archive.ingest([sample_corpus()])
    assert report.ok, report.failed
    archive.save_collection(Collection("teaching", "Teaching set", "For the seminar.",
                                       ["300242", "114165", "frus1955-57v03-d2"]))
    record = archive.get("114165")
    record.summary = (record.summary or "") + " Revised."
    assert archive.put([record], author="eddie", reason="summary corrected") == {
        "114165": "updated"}
    Curator(archive).withdraw("300238", author="ada", reason="a duplicate of 300237")
    assert len(archive.revisions("114165")) == 2


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rows(archive: Archive) -> dict[str, Any]:
    """Every stored fact of the archive, surrogate ids aside, for comparing two databases."""
    with archive.db.sessions() as s:
        return {
            "records": [(r.id, r.title, r.date, r.date_start, r.date_end, r.original_language,
                         r.classification, r.repository, r.source_url, r.source_format,
                         r.status, r.text, r.data, r.content_hash, r.version,
                         utc(r.created_at), utc(r.updated_at))
                        for r in s.scalars(select(RecordRow).order_by(RecordRow.id))],
            "annotations": [(a.record_id, a.seq, a.kind, a.start, a.end, a.text, a.note)
                            for a in s.scalars(select(AnnotationRow).order_by(
                                AnnotationRow.record_id, AnnotationRow.seq))],
            "mentions": [(m.record_id, m.entity_id, m.start, m.end, m.text, m.field)
                         for m in s.scalars(select(MentionRow).order_by(  # order within
                             MentionRow.record_id, MentionRow.id))],         # a record counts
            "entities": [(e.id, e.kind, e.preferred, e.key, e.description, e.identifiers,
                          utc(e.created_at), [(v.variant, v.key) for v in e.variants])
                         for e in s.scalars(select(EntityRow).order_by(EntityRow.id))],
            "variants": s.scalar(select(func.count()).select_from(VariantRow)),
            "glossary": sorted((g.scope, g.term, g.expansion, g.source_id or "")
                               for g in s.scalars(select(GlossaryRow))),
            "collections": [(c.id, c.title, c.description, utc(c.created_at),
                             utc(c.updated_at), list(s.scalars(
                                 select(CollectionItemRow.record_id)
                                 .where(CollectionItemRow.collection_id == c.id)
                                 .order_by(CollectionItemRow.position))))
                            for c in s.scalars(select(CollectionRow).order_by(CollectionRow.id))],
            "revisions": [(r.record_id, r.number, utc(r.created_at), r.author, r.reason, r.data,
                           r.content_hash)
                          for r in s.scalars(select(RevisionRow).order_by(
                              RevisionRow.record_id, RevisionRow.number))],
            "audit": [(utc(a.at), a.actor, a.action, a.record_id, a.reason, a.detail)
                      for a in s.scalars(select(AuditRow).order_by(AuditRow.id))],
        }


def hits(archive: Archive) -> dict[str, tuple[int, list[str]]]:
    out = {}
    for q in QUERIES:
        result = archive.search(SearchRequest(query=q, limit=100)).result
        out[q] = (result.total, [h.id for h in result.hits])
    return out


@pytest.fixture
def fresh_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database on the same backend as ``db_url``."""
    if not db_url.startswith("postgresql"):
        yield str(tmp_path / "copy" / "opis.db")
        return
    with pg_schema() as url:
        yield url


class pg_schema:  # noqa: N801 - used as a context manager, reads like one
    """A fresh PostgreSQL schema for the duration of a ``with``."""

    def __enter__(self) -> str:
        self.schema = "t_" + uuid.uuid4().hex[:12]
        self.engine = create_engine(PG_BASE)
        with self.engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {self.schema}"))
        return f"{PG_BASE}?options=-csearch_path%3D{self.schema}"

    def __exit__(self, *exc: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {self.schema} CASCADE"))
        self.engine.dispose()


def cli() -> typer.Typer:
    app = typer.Typer()
    cli_bulk.register(app)
    return app


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, Path]]:
    """A populated SQLite archive and its JSONL export, shared by the read-only tests."""
    folder = tmp_path_factory.mktemp("bulk")
    archive = Archive(str(folder / "source.db"))
    populate(archive)
    path = folder / "source.jsonl"
    export_archive(archive, "jsonl", path)
    yield archive, path
    archive.close()


# -- the round trip ------------------------------------------------------------------------------

def test_round_trip_loses_nothing(archive: Archive, fresh_url: str, tmp_path: Path) -> None:
    populate(archive)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    runner = CliRunner()
    done = runner.invoke(cli(), ["export", "--format", "jsonl", "--out", str(first),
                                 "--db", archive.db.url])
    assert done.exit_code == 0, done.output
    assert "36 records" in done.output
    done = runner.invoke(cli(), ["import", str(first), "--db", fresh_url])
    assert done.exit_code == 0, done.output
    assert "indexed 35 records" in done.output  # one is withdrawn
    copy = Archive(fresh_url)
    try:
        export_archive(copy, "jsonl", second)
        assert first.read_bytes() == second.read_bytes()
        assert rows(copy) == rows(archive)
        assert hits(copy) == hits(archive)
        assert all(n for n, _ in hits(copy).values())
        assert copy.get("300238") is None  # still withdrawn
        assert [r.number for r in copy.revisions("114165")] == [1, 2]
        assert copy.collection("teaching").record_ids == ["300242", "114165",
                                                          "frus1955-57v03-d2"]
    finally:
        copy.close()
    kinds = [line["type"] for line in lines(first)]
    assert kinds[0] == "opis-export"
    for kind in ("entity", "glossary", "record", "revision", "collection", "audit"):
        assert kind in kinds
    assert "user" not in kinds
    record = next(line for line in lines(first) if line.get("id") == "114165")
    assert record["version"] == 2 and record["status"] == "published"
    assert record["record"]["annotations"] and record["record"]["mentions"]
    assert record["record"]["text"].startswith(archive.get("114165").text[:40])


def test_round_trip_between_sqlite_and_postgresql(exported: tuple[Archive, Path],
                                                  pg_ok: bool, tmp_path: Path) -> None:
    if not pg_ok:
        pytest.skip("PostgreSQL not reachable")
    source, path = exported
    with pg_schema() as url:
        copy = Archive(url)
        try:
            import_archive(copy, path)
            export_archive(copy, "jsonl", tmp_path / "from-pg.jsonl")
            assert (tmp_path / "from-pg.jsonl").read_bytes() == path.read_bytes()
            assert rows(copy) == rows(source)
            # another engine ranks differently; that it finds is what carries over
            assert all(n for n, _ in hits(copy).values())
        finally:
            copy.close()


# -- imports that must fail, storing nothing --------------------------------------------------------

def _record_line(data: list[dict[str, Any]], rid: str = "114165") -> int:
    return next(i for i, d in enumerate(data) if d["type"] == "record" and d["id"] == rid)


def _break(kind: str, data: list[dict[str, Any]]) -> tuple[list[str], int, str]:
    """The file's lines with one broken, the broken line's number and the expected words."""
    out = [json.dumps(d, ensure_ascii=False) for d in data]
    i = _record_line(data)
    rec = json.loads(out[i])
    if kind == "not-json":
        out[i] = out[i][:-10]
        return out, i + 1, "not JSON"
    if kind == "unknown-type":
        out[i] = json.dumps({"type": "chapter"})
        return out, i + 1, "unknown line type"
    if kind == "id":
        rec["record"]["id"] = "another"
        out[i] = json.dumps(rec)
        return out, i + 1, "differs from the id inside it"
    if kind == "annotation":
        rec["record"]["annotations"][0]["end"] = 10**9
        out[i] = json.dumps(rec)
        return out, i + 1, "out of range"
    if kind == "entity":
        rec["record"]["mentions"][0]["entity_id"] = "person/nobody"
        out[i] = json.dumps(rec)
        return out, i + 1, "person/nobody"
    if kind == "type":
        rec["version"] = "two"
        out[i] = json.dumps(rec)
        return out, i + 1, "'version' must be int"
    if kind == "duplicate":
        out.insert(i + 1, out[i])
        return out, i + 2, "appears twice"
    if kind == "shape":
        rec["record"]["archival_reference"] = {"shelf": 3}
        out[i] = json.dumps(rec)
        return out, i + 1, "shape of a record"
    if kind == "last-line":
        last = json.loads(out[-1])
        assert last["type"] == "audit"
        last["detail"] = "not an object"
        out[-1] = json.dumps(last)
        return out, len(out), "'detail' must be dict"
    if kind == "header":
        return out[1:], 1, "not an opis export"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["not-json", "unknown-type", "id", "annotation", "entity",
                                  "type", "duplicate", "shape", "last-line", "header"])
def test_a_bad_line_is_named_and_nothing_is_stored(exported: tuple[Archive, Path],
                                                   tmp_path: Path, kind: str) -> None:
    _, path = exported
    broken_lines, n, words = _break(kind, lines(path))
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(broken_lines) + "\n", encoding="utf-8")
    target = Archive(str(tmp_path / "target.db"))
    try:
        with pytest.raises(BulkError) as e:
            import_archive(target, broken)
        assert f"line {n}:" in str(e.value) and words in str(e.value), str(e.value)
        assert rows(target)["records"] == [] and rows(target)["entities"] == []
        assert rows(target)["audit"] == [] and target.count() == 0
        if kind == "last-line":  # every batch before the last was written, and undone:
            assert import_archive(target, path).counts["records"] == 36  # as good as new
    finally:
        target.close()


def test_a_failed_import_on_postgresql_stores_nothing(exported: tuple[Archive, Path],
                                                      pg_ok: bool, tmp_path: Path) -> None:
    if not pg_ok:
        pytest.skip("PostgreSQL not reachable")
    _, path = exported
    broken_lines, n, _ = _break("last-line", lines(path))
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(broken_lines) + "\n", encoding="utf-8")
    with pg_schema() as url:
        target = Archive(url)
        try:
            with pytest.raises(BulkError, match=f"line {n}:"):
                import_archive(target, broken)
            assert rows(target)["records"] == [] and rows(target)["revisions"] == []
        finally:
            target.close()


def test_cli_reports_a_failed_import(exported: tuple[Archive, Path], tmp_path: Path) -> None:
    _, path = exported
    broken_lines, n, _ = _break("not-json", lines(path))
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(broken_lines) + "\n", encoding="utf-8")
    db = str(tmp_path / "target.db")
    done = CliRunner().invoke(cli(), ["import", str(broken), "--db", db])
    assert done.exit_code == 1
    assert "Nothing imported" in done.output and f"line {n}" in done.output
    assert "Traceback" not in done.output
    done = CliRunner().invoke(cli(), ["import", str(tmp_path / "missing.jsonl"), "--db", db])
    assert done.exit_code == 1 and "no file at" in done.output
    done = CliRunner().invoke(cli(), ["export", "--format", "xlsx", "--out", "x", "--db", db])
    assert done.exit_code == 2 and "Unknown format" in done.output


# -- non-empty databases ----------------------------------------------------------------------------

def test_import_refuses_a_database_with_records_unless_merge(exported: tuple[Archive, Path],
                                                              tmp_path: Path) -> None:
    source, path = exported
    target = Archive(str(tmp_path / "target.db"))
    try:
        target.ingest([sample_corpus() / "114165.txt"])
        with pytest.raises(BulkError, match="not empty"):
            import_archive(target, path)
        assert target.count() == 1
        done = CliRunner().invoke(cli(), ["import", str(path), "--db", target.db.url])
        assert done.exit_code == 1 and "--merge" in done.output
        report = import_archive(target, path, merge=True)
        assert report.skipped["records"] == 1
        assert report.counts["records"] == 35
        assert target.count() == 35  # 36 less the withdrawn one
        # what was there stays as it was: version 1 of the reference record
        assert [r.number for r in target.revisions("114165")] == [1]
        assert target.get("114165").summary == source.revisions("114165")[0].data["summary"]
        # merging the same file again adds nothing
        again = import_archive(target, path, merge=True)
        assert "records" not in again.counts and again.skipped["records"] == 36
    finally:
        target.close()


# -- accounts ---------------------------------------------------------------------------------------

def test_accounts_travel_only_when_asked(tmp_path: Path) -> None:
    source = Archive(str(tmp_path / "source.db"))
    target = Archive(str(tmp_path / "target.db"))
    try:
        source.ingest([sample_corpus() / "114165.txt"])
        accounts = Accounts(source.db)
        accounts.add_user("ada", "admin", "a long enough password", actor="test")
        _, token = accounts.create_token("ada", ["read"], "script", actor="test")
        with source.db.sessions() as s:
            digest = s.scalar(select(UserRow.password_hash))
        plain = tmp_path / "plain.jsonl"
        export_archive(source, "jsonl", plain)
        body = plain.read_text(encoding="utf-8")
        assert digest not in body and '"type":"user"' not in body
        assert '"action":"user.add"' in body  # the audit log travels
        full = tmp_path / "full.jsonl"
        done = CliRunner().invoke(cli(), ["export", "--out", str(full), "--include-accounts",
                                          "--db", source.db.url])
        assert done.exit_code == 0, done.output
        assert digest in full.read_text(encoding="utf-8")
        # an account made before the import (and its audit entry) does not make the
        # database "not empty"; one with a name the file also has is refused by line
        clash = Archive(str(tmp_path / "clash.db"))
        try:
            Accounts(clash.db).add_user("ada", "editor", "another long password", actor="t")
            with pytest.raises(BulkError, match=r"line \d+: an account named ada exists"):
                import_archive(clash, full)
            assert clash.count() == 0
        finally:
            clash.close()
        import_archive(target, full)
        again = tmp_path / "again.jsonl"
        export_archive(target, "jsonl", again, include_accounts=True)
        assert again.read_bytes() == full.read_bytes()
        later = Archive(str(tmp_path / "later.db"))
        try:
            Accounts(later.db).add_user("root", "admin", "yet another password", actor="t")
            assert import_archive(later, plain).counts["records"] == 1
        finally:
            later.close()
        # the account works in the copy (logging in and using a token are writes, so last)
        copied = Accounts(target.db)
        assert copied.authenticate("ada", "a long enough password", "127.0.0.1").role == "admin"
        assert copied.token_principal(token).name == "ada"
        with target.db.sessions() as s:
            assert s.scalar(select(func.count()).select_from(TokenRow)) == 1
        done = CliRunner().invoke(cli(), ["export", "--format", "csv", "--include-accounts",
                                          "--out", str(tmp_path / "x.csv"),
                                          "--db", source.db.url])
        assert done.exit_code == 2
    finally:
        source.close()
        target.close()


# -- the other formats ------------------------------------------------------------------------------

def test_csv_has_a_row_per_published_record(exported: tuple[Archive, Path],
                                            tmp_path: Path) -> None:
    source, _ = exported
    out = tmp_path / "records.csv"
    report = export_archive(source, "csv", out)
    assert report.counts["records"] == 35
    with out.open(encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == CSV_COLUMNS
    assert len(table) == 35 and "300238" not in {r["id"] for r in table}
    ref = next(r for r in table if r["id"] == "114165")
    record = source.get("114165")
    assert ref["title"] == record.title
    assert ref["summary"] == record.summary  # commas, quotes and newlines survive
    assert (ref["fond"], ref["opis"], ref["delo"], ref["folios"]) == ("5", "28", "486", "1-17")
    assert "translator: Gary Goldberg" in ref["contributors"]


def test_ris_holds_every_published_record(exported: tuple[Archive, Path],
                                          tmp_path: Path) -> None:
    source, _ = exported
    out = tmp_path / "records.ris"
    export_archive(source, "ris", out)
    with out.open(encoding="utf-8") as f:
        entries = rispy.load(f, mapping=RIS_MAPPING, list_tags=RIS_LIST_TAGS)
    assert len(entries) == 35
    titles = {e.get("title") or e.get("primary_title") for e in entries}
    assert source.get("114165").title in titles
    # A document in an edition (FRUS, once its reader fills Record.edition) is a CHAP.
    assert all(e["type_of_reference"] in ("MANSCPT", "CHAP") for e in entries)


def test_the_command_line_export_names_each_records_opis_page(
        exported: tuple[Archive, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the archive's address (--base-url, else OPIS_BASE_URL) a CSV row and a RIS
    entry name the record's page on the site and the access date, as the page's own
    export does; a bad address is refused before anything is written."""
    source, _ = exported
    today = datetime.now(UTC).date()
    csv_out, ris_out = tmp_path / "records.csv", tmp_path / "records.ris"
    done = CliRunner().invoke(cli(), ["export", "--format", "csv", "--out", str(csv_out),
                                      "--base-url", "https://archive.example.org/opis/",
                                      "--db", source.db.url])
    assert done.exit_code == 0, done.output
    with csv_out.open(encoding="utf-8", newline="") as f:
        table = {r["id"]: r for r in csv.DictReader(f)}
    assert table["114165"]["opis_url"] == "https://archive.example.org/opis/document/114165"
    monkeypatch.setenv("OPIS_BASE_URL", "https://archive.example.org")
    done = CliRunner().invoke(cli(), ["export", "--format", "ris", "--out", str(ris_out),
                                      "--db", source.db.url])
    assert done.exit_code == 0, done.output
    with ris_out.open(encoding="utf-8") as f:
        entries = rispy.load(f, mapping=RIS_MAPPING, list_tags=RIS_LIST_TAGS)
    entry = next(e for e in entries if e.get("id") == "114165" or
                 "https://archive.example.org/document/114165" in e.get("urls", []))
    assert "https://archive.example.org/document/114165" in entry.get("urls", [])
    assert entry["access_date"].startswith(f"{today.year}/{today.month:02d}/{today.day:02d}")
    bad = CliRunner().invoke(cli(), ["export", "--format", "csv", "--out",
                                     str(tmp_path / "never.csv"), "--base-url", "archive",
                                     "--db", source.db.url])
    assert bad.exit_code == 2 and "not a site address" in bad.output
    assert not (tmp_path / "never.csv").exists()
    monkeypatch.delenv("OPIS_BASE_URL")
    plain = tmp_path / "plain.csv"
    export_archive(source, "csv", plain)  # no address: the column is there, empty
    with plain.open(encoding="utf-8", newline="") as f:
        assert {r["opis_url"] for r in csv.DictReader(f)} == {""}


def test_tei_corpus_is_valid_tei(exported: tuple[Archive, Path], tmp_path: Path,
                                 tei_schema: etree.RelaxNG) -> None:
    source, _ = exported
    out = tmp_path / "corpus.xml"
    export_archive(source, "tei", out)
    doc = etree.parse(str(out))
    assert tei_schema.validate(doc), tei_schema.error_log
    members = doc.getroot().findall(f"{TEI}TEI")
    assert len(members) == 35
    ids = [e.get("{http://www.w3.org/XML/1998/namespace}id")
           for e in doc.iter() if e.get("{http://www.w3.org/XML/1998/namespace}id")]
    assert len(ids) == len(set(ids))  # made unique across the corpus
    folder = tmp_path / "tei"
    export_archive(source, "tei", folder)
    files = sorted(folder.glob("*.tei.xml"))
    assert len(files) == 35
    assert tei_schema.validate(etree.parse(str(folder / "114165.tei.xml")))


def test_a_search_result_exports_and_imports_alone(exported: tuple[Archive, Path],
                                                   tmp_path: Path) -> None:
    source, _ = exported
    query = "Korea"
    found = [h.id for h in source.search(SearchRequest(query=query, limit=100)).result.hits]
    assert 0 < len(found) < 35
    out = tmp_path / "korea.jsonl"
    done = CliRunner().invoke(cli(), ["export", "--query", query, "--out", str(out),
                                      "--db", source.db.url])
    assert done.exit_code == 0, done.output
    data = lines(out)
    assert data[0]["query"] == query
    assert sorted(d["id"] for d in data if d["type"] == "record") == sorted(found)
    assert {d["record_id"] for d in data if d["type"] == "revision"} == set(found)
    mentioned = {m["entity_id"] for d in data if d["type"] == "record"
                 for m in d["record"]["mentions"]}
    assert {d["id"] for d in data if d["type"] == "entity"} == mentioned
    target = Archive(str(tmp_path / "korea.db"))
    try:
        import_archive(target, out)
        assert target.count() == len(found)
        assert sorted(h.id for h in target.search(SearchRequest(query=query, limit=100))
                      .result.hits) == sorted(found)
    finally:
        target.close()
    out = tmp_path / "korea.csv"
    export_archive(source, "csv", out, query=query)
    with out.open(encoding="utf-8", newline="") as f:
        assert [r["id"] for r in csv.DictReader(f)] == found  # in the search's order
