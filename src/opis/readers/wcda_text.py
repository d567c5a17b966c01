"""The Wilson Center Digital Archive text export (see docs/formats/wcda-text.md).

The export is light Markdown: a bold date and title, then ``**Label:**`` sections
(Citation, Summary, Credits, Original Language, Contents, ...) in any order, any of
them missing or empty. The Contents section holds the transcription with the
translator's bracket apparatus, which ``apparatus.parse_apparatus`` turns into
annotations; this module then reads the document's own furniture (classification,
number, stamps, signatory, distribution list, endorsements) from the plain text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from opis.model import Annotation, Author, Contents, HandwrittenNote, Record, Stamp
from opis.model.archival import parse_archival_reference, parse_credits, split_citation
from opis.model.dates import to_edtf
from opis.model.languages import language_code
from opis.readers.apparatus import parse_apparatus
from opis.readers.base import ReadError
from opis.readers.encoding import decode_detected

FORMAT = "wcda-text"

LABELS = {
    "citation": "citation",
    "summary": "summary",
    "abstract": "summary",
    "credits": "credits",
    "original language": "original_language",
    "language": "original_language",
    "contents": "contents",
    "source": "source",
    "archival reference": "source",
    "original archive": "repository_title",
    "rights": "rights",
    "classification": "classification",
    "subjects": "subjects",
    "subjects discussed": "subjects",
    "associated places": "places",
    "record id": "id",
    "date": "date",
    "title": "title",
}
_LABEL_LINE = re.compile(
    r"^\s*(?P<bold>\*\*|__)?\s*(?P<label>[A-Z][A-Za-z ]{1,40}?)\s*:"
    r"\s*(?P=bold)?\s*(?P<rest>.*?)\s*$"
)
_BOLD_LABEL_LINE = re.compile(
    r"^\s*(?:\*\*|__)\s*(?P<label>[A-Z][A-Za-z ]{1,40}?)\s*:\s*(?:\*\*|__)\s*(?P<rest>.*?)\s*$"
)
CLASSIFICATIONS = (
    "TOP SECRET", "STRICTLY SECRET", "SECRET", "CONFIDENTIAL", "RESTRICTED",
    "FOR OFFICIAL USE ONLY", "OFFICIAL USE ONLY", "LIMITED OFFICIAL USE", "PERSONAL",
)
_CLASSIFICATION = re.compile(
    r"^(?:" + "|".join(re.escape(c) for c in CLASSIFICATIONS) + r")(?:\s*(?:AND|,)\s*[A-Z ]+)?\.?$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^(?:№|Nº|N°|No\.|No)\s*(?P<n>\S.*)$")
_HONORIFIC = re.compile(r"^(?:Cdes?\.?|Comrades?|Tov\.?|Messrs\.?)$", re.IGNORECASE)
_SIGNATORY = re.compile(
    r"^(?P<title>[A-Z][^\n]{3,120}?)\s+(?P<name>(?:[A-Z]\.\s?){1,3}\s?[A-Z][a-zA-Z'\-]+)$"
)


def sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() not in {".txt", ".md", ".markdown", ""}:
        return False
    text = head.decode("utf-8", errors="ignore")
    return bool(re.search(r"^\s*\*\*(Citation|Contents|Summary):\*\*", text, re.MULTILINE))


def decode(path: Path, data: bytes, encoding: str | None = None) -> str:
    """Text with LF line ends. UTF-8 normally; legacy encodings (cp1251, EUC-KR...) are
    detected or refused, as are binary data and empty files, with the line (encoding.py)."""
    text = decode_detected(path, data, encoding).text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read(path: Path, encoding: str | None = None) -> Iterator[Record]:
    yield parse(path, path.read_bytes(), encoding)


def _strip_md(line: str) -> str:
    """Drop Markdown emphasis and escapes, keep the words."""
    line = re.sub(r"(\*\*|__)(.+?)\1", r"\2", line)
    line = line.replace("**", "")
    line = re.sub(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])", r"\1", line)
    line = re.sub(r"\\([\\`*_{}\[\]()#+\-.!])", r"\1", line)
    return line.rstrip()


def parse(path: Path, data: bytes, encoding: str | None = None) -> Record:
    text = decode(path, data, encoding)
    lines = text.split("\n")
    if not text.strip():
        raise ReadError(path, "empty file", line=1)

    # Header: bold date and title lines before the first section label.
    header: list[tuple[int, str]] = []
    i = 0
    while i < len(lines) and not _LABEL_LINE.match(lines[i]):
        if lines[i].strip():
            header.append((i + 1, lines[i]))
        i += 1
    sections: dict[str, tuple[int, list[str]]] = {}
    extra: dict[str, str] = {}
    current: str | None = None
    for j in range(i, len(lines)):
        line = lines[j]
        in_contents = current == "contents"
        m = (_BOLD_LABEL_LINE if in_contents else _LABEL_LINE).match(line)
        if m and (not in_contents or m.group("label").lower() in LABELS):
            label = m.group("label").strip().lower()
            current = LABELS.get(label, label)
            if current in sections:
                raise ReadError(path, f"section '{m.group('label')}' appears twice", line=j + 1)
            sections[current] = (j + 1, [m.group("rest")] if m.group("rest") else [])
            continue
        if current is None:
            continue
        sections[current][1].append(line)

    def section(name: str) -> str | None:
        if name not in sections:
            return None
        value = "\n".join(_strip_md(x) for x in sections[name][1]).strip()
        return value or None

    date_text, title = _header(path, header)
    date = to_edtf(date_text) if date_text else None
    if date_text and date is None:
        line_no = next(n for n, x in header if date_text in _strip_md(x))
        raise ReadError(path, f"cannot read the date {date_text!r}", line=line_no)
    title = title or section("title")
    if not title:
        raise ReadError(path, "no title: expected a bold title line before the first section",
                        line=1)

    citation = section("citation")
    source_url = None
    if citation:
        url = re.search(r"<?(https?://[^\s>]+)>?", citation)
        if url:
            source_url = url.group(1).rstrip(".")
            citation = (citation[: url.start()] + citation[url.end() :]).strip()
        citation = " ".join(citation.split())

    record_id = section("id")
    if not record_id and source_url:
        m = re.search(r"/document/([\w\-]+)/?$", source_url)
        record_id = m.group(1) if m else None
    if not record_id:
        record_id = re.sub(r"[^\w\-]+", "-", path.stem).strip("-") or "record"

    ref_text, credit_text = split_citation(citation) if citation else (None, None)
    source = section("source")
    if source:  # an explicit source line wins over what the citation implies
        ref_part, credit_part = split_citation("Archive, " + source)
        ref_text, credit_text = ref_part or source, credit_part or credit_text

    language_text = section("original_language")
    lang = language_code(language_text.split(",")[0]) if language_text else None
    if language_text and not lang:
        raise ReadError(path, f"unknown language {language_text!r}",
                        line=sections["original_language"][0])

    credits = section("credits")
    donors = []
    if credits:
        m = re.search(r"support from\s+(.+?)\.?$", " ".join(credits.split()), re.IGNORECASE)
        donors = [d.strip() for d in re.split(r",\s*|\s+and\s+", m.group(1))] if m else []

    record = Record(
        id=record_id,
        title=title,
        date=date,
        citation=citation,
        source_url=source_url,
        summary=section("summary"),
        donors=donors,
        original_language=lang,
        archival_reference=parse_archival_reference(ref_text) if ref_text else None,
        contributors=parse_credits(credit_text) if credit_text else [],
        rights=section("rights"),
        repository_title=section("repository_title"),
        classification=section("classification"),
        subjects=[s.strip() for s in re.split(r"\n|;", section("subjects") or "") if s.strip()],
        places=[s.strip() for s in re.split(r"\n|;|,", section("places") or "") if s.strip()],
        source_format=FORMAT,
        source_path=str(path),
    )
    if credits:
        record.extra["credits"] = " ".join(credits.split())
    for name, (_, body) in sections.items():
        if name not in set(LABELS.values()) and "\n".join(body).strip():
            extra[name] = "\n".join(_strip_md(x) for x in body).strip()
    if extra:
        record.extra["fields"] = extra
    if "contents" in sections:
        _contents(record, sections["contents"][1])
    problems = record.check_annotations()
    if problems:  # a bug in the apparatus parser must not store a wrong record
        raise ReadError(path, "; ".join(problems), line=sections["contents"][0])
    return record


def _header(path: Path, header: list[tuple[int, str]]) -> tuple[str | None, str | None]:
    """The bold date line (if any) and the title lines that follow it."""
    date_text = None
    title_lines: list[str] = []
    for _, raw in header:
        line = _strip_md(raw).strip().lstrip("#").strip()
        if not line:
            continue
        if date_text is None and not title_lines and to_edtf(line):
            date_text = line
            continue
        if (date_text is None and not title_lines and
                re.fullmatch(r"[A-Z][a-z]+\.? \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]+ \d{4}", line)):
            date_text = line  # looks like a date but is not one: reported by the caller
            continue
        title_lines.append(line)
    return date_text, " ".join(title_lines) or None


def _contents(record: Record, body: list[str]) -> None:
    lines = [ln for ln in body]
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines:
        m = re.match(r"^\s*(Translation|Transcription|Original|Summary)\s*[-–—:]\s*([A-Za-z]+)\s*$",
                     _strip_md(lines[0]))
        if m:
            record.contents = Contents(m.group(1).lower(), language_code(m.group(2)))
            lines.pop(0)
    if record.contents is None:
        record.contents = Contents("translation", "en")
    cleaned: list[str] = []
    head_lines: set[int] = set()
    for line in lines:
        s = _strip_md(line)
        h = re.match(r"^\s*#{1,6}\s+(.*)$", s)
        if h:
            s = h.group(1).strip()
            head_lines.add(len(cleaned))
        cleaned.append(s)
    body_text = "\n".join(cleaned).strip("\n")
    body_text = re.sub(r"\n{3,}", "\n\n", body_text)
    parsed = parse_apparatus(body_text, record.original_language)
    record.text = parsed.text
    record.annotations = parsed.annotations
    _headings(record, {cleaned[i].strip() for i in head_lines})
    _furniture(record)


def _headings(record: Record, heads: set[str]) -> None:
    offset = 0
    for line in record.text.split("\n"):
        if line.strip() and line.strip() in heads:
            start = offset + line.index(line.strip())
            record.annotations.append(
                Annotation("head", start, start + len(line.strip()), line.strip()))
        offset += len(line) + 1
    record.annotations.sort(key=lambda a: (a.start, -a.end))


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"\s{3,}|\t+", line.strip()) if c.strip()]


def _furniture(record: Record) -> None:
    """Classification, number, stamps, handwriting, signatory, distribution, endorsements."""
    text = record.text
    lines = text.split("\n")
    # The header region ends at the first heading or the first long paragraph.
    first_head = next((a.start for a in record.annotations if a.kind == "head"), None)
    header_lines: list[str] = []
    offset = 0
    for line in lines:
        if (first_head is not None and offset >= first_head) or len(line) > 200:
            break
        header_lines.append(line)
        offset += len(line) + 1
    instruction: list[str] = []
    stamp_spans = [(a.start, a.end) for a in record.annotations if a.kind == "stamp"]
    offset = 0
    for line in header_lines:
        inside_stamp = any(s <= offset < e for s, e in stamp_spans)
        offset += len(line) + 1
        if inside_stamp:
            continue
        for k, cell in enumerate(_cells(line)):
            if record.classification is None and _CLASSIFICATION.match(cell):
                record.classification = cell.rstrip(".")
            elif record.document_number is None and (m := _NUMBER.match(cell)):
                record.document_number = m.group("n").strip()
            elif k == 0 and (re.match(r"^(Distributed|Circulated|Sent|Copy)\b", cell) or
                             (instruction and cell[:1].islower())):
                instruction.append(cell)
    if instruction:
        record.distribution_instruction = " ".join(instruction)
    for a in record.annotations:
        if a.kind == "stamp":
            record.stamps.append(_stamp(a.text))
        elif a.kind == "handwritten":
            in_stamp = any(s <= a.start and a.end <= e for s, e in stamp_spans)
            record.handwritten_notes.append(
                HandwrittenNote(a.text, a.note or ("in the stamp" if in_stamp else None)))
    _closing(record, lines)


def _stamp(text: str) -> Stamp:
    stamp = Stamp(text=text)
    for line in text.split("\n"):
        s = line.strip()
        if stamp.date is None and (d := to_edtf(s)):
            stamp.date = d
        elif stamp.number is None and re.fullmatch(r"\d{3,}", s):
            stamp.number = s
    return stamp


def _closing(record: Record, lines: list[str]) -> None:
    """Signatory, authentication, distribution list and endorsements after the last paragraph."""
    last_long = max((k for k, ln in enumerate(lines) if len(ln) > 200), default=-1)
    tail = lines[last_long + 1 :]
    k = 0
    while k < len(tail):
        s = tail[k].strip()
        k += 1
        if not s:
            continue
        if m := re.match(r"^(Authenticated|Certified|Correct|Verified)\b\s*:?\s*(.*)$", s):
            record.authentication = s
            continue
        if re.match(r"^(Distributed|Sent|Copies)\s+to\b", s, re.IGNORECASE):
            k = _distribution(record, tail, k, s)
            blocks: list[list[str]] = [[]]
            for rest in tail[k:]:
                if rest.strip():
                    blocks[-1].append(rest.strip())
                elif blocks[-1]:
                    blocks.append([])
            record.endorsements = [" ".join(b) for b in blocks if b]
            return
        if (m := _SIGNATORY.match(s)) and len(s) < 150 and not s.endswith("."):
            record.authors.append(Author(name=m.group("name"), title=m.group("title").strip()))


def _distribution(record: Record, tail: list[str], k: int, first: str) -> int:
    """Read names until the first line that is not a list of names; return where it stopped."""
    rest_of_first = re.sub(r"^(Distributed|Sent|Copies)\s+to\s*:?", "", first, flags=re.IGNORECASE)
    pending = [rest_of_first] if rest_of_first.strip() else []
    while True:
        for line in pending:
            for cell in _cells(line):
                for token in cell.split() if " " in cell and "." not in cell else [cell]:
                    if _HONORIFIC.match(token):
                        continue
                    record.distribution.append(token.strip(",;"))
        pending = []
        if k >= len(tail):
            return k
        s = tail[k].strip()
        if not s:
            k += 1
            continue
        if re.match(r"^[A-Z][\w'\-]+\.?(?:\s+[A-Z][\w'\-.]+)*$", s) and not _NUMBER.match(s):
            pending = [s]
            k += 1
            continue
        return k
