"""The TEI header of a record's edition: title, authors, contributors and funders, the
publication statement with the opis page, the source description (archive, fond,
opis, delo, folios; the printed volume), languages and hands, and the revision
status. ``services/export/tei.py`` builds the text beside it."""

from __future__ import annotations

import re

from lxml import etree

from opis.model.dates import bounds, is_valid
from opis.model.record import Record
from opis.services.export.mapping import (
    Citation,
    digital_archive,
    display_name,
    flat,
    language_name,
    people,
    repository,
    text_language,
)

TEI_NS = "http://www.tei-c.org/ns/1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"
HAND = "h1"  # the one hand opis knows of: "handwritten on the original"
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_ID_SAFE = re.compile(r"[A-Za-z0-9-]")
_XML_BAD = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Remove characters XML 1.0 cannot carry (control characters), which lxml rejects."""
    return _XML_BAD.sub("", text)


def _t(tag: str) -> str:
    return f"{{{TEI_NS}}}{tag}"




def xml_id(record_id: str, local: str) -> str:
    """An xml:id unique across records: an OAI-PMH page or a teiCorpus holds many TEI
    documents, and one ``h1`` in each made the page invalid for strict parsers. The
    record id becomes an NCName with every character but ASCII letters, digits and "-"
    written as _HEX_ ("a.b" -> "a_2E_b"), so two ids never give the same prefix:
    ``rec.300653.h1``, ``rec.frus1955-57v23p2d3.term2``."""
    escaped = "".join(c if _ID_SAFE.fullmatch(c) else f"_{ord(c):X}_" for c in record_id)
    return f"rec.{escaped}.{local}"


def _lang(code: str | None) -> str | None:
    """A language tag fit for @xml:lang/@ident, or None for a value that is not one."""
    code = (code or "").strip()
    return code if _LANG_TAG.match(code) else None


def _sub(parent: etree._Element, tag: str, text: str | None = None,
         **attrs: str | None) -> etree._Element:
    elem = etree.SubElement(parent, _t(tag), {k: v for k, v in attrs.items() if v})
    if text is not None:
        elem.text = xml_safe(flat(text))
    return elem


def _name(parent: etree._Element, parts: dict[str, str]) -> None:
    """orgName for an organisation, persName (with surname/forename) for a person."""
    if "literal" in parts:
        _sub(parent, "orgName", parts["literal"])
        return
    pers = _sub(parent, "persName")
    _sub(pers, "forename", parts["given"])
    pers[-1].tail = " "
    _sub(pers, "surname", parts["family"])


def _edition_bibl(source_desc: etree._Element, data: Citation) -> None:
    """The volume a document is printed in, as TEI's bibl: title, editors, volume, part,
    document number, pages, publisher, place and year."""
    bibl = _sub(source_desc, "bibl", type="edition")
    _sub(bibl, "title", data.get("container-title"), level="m")
    for parts in data.names("editor"):
        _sub(bibl, "editor", display_name(parts))
    if data.get("volume"):
        _sub(bibl, "biblScope", data.get("volume"), unit="volume")
    if data.get("number"):
        _sub(bibl, "biblScope", data.get("number"), unit="document")
    if data.get("page"):
        _sub(bibl, "biblScope", data.get("page"), unit="page")
    if data.get("publisher"):
        _sub(bibl, "publisher", data.get("publisher"))
    if data.get("publisher-place"):
        _sub(bibl, "pubPlace", data.get("publisher-place"))
    issued = (data.get("issued") or {}).get("date-parts")
    if issued:
        _sub(bibl, "date", str(issued[0][0]))
    if data.source_url:
        _sub(bibl, "ptr", target=data.source_url)


def header(record: Record, tei: etree._Element, has_hand: bool, foreign: set[str],
            data: Citation) -> None:
    header = _sub(tei, "teiHeader")
    file_desc = _sub(header, "fileDesc")
    title_stmt = _sub(file_desc, "titleStmt")
    _sub(title_stmt, "title", data.get("title") or record.title or record.id)
    authors = [a for a in record.authors if flat(a.name)]
    for author, parts in zip(authors, data.names("author"), strict=False):
        elem = _sub(title_stmt, "author")
        _name(elem, parts)
        if author.title:
            _sub(elem, "roleName", author.title)
    for donor in record.donors:
        if flat(donor):
            _sub(title_stmt, "funder", donor)
    for role, label in (("translator", "Translated by"), ("obtained_by", "Obtained by"),
                        ("transcriber", "Transcribed by"), ("editor", "Edited by"),
                        ("annotator", "Annotated by"), ("contributor", "Contributed by")):
        for name in people(record, role):
            resp_stmt = _sub(title_stmt, "respStmt")
            _sub(resp_stmt, "resp", label)
            _sub(resp_stmt, "name", name)

    pub = _sub(file_desc, "publicationStmt")
    _sub(pub, "publisher", "opis")
    _sub(pub, "idno", record.id, type="opis")
    if data.get("URL") and data.get("URL") != data.source_url:
        _sub(pub, "idno", data.get("URL"), type="opis-URL")
    if data.source_url:
        _sub(pub, "idno", data.source_url, type="URI")
    if flat(record.rights):
        availability = _sub(pub, "availability")
        _sub(availability, "p", record.rights)

    if flat(record.summary):
        notes_stmt = _sub(file_desc, "notesStmt")
        _sub(notes_stmt, "note", record.summary, type="summary")

    source_desc = _sub(file_desc, "sourceDesc")
    if data.kind == "chapter":
        _edition_bibl(source_desc, data)
    if flat(record.citation):
        bibl = _sub(source_desc, "bibl", record.citation, type="citation")
        if record.source_url:
            _sub(bibl, "ptr", target=record.source_url)
    ms_desc = _sub(source_desc, "msDesc")
    ms_id = _sub(ms_desc, "msIdentifier")
    ref = record.archival_reference
    repo = repository(record)
    if repo:
        _sub(ms_id, "repository", repo)
    if ref is not None:
        if ref.series:
            _sub(ms_id, "collection", ref.series)
        for part in ("fond", "opis", "delo", "folios", "file"):
            value = getattr(ref, part)
            if value:
                _sub(ms_id, "idno", value, type=part)
        if flat(ref.text):
            alt = _sub(ms_id, "altIdentifier", type="verbatim")
            _sub(alt, "idno", ref.text, type="reference")
    if len(ms_id) == 0:
        _sub(ms_id, "msName", digital_archive(record) or record.title or record.id)
    if record.classification or record.document_number or record.original_language:
        contents = _sub(ms_desc, "msContents")
        if record.original_language:
            _sub(contents, "textLang", language_name(record.original_language),
                 mainLang=_lang(record.original_language))
        item = _sub(contents, "msItem")
        if record.document_number:
            _sub(item, "idno", record.document_number, type="document-number")
        if record.classification:
            _sub(item, "note", record.classification, type="classification")
        if len(item) == 0:
            contents.remove(item)

    profile = _sub(header, "profileDesc")
    date = record.date
    if data.place_written and not date:
        _sub(_sub(profile, "creation"), "placeName", data.place_written)
    if date:
        creation = _sub(profile, "creation")
        if data.place_written:
            _sub(creation, "placeName", data.place_written).tail = ", "
        attrs: dict[str, str | None] = {}
        if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", date):
            attrs["when"] = date
        elif is_valid(date) and bounds(date):
            lo, hi = bounds(date) or (None, None)
            attrs["notBefore"] = lo.isoformat() if lo else None
            attrs["notAfter"] = hi.isoformat() if hi else None
            if date.endswith(("?", "%")):
                attrs["cert"] = "low"
        _sub(creation, "date", date, **attrs)
    languages: list[tuple[str | None, str | None]] = [
        (_lang(record.original_language), None), (_lang(text_language(record)), None)]
    languages += [(code, "romanized") for code in sorted(foreign)]
    lang_usage = _sub(profile, "langUsage")
    seen: set[str] = set()
    for code, extra in languages:
        if not code or code in seen:
            continue
        seen.add(code)
        name = language_name(code.split("-")[0]) or code
        _sub(lang_usage, "language", f"{name} ({extra})" if extra else name, ident=code)
    if len(lang_usage) == 0:
        profile.remove(lang_usage)
    recipients = data.names("recipient")
    if recipients:
        corresp = _sub(_sub(profile, "correspDesc"), "correspAction", type="received")
        for parts in recipients:
            _name(corresp, parts)
    if data.tags:
        keywords = _sub(_sub(profile, "textClass"), "keywords")
        for s in data.tags:
            _sub(keywords, "term", s)
    if has_hand:
        hand_notes = _sub(profile, "handNotes")
        _sub(hand_notes, "handNote",
             "Handwritten additions on the original, hand not identified.", scope="minor"
             ).set(f"{{{XML_NS}}}id", xml_id(record.id, HAND))
    if len(profile) == 0:
        header.remove(profile)
