"""Wilson Center Digital Archive catalogue records: JSON Lines, a JSON array, or CSV.

The field names are those of the archive's page scrape (see
``data/sample/wcda-records.jsonl``). One source line (or CSV row) is one record;
a record is checked whole before it is yielded, and the first bad line raises
``Rejected`` in its place, naming its line (invalid JSON on that line, a CSV row with
too many cells, a bad field, a record over a limit of readers/limits.py), and the
records after it are read on. Only what leaves no next record to find (a broken JSON
array, an empty file, a CSV header without the needed columns) fails the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opis.model import ArchivalReference, Author, Contents, Record, languages
from opis.model.archival import parse_archival_reference, parse_credits
from opis.model.dates import to_edtf
from opis.model.headings import is_personal_heading, split_heading
from opis.readers.base import Item, LimitError, ReadError, Rejected
from opis.readers.encoding import Decoded, decode_detected
from opis.readers.limits import MB, Limits

CHECKS_LIMITS = True  # each record against readers/limits.py, with its line
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv",)

# Multi-value columns (JSON arrays in JSON, a JSON array or a ';' list in CSV).
LIST_FIELDS = (
    "authors", "associated_places", "subjects_discussed", "associated_people_orgs",
    "document_contributors", "original_archive_title", "language", "donors",
)
STRING_FIELDS = (
    "document_url", "original_publication_date", "title", "credits", "text_body",
    "summary", "source", "original_upload_date", "rights", "original_classification",
    "scraped_at",
)
# Scrape bookkeeping, not facts about the document.
DROPPED_FIELDS = ("page_number", "page_position", "page_number_one_indexed", "scraped_at")

_HINT_KEYS = (b'"document_url"', b'"record_id"', b'"text_body"', b'"original_publication_date"')
_DONOR = re.compile(
    r"made possible (?:with|through|by)(?: the)?(?: generous)? support (?:from|of)\s+(?:the\s+)?"
    r"(?P<donor>.+?)\.?\s*$",
    re.IGNORECASE,
)
_CREDIT_START = re.compile(
    r"(?:^|(?<=[.;])\s+)(?=(?:Contributed|Obtained|Translated|Transcribed|Edited|Annotated)\b)",
    re.IGNORECASE,
)


class _FieldError(ValueError):
    """A record field that cannot be mapped; the reader adds file and line."""


def sniff(path: Path, head: bytes) -> bool:
    """Ours when the extension fits and the first bytes look like archive records."""
    suffix = path.suffix.lower()
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if suffix in (".jsonl", ".ndjson"):
        return body.startswith(b"{")
    if suffix == ".json":
        return body[:1] in (b"[", b"{") and any(k in head for k in _HINT_KEYS)
    if suffix in CSV_SUFFIXES:
        first = body.split(b"\n", 1)[0]
        return b"record_id" in first and b"title" in first
    return False


Rows = Iterator[tuple[int, dict[str, Any] | ReadError]]


def read(path: Path, limits: Limits | None = None,
         encoding: str | None = None) -> Iterator[Item | Rejected]:
    """Yield one Record per source record, or Rejected in the place of one that cannot
    be stored; raise ReadError only when the file itself cannot be read on."""
    path = Path(path)
    limits = limits or Limits()
    if path.suffix.lower() in (".jsonl", ".ndjson") and not _starts_array(path):
        yield from _records(path, _stream_json_lines(path, limits), "wcda-json", "utf-8",
                            limits)
        return
    decoded = _decode(path, encoding)
    text = decoded.text
    if not text.strip():
        raise ReadError(path, "the file is empty", 1)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        rows: Rows = _csv_rows(path, text, limits)
        fmt = "wcda-csv"
    elif suffix == ".json" or text.lstrip().startswith("["):
        rows = _json_array(path, text, limits)
        fmt = "wcda-json"
    else:
        rows = _json_lines(path, text, limits)
        fmt = "wcda-json"
    yield from _records(path, rows, fmt, decoded.encoding, limits)


def _records(path: Path, rows: Rows, fmt: str, encoding: str,
             limits: Limits) -> Iterator[Record | Rejected]:
    for line, data in rows:
        if isinstance(data, ReadError):
            yield Rejected(data)
            continue
        try:
            record = record_from_wcda(data)
        except _FieldError as e:  # this record only: the next line is read on
            yield Rejected(ReadError(path, str(e), line), _record_id(data))
            continue
        record.source_format = fmt
        record.source_path = str(path)
        if encoding != "utf-8":
            record.extra["encoding"] = encoding
        yield limits.rejected(record, path, line) or record


def _starts_array(path: Path) -> bool:
    """A .jsonl file that really holds one JSON array is read whole, as a .json file."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise ReadError(path, f"cannot open: {e.strerror or e}") from None
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def _stream_json_lines(path: Path, limits: Limits) -> Rows:
    """JSON Lines one line at a time: memory stays that of one record however large the
    file (a whole export of millions of records in one file is common). A line over the
    record size limit is skipped unread, and refused."""
    offset = 0
    seen = False
    most = limits.record_bytes
    with path.open("rb") as f:
        for n, raw in enumerate(iter(lambda: f.readline(most + 2), b""), start=1):
            if len(raw.rstrip(b"\r\n")) > most:
                size = len(raw)
                while not raw.endswith(b"\n") and raw:
                    raw = f.readline(1 << 20)
                    size += len(raw)
                offset += size
                seen = True
                yield n, limits.error(path, "record_mb", f"line is {size / MB:.1f} MB", n)
                continue
            start = 3 if n == 1 and raw.startswith(b"\xef\xbb\xbf") else 0
            try:
                line = raw[start:].decode("utf-8")
            except UnicodeDecodeError as e:
                seen = True
                yield n, ReadError(path, f"not UTF-8 text (byte {offset + start + e.start})",
                                   n)
                offset += len(raw)
                continue
            offset += len(raw)
            if not line.strip():
                continue
            seen = True
            yield n, _limited(_json_object, path, line, n, limits)
    if not seen:
        raise ReadError(path, "the file is empty", 1)


def _decode(path: Path, encoding: str | None = None) -> Decoded:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ReadError(path, f"cannot open: {e.strerror or e}") from None
    if path.suffix.lower() in CSV_SUFFIXES:  # spreadsheets save in the machine's encoding
        return decode_detected(path, raw, encoding)
    try:  # JSON is UTF-8 by definition (RFC 8259)
        return Decoded(raw.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ReadError(path, f"not UTF-8 text (byte {e.start})", line) from None


def _json_lines(path: Path, text: str, limits: Limits) -> Rows:
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        yield n, _limited(_json_object, path, line, n, limits)


def _limited(parse: Any, *args: Any) -> dict[str, Any] | ReadError:
    """What ``parse(*args)`` returns, or the ReadError it raises (a bad line, one over a
    limit), to be yielded in the record's place (raising would end the generator, and
    the file with it)."""
    try:
        return parse(*args)
    except ReadError as e:
        return e


def _record_id(data: dict[str, Any]) -> str | None:
    rid = data.get("record_id")
    return str(rid) if isinstance(rid, str | int) and not isinstance(rid, bool) else None


def _json_object(path: Path, line: str, n: int, limits: Limits) -> dict[str, Any]:
    if len(line) > limits.record_bytes:
        raise limits.error(path, "record_mb", f"line is {len(line.encode()) / MB:.1f} MB", n)
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise ReadError(path, f"invalid JSON: {e.msg} (column {e.colno})", n) from None
    except RecursionError:  # deeper than Python's parser goes, so over the limit too
        raise limits.too_deep(path, n) from None
    if not isinstance(data, dict):
        raise ReadError(path, "each line must hold one JSON object", n)
    limits.check_depth(data, path, n)
    return data


def _json_array(path: Path, text: str, limits: Limits) -> Rows:
    """Walk a top-level array (or a run of objects) one record at a time, with its line."""
    decoder = json.JSONDecoder()
    blank = re.compile(r"\s*")

    def skip(pos: int) -> int:
        """The first non-blank position from ``pos``."""
        m = blank.match(text, pos)
        return m.end() if m else pos  # never None: the pattern matches the empty string

    counted = [0, 1]  # position, line: count newlines once, forward only

    def line_of(pos: int) -> int:
        if pos < counted[0]:
            return text.count("\n", 0, pos) + 1
        counted[1] += text.count("\n", counted[0], pos)
        counted[0] = pos
        return counted[1]

    def element(start: int) -> tuple[dict[str, Any] | LimitError, int]:
        """The value at ``start`` and the position after it; one over a limit is
        refused whole and the walk goes on after it."""
        try:
            data, end = decoder.raw_decode(text, start)
        except RecursionError:  # its end is unknown, so the file cannot be read on
            raise limits.too_deep(path, line_of(start)) from None
        if isinstance(data, dict):
            try:
                if end - start > limits.record_bytes:  # characters, a lower bound of bytes
                    raise limits.error(path, "record_mb", f"record is "
                                       f"{len(text[start:end].encode()) / MB:.1f} MB",
                                       line_of(start))
                limits.check_depth(data, path, line_of(start))
            except LimitError as e:
                return e, end
        return data, end

    pos = skip(0)
    try:
        while text[pos] == "{":  # one object, or objects one after another (JSON Lines)
            start = pos
            data, pos = element(pos)
            yield line_of(start), data
            pos = skip(pos)
            if pos == len(text):
                return
        if text[pos] != "[":
            raise ReadError(path, "expected a JSON object or an array of objects", line_of(pos))
        pos = skip(pos + 1)
        if text[pos] == "]":
            return
        while True:
            start = pos
            data, pos = element(pos)
            if not isinstance(data, dict | LimitError):  # its end is known: read on
                data = ReadError(path, "each array element must be a JSON object",
                                 line_of(start))
            yield line_of(start), data
            pos = skip(pos)
            if text[pos] == "]":
                if text[pos + 1 :].strip():
                    raise ReadError(path, "invalid JSON: content after the closing ']'",
                                    line_of(skip(pos + 1)))
                break
            if text[pos] != ",":
                raise ReadError(path, "invalid JSON: expected ',' or ']'", line_of(pos))
            pos = skip(pos + 1)
    except json.JSONDecodeError as e:
        raise ReadError(path, f"invalid JSON: {e.msg} (column {e.colno})", e.lineno) from None
    except IndexError:
        raise ReadError(path, "invalid JSON: the array is not closed", line_of(len(text))) from None


def _csv_rows(path: Path, text: str, limits: Limits) -> Rows:
    # Text bodies are long; the stdlib default (128 KiB) would reject real records.
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as e:
        raise ReadError(path, f"invalid CSV header: {e}", 1) from None
    if not header or "record_id" not in header or "title" not in header:
        raise ReadError(path, "CSV header must name the columns record_id and title", 1)
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ReadError(path, f"invalid CSV: {e}", reader.line_num) from None
        values: dict[str, Any] | ReadError
        if None in row:  # this row only: the next one is read on
            values = ReadError(path, "row has more cells than the header has columns", line)
        elif any(v is None for v in row.values()):
            values = ReadError(path, "row has fewer cells than the header has columns", line)
        else:
            try:
                values = _csv_values(row, path, line, limits)
            except _FieldError as e:
                values = ReadError(path, str(e), line)
            except LimitError as e:
                values = e
        yield line, values
        line = reader.line_num + 1


def _csv_values(row: dict[str, str], path: Path, line: int,
                limits: Limits) -> dict[str, Any]:
    """CSV cells into the JSON shapes: empty -> null, multi-value -> list."""
    size = sum(map(len, row.values()))  # characters: a lower bound of the bytes
    if size * 4 > limits.record_bytes:
        size = sum(len(v.encode()) for v in row.values())
        if size > limits.record_bytes:
            raise limits.error(path, "record_mb", f"row is {size / MB:.1f} MB", line)
    out: dict[str, Any] = {}
    for key, value in row.items():
        value = value.strip() if key != "text_body" else value
        if value == "":
            out[key] = None
        elif key in LIST_FIELDS:
            out[key] = _csv_list(key, value, path, line, limits)
        else:
            out[key] = value
    return out


def _csv_list(key: str, value: str, path: Path, line: int, limits: Limits) -> list[str]:
    if value.startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError as e:
            raise _FieldError(f"column {key!r}: invalid JSON array ({e.msg})") from None
        except RecursionError:  # deeper than Python's parser goes, so over the limit too
            raise limits.too_deep(path, line, f"column {key!r}") from None
        limits.check_depth({key: items}, path, line)  # the row is level 1, as a JSON record
        return items
    return [part.strip() for part in value.split(";") if part.strip()]


def language_code(name: str) -> str:
    """ISO 639 code for a language name the archive prints; else the name lowercased,
    so nothing is lost and a later enrichment step can still map it."""
    key = " ".join(name.split()).lower()
    return languages.language_code(key) or key


def split_source(source: str) -> tuple[str | None, str | None]:
    """The archival part and the credit part of a WCDA ``source`` field.

    "File A’0392 (Microfilm). Contributed by X and translated by Y." is split before
    the first sentence that opens with a credit verb.
    """
    flat = " ".join(source.split())
    m = _CREDIT_START.search(flat)
    if m is None:
        return (flat.rstrip(".") or None), None
    archival = flat[: m.start()].strip().rstrip(".").strip()
    credit = flat[m.start() :].strip()
    return archival or None, credit or None


def _get_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _FieldError(f"field {key!r} must be a string, got {type(value).__name__}")
    return value


def _get_list(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _FieldError(f"field {key!r} must be an array of strings")
    return [" ".join(v.split()) for v in value if v.strip()]


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def record_from_wcda(data: dict[str, Any]) -> Record:
    """Map one archive record (already decoded) onto a Record; raise on a bad field."""
    record_id = _get_str(data, "record_id")
    if record_id is None or not record_id.strip():
        raise _FieldError("missing field 'record_id'")
    record_id = record_id.strip()
    title = _get_str(data, "title")
    if title is None or not title.strip():
        raise _FieldError(f"record {record_id}: missing field 'title'")
    strings = {key: _get_str(data, key) for key in STRING_FIELDS}
    lists = {key: _get_list(data, key) for key in LIST_FIELDS}
    extra: dict[str, Any] = {}

    date_text = strings["original_publication_date"]
    date = to_edtf(date_text)
    if date_text and date is None:
        extra["date_text"] = date_text

    credits = strings["credits"]
    donors = lists["donors"]
    if not donors and credits:
        m = _DONOR.search(" ".join(credits.split()))
        if m:
            donors = [m.group("donor").strip()]
    if credits:
        extra["credits"] = credits

    languages = [language_code(name) for name in lists["language"]]
    original_language = languages[0] if languages else None
    if languages:
        extra["languages"] = languages
    contents = None
    if original_language == "en":
        contents = Contents("transcription", "en")
    elif original_language:
        contents = Contents("translation", "en")

    archival_reference: ArchivalReference | None = None
    contributors = []
    if strings["source"]:
        archival, credit = split_source(strings["source"])
        if archival:
            archival_reference = parse_archival_reference(archival)
        if credit:
            contributors = parse_credits(credit)

    authors = [Author(name=h) for h in lists["authors"]]
    if authors:
        extra["authors_display"] = [split_heading(a.name)[0] for a in authors]

    people: list[str] = []
    organizations: list[str] = []
    for heading in lists["associated_people_orgs"]:
        (people if is_personal_heading(heading) else organizations).append(heading)
    # The archive's "document contributors" are the people a document discusses.
    people.extend(lists["document_contributors"])

    if strings["original_upload_date"]:
        extra["upload_date"] = strings["original_upload_date"]
    if len(lists["original_archive_title"]) > 1:
        extra["archive_titles"] = lists["original_archive_title"]
    known = {"record_id", *STRING_FIELDS, *LIST_FIELDS, *DROPPED_FIELDS}
    for key, value in data.items():  # columns this mapping does not know: keep, do not lose
        if key not in known and value is not None:
            extra[key] = value

    text = (strings["text_body"] or "").replace("\r\n", "\n").replace("\r", "\n")
    return Record(
        id=record_id,
        title=" ".join(title.split()),
        text=text,
        date=date,
        source_url=strings["document_url"],
        summary=strings["summary"],
        donors=_dedupe(donors),
        original_language=original_language,
        contents=contents,
        archival_reference=archival_reference,
        contributors=contributors,
        classification=strings["original_classification"],
        authors=authors,
        subjects=_dedupe(lists["subjects_discussed"]),
        places=_dedupe(lists["associated_places"]),
        people=_dedupe(people),
        organizations=_dedupe(organizations),
        rights=strings["rights"],
        repository_title=next(iter(lists["original_archive_title"]), None),
        extra=extra,
    )
