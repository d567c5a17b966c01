"""Loading opis's lossless archive format (``store/archive_lines.py`` writes it): each
line checked for what the database would refuse (duplicates, dangling references,
wrong types, over-long strings) so that an error names its line, then added to the
caller's transaction in batches."""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from opis.model import Record
from opis.store.account_tables import AuditRow, SettingRow, TokenRow, UserRow
from opis.store.archive_lines import (
    MAGIC,
    PUBLISHED,
    SERVER_TABLES,
    VERSION,
    BulkError,
    BulkReport,
)
from opis.store.held import HeldRow
from opis.store.passage_tables import EmbeddedRow, PassageLogRow, PassageRow
from opis.store.records import content_hash, put_record
from opis.store.row_codec import decode_row, reset_sequences
from opis.store.tables import (
    Base,
    CollectionItemRow,
    CollectionRow,
    EntityRow,
    GlossaryRow,
    RecordRow,
    RevisionRow,
    VariantRow,
)

_ROW_TYPES: dict[str, Any] = {"settings": SettingRow, "passages": PassageRow,
                              "passage_log": PassageLogRow, "embedded_records": EmbeddedRow,
                              "held_updates": HeldRow}

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
            "user": self.user, "token": self.token, "row": self.row,
        }
        self.rows = 0

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
                       revoked_at=_when(obj, "revoked_at", optional=True),
                       expires_at=_when(obj, "expires_at", optional=True))
        _check_length(TokenRow.__table__, {"label": row.label, "scopes": row.scopes,
                                           "token_hash": digest})
        self.session.add(row)
        self.report.add("tokens")


    def row(self, obj: dict[str, Any]) -> None:
        """A row of a table a backup carries as it is (settings, embeddings)."""
        name = _need(obj, "table", str)
        if name not in SERVER_TABLES:
            raise _LineError(f"table {name!r} is not one an opis backup carries")
        table = Base.metadata.tables[name]
        values = _need(obj, "row", dict)
        try:
            row = decode_row(table, values)
        except (ValueError, TypeError, binascii.Error) as e:
            raise _LineError(f"a {name} row has a value of the wrong kind ({e})") from None
        missing = [c.name for c in table.primary_key.columns if row.get(c.name) is None]
        if missing:
            raise _LineError(f"a {name} row lacks {', '.join(missing)}")
        _check_length(table, row)
        key = tuple(row[c.name] for c in table.primary_key.columns)
        if self.session.get(_ROW_TYPES[name], key if len(key) > 1 else key[0]) is not None:
            if not self.merge:
                raise _LineError(f"this {name} row exists already (use --merge to keep it)")
            self.report.skip(name.replace("_", " "))
            return
        self.session.execute(insert(table), [row])
        self.rows += 1
        self.report.add(name.replace("_", " "))


def clear(session: Session) -> None:
    """Delete every row of every opis table, children first: a restore starts here, in
    the transaction that loads the backup."""
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))


def is_empty(session: Session, accounts: bool = False) -> bool:
    """No archive content. Accounts and the audit log count only with ``accounts``:
    an administrator made with ``opis user add`` before an import leaves both behind."""
    kinds: tuple[Any, ...] = (RecordRow, EntityRow, CollectionRow, GlossaryRow, RevisionRow)
    for row_type in kinds + ((UserRow,) if accounts else ()):
        if session.scalar(select(func.count()).select_from(row_type)):
            return False
    return True


def load(session: Session, f: TextIO, path: Path, merge: bool, report: BulkReport,
         progress: Callable[[int], None] | None = None) -> None:
    """Add the rows of the export open in ``f`` to ``session`` (the caller's transaction),
    checking each line so that an error names it."""
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
    if importer.rows and session.get_bind().dialect.name == "postgresql":
        reset_sequences(session.connection())  # the rows came with their ids
    if not seen_header:
        raise BulkError(f"{path} is empty: not an opis export")


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
