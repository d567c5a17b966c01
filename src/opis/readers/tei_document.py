"""One FRUS document (``div[@type='document']``) as a Record: ids, title, dates,
parties, source note, edition and the checks on its offsets. :class:`VolumeState` is
what a document needs to know of its volume; :mod:`opis.readers.tei_frus` streams the
file and feeds it one document at a time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opis.model import Author, Contents, Record
from opis.model.dates import is_valid, to_edtf
from opis.model.entity import Mention
from opis.model.record import Edition, Flag, id_problem
from opis.readers import frus_sources
from opis.readers.base import ReadError, Rejected
from opis.readers.tei_text import (
    FRUS_NS,
    XML_ID,
    TextBuilder,
    Walked,
    in_note,
    inline_text,
    tag,
    walk,
)

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
_DAY = re.compile(r"^(\d{4}(?:-\d{2}(?:-\d{2})?)?)")


class VolumeState:
    """What reading one document needs from its volume, and the documents seen so far."""

    def __init__(self, path: Path, frus_rules: tuple[frus_sources.Rule, ...] | None = None):
        self.path = path
        self.frus_rules = frus_rules  # where source notes place their archives
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

    def _volume(self, line: int | None) -> str:
        if not self.volume_id:
            self.volume_id = self.header.get("idno")
        if not self.volume_id:
            raise self.fail("the volume has no id (TEI/@xml:id or idno[@type='frus'])", line)
        return self.volume_id

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
            for pb in div.iter(tag("pb")):
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
        text_builder = TextBuilder()
        doc = Walked()
        walk(div, text_builder, doc, "text", self.volume_id, top=True)
        text = text_builder.value()
        for pb in doc.page_breaks:
            pb["offset"] = min(pb["offset"], len(text))
        # A document that opens with a page break starts on that page.
        if doc.page_breaks and doc.page_breaks[0]["offset"] == 0 and doc.page_breaks[0]["n"]:
            start_page = doc.page_breaks[0]["n"]
        last_page = next((pb["n"] for pb in reversed(doc.page_breaks) if pb["n"]), None)

        head = div.find(tag("head"))
        title = inline_text(head) if head is not None else ""
        dateline = next((d for d in div.iter(tag("dateline")) if not in_note(d, div)), None)
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
            extra["dateline"] = inline_text(dateline)
            place = dateline.find(f".//{tag('placeName')}")
            if place is not None and inline_text(place):
                places.append(inline_text(place))
        source_el = next(
            (n for n in div.iter(tag("note")) if n.get("type") == "source"), None
        )
        source_note = None
        parsed = frus_sources.SourceNote()
        if source_el is not None:
            source_note = inline_text(source_el, keep_notes=True) or None
            if source_note:
                parsed = frus_sources.parse(source_note, self.frus_rules)
        extra["notes"] = doc.notes
        extra["page_breaks"] = doc.page_breaks
        if start_page:
            extra["page"] = start_page
        chapter = next(
            (self.section_heads[a.get(XML_ID)] for a in div.iterancestors(tag("div"))
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

    @staticmethod
    def _parties(head: Any) -> tuple[list[str], list[str]]:
        """Senders and recipients the head marks with type="from"/"to"."""
        authors: list[str] = []
        recipients: list[str] = []
        if head is None:
            return authors, recipients
        for el in head.iter(tag("gloss"), tag("persName"), tag("orgName")):
            if in_note(el, head):
                continue
            name = inline_text(el)
            kind = el.get("type")
            if name and kind == "from" and name not in authors:
                authors.append(name)
            elif name and kind == "to" and name not in recipients:
                recipients.append(name)
        return authors, recipients

    def _date(self, div: Any, dateline: Any) -> tuple[str | None, str | None]:
        """EDTF date and the full @when (with time) of a document."""
        if dateline is not None:
            for d in dateline.iter(tag("date")):
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
    if dateline is not None and inline_text(dateline):
        return inline_text(dateline), "dateline"
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
        m = _PRINTED_DATE.search(inline_text(el))
        if m:
            value = to_edtf(m.group(0))
            if value:
                return value, name
    return None, ""
