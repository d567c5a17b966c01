"""TEI P5 volumes in the shape of the Office of the Historian's FRUS edition.

A volume is read in one streaming pass (``lxml.etree.iterparse``), and every part is
cleared once used, so a 40 MB volume costs the memory of one document, not of the
tree. Items come out in file order, which in FRUS is:

1. one ``GlossaryEntry`` per ``list[@type='terms']//term[@xml:id]`` (List of
   Abbreviations), id ``<volume>/<xml:id>``;
2. one ``Entity(kind="person")`` per ``list[@type='names']//persName[@xml:id]``
   (List of Persons), id ``<volume>/<xml:id>``; ``preferred`` keeps the printed
   heading ("Yang, You Chan"), ``variants`` add the reading-order name from
   :func:`opis.model.headings.split_heading` and any parenthesized spellings;
3. one ``Record`` per ``div[@type='document']`` (editorial notes too), id
   ``<volume>-<xml:id>``;
4. the volume itself as a ``Collection`` with the record ids in document order.

Record text is the document's prose with whitespace collapsed, one block (head,
opener, paragraph, list item, closer...) per paragraph, blocks separated by a
blank line. Footnotes are not inline: each sits in ``extra["notes"]`` with the
offset of its anchor in the text. ``Mention``s carry exact offsets
(``text[start:end] == mention.text``); a link inside a footnote gets
``field="note:<note xml:id>"`` and offsets into that note's ``text``.

Entity declarations and external DTDs are refused before parsing: a TEI volume
never needs them, and they are how XML bombs and file disclosure get in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from opis.model import Author, Contents, Record
from opis.model.dates import is_valid, to_edtf
from opis.model.entity import Collection, Entity, GlossaryEntry, Mention
from opis.model.headings import split_heading
from opis.model.record import Edition, Flag, id_problem
from opis.readers import frus_sources
from opis.readers.base import Item, ReadError, Rejected

TEI_NS = "http://www.tei-c.org/ns/1.0"
FRUS_NS = "http://history.state.gov/frus/ns/1.0"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
SUFFIXES = (".xml", ".tei")
SOURCE_URL = "https://history.state.gov/historicaldocuments/{volume}/{doc}"
SERIES = "Foreign Relations of the United States"
# What a head says the document is ("Telegram From the Embassy in Korea..."), first match.
_DOCUMENT_TYPES = re.compile(
    r"^(?:No\.\s*\d+\.?\s*|\d+\.\s*)?(?P<t>Editorial Note|Circular Telegram|Telegram|"
    r"Memorandum of (?:a )?Conversation|Memorandum for the Record|Memorandum|Letter|"
    r"Despatch|Dispatch|Airgram|Instruction|Note|Report|Minutes|Notes|Message|Paper|"
    r"Aide-M[ée]moire|Record of (?:a )?(?:Meeting|Conversation)|Circular|Draft|"
    r"Statement|Address|Announcement|Proclamation|Resolution)\b")
_PRINTED_DATE = re.compile(
    r"\b(?:(?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\s+\d{1,2},?\s+\d{4}|(?:January|February|March|April|May|June|"
    r"July|August|September|October|November|December),?\s+\d{4})\b")

# How each element breaks the flow of text: a paragraph, a line, or a space.
_BLOCKS = frozenset({
    "head", "p", "opener", "closer", "list", "item", "label", "table", "row", "ab",
    "postscript", "trailer", "lg", "figure", "byline", "docAuthor", "argument",
    "epigraph", "div", "floatingText", "listBibl", "address", "sp", "castList",
})
_LINES = frozenset({"lb", "dateline", "signed", "salute", "l", "addrLine", "speaker"})
_SPACES = frozenset({"cell"})
_SKIP = frozenset({"fw", "facsimile", "figDesc"})  # running heads, image lists
_RANK = {"": 0, " ": 1, "\n": 2, "\n\n": 3}
_DAY = re.compile(r"^(\d{4}(?:-\d{2}(?:-\d{2})?)?)")
_PROLOG_BYTES = 65536


def _t(local: str) -> str:
    return f"{{{TEI_NS}}}{local}"


def _local(el: Any) -> str | None:
    """The TEI local name of an element; None for comments, PIs and foreign elements."""
    tag = el.tag
    if not isinstance(tag, str) or not tag.startswith(f"{{{TEI_NS}}}"):
        return None
    return tag[len(TEI_NS) + 2 :]


def _norm(text: str) -> str:
    return " ".join(text.split())


def sniff(path: Path, head: bytes) -> bool:
    """An .xml/.tei file whose first bytes show a TEI root or the TEI namespace."""
    if path.suffix.lower() not in SUFFIXES:
        return False
    return b"<TEI" in head or TEI_NS.encode() in head


def read(path: Path) -> Iterator[Item | Rejected]:
    """Yield glossary entries, persons, records and the volume, in file order; a document
    that cannot be stored is yielded as ``Rejected`` in its place and the volume reads on."""
    path = Path(path)
    _check_prolog(path)
    try:
        frus_sources.configured_rules()  # a bad OPIS_FRUS_REPOSITORIES file: said once
    except ValueError as e:
        raise ReadError(path, str(e)) from None
    yield from _Volume(path).items()


def _check_prolog(path: Path) -> None:
    """Refuse DTDs and entity declarations before a parser ever sees them."""
    try:
        with path.open("rb") as f:
            head = f.read(_PROLOG_BYTES)
    except OSError as e:
        raise ReadError(path, f"cannot open: {e.strerror or e}") from None
    if not head.strip():
        raise ReadError(path, "the file is empty", 1)
    first_element = re.search(rb"<[A-Za-z_]", head)
    prolog = head[: first_element.start()] if first_element else head
    at = prolog.find(b"<!DOCTYPE")
    if at < 0:
        at = prolog.find(b"<!ENTITY")
    if at >= 0:
        decl = prolog[at:]
        if any(k in decl for k in (b"[", b"SYSTEM", b"PUBLIC", b"<!ENTITY")):
            line = prolog.count(b"\n", 0, at) + 1
            raise ReadError(path, "external entities / DTD not allowed (DOCTYPE declaration)", line)


class _Text:
    """Builds plain text from XML pieces: collapses whitespace, places paragraph
    breaks, and reports the exact span each open element ends up covering."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.pending = ""
        self.open: list[list[int | None]] = []

    def _flush(self) -> None:
        if self.pending and self.length:
            self.parts.append(self.pending)
            self.length += len(self.pending)
        self.pending = ""

    def _space(self) -> None:
        if self.length and _RANK[self.pending] < 1:
            self.pending = " "

    def write(self, s: str | None) -> None:
        if not s:
            return
        core = " ".join(s.split())
        if not core:
            self._space()
            return
        if s[0].isspace():
            self._space()
        self._flush()
        for span in self.open:
            if span[0] is None:
                span[0] = self.length
        self.parts.append(core)
        self.length += len(core)
        if s[-1].isspace():
            self.pending = " "

    def brk(self, sep: str) -> None:
        if self.length and _RANK[sep] > _RANK[self.pending]:
            self.pending = sep

    def next_offset(self) -> int:
        """Where the next text will start: past a pending space or break."""
        return self.length + len(self.pending) if self.length else 0

    def open_span(self) -> list[int | None]:
        span: list[int | None] = [None]
        self.open.append(span)
        return span

    def close_span(self, span: list[int | None]) -> tuple[int, int] | None:
        self.open.remove(span)
        return None if span[0] is None else (span[0], self.length)

    def value(self) -> str:
        return "".join(self.parts)


@dataclass
class _Doc:
    """What one document's walk collects besides its text."""

    notes: list[dict[str, Any]] = field(default_factory=list)
    page_breaks: list[dict[str, Any]] = field(default_factory=list)
    spans: list[tuple[str, int, int, str]] = field(default_factory=list)  # id, start, end, field


class _Volume:
    def __init__(self, path: Path):
        self.path = path
        self.volume_id: str | None = None
        self.header: dict[str, Any] = {}
        self.record_ids: list[str] = []
        self.page: str | None = None
        self.section_heads: dict[str, str] = {}
        self.position = 0  # documents seen so far, stored or not
        self.seen: set[str] = set()
        self._edition_base: Edition | None = None

    def fail(self, message: str, line: int | None) -> ReadError:
        return ReadError(self.path, message, line)

    # -- the streaming pass -------------------------------------------------------

    def items(self) -> Iterator[Item | Rejected]:
        context = etree.iterparse(
            str(self.path),
            events=("start", "end"),
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        hold = 0  # > 0 while inside a part that is read whole at its end
        root_seen = False
        try:
            for event, el in context:
                if not root_seen:
                    root_seen = True
                    self._check_root(el)
                local = _local(el)
                if event == "start":
                    if self._is_held(el, local):
                        hold += 1
                    continue
                if local == "teiHeader":
                    self._read_header(el)
                    hold -= 1
                    el.clear(keep_tail=True)
                elif local == "item" and self._list_type(el.getparent()) is not None:
                    yield from self._read_list_item(el)
                    _drop(el)
                elif local == "list" and self._list_type(el) is not None:
                    hold -= 1
                    _drop(el)
                elif local == "div" and el.get("type") == "document":
                    yield self._read_document(el)
                    hold -= 1
                    _drop(el)
                elif hold == 0:
                    if local == "pb" and el.get("n"):
                        self.page = el.get("n")
                    elif local == "head":
                        self._remember_section_head(el)
                    _drop(el)
        except etree.XMLSyntaxError as e:
            msg = re.sub(r",? line \d+, column \d+$", "", e.msg or str(e))
            raise self.fail(f"not well-formed XML: {msg}", e.lineno or None) from None
        if not root_seen:
            raise self.fail("no XML element found", 1)
        yield self._collection()

    def _check_root(self, el: Any) -> None:
        info = el.getroottree().docinfo
        dtd = info.internalDTD
        declares = dtd is not None and (list(dtd.iterentities()) or list(dtd.iterelements()))
        if info.system_url or info.public_id or declares:
            raise self.fail("external entities / DTD not allowed (DOCTYPE declaration)", 1)
        if _local(el) != "TEI":
            raise self.fail(f"not a TEI document: the root element is <{el.tag}>", el.sourceline)
        self.volume_id = el.get(XML_ID)

    def _is_held(self, el: Any, local: str | None) -> bool:
        if local == "teiHeader":
            return True
        if local == "div":
            return el.get("type") == "document"
        return local == "list" and self._list_type(el) is not None

    @staticmethod
    def _list_type(el: Any) -> str | None:
        if el is None or _local(el) != "list":
            return None
        kind = el.get("type")
        return kind if kind in ("terms", "names") else None

    def _volume(self, line: int | None) -> str:
        if not self.volume_id:
            self.volume_id = self.header.get("idno")
        if not self.volume_id:
            raise self.fail("the volume has no id (TEI/@xml:id or idno[@type='frus'])", line)
        return self.volume_id

    # -- header, lists and section heads ---------------------------------------------

    def _read_header(self, header: Any) -> None:
        def first(xpath: str) -> str | None:
            found = header.xpath(xpath, namespaces={"t": TEI_NS})
            return (_norm("".join(found[0].itertext())) or None) if found else None

        self.header = {
            "title": first(".//t:titleStmt/t:title[@type='complete']")
            or first(".//t:titleStmt/t:title"),
            "idno": first(".//t:publicationStmt/t:idno[@type='frus']"),
            "publisher": first(".//t:publicationStmt/t:publisher"),
            "place": first(".//t:publicationStmt/t:pubPlace"),
            "date": first(".//t:publicationStmt/t:date[@type='publication-date']")
            or first(".//t:publicationStmt/t:date"),
            "series": first(".//t:titleStmt/t:title[@type='series']"),
            "subseries": first(".//t:titleStmt/t:title[@type='sub-series']")
            or first(".//t:titleStmt/t:title[@type='subseries']"),
            "volume_number": first(".//t:titleStmt/t:title[@type='volume-number']")
            or first(".//t:titleStmt/t:title[@type='volumenumber']"),
            "volume": first(".//t:titleStmt/t:title[@type='volume']"),
            "editors": [
                (_norm("".join(e.itertext())), e.get("role"))
                for e in header.iterfind(f".//{_t('titleStmt')}/{_t('editor')}")
            ],
        }

    def _read_list_item(self, item: Any) -> Iterator[Item | Rejected]:
        kind = self._list_type(item.getparent())
        tag = _t("term") if kind == "terms" else _t("persName")
        for target in item.iter(tag):
            xml_id = target.get(XML_ID)
            if not xml_id:
                continue
            volume = self._volume(target.sourceline)
            name = _norm("".join(target.itertext()))
            rest = _norm(_text_after(item, target)).lstrip(",;: ").strip() or None
            where = f"{kind} list entry {xml_id!r}"
            if not name:  # the list reads on: one empty entry costs only itself
                yield Rejected(self.fail(f"{where} is empty", target.sourceline))
                continue
            if kind == "terms":
                yield GlossaryEntry(term=name, expansion=rest or "", id=f"{volume}/{xml_id}")
            else:
                display, variants = split_heading(name)
                seen = [v for v in dict.fromkeys([display, *variants]) if v != name]
                yield Entity(
                    id=f"{volume}/{xml_id}",
                    kind="person",
                    preferred=name,
                    variants=seen,
                    description=rest,
                    identifiers={"frus": xml_id},
                )

    def _remember_section_head(self, head: Any) -> None:
        parent = head.getparent()
        if parent is not None and _local(parent) == "div" and parent.get(XML_ID):
            self.section_heads[parent.get(XML_ID)] = _inline_text(head)

    # -- one document --------------------------------------------------------------

    def _read_document(self, div: Any) -> Record | Rejected:
        """One document, or the reason it cannot be stored: a defect here never costs
        another document (docs/ingest.md#one-bad-document)."""
        self.position += 1
        line = div.sourceline
        start_page = self.page
        try:
            return self._document(div, line, start_page)
        except ReadError as e:
            return Rejected(e)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
            where = f"document {div.get(XML_ID) or self.position!r}"
            return Rejected(self.fail(f"{where} cannot be read ({type(e).__name__}: {e})",
                                      line))
        finally:
            for pb in div.iter(_t("pb")):
                if pb.get("n"):
                    self.page = pb.get("n")

    def _document(self, div: Any, line: int | None, start_page: str | None) -> Record:
        volume = self._volume(line)
        flags: list[Flag] = []
        xml_id = div.get(XML_ID)
        record_id = f"{volume}-{xml_id}" if xml_id else ""
        problem = ("it has no xml:id" if not xml_id else
                   f"its id is not usable: {id_problem(record_id)}" if id_problem(record_id)
                   else "another document has the same xml:id" if record_id in self.seen
                   else None)
        if problem:
            record_id = f"{volume}-doc{self.position}"
            if id_problem(record_id) or record_id in self.seen:
                raise self.fail(f"document {self.position} {problem}, and no id can be "
                                "derived", line)
            flags.append(Flag("id", f"div[@type='document'] number {self.position} in the "
                                    f"volume: {problem}; id derived from its position",
                              line))
        self.seen.add(record_id)
        where = f"document {xml_id or record_id!r}"
        text_builder = _Text()
        doc = _Doc()
        self._walk(div, text_builder, doc, "text", top=True)
        text = text_builder.value()
        for pb in doc.page_breaks:
            pb["offset"] = min(pb["offset"], len(text))
        # A document that opens with a page break starts on that page.
        if doc.page_breaks and doc.page_breaks[0]["offset"] == 0 and doc.page_breaks[0]["n"]:
            start_page = doc.page_breaks[0]["n"]
        last_page = next((pb["n"] for pb in reversed(doc.page_breaks) if pb["n"]), None)

        head = div.find(_t("head"))
        title = _inline_text(head) if head is not None else ""
        dateline = next((d for d in div.iter(_t("dateline")) if not _in_note(d, div)), None)
        if not title:
            title, source = _derived_title(dateline, text)
            if not title:
                raise self.fail(f"{where} has no <head>, dateline or text to give it a "
                                "title", line)
            flags.append(Flag("title", f"{where} has "
                                       f"{'an empty <head/>' if head is not None else 'no <head>'}"
                                       f"; title derived from the {source}", line))

        note_texts = {n["id"]: n["text"] for n in doc.notes}
        mentions = []
        for entity_id, start, end, fld in doc.spans:
            source_text = text if fld == "text" else note_texts.get(fld[5:], "")
            mentions.append(Mention(entity_id, start, end, source_text[start:end], fld))

        extra: dict[str, Any] = {"number": div.get("n"), "subtype": div.get("subtype")}
        authors, recipients = self._parties(head)
        if recipients:
            extra["recipient"] = recipients
        date, when = self._date(div, dateline)
        if date is None:
            date, printed = _printed_date(dateline, head)
            if date:
                flags.append(Flag("date", f"{where}: date {date} read from the printed "
                                          f"{printed}", line))
        if when:
            extra["when"] = when
        places = []
        if dateline is not None:
            extra["dateline"] = _inline_text(dateline)
            place = dateline.find(f".//{_t('placeName')}")
            if place is not None and _inline_text(place):
                places.append(_inline_text(place))
        source_el = next(
            (n for n in div.iter(_t("note")) if n.get("type") == "source"), None
        )
        source_note = None
        parsed = frus_sources.SourceNote()
        if source_el is not None:
            source_note = _inline_text(source_el, keep_notes=True) or None
            if source_note:
                parsed = frus_sources.parse(source_note)
        extra["notes"] = doc.notes
        extra["page_breaks"] = doc.page_breaks
        if start_page:
            extra["page"] = start_page
        chapter = next(
            (self.section_heads[a.get(XML_ID)] for a in div.iterancestors(_t("div"))
             if a.get(XML_ID) in self.section_heads),
            None,
        )
        if chapter:
            extra["chapter"] = chapter
        head_type = _DOCUMENT_TYPES.match(title)
        document_type = (_type_name(head_type.group("t")) if head_type else None) \
            or parsed.document_type
        pages = (f"{start_page}–{last_page}" if start_page and last_page
                 and last_page != start_page else start_page)

        record = Record(
            id=record_id,
            title=title,
            text=text,
            date=date,
            source_url=(SOURCE_URL.format(volume=volume, doc=xml_id) if xml_id and not problem
                        else None),
            original_language="en",
            contents=Contents("transcription", "en"),
            archival_reference=parsed.reference,
            classification=parsed.classification,
            document_number=div.get("n"),
            authors=[Author(name=a) for a in authors],
            distribution=parsed.distribution,
            mentions=mentions,
            places=places,
            source_format="tei",
            source_path=str(self.path),
            edition=self._edition(chapter, div.get("n"), pages,
                                  SOURCE_URL.format(volume=volume, doc=xml_id)
                                  if xml_id and not problem else None),
            source_note=source_note,
            drafting=parsed.drafting,
            place=places[0] if places else None,
            recipients=recipients,
            document_type=document_type,
            flags=flags,
            extra={k: v for k, v in extra.items() if v is not None},
        )
        self._check(record, where, line)
        self.record_ids.append(record.id)
        return record

    def _edition(self, chapter: str | None, number: str | None, pages: str | None,
                 url: str | None) -> Edition:
        base = self.edition_base()
        return Edition(**{**base.__dict__, "editors": list(base.editors), "chapter": chapter,
                          "document_number": number, "pages": pages, "url": url})

    def edition_base(self) -> Edition:
        """The volume's part of every record's Edition, from the teiHeader (once)."""
        if self._edition_base is None:
            h = self.header
            number = h.get("volume_number") or ""
            volume = re.search(r"Volume\s+([IVXLC]+|\d+)", number)
            part = re.search(r"Part\s+(\w+)", number)
            years = h.get("subseries")
            if not years:
                m = re.search(r"(\d{4}(?:[–-]\d{2,4})?)\s*$", h.get("series") or "")
                years = m.group(1) if m else None
            self._edition_base = Edition(
                series=SERIES,
                volume_id=self.volume_id,
                years=years,
                volume=volume.group(1) if volume else None,
                part=part.group(1) if part else None,
                volume_title=h.get("volume"),
                editors=[name for name, _ in h.get("editors", []) if name],
                publisher=h.get("publisher"),
                place=h.get("place"),
                published=h.get("date"),
            )
        return self._edition_base

    def _check(self, record: Record, where: str, line: int | None) -> None:
        """The offsets this reader promises, verified before the record leaves."""
        notes = {n["id"]: n["text"] for n in record.extra["notes"]}
        for m in record.mentions:
            source = record.text if m.field == "text" else notes.get(m.field[5:])
            if source is None or m.start is None or m.end is None or not m.text:
                raise self.fail(f"{where}: mention of {m.entity_id} has no text", line)
        for n in record.extra["notes"]:
            if not 0 <= n["offset"] <= len(record.text):
                raise self.fail(f"{where}: note {n['id']} anchor outside the text", line)

    def _walk(self, el: Any, out: _Text, doc: _Doc, fld: str, top: bool = False) -> None:
        """Append an element's text to ``out``; notes and page breaks go to ``doc``."""
        local = _local(el)
        if local is None or local in _SKIP:
            if local is None and isinstance(el.tag, str):  # a foreign element: keep its text
                out.write(el.text)
                for child in el:
                    self._walk(child, out, doc, fld)
            out.write(el.tail)
            return
        if local == "note" and fld == "text":
            self._note(el, out, doc)
            out.write(el.tail)
            return
        if local == "pb":
            if fld == "text":
                doc.page_breaks.append(
                    {"n": el.get("n"), "id": el.get(XML_ID), "offset": out.next_offset()}
                )
            out.write(el.tail)
            return
        sep = _separator(el, local)
        if sep and not top:
            out.brk(sep)
        spans = [(out.open_span(), target) for target in self._targets(el, local)]
        out.write(el.text)
        for child in el:
            self._walk(child, out, doc, fld)
        for span, target in spans:
            covered = out.close_span(span)
            if covered:
                doc.spans.append((target, covered[0], covered[1], fld))
        if sep and sep != " " and local != "label" and not top:  # a label runs into its item
            out.brk(sep)
        if not top:
            out.write(el.tail)

    def _note(self, note: Any, out: _Text, doc: _Doc) -> None:
        note_id = note.get(XML_ID) or f"note{len(doc.notes) + 1}"
        inner = _Text()
        inner_doc = _Doc()
        inner.write(note.text)
        for child in note:
            self._walk(child, inner, inner_doc, f"note:{note_id}")
        entry: dict[str, Any] = {"n": note.get("n"), "id": note_id, "offset": out.length}
        if note.get("type"):
            entry["type"] = note.get("type")
        entry["text"] = inner.value()
        doc.notes.append(entry)
        doc.spans.extend(inner_doc.spans)

    def _targets(self, el: Any, local: str) -> list[str]:
        """Entity ids an element links to: persName/@corresp, gloss/@target."""
        if local == "persName":
            refs = el.get("corresp")
        elif local == "gloss":
            refs = el.get("target")
        else:
            return []
        out = []
        for ref in (refs or "").split():
            volume, hash_, frag = ref.partition("#")
            if not hash_:
                volume, frag = "", ref
            volume = volume.removesuffix(".xml") or self.volume_id or ""
            if frag:
                out.append(f"{volume}/{frag}")
        return out

    @staticmethod
    def _parties(head: Any) -> tuple[list[str], list[str]]:
        """Senders and recipients the head marks with type="from"/"to"."""
        authors: list[str] = []
        recipients: list[str] = []
        if head is None:
            return authors, recipients
        for el in head.iter(_t("gloss"), _t("persName"), _t("orgName")):
            if _in_note(el, head):
                continue
            name = _inline_text(el)
            kind = el.get("type")
            if name and kind == "from" and name not in authors:
                authors.append(name)
            elif name and kind == "to" and name not in recipients:
                recipients.append(name)
        return authors, recipients

    def _date(self, div: Any, dateline: Any) -> tuple[str | None, str | None]:
        """EDTF date and the full @when (with time) of a document."""
        if dateline is not None:
            for d in dateline.iter(_t("date")):
                when = d.get("when")
                if when and _day(when):
                    return _day(when), (when if "T" in when else None)
                lo = _day(d.get("notBefore") or d.get("from") or "")
                hi = _day(d.get("notAfter") or d.get("to") or "")
                interval = _interval(lo, hi)
                if interval:
                    return interval, None
        lo = _day(div.get(f"{{{FRUS_NS}}}doc-dateTime-min") or "")
        hi = _day(div.get(f"{{{FRUS_NS}}}doc-dateTime-max") or "")
        return _interval(lo, hi), None

    # -- the volume ------------------------------------------------------------------

    def _collection(self) -> Collection:
        volume = self._volume(None)
        h = self.header
        roles = {"general": "general editor", "primary": "editor"}
        editors = "; ".join(
            f"{name} ({roles.get(role or '', role or 'editor')})"
            for name, role in h.get("editors", []) if name
        )
        imprint = ", ".join(x for x in (h.get("publisher"), h.get("date")) if x)
        if h.get("place") and imprint:
            imprint = f"{h['place']}: {imprint}"
        description = ". ".join(x for x in (editors, imprint) if x)
        return Collection(
            id=volume,
            title=h.get("title") or volume,
            description=(description + ".") if description else None,
            record_ids=list(self.record_ids),
        )


def _drop(el: Any) -> None:
    """Free a finished element and the finished siblings before it."""
    el.clear(keep_tail=True)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _separator(el: Any, local: str) -> str:
    if local == "item":
        prev = el.getprevious()
        return " " if prev is not None and _local(prev) == "label" else "\n\n"
    if local == "quote":
        return "\n\n" if el.get("rend") == "blockquote" else ""
    if local in _BLOCKS:
        return "\n\n"
    if local in _LINES:
        return "\n"
    if local in _SPACES:
        return " "
    return ""


def _in_note(el: Any, stop: Any) -> bool:
    for a in el.iterancestors():
        if a is stop:
            return False
        if _local(a) == "note":
            return True
    return False


def _inline_text(el: Any, keep_notes: bool = False) -> str:
    """An element's text on one line, footnotes left out unless asked for."""
    parts: list[str] = []

    def walk(e: Any) -> None:
        if e.text:
            parts.append(e.text)
        for child in e:
            local = _local(child)
            if local in _WORD_BREAKS:
                parts.append(" ")
            if isinstance(child.tag, str) and (keep_notes or local != "note") and (
                local not in _SKIP
            ):
                walk(child)
            if local in _WORD_BREAKS:
                parts.append(" ")
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return _norm("".join(parts))


# Elements that end a word on the printed line even without whitespace around them in
# the TEI: "No. 160.<lb/>Mr. Frelinghuysen" is "No. 160. Mr. Frelinghuysen".
_WORD_BREAKS = _BLOCKS | _LINES | _SPACES


def _text_after(root: Any, target: Any) -> str:
    """The text of ``root`` that follows ``target`` (a term's expansion, say)."""
    parts: list[str] = []
    seen = False

    def walk(e: Any) -> None:
        nonlocal seen
        if e is target:
            seen = True
        else:
            if seen and e.text:
                parts.append(e.text)
            for child in e:
                walk(child)
        if seen and e is not root and e.tail:
            parts.append(e.tail)

    walk(root)
    return "".join(parts)


def _day(value: str) -> str | None:
    m = _DAY.match(value.strip())
    return m.group(1) if m else None


def _interval(lo: str | None, hi: str | None) -> str | None:
    value = (lo if lo == hi else f"{lo}/{hi}") if lo and hi else (lo or hi)
    return value if value and is_valid(value) else None


def _type_name(value: str) -> str:
    """"Memorandum of a Conversation" and "Memorandum of Conversation" are one type."""
    return re.sub(r"^Memorandum of a Conversation$", "Memorandum of Conversation",
                  value.replace("Despatch", "Dispatch"))


def _derived_title(dateline: Any, text: str) -> tuple[str, str]:
    """A title for a document whose head is empty: its dateline, else its first sentence."""
    if dateline is not None and _inline_text(dateline):
        return _inline_text(dateline), "dateline"
    first = text.strip().split("\n\n", 1)[0]
    m = re.match(r"(.{1,200}?[.!?])(?:\s|$)", first)
    sentence = (m.group(1) if m else first[:200]).strip()
    return sentence, "first sentence"


def _printed_date(dateline: Any, head: Any) -> tuple[str | None, str]:
    """The date the dateline (or else the head) prints, as EDTF with the precision the
    text gives ("December 18, 1897" a day, "December, 1897" a month)."""
    for el, name in ((dateline, "dateline"), (head, "head")):
        if el is None:
            continue
        m = _PRINTED_DATE.search(_inline_text(el))
        if m:
            value = to_edtf(m.group(0))
            if value:
                return value, name
    return None, ""
