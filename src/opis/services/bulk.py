"""Bulk export of the archive (or of a search result) and lossless import of opis's JSONL.

``jsonl`` is opis's own format: one JSON object per line, each with a ``type``, read
back by ``import_archive`` into an empty database that is then the same archive:
records with their ids, status, timestamps, versions and content hashes, their
annotations and mentions, the authority file with every spelling, the glossary,
collections in their order, every revision and the audit log. Accounts (users with
their password hashes, API token hashes) travel only when asked for. Login failures,
server settings (the session signing key) and the search index never do: the first two
belong to one server, the index is rebuilt from the records.

Lines are written with sorted keys and no spaces, and rows in a fixed order, so exporting
the same archive twice gives the same bytes; a round trip through ``import_archive`` is
checked that way in the tests.

``csv``, ``ris`` and ``tei`` are for people and other tools: published records only. A
``tei`` export to a path ending in ``.xml`` is one teiCorpus; to any other path, a folder
with one TEI file per record.
"""

from __future__ import annotations

import csv
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import quote

from lxml import etree
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from opis.model import Record
from opis.search.base import SearchRequest, repository_of
from opis.services.archive import Archive
from opis.services.export.ris import to_ris
from opis.services.export.tei import TEI_NS, to_tei_element
from opis.store.account_tables import AuditRow, TokenRow, UserRow
from opis.store.db import Database
from opis.store.records import content_hash, put_record, to_record
from opis.store.tables import (
    CollectionItemRow,
    CollectionRow,
    EntityRow,
    GlossaryRow,
    MentionRow,
    RecordRow,
    RevisionRow,
    VariantRow,
)

FORMATS = ("jsonl", "csv", "tei", "ris")
MAGIC = "opis-export"
VERSION = 1
PUBLISHED = "published"
CSV_COLUMNS = (
    "id", "title", "date", "authors", "summary", "original_language", "text_language",
    "classification", "document_number", "repository", "archival_reference", "fond", "opis",
    "delo", "folios", "contributors", "subjects", "places", "people", "organizations",
    "citation", "source_url", "rights",
)
_CHUNK = 500


class BulkError(Exception):
    """An export or import that could not be done; the message names the file and line."""


@dataclass
class BulkReport:
    """What was written or read, by line type; ``skipped`` counts rows --merge left alone."""

    format: str
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    indexed: int = 0

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1

    def summary(self) -> str:
        parts = [f"{n} {k}" for k, n in self.counts.items()]
        parts += [f"{n} {k} kept as they were" for k, n in self.skipped.items()]
        return ", ".join(parts) or "nothing"


# -- small conversions ---------------------------------------------------------------------

def _ts(value: datetime | None) -> str | None:
    """UTC with microseconds: SQLite hands back naive UTC, PostgreSQL aware; both print so."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def _line(kind: str, fields: dict[str, Any]) -> str:
    return json.dumps({"type": kind, **fields}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")) + "\n"


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


@contextmanager
def _snapshot(db: Database) -> Iterator[Session]:
    """One read snapshot for every table, so an ingest meanwhile is wholly in or out."""
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        else:
            conn.exec_driver_sql("BEGIN")
        with Session(bind=conn) as session:
            yield session
        conn.rollback()


@contextmanager
def _atomic(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """Write beside ``path`` and move into place only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        with tmp.open("x", encoding="utf-8", newline=newline) as f:  # the umask's mode
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _text_order(session: Session) -> Callable[[Any], Any]:
    """Order text by code point on either database (PostgreSQL's default collation may
    follow a locale), so an export is the same bytes whichever database it came from."""
    if session.get_bind().dialect.name == "postgresql":
        return lambda column: column.collate("C")
    return lambda column: column


def _schema_revision(session: Session) -> str | None:
    return session.execute(text("SELECT version_num FROM alembic_version")).scalar()


def search_ids(archive: Archive, query: str) -> list[str]:
    """Every record a search finds, in the order the search ranks them."""
    ids: list[str] = []
    offset, page = 0, 1000
    while True:
        timed = archive.search(SearchRequest(query=query, limit=page, offset=offset,
                                             facets=False))
        ids.extend(h.id for h in timed.result.hits)
        offset += page
        if offset >= timed.result.total or not timed.result.hits:
            return list(dict.fromkeys(ids))


# -- export --------------------------------------------------------------------------------

def export_archive(archive: Archive, fmt: str, out: Path, *, query: str | None = None,
                   include_accounts: bool = False) -> BulkReport:
    """Write the whole archive, or the records a search finds, to ``out``."""
    if fmt not in FORMATS:
        raise BulkError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    ids = search_ids(archive, query) if query else None
    report = BulkReport(fmt, out)
    if fmt == "jsonl":
        with _atomic(out) as f, _snapshot(archive.db) as session:
            _write_jsonl(session, f, report, ids, query, include_accounts)
        return report
    with _snapshot(archive.db) as session:
        records = _published(session, ids)
        if fmt == "csv":
            with _atomic(out, newline="") as f:
                _write_csv(records, f, report)
        elif fmt == "ris":
            with _atomic(out) as f:
                for record in records:
                    f.write(to_ris(record).rstrip("\n") + "\n\n")
                    report.add("records")
        elif out.suffix.lower() != ".xml":
            _write_tei_folder(records, out, report)
        else:
            with _atomic(out) as f:
                _write_tei_corpus(records, f, report, query)
    return report


def _published(session: Session, ids: list[str] | None) -> Iterator[Record]:
    """Published records, by id, or in the given (search) order."""
    opts = (selectinload(RecordRow.annotations), selectinload(RecordRow.mentions))
    if ids is None:
        stmt = (select(RecordRow).where(RecordRow.status == PUBLISHED)
                .order_by(_text_order(session)(RecordRow.id))
                .options(*opts).execution_options(yield_per=200))
        for row in session.scalars(stmt):
            yield to_record(row)
        return
    for chunk in _chunks(ids):
        rows = {r.id: r for r in session.scalars(
            select(RecordRow).where(RecordRow.id.in_(chunk), RecordRow.status == PUBLISHED)
            .options(*opts))}
        for rid in chunk:
            if rid in rows:
                yield to_record(rows[rid])


def _write_jsonl(session: Session, f: TextIO, report: BulkReport, ids: list[str] | None,
                 query: str | None, include_accounts: bool) -> None:
    header: dict[str, Any] = {"version": VERSION, "schema": _schema_revision(session),
                              "accounts": include_accounts}
    if query is not None:
        header["query"] = query
    f.write(_line(MAGIC, header))
    selected = sorted(ids) if ids is not None else None
    by = _text_order(session)

    # Entities first: mentions in the records refer to them.
    entity_ids: set[str] | None = None
    if selected is not None:
        entity_ids = set()
        for chunk in _chunks(selected):
            entity_ids |= _mentioned(session, chunk)
    stmt = select(EntityRow).order_by(by(EntityRow.id)).options(
        selectinload(EntityRow.variants))
    for row in session.scalars(stmt.execution_options(yield_per=500)):
        if entity_ids is not None and row.id not in entity_ids:
            continue
        f.write(_line("entity", {
            "id": row.id, "kind": row.kind, "preferred": row.preferred, "key": row.key,
            "description": row.description, "identifiers": dict(row.identifiers or {}),
            "created_at": _ts(row.created_at),
            "variants": [{"variant": v.variant, "key": v.key} for v in row.variants]}))
        report.add("entities")

    if selected is None:
        for g in session.scalars(select(GlossaryRow).order_by(
                by(GlossaryRow.scope), by(GlossaryRow.term), by(GlossaryRow.expansion))):
            f.write(_line("glossary", {"scope": g.scope, "term": g.term,
                                       "expansion": g.expansion, "source_id": g.source_id}))
            report.add("glossary entries")

    opts = (selectinload(RecordRow.annotations), selectinload(RecordRow.mentions))
    chunks: Iterable[list[str] | None] = [None] if selected is None else _chunks(selected)
    for chunk in chunks:
        stmt = select(RecordRow).order_by(by(RecordRow.id)).options(*opts)
        if chunk is not None:
            stmt = stmt.where(RecordRow.id.in_(chunk))
        for row in session.scalars(stmt.execution_options(yield_per=200)):
            f.write(_line("record", {
                "id": row.id, "status": row.status, "version": row.version,
                "content_hash": row.content_hash, "created_at": _ts(row.created_at),
                "updated_at": _ts(row.updated_at), "record": to_record(row).to_dict()}))
            report.add("records")

    chunks = [None] if selected is None else _chunks(selected)
    for chunk in chunks:
        stmt = select(RevisionRow).order_by(by(RevisionRow.record_id), RevisionRow.number)
        if chunk is not None:
            stmt = stmt.where(RevisionRow.record_id.in_(chunk))
        for r in session.scalars(stmt.execution_options(yield_per=200)):
            f.write(_line("revision", {
                "record_id": r.record_id, "number": r.number, "created_at": _ts(r.created_at),
                "author": r.author, "reason": r.reason, "content_hash": r.content_hash,
                "data": r.data}))
            report.add("revisions")

    if selected is not None:
        return  # a search result: its records, their history and the names they mention
    for c in session.scalars(select(CollectionRow).order_by(by(CollectionRow.id))):
        items = session.scalars(select(CollectionItemRow.record_id).where(
            CollectionItemRow.collection_id == c.id).order_by(CollectionItemRow.position))
        f.write(_line("collection", {
            "id": c.id, "title": c.title, "description": c.description,
            "created_at": _ts(c.created_at), "updated_at": _ts(c.updated_at),
            "record_ids": list(items)}))
        report.add("collections")
    for a in session.scalars(select(AuditRow).order_by(AuditRow.id)
                             .execution_options(yield_per=500)):
        f.write(_line("audit", {"at": _ts(a.at), "actor": a.actor, "action": a.action,
                                "record_id": a.record_id, "reason": a.reason,
                                "detail": a.detail}))
        report.add("audit entries")
    if not include_accounts:
        return
    names: dict[int, str] = {}
    for u in session.scalars(select(UserRow).order_by(UserRow.id)):
        names[u.id] = u.name
        f.write(_line("user", {"name": u.name, "role": u.role, "password_hash": u.password_hash,
                               "disabled": u.disabled, "created_at": _ts(u.created_at),
                               "updated_at": _ts(u.updated_at)}))
        report.add("users")
    for t in session.scalars(select(TokenRow).order_by(TokenRow.id)):
        f.write(_line("token", {"user": names.get(t.user_id), "label": t.label,
                                "scopes": t.scopes, "token_hash": t.token_hash,
                                "created_at": _ts(t.created_at),
                                "last_used_at": _ts(t.last_used_at),
                                "revoked_at": _ts(t.revoked_at)}))
        report.add("tokens")


def _mentioned(session: Session, record_ids: list[str]) -> set[str]:
    return set(session.scalars(select(MentionRow.entity_id).where(
        MentionRow.record_id.in_(record_ids)).distinct()))


def _joined(values: Iterable[str | None]) -> str:
    return "; ".join(v for v in values if v)


def csv_row(record: Record) -> list[str]:
    """One spreadsheet row: the fields people sort and filter on (lists joined by "; ")."""
    ref = record.archival_reference
    values: dict[str, str | None] = {
        "id": record.id, "title": record.title, "date": record.date,
        "authors": _joined(a.name for a in record.authors), "summary": record.summary,
        "original_language": record.original_language,
        "text_language": record.contents.language if record.contents else None,
        "classification": record.classification, "document_number": record.document_number,
        "repository": repository_of(record), "archival_reference": ref.text if ref else None,
        "fond": ref.fond if ref else None, "opis": ref.opis if ref else None,
        "delo": ref.delo if ref else None, "folios": ref.folios if ref else None,
        "contributors": _joined(f"{c.role}: {c.name}" for c in record.contributors),
        "subjects": _joined(record.subjects), "places": _joined(record.places),
        "people": _joined(record.people), "organizations": _joined(record.organizations),
        "citation": record.citation, "source_url": record.source_url, "rights": record.rights,
    }
    return [neutralized(values[c] or "") for c in CSV_COLUMNS]


# A cell a spreadsheet would run as a formula (OWASP's list: = + - @, tab, carriage
# return). A record's fields come from donors and editors, so such a cell gets a "'"
# in front, which spreadsheets show as text and hide; a plain number is left alone.
# (defusedcsv does the same for = + - @ | % but not tab or CR, and rewrites "|".)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d[\d,.]*")


def neutralized(cell: str) -> str:
    """``cell`` as a spreadsheet will only ever show it: "=HYPERLINK(...)" -> "'=HYPERLINK(...)"."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _write_csv(records: Iterable[Record], f: TextIO, report: BulkReport) -> None:
    writer = csv.writer(f)
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow(csv_row(record))
        report.add("records")


def _write_tei_corpus(records: Iterable[Record], f: TextIO, report: BulkReport,
                      query: str | None) -> None:
    def t(tag: str) -> str:
        return f"{{{TEI_NS}}}{tag}"

    corpus = etree.Element(t("teiCorpus"), nsmap={None: TEI_NS})
    header = etree.SubElement(corpus, t("teiHeader"))
    file_desc = etree.SubElement(header, t("fileDesc"))
    title = "opis archive" + (f": records found by “{query}”" if query else "")
    etree.SubElement(etree.SubElement(file_desc, t("titleStmt")), t("title")).text = title
    pub = etree.SubElement(file_desc, t("publicationStmt"))
    etree.SubElement(pub, t("publisher")).text = "opis"
    etree.SubElement(pub, t("date"), when=datetime.now(UTC).date().isoformat())
    etree.SubElement(etree.SubElement(file_desc, t("sourceDesc")), t("p")).text = (
        "Exported from opis; each TEI element below is one record.")
    n = 0
    for record in records:
        corpus.append(to_tei_element(record))  # its xml:ids carry the record id: unique
        report.add("records")
        n += 1
    if n == 0:
        raise BulkError("no published record to export: a teiCorpus needs at least one")
    f.write(etree.tostring(corpus, xml_declaration=True, encoding="UTF-8",
                           pretty_print=True).decode("utf-8"))


def _write_tei_folder(records: Iterable[Record], out: Path, report: BulkReport) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for record in records:
        name = quote(record.id, safe="") + ".tei.xml"
        body = etree.tostring(to_tei_element(record), xml_declaration=True, encoding="UTF-8",
                              pretty_print=True)
        (out / name).write_bytes(body)
        report.add("records")


# -- import --------------------------------------------------------------------------------

class _LineError(ValueError):
    """What is wrong with one line; the caller adds the file and line number."""


def _need(obj: dict[str, Any], name: str, kind: type | tuple[type, ...],
          *, optional: bool = False) -> Any:
    value = obj.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        what = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _LineError(f"field {name!r} must be {what}, not {type(value).__name__}")
    return value


def _when(obj: dict[str, Any], name: str, *, optional: bool = False) -> datetime | None:
    value = _need(obj, name, str, optional=optional)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _LineError(f"field {name!r} is not an ISO 8601 timestamp: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _check_length(table: Any, row: dict[str, Any]) -> None:
    """PostgreSQL refuses strings longer than their column; say which field, not a trace."""
    for name, value in row.items():
        length = getattr(table.c[name].type, "length", None)
        if isinstance(value, str) and length and len(value) > length:
            raise _LineError(f"field {name!r} is longer than {length} characters")


class _Importer:
    """Adds the rows of one export to a session, checking what the database would refuse
    (duplicates, dangling references, wrong types) so an error names its line."""

    def __init__(self, session: Session, merge: bool, report: BulkReport):
        self.session = session
        self.merge = merge
        self.report = report
        self.records: set[str] = set()
        self.skipped_records: set[str] = set()
        self.entities: set[str] = set()
        self.revisions: set[tuple[str, int]] = set()
        self.collections: set[str] = set()
        self.glossary: set[tuple[str, str, str]] = set()
        self.users: dict[str, int] = {}  # name -> id, for the tokens
        self.tokens: set[str] = set()
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "entity": self.entity, "glossary": self.glossary_entry, "record": self.record,
            "revision": self.revision, "collection": self.collection, "audit": self.audit,
            "user": self.user, "token": self.token,
        }

    def add(self, obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        if kind == MAGIC:
            raise _LineError("a second export header: were two exports joined?")
        handler = self.handlers.get(kind)  # type: ignore[arg-type]
        if handler is None:
            raise _LineError(f"unknown line type {kind!r}")
        handler(obj)

    def _exists(self, row_type: Any, key: Any) -> bool:
        return self.session.get(row_type, key) is not None

    def entity(self, obj: dict[str, Any]) -> None:
        eid = _need(obj, "id", str)
        if eid in self.entities:
            raise _LineError(f"entity {eid} appears twice")
        variants = _need(obj, "variants", list)
        spellings = []
        for v in variants:
            if not isinstance(v, dict):
                raise _LineError("each variant must be an object with variant and key")
            spellings.append((_need(v, "variant", str), _need(v, "key", str)))
        if len({s for s, _ in spellings}) != len(spellings):
            raise _LineError(f"entity {eid} lists a spelling twice")
        self.entities.add(eid)
        existing = self.session.get(EntityRow, eid) if self.merge else None
        if existing is not None:
            have = {v.variant for v in existing.variants}
            for spelling, key in spellings:
                if spelling not in have:
                    existing.variants.append(VariantRow(variant=spelling, key=key))
            self.report.skip("entities")
            return
        row = EntityRow(id=eid, kind=_need(obj, "kind", str),
                        preferred=_need(obj, "preferred", str), key=_need(obj, "key", str),
                        description=_need(obj, "description", str, optional=True),
                        identifiers=_need(obj, "identifiers", dict, optional=True) or {},
                        created_at=_when(obj, "created_at"))
        _check_length(EntityRow.__table__, {"id": row.id, "kind": row.kind, "key": row.key})
        row.variants = [VariantRow(variant=s, key=k) for s, k in spellings]
        self.session.add(row)
        self.report.add("entities")

    def glossary_entry(self, obj: dict[str, Any]) -> None:
        key = (_need(obj, "scope", str), _need(obj, "term", str), _need(obj, "expansion", str))
        if key in self.glossary:
            raise _LineError(f"glossary entry {key[1]!r} ({key[0]}) appears twice")
        self.glossary.add(key)
        if self.merge and self.session.scalar(select(GlossaryRow.id).where(
                GlossaryRow.scope == key[0], GlossaryRow.term == key[1],
                GlossaryRow.expansion == key[2])) is not None:
            self.report.skip("glossary entries")
            return
        row = {"scope": key[0], "term": key[1], "expansion": key[2],
               "source_id": _need(obj, "source_id", str, optional=True)}
        _check_length(GlossaryRow.__table__, row)
        self.session.add(GlossaryRow(**row))
        self.report.add("glossary entries")

    def record(self, obj: dict[str, Any]) -> None:
        rid = _need(obj, "id", str)
        if not rid:
            raise _LineError("a record needs an id")
        if rid in self.records:
            raise _LineError(f"record {rid} appears twice")
        data = _need(obj, "record", dict)
        try:
            record = Record.from_dict(data)
        except TypeError as e:
            raise _LineError(f"record {rid} does not have the shape of a record: {e}") from None
        if record.id != rid:
            raise _LineError(f"record id {rid} differs from the id inside it ({record.id})")
        problems = record.check_annotations()
        if problems:
            raise _LineError(f"record {rid}: " + "; ".join(problems))
        self.records.add(rid)
        if self.merge and self._exists(RecordRow, rid):
            self.skipped_records.add(rid)
            self.report.skip("records")
            return
        unknown = sorted({m.entity_id for m in record.mentions} - self.entities)
        if unknown and not self.merge:
            raise _LineError(f"record {rid} mentions {', '.join(unknown[:5])}, not among the "
                             "entities above it")
        if unknown and any(not self._exists(EntityRow, e) for e in unknown):
            missing = [e for e in unknown if not self._exists(EntityRow, e)]
            raise _LineError(f"record {rid} mentions {', '.join(missing[:5])}, in neither the "
                             "file above it nor the database")
        # Kept as exported: an ingest hashes the record as read, before enrichment, so the
        # hash names a version of the source and cannot be recomputed from the content.
        digest = _need(obj, "content_hash", str, optional=True) or content_hash(record)
        version = _need(obj, "version", int, optional=True) or 1
        status = _need(obj, "status", str, optional=True) or PUBLISHED
        created = _when(obj, "created_at", optional=True) or datetime.now(UTC)
        updated = _when(obj, "updated_at", optional=True) or created
        _check_length(RecordRow.__table__, {"id": rid, "status": status, "content_hash": digest})
        # The store's own write fills every column and child row the way an ingest does;
        # then the record gets back its status, version and dates, and the first-version
        # revision that write made gives way to the record's own revisions (lines below).
        put_record(self.session, record, author="import", reason="import")
        self.session.execute(update(RecordRow).where(RecordRow.id == rid).values(
            status=status, version=version, content_hash=digest, created_at=created,
            updated_at=updated))
        self.session.execute(delete(RevisionRow).where(RevisionRow.record_id == rid,
                                                       RevisionRow.number == 1))
        self.report.add("records")

    def revision(self, obj: dict[str, Any]) -> None:
        rid = _need(obj, "record_id", str)
        number = _need(obj, "number", int)
        if (rid, number) in self.revisions:
            raise _LineError(f"revision {number} of record {rid} appears twice")
        self.revisions.add((rid, number))
        row = RevisionRow(record_id=rid, number=number, created_at=_when(obj, "created_at"),
                          author=_need(obj, "author", str), reason=_need(obj, "reason", str),
                          data=_need(obj, "data", dict),
                          content_hash=_need(obj, "content_hash", str))
        if rid in self.skipped_records or (self.merge and self.session.scalar(
                select(RevisionRow.id).where(RevisionRow.record_id == rid,
                                             RevisionRow.number == number)) is not None):
            self.report.skip("revisions")
            return
        _check_length(RevisionRow.__table__, {"record_id": rid, "author": row.author,
                                              "content_hash": row.content_hash})
        self.session.add(row)
        self.report.add("revisions")

    def collection(self, obj: dict[str, Any]) -> None:
        cid = _need(obj, "id", str)
        if cid in self.collections:
            raise _LineError(f"collection {cid} appears twice")
        self.collections.add(cid)
        record_ids = _need(obj, "record_ids", list)
        if not all(isinstance(r, str) for r in record_ids):
            raise _LineError(f"collection {cid}: record_ids must be strings")
        if len(set(record_ids)) != len(record_ids):
            raise _LineError(f"collection {cid} lists a record twice")
        title = _need(obj, "title", str)
        description = _need(obj, "description", str, optional=True)
        created = _when(obj, "created_at")
        updated = _when(obj, "updated_at")
        if self.merge and self._exists(CollectionRow, cid):
            self.report.skip("collections")
            return
        _check_length(CollectionRow.__table__, {"id": cid})
        self.session.add(CollectionRow(id=cid, title=title, description=description,
                                       created_at=created, updated_at=updated))
        self.session.flush()  # the items' foreign key needs the collection first
        self.session.add_all([CollectionItemRow(collection_id=cid, position=i, record_id=r)
                              for i, r in enumerate(record_ids)])
        self.session.flush()
        self.report.add("collections")

    def audit(self, obj: dict[str, Any]) -> None:
        row = {"at": _when(obj, "at"), "actor": _need(obj, "actor", str),
               "action": _need(obj, "action", str),
               "record_id": _need(obj, "record_id", str, optional=True),
               "reason": _need(obj, "reason", str), "detail": _need(obj, "detail", dict)}
        if self.merge and self.session.scalar(select(AuditRow.id).where(
                AuditRow.at == row["at"], AuditRow.actor == row["actor"],
                AuditRow.action == row["action"])) is not None:
            self.report.skip("audit entries")
            return
        _check_length(AuditRow.__table__, {k: row[k] for k in ("actor", "action", "record_id")})
        self.session.add(AuditRow(**row))
        self.report.add("audit entries")

    def user(self, obj: dict[str, Any]) -> None:
        name = _need(obj, "name", str)
        if name in self.users:
            raise _LineError(f"user {name} appears twice")
        existing = self.session.scalar(select(UserRow).where(UserRow.name == name))
        if existing is not None:
            if not self.merge:
                raise _LineError(f"an account named {name} exists already (use --merge to "
                                 "keep it)")
            self.users[name] = existing.id
            self.report.skip("users")
            return
        row = UserRow(name=name, role=_need(obj, "role", str),
                      password_hash=_need(obj, "password_hash", str),
                      disabled=bool(_need(obj, "disabled", bool)),
                      created_at=_when(obj, "created_at"), updated_at=_when(obj, "updated_at"))
        _check_length(UserRow.__table__, {"name": row.name, "role": row.role})
        self.session.add(row)
        self.session.flush()  # its id, for the tokens that follow
        self.users[name] = row.id
        self.report.add("users")

    def token(self, obj: dict[str, Any]) -> None:
        owner = _need(obj, "user", str)
        digest = _need(obj, "token_hash", str)
        if digest in self.tokens:
            raise _LineError("an API token appears twice")
        self.tokens.add(digest)
        user_id = self.users.get(owner) or self.session.scalar(
            select(UserRow.id).where(UserRow.name == owner))
        if user_id is None:
            raise _LineError(f"API token of {owner}, who is not among the users above it")
        if self.session.scalar(select(TokenRow.id).where(TokenRow.token_hash == digest)):
            if not self.merge:
                raise _LineError("this API token exists already (use --merge to keep it)")
            self.report.skip("tokens")
            return
        row = TokenRow(user_id=user_id, label=_need(obj, "label", str),
                       scopes=_need(obj, "scopes", str), token_hash=digest,
                       created_at=_when(obj, "created_at"),
                       last_used_at=_when(obj, "last_used_at", optional=True),
                       revoked_at=_when(obj, "revoked_at", optional=True))
        _check_length(TokenRow.__table__, {"label": row.label, "scopes": row.scopes,
                                           "token_hash": digest})
        self.session.add(row)
        self.report.add("tokens")


def _is_empty(session: Session) -> bool:
    """No archive content. Accounts and the audit log do not count: an administrator made
    with ``opis user add`` before the import leaves both behind."""
    for row_type in (RecordRow, EntityRow, CollectionRow, GlossaryRow, RevisionRow):
        if session.scalar(select(func.count()).select_from(row_type)):
            return False
    return True


def import_archive(archive: Archive, path: Path, *, merge: bool = False,
                   progress: Callable[[int], None] | None = None) -> BulkReport:
    """Load an opis JSONL export in one transaction (all or nothing), then rebuild the
    search index. Refuses a database with records or entities in it unless ``merge``,
    which adds what is missing and keeps what is there."""
    if not path.is_file():
        raise BulkError(f"no file at {path}")
    report = BulkReport("jsonl", path)
    try:
        # The archive's write lock and one transaction, nothing staged; the index is
        # rebuilt through the unit of work after the commit (a crash in between: the
        # record count differs, and the next open rebuilds).
        with archive.writes.lock, archive.db.transaction() as session, \
                path.open(encoding="utf-8") as f:
            if not merge and not _is_empty(session):
                raise BulkError("the database is not empty: import into a new database, or "
                                "pass --merge to add what is missing and keep what is there")
            importer = _Importer(session, merge, report)
            seen_header = False
            batch_start, batch_kind, n = 0, None, 0
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                where = f"{path}, line {n}"
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as e:
                    raise BulkError(f"{where}: not JSON ({e.msg})") from None
                if not isinstance(obj, dict):
                    raise BulkError(f"{where}: not a JSON object")
                if not seen_header:
                    _check_header(obj, where)
                    seen_header = True
                    continue
                # Rows go to the database in batches, and whenever the line type changes
                # so what a row refers to (a mention its entity) is always written first.
                if n - batch_start >= 200 or obj.get("type") != batch_kind:
                    _flush(session, path, batch_start, n - 1)
                    batch_start, batch_kind = n, obj.get("type")
                    if progress:
                        progress(n)
                try:
                    with session.no_autoflush:  # checks read the database as flushed
                        importer.add(obj)
                except _LineError as e:
                    raise BulkError(f"{where}: {e}") from None
                except SQLAlchemyError as e:  # handlers leave nothing of earlier lines
                    _refused(e, path, n, n)        # pending, so this line is the one
            _flush(session, path, batch_start, n)
            if not seen_header:
                raise BulkError(f"{path} is empty: not an opis export")
    except UnicodeDecodeError as e:
        raise BulkError(f"{path} is not UTF-8 text ({e.reason})") from None
    report.indexed = archive.reindex()
    return report


def _flush(session: Session, path: Path, first: int, last: int) -> None:
    """Write the pending rows; the checks above leave the database little to refuse, and
    when it does, the lines of the batch are named."""
    try:
        session.flush()
    except SQLAlchemyError as e:
        _refused(e, path, first, last)
    session.expunge_all()  # written already; keeps memory flat on large imports


def _refused(error: SQLAlchemyError, path: Path, first: int, last: int) -> NoReturn:
    detail = (str(getattr(error, "orig", error)).strip().splitlines() or ["no reason given"])[0]
    lines = f"line {first}" if first >= last else f"lines {first}-{last}"
    raise BulkError(f"{path}, {lines}: the database refused a row: {detail}") from None


def _check_header(obj: dict[str, Any], where: str) -> None:
    if obj.get("type") != MAGIC:
        raise BulkError(f"{where}: not an opis export (the first line must be the "
                        f"{MAGIC!r} header; opis backups are restored with 'opis restore')")
    if obj.get("version") != VERSION:
        raise BulkError(f"{where}: export format version {obj.get('version')!r}; this opis "
                        f"reads version {VERSION}")


__all__ = ["FORMATS", "BulkError", "BulkReport", "csv_row", "neutralized", "export_archive",
           "import_archive", "search_ids"]
