"""Curation: correcting, restoring, withdrawing and reinstating records, never losing one.

Every change is a whole new revision with who, when and why; the record's search-index
entry, its revision and its audit entry are written in one database transaction.
Tantivy commits separately, so each write notes its record in ``index_pending`` inside
that transaction and clears the note once the index has committed: a crash between
the two (or an index that cannot commit, say on a full disk) leaves a note, and
``heal_index`` brings the index back in step. A write the database refuses (a full
disk, a lost connection) is ``NotSaved``, never a server error; and an edit sent again
after its answer was lost is recognised by its base version and not saved twice.
"""

from __future__ import annotations

import json
import logging
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from types import NoneType, UnionType
from typing import Any

from opis.model import CONTRIBUTOR_ROLES, Record
from opis.model.dates import is_valid, to_edtf
from opis.model.languages import language_code
from opis.model.record import (
    Annotation,
    ArchivalReference,
    Author,
    Contents,
    Contributor,
    HandwrittenNote,
    RecordStatus,
    Stamp,
    json_problem,
)
from opis.model.urls import web_address_problem
from opis.search.base import IndexLocked
from opis.services.archive import Archive
from opis.services.text_changes import (
    FieldDiff,
    field_diffs,
    remap_annotations,
    remap_mentions,
)
from opis.store import audit
from opis.store import records as store
from opis.store.audit import AuditEntry, RecordState
from opis.store.errors import UNAVAILABLE_ERRORS, StoreSession

SCALAR_FIELDS = ("title", "date", "citation", "source_url", "summary", "original_language",
                 "classification", "document_number", "distribution_instruction",
                 "authentication", "rights", "repository_title")
LIST_FIELDS = ("donors", "distribution", "endorsements", "subjects", "places", "people",
               "organizations")
OBJECT_FIELDS: dict[str, type] = {"contents": Contents, "archival_reference": ArchivalReference}
OBJECT_LIST_FIELDS: dict[str, type] = {
    "contributors": Contributor, "authors": Author, "stamps": Stamp,
    "handwritten_notes": HandwrittenNote, "annotations": Annotation}
STRUCTURED_FIELDS = (*OBJECT_FIELDS, *OBJECT_LIST_FIELDS, "extra")
EDITABLE = (*SCALAR_FIELDS, "text", *LIST_FIELDS, *STRUCTURED_FIELDS)
NOT_EDITABLE = {
    "id": "a record's id is permanent (citations point at it)",
    "mentions": "entity links are edited with the entities, not here",
    "source_path": "where the record was read from is kept as ingested",
    "source_format": "the format the record was read from is kept as ingested",
}
log = logging.getLogger("opis.curation")
REASON_MIN, REASON_MAX = 3, 500
INDEX_WAIT_SECONDS = 15.0
MAX_SCALAR = 20_000


class CurationError(Exception):
    """Base of the errors a curator can cause; the message is for them."""


class NotFound(CurationError, LookupError):
    pass


class Conflict(CurationError):
    """The record changed since the editor loaded it (or is already in that state)."""

    def __init__(self, message: str, version: int | None = None):
        super().__init__(message)
        self.version = version


class IndexBusy(CurationError):
    """Another process holds the search index's writer for longer than we wait."""


class NotSaved(CurationError):
    """The database refused the write (disk full, connection lost, locked too long):
    the transaction was rolled back, so sending the same change again is safe."""


class ValidationFailed(CurationError, ValueError):
    """Per-field messages: the form shows each beside its field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class EditResult:
    record_id: str
    status: str  # "updated", "unchanged", "withdrawn", "published"
    version: int
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    number: int
    created_at: datetime
    author: str
    reason: str
    status: str
    changed: tuple[str, ...]


def check_reason(reason: object) -> str:
    if not isinstance(reason, str) or len(reason.strip()) < REASON_MIN:
        raise ValidationFailed({"reason": f"say briefly why (at least {REASON_MIN} characters)"})
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": f"keep it under {REASON_MAX} characters"})
    return reason


# -- validating changes ----------------------------------------------------------------------

def _matches(value: object, hint: object) -> bool:
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_matches(value, h) for h in typing.get_args(hint))
    if hint is NoneType:
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str) and len(value) <= MAX_SCALAR
    return False


def _check_object(value: object, cls: type, where: str) -> str | None:
    """Why ``value`` is not the JSON form of dataclass ``cls``, or None when it is."""
    if not isinstance(value, dict):
        return f"{where} must be an object"
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    unknown = [k for k in value if k not in known]
    if unknown:
        return f"{where} has an unknown key {unknown[0]!r} (known: {', '.join(known)})"
    for name, f in known.items():
        if name not in value:
            if f.default is MISSING and f.default_factory is MISSING:
                return f"{where} needs {name!r}"
            continue
        if not _matches(value[name], hints[name]):
            expected = str(hints[name]).replace("<class '", "").replace("'>", "")
            return f"{where}: {name!r} must be {expected}"
    return None


def _scalar(name: str, value: object) -> tuple[object, str | None]:
    if value is None:
        value = ""
    if not isinstance(value, str):
        return None, "must be text"
    if len(value) > MAX_SCALAR:
        return None, f"at most {MAX_SCALAR} characters"
    value = value.strip()
    if name == "title":
        return (value, None) if value else (None, "a record needs a title")
    if not value:
        return None, None
    if name == "date" and not is_valid(value):
        guess = to_edtf(value)
        hint = f"; did you mean {guess}?" if guess else " (e.g. 1956-12-28, 1957-01-X9, 1956?)"
        return None, "not an EDTF date" + hint
    if name == "original_language":
        code = language_code(value)
        return (code, None) if code else (None, "not a language opis knows (e.g. ru, Korean)")
    if name == "source_url":
        problem = web_address_problem(value)
        if problem:
            return None, problem
    return value, None


def _structured(name: str, value: object) -> str | None:
    if name == "extra":
        if not isinstance(value, dict):
            return "must be an object"
        problem = json_problem(value)  # before json.dumps, which recurses
        if problem:
            return problem
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return "must be plain JSON"
        return None
    if name in OBJECT_FIELDS:
        return None if value is None else _check_object(value, OBJECT_FIELDS[name], "the value")
    if not isinstance(value, list):
        return "must be a list"
    for i, item in enumerate(value):
        problem = _check_object(item, OBJECT_LIST_FIELDS[name], f"item {i + 1}")
        if problem:
            return problem
        if name == "contributors" and item["role"] not in CONTRIBUTOR_ROLES:
            return f"item {i + 1}: role must be one of {', '.join(CONTRIBUTOR_ROLES)}"
    return None


def apply_changes(current: Record, changes: object) -> tuple[Record, tuple[str, ...]]:
    """The record with ``changes`` applied, validated; ValidationFailed names each bad field."""
    if not isinstance(changes, dict) or not changes:
        raise ValidationFailed({"changes": "give an object of field names and new values"})
    data = current.to_dict()
    errors: dict[str, str] = {}
    for name, value in changes.items():
        if name in NOT_EDITABLE:
            errors[name] = NOT_EDITABLE[name]
        elif name not in EDITABLE:
            errors[name] = "no such field"
        elif name in SCALAR_FIELDS:
            value, problem = _scalar(name, value)
            if problem:
                errors[name] = problem
            else:
                data[name] = value
        elif name == "text":
            if not isinstance(value, str):
                errors[name] = "must be text"
            else:
                data[name] = value
        elif name in LIST_FIELDS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[name] = "must be a list of text"
            else:
                data[name] = [v.strip() for v in value if v.strip()]
        else:
            problem = _structured(name, value)
            if problem:
                errors[name] = problem
            else:
                data[name] = value
    if "text" in changes and "text" not in errors and data["text"] != current.text:
        if "annotations" not in changes:
            data["annotations"], lost = remap_annotations(current.text, data["text"],
                                                          data["annotations"])
            if lost:
                errors["text"] = ("the edit changes words that carry " + ", ".join(lost[:5])
                                  + (" and more" if len(lost) > 5 else "")
                                  + "; correct the annotations in the same edit")
        data["mentions"] = remap_mentions(current.text, data["text"], data["mentions"])
    if errors:
        raise ValidationFailed(errors)
    record = Record.from_dict(data)
    problems = record.check_annotations()
    if problems:
        raise ValidationFailed({"annotations": "; ".join(problems[:5])})
    before = current.to_dict()
    after = record.to_dict()
    changed = tuple(k for k in EDITABLE if before.get(k) != after.get(k))
    return record, changed


def _already_applied(current: Record, changes: object) -> bool:
    """Whether ``changes`` would leave ``current`` as it is: an edit whose base version is
    no longer current but whose content is, i.e. the same edit sent again."""
    try:
        _record, changed = apply_changes(current, changes)
    except ValidationFailed:
        return False
    return not changed


def _why(exc: BaseException) -> str:
    """The database's own words, first line only (no SQL, no parameters)."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return text[0][:200] if text else original.__class__.__name__


# -- the service -----------------------------------------------------------------------------

class Curator:
    """Writes to records on behalf of a named person, with a reason, one at a time."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self.db = archive.db
        # The archive's one write protocol: its lock, its journal, both commits.
        self.writes = archive.writes
        self.writes.collect_garbage()
        self.heal_index()

    # -- reading ------------------------------------------------------------------------------

    # Curation reads the primary (``primary_sessions``), never a read replica: the edit
    # form, the history and the audit log must show a change the moment it is saved.

    def state(self, record_id: str) -> RecordState | None:
        with self.db.primary_sessions() as session:
            return audit.record_state(session, record_id)

    def _revisions(self, record_id: str) -> list[store.Revision]:
        with self.db.primary_sessions() as session:
            return store.revisions(session, record_id)

    def history(self, record_id: str) -> list[HistoryEntry]:
        """Newest first, each with the status it left and the fields it changed."""
        revs = self._revisions(record_id)
        out: list[HistoryEntry] = []
        previous: dict[str, Any] = {}
        status: str = RecordStatus.PUBLISHED.value
        for rev in revs:
            status = rev.data.get("status", status)
            data = {**rev.data, "status": status}
            changed = tuple(d.field for d in field_diffs(previous, data)) if previous else ()
            out.append(HistoryEntry(rev.number, rev.created_at, rev.author, rev.reason, status,
                                    changed))
            previous = data
        return out[::-1]

    def revision_data(self, record_id: str, number: int) -> dict[str, Any]:
        revs = self._revisions(record_id)
        status: str = RecordStatus.PUBLISHED.value
        for rev in revs:
            status = rev.data.get("status", status)
            if rev.number == number:
                return {**rev.data, "status": status}
        raise NotFound(f"record {record_id} has no revision {number}")

    def diff(self, record_id: str, a: int, b: int) -> list[FieldDiff]:
        return field_diffs(self.revision_data(record_id, a), self.revision_data(record_id, b))

    def audit_log(self, *, limit: int = 100, offset: int = 0, record_id: str | None = None,
                  actor: str | None = None) -> tuple[list[AuditEntry], int]:
        with self.db.primary_sessions() as session:
            return (audit.entries(session, limit=limit, offset=offset, record_id=record_id,
                                  actor=actor),
                    audit.count_entries(session, record_id=record_id, actor=actor))

    # -- writing ------------------------------------------------------------------------------

    def edit(self, record_id: str, changes: object, *, author: str, reason: str,
             version: int | None = None) -> EditResult:
        """Apply ``changes`` (field: new value) as a new revision. With ``version``, refuse
        (Conflict) when someone else saved since that version was read."""
        reason = check_reason(reason)

        def change(session: StoreSession,
                   state: RecordState) -> tuple[EditResult, str | None, Record]:
            if version is not None and version != state.version:
                if _already_applied(state.record, changes):  # a retry of a saved edit
                    return EditResult(record_id, "unchanged", state.version), None, state.record
                raise Conflict(f"record {record_id} was changed since version {version} "
                               f"(now version {state.version}); reload and edit again",
                               state.version)
            record, changed = apply_changes(state.record, changes)
            status = store.put_record(session, record, author=author, reason=reason)
            if status == "unchanged":
                return EditResult(record_id, "unchanged", state.version), None, record
            audit.add_entry(session, actor=author, action="edit", record_id=record_id,
                            reason=reason, detail={"fields": list(changed),
                                                   "version": state.version + 1})
            index = "stage" if state.status == RecordStatus.PUBLISHED else None
            return EditResult(record_id, status, state.version + 1, changed), index, record

        return self._write(record_id, change)

    def restore(self, record_id: str, number: int, *, author: str, reason: str) -> EditResult:
        """Make revision ``number``'s content current again, as a new revision; the status
        (published or withdrawn) stays as it is."""
        reason = check_reason(reason)

        def change(session: StoreSession,
                   state: RecordState) -> tuple[EditResult, str | None, Record]:
            rev = audit.revision(session, record_id, number)
            if rev is None:
                raise NotFound(f"record {record_id} has no revision {number}")
            record = Record.from_dict({**rev.data, "id": record_id})
            problems = record.check_annotations()
            if problems:
                raise ValidationFailed({"annotations": "; ".join(problems[:5])})
            why = f"restore revision {number}: {reason}"
            status = store.put_record(session, record, author=author, reason=why)
            if status == "unchanged":
                return EditResult(record_id, "unchanged", state.version), None, record
            audit.add_entry(session, actor=author, action="restore", record_id=record_id,
                            reason=reason, detail={"from": number, "version": state.version + 1})
            index = "stage" if state.status == RecordStatus.PUBLISHED else None
            return EditResult(record_id, "updated", state.version + 1), index, record

        return self._write(record_id, change)

    def withdraw(self, record_id: str, *, author: str, reason: str) -> EditResult:
        """Hide a record from the public, with a reason; nothing is deleted."""
        return self._set_status(record_id, RecordStatus.WITHDRAWN.value, "withdraw", author, reason)

    def reinstate(self, record_id: str, *, author: str, reason: str) -> EditResult:
        """Publish a withdrawn (or unpublished) record again."""
        return self._set_status(record_id, RecordStatus.PUBLISHED.value, "reinstate", author,
                                reason)

    def _set_status(self, record_id: str, status: str, action: str, author: str,
                    reason: str) -> EditResult:
        reason = check_reason(reason)

        def change(session: StoreSession,
                   state: RecordState) -> tuple[EditResult, str | None, Record]:
            if state.status == status:
                raise Conflict(f"record {record_id} is {status} already", state.version)
            version = audit.set_status(session, record_id, status, author=author, reason=reason)
            audit.add_entry(session, actor=author, action=action, record_id=record_id,
                            reason=reason, detail={"from": state.status, "to": status,
                                                   "version": version})
            index = "stage" if status == RecordStatus.PUBLISHED else "remove"
            return EditResult(record_id, status, version), index, state.record

        return self._write(record_id, change)

    def _write(self, record_id: str,
               change: Callable[[StoreSession, RecordState],
                                tuple[EditResult, str | None, Record]]) -> EditResult:
        try:
            with self.writes.write(wait=INDEX_WAIT_SECONDS, defer_index_errors=True) as write:
                session = write.session
                if not audit.lock_record(session, record_id):
                    raise NotFound(f"no record with id {record_id}")
                state = audit.record_state(session, record_id)
                assert state is not None
                result, index, record = change(session, state)
                if index == "stage":
                    write.index(record)
                elif index == "remove":
                    write.remove(record_id)
        except IndexLocked:
            raise IndexBusy("the search index is being written by another process "
                            "(an ingest?); try again in a minute") from None
        except UNAVAILABLE_ERRORS as e:
            raise NotSaved("Nothing was saved: the database could not write it ("
                           + _why(e) + "). Try again in a minute; sending the same "
                           "change again never saves it twice") from e
        return result

    def heal_index(self) -> int:
        """Bring index entries noted in ``index_pending`` (a crash between the database
        commit and the index commit) back in step with their records; the number healed."""
        return self.writes.heal()
