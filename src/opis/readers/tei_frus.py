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
from pathlib import Path
from typing import Any

from lxml import etree

from opis.model.entity import Collection, Entity, GlossaryEntry
from opis.model.headings import split_heading
from opis.readers import frus_sources
from opis.readers.base import Item, ReadError, Rejected
from opis.readers.tei_document import VolumeState
from opis.readers.tei_text import (
    TEI_NS,
    XML_ID,
    drop,
    inline_text,
    local_name,
    norm,
    tag,
    text_after,
)

SUFFIXES = (".xml", ".tei")
_PROLOG_BYTES = 65536


def sniff(path: Path, head: bytes) -> bool:
    """An .xml/.tei file whose first bytes show a TEI root or the TEI namespace."""
    if path.suffix.lower() not in SUFFIXES:
        return False
    return b"<TEI" in head or TEI_NS.encode() in head


def read(path: Path, frus_rules: tuple[frus_sources.Rule, ...] | None = None,
         ) -> Iterator[Item | Rejected]:
    """Yield glossary entries, persons, records and the volume, in file order; a document
    that cannot be stored is yielded as ``Rejected`` in its place and the volume reads on."""
    path = Path(path)
    _check_prolog(path)
    yield from _Volume(path, frus_rules).items()


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


class _Volume(VolumeState):
    """The streaming pass over one volume: header, lists, section heads, documents."""

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
                local = local_name(el)
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
                    drop(el)
                elif local == "list" and self._list_type(el) is not None:
                    hold -= 1
                    drop(el)
                elif local == "div" and el.get("type") == "document":
                    yield self._read_document(el)
                    hold -= 1
                    drop(el)
                elif hold == 0:
                    if local == "pb" and el.get("n"):
                        self.page = el.get("n")
                    elif local == "head":
                        self._remember_section_head(el)
                    drop(el)
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
        if local_name(el) != "TEI":
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
        if el is None or local_name(el) != "list":
            return None
        kind = el.get("type")
        return kind if kind in ("terms", "names") else None

    # -- header, lists and section heads ---------------------------------------------

    def _read_header(self, header: Any) -> None:
        def first(xpath: str) -> str | None:
            found = header.xpath(xpath, namespaces={"t": TEI_NS})
            return (norm("".join(found[0].itertext())) or None) if found else None

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
                (norm("".join(e.itertext())), e.get("role"))
                for e in header.iterfind(f".//{tag('titleStmt')}/{tag('editor')}")
            ],
        }

    def _read_list_item(self, item: Any) -> Iterator[Item | Rejected]:
        kind = self._list_type(item.getparent())
        wanted = tag("term") if kind == "terms" else tag("persName")
        for target in item.iter(wanted):
            xml_id = target.get(XML_ID)
            if not xml_id:
                continue
            volume = self._volume(target.sourceline)
            name = norm("".join(target.itertext()))
            rest = norm(text_after(item, target)).lstrip(",;: ").strip() or None
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
        if parent is not None and local_name(parent) == "div" and parent.get(XML_ID):
            self.section_heads[parent.get(XML_ID)] = inline_text(head)

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
