"""Plain text and Markdown documents whose metadata sits in YAML front matter.

The simplest way for a curator to add a document by hand: a text file with a
``---`` block of ``key: value`` lines on top. Keys mirror ``Record`` field names;
docs/front-matter.md is the reference. The body is kept as written (Markdown is
not rendered here) and becomes ``Record.text``, its translator's brackets read as
annotations as in a text export (``[illegible]``, ``[SIC]``, ``[[handwritten: ...]]``),
unless the front matter gives ``annotations`` or ``mentions`` with offsets of its own.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml

from opis.model import (
    ANNOTATION_KINDS,
    CONTRIBUTOR_ROLES,
    Annotation,
    ArchivalReference,
    Author,
    Contents,
    Contributor,
    HandwrittenNote,
    Record,
    Stamp,
)
from opis.model.archival import parse_archival_reference, parse_credits
from opis.model.dates import is_valid, to_edtf
from opis.model.entity import Mention
from opis.model.languages import language_code
from opis.readers.apparatus import Parsed, parse_apparatus
from opis.readers.base import Item, ReadError
from opis.readers.encoding import decode_detected
from opis.readers.limits import Limits

SUFFIXES = (".md", ".markdown", ".txt")

STRING_KEYS = (
    "title", "summary", "citation", "source_url", "classification", "document_number",
    "distribution_instruction", "authentication", "rights", "repository_title",
)
LIST_KEYS = (
    "donors", "subjects", "places", "people", "organizations", "distribution",
    "endorsements",
)
# Keys a front matter may not set: the reader fills them in.
RESERVED_KEYS = ("text", "source_format", "source_path")

_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_ROLE_IN_PARENS = re.compile(r"^(?P<name>.+?)\s*\((?P<role>[^()]+)\)\s*$")


class _Loader(yaml.SafeLoader):
    """safe_load without aliases (``*name`` chains can make a few lines mean billions)
    and no deeper than the limit: PyYAML composes nested nodes by recursion, so 900
    levels of ``[`` would end in a RecursionError."""

    def __init__(self, stream: str, path: Path, limits: Limits):
        super().__init__(stream)
        self.path, self.limits, self.depth = path, limits, 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in front matter", event.start_mark
            )
        if not self.check_event(yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > self.limits.depth:
            line = self.peek_event().start_mark.line + 2  # 0-based, after the opening fence
            raise self.limits.too_deep(self.path, line, "the front matter")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _FieldError(ValueError):
    """A front-matter key that cannot be used; the reader adds file and line."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


def sniff(path: Path, head: bytes) -> bool:
    """Markdown files always; .txt files only when they open with front matter."""
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
        return True
    if suffix == ".txt":
        body = head.removeprefix(b"\xef\xbb\xbf")
        return body.startswith((b"---\n", b"---\r\n"))
    return False


def read(path: Path, limits: Limits | None = None,
         encoding: str | None = None) -> Iterator[Item]:
    """Yield the one Record a front-matter document holds (in ``encoding`` if given)."""
    path = Path(path)
    limits = limits or Limits()
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ReadError(path, f"cannot open: {e.strerror or e}") from None
    decoded = decode_detected(path, raw, encoding)  # UTF-8, a detected legacy one, or refused
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ReadError(path, "the file is empty", 1)
    meta, body, lines = _split_front_matter(path, text, limits)
    try:
        record = record_from_front_matter(meta, body, default_id=slug(path.stem))
    except _FieldError as e:
        raise ReadError(path, f"front matter: {e}", lines.get(e.key, 1)) from None
    record.source_format = "markdown" if path.suffix.lower() != ".txt" else "text"
    record.source_path = str(path)
    if decoded.encoding != "utf-8":
        record.extra["encoding"] = decoded.encoding
    yield record


def _split_front_matter(path: Path, text: str,
                        limits: Limits) -> tuple[dict[str, Any], str, dict[str, int]]:
    """The parsed front matter, the body, and the file line of each top-level key."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text, {}
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        raise ReadError(path, "front matter opened with '---' is never closed", 1)
    source = "\n".join(lines[1:end])
    loader = _Loader(source, path, limits)  # a SafeLoader
    try:
        meta = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 2 if mark is not None else 1  # +1 for 0-based, +1 for the fence
        problem = e.problem or str(e)
        raise ReadError(path, f"invalid YAML front matter: {problem}", line) from None
    except yaml.YAMLError as e:
        raise ReadError(path, f"invalid YAML front matter: {e}", 1) from None
    finally:
        loader.dispose()
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ReadError(path, "front matter must be a mapping of key: value lines", 2)
    key_lines: dict[str, int] = {}
    for i, line in enumerate(lines[1:end], start=2):
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
        if m and m.group(1) not in key_lines:
            key_lines[m.group(1)] = i
    return meta, "\n".join(lines[end + 1 :]), key_lines


def slug(stem: str) -> str:
    """A URL-safe id from a file name: "Letter to Mao (1956)" -> "letter-to-mao-1956"."""
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _plain(value: Any) -> Any:
    """YAML values made JSON-safe (dates become ISO strings) for ``Record.extra``."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _string(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, dt.date)):
        raise _FieldError(key, f"'{key}' must be text, got {type(value).__name__}")
    value = value.isoformat() if isinstance(value, dt.date) else str(value)
    return value.strip() or None


def _string_list(key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise _FieldError(key, f"'{key}' must be a list of text")
    out: list[str] = []
    for item in value:
        s = _string(key, item)
        if s and s not in out:
            out.append(s)
    return out


def _date(value: Any, extra: dict[str, Any]) -> str | None:
    """Any printed date to EDTF; values already in EDTF pass; others stay as date_text."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):  # YAML reads an unquoted 1956-12-28 as a date
        return value.isoformat()
    text = _string("date", value)
    if text is None:
        return None
    edtf = to_edtf(text)
    if edtf is None and is_valid(text):
        edtf = text
    if edtf is None:
        extra["date_text"] = text
    return edtf


def _language(value: Any) -> str | None:
    text = _string("original_language", value)
    if text is None:
        return None
    named = language_code(text) if len(text) > 3 else None  # "Russian" -> "ru"
    if named:
        return named
    if not _LANGUAGE.match(text):
        raise _FieldError(
            "original_language",
            f"'original_language' must be an ISO 639 code such as 'ru' or a language name "
            f"opis knows, got {text!r}",
        )
    primary, _, rest = text.partition("-")
    return primary.lower() + (f"-{rest}" if rest else "")


def _contributor(item: Any) -> list[Contributor]:
    key = "contributors"
    if isinstance(item, dict):
        name, role = _string(key, item.get("name")), item.get("role")
    elif isinstance(item, str):
        m = _ROLE_IN_PARENS.match(item)
        if m is None:
            found = parse_credits(item)
            if not found:
                raise _FieldError(key, f"'{key}' entry {item!r} needs a role: 'Name (translator)'")
            return found
        name, role = m.group("name").strip(), m.group("role")
    else:
        raise _FieldError(key, f"'{key}' entries must be {{name, role}} or 'Name (role)'")
    role = str(role or "").strip().lower().replace(" ", "_")
    role = {"translated_by": "translator", "obtained": "obtained_by"}.get(role, role)
    if not name:
        raise _FieldError(key, f"'{key}' entry has no name")
    if role not in CONTRIBUTOR_ROLES:
        raise _FieldError(
            key, f"'{key}' role {role!r} is not one of {', '.join(CONTRIBUTOR_ROLES)}"
        )
    return [Contributor(name=name, role=role)]


def _contributors(value: Any) -> list[Contributor]:
    key = "contributors"
    if value is None:
        return []
    if isinstance(value, str):  # a credit line: "Obtained by X and translated by Y"
        found = parse_credits(value)
        if not found:
            raise _FieldError(key, f"'{key}' credit line names nobody with a role")
        return found
    if not isinstance(value, list):
        raise _FieldError(key, f"'{key}' must be a list")
    out: list[Contributor] = []
    for item in value:
        for c in _contributor(item):
            if c not in out:
                out.append(c)
    return out


def _archival_reference(value: Any) -> ArchivalReference | None:
    key = "archival_reference"
    if value is None:
        return None
    if isinstance(value, dict):
        allowed = ("text", "repository", "fond", "opis", "delo", "folios")
        if set(value) - set(allowed) or not value.get("text"):
            raise _FieldError(
                key, f"'{key}' as a mapping needs 'text' and may add {', '.join(allowed[1:])}"
            )
        fields: dict[str, Any] = {k: _string(key, v) for k, v in value.items()}  # named above
        return ArchivalReference(**fields)
    text = _string(key, value)
    return parse_archival_reference(text) if text else None


def _authors(value: Any) -> list[Author]:
    key = "authors"
    if value is None:
        return []
    out: list[Author] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            name = _string(key, item.get("name"))
            if not name:
                raise _FieldError(key, f"'{key}' entry has no name")
            out.append(Author(name=name, title=_string(key, item.get("title"))))
        else:
            name = _string(key, item)
            if name:
                out.append(Author(name=name))
    return out


def _contents(value: Any) -> Contents | None:
    key = "contents"
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return Contents(kind=value.strip())
    if isinstance(value, dict) and set(value) <= {"kind", "language"} and value.get("kind"):
        return Contents(kind=str(value["kind"]), language=_string(key, value.get("language")))
    raise _FieldError(key, f"'{key}' must be a kind ('translation') or {{kind, language}}")


def _objects(key: str, value: Any, cls: type, text_key: str | None = "text") -> list[Any]:
    """A list of small records (stamps, notes, spans): text, or mappings of their fields."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _FieldError(key, f"'{key}' must be a list")
    out = []
    for item in value:
        if isinstance(item, str) and text_key:
            out.append(cls(**{text_key: item}))
            continue
        if not isinstance(item, dict):
            raise _FieldError(key, f"'{key}' entries must be mappings of their fields")
        try:
            out.append(cls(**_plain(item)))
        except TypeError as e:
            raise _FieldError(key, f"'{key}' entry {item!r}: {e}") from None
    return out


# Markdown's own brackets, never a translator's: fenced and inline code, links and
# images ([text](url), [text][ref]), footnote references ([^1]), link definitions and
# task-list boxes. The apparatus is read around them.
_MARKDOWN_BRACKETS = re.compile(
    r"^(?P<fence>`{3,}|~{3,}).*?^(?P=fence)[ \t]*$"
    r"|`[^`\n]+`"
    r"|!?\[[^\]\n]*\]\([^)\n]*\)"
    r"|!?\[[^\]\n]*\]\[[^\]\n]*\]"
    r"|\[\^[^\]\n]+\]"
    r"|^[ \t]{0,3}\[[^\]\n]+\]:[^\n]*$"
    r"|^[ \t]*[-*+][ \t]+\[[ xX]\]",
    re.MULTILINE | re.DOTALL,
)


def body_apparatus(body: str, language: str | None) -> Parsed:
    """The translator's brackets in a Markdown body as annotations, as the text export
    reader reads them (readers/apparatus.py: ``[illegible]``, ``[SIC]``, ``[[handwritten:
    ...]]``, supplied words, romanizations), Markdown's own brackets left alone.
    Offsets index the returned text."""
    text: list[str] = []
    annotations: list[Annotation] = []
    length = 0

    def prose(segment: str) -> None:
        nonlocal length
        parsed = parse_apparatus(segment, language)
        annotations.extend(replace(a, start=a.start + length, end=a.end + length)
                           for a in parsed.annotations)
        text.append(parsed.text)
        length += len(parsed.text)

    at = 0
    for m in _MARKDOWN_BRACKETS.finditer(body):
        prose(body[at:m.start()])
        text.append(m.group(0))
        length += len(m.group(0))
        at = m.end()
    prose(body[at:])
    return Parsed("".join(text), annotations)


def record_from_front_matter(meta: dict[str, Any], body: str, default_id: str) -> Record:
    """Build and check a Record from front matter and body; raise on the first bad key."""
    meta = {str(k): v for k, v in meta.items()}
    for key in RESERVED_KEYS:
        if key in meta:
            raise _FieldError(key, f"'{key}' is set by the reader, not by front matter")
    extra: dict[str, Any] = {}
    record_id = _string("id", meta.get("id")) or default_id
    if not record_id:
        raise _FieldError("id", "'id' is missing and the file name gives none")
    # Checked one by one below; typed Any because they go to Record(**...) by name.
    strings: dict[str, Any] = {k: _string(k, meta.get(k)) for k in STRING_KEYS}
    if not strings["title"]:
        raise _FieldError("title", "missing field 'title'")
    strings["title"] = " ".join(strings["title"].split())
    lists: dict[str, Any] = {k: _string_list(k, meta.get(k)) for k in LIST_KEYS}
    extra_value = meta.get("extra")
    if extra_value is not None and not isinstance(extra_value, dict):
        raise _FieldError("extra", "'extra' must be a mapping")
    text = body.lstrip("\n").rstrip()
    given = meta.get("annotations") is not None or meta.get("mentions") is not None
    marked = None if given else body_apparatus(text, _language(meta.get("original_language")))
    if marked is not None:
        text = marked.text
    record = Record(
        id=record_id,
        text=text,
        date=_date(meta.get("date"), extra),
        original_language=_language(meta.get("original_language")),
        contents=_contents(meta.get("contents")),
        archival_reference=_archival_reference(meta.get("archival_reference")),
        contributors=_contributors(meta.get("contributors")),
        authors=_authors(meta.get("authors")),
        stamps=_objects("stamps", meta.get("stamps"), Stamp),
        handwritten_notes=_objects(
            "handwritten_notes", meta.get("handwritten_notes"), HandwrittenNote
        ),
        annotations=(marked.annotations if marked is not None else
                     _objects("annotations", meta.get("annotations"), Annotation, None)),
        mentions=_objects("mentions", meta.get("mentions"), Mention, None),
        **strings,
        **lists,
    )
    problems = record.check_annotations()
    if problems:
        raise _FieldError(
            "annotations",
            "'annotations': " + "; ".join(problems)
            + " (offsets count from the body's first character; kinds: "
            + ", ".join(ANNOTATION_KINDS) + ")",
        )
    for i, m in enumerate(record.mentions):
        spans = m.field == "text" and m.start is not None and m.end is not None
        if spans and text[m.start : m.end] != m.text:
            raise _FieldError(
                "mentions",
                f"'mentions': mention {i} ({m.entity_id}) text does not match its offsets",
            )
    known = {f.name for f in fields(Record)}
    for key, value in meta.items():
        if key not in known:
            extra[key] = _plain(value)
    if extra_value:
        extra.update(_plain(extra_value))
    record.extra = extra
    return record
