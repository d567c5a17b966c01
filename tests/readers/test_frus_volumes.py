"""Six complete FRUS volumes, ingested whole as a historian would load them.

The volumes (tests/data/frus-real, see its README) are the Office of the Historian's
older encodings, warts and all: empty heads, source notes before the head, dates only
in the printed text. Every document must be stored (none lost, each flagged one listed),
each volume's persons list too, and what a historian cites must be right: no glued
titles, references that name the holding archive and carry no classification.
"""

from __future__ import annotations

import lzma
import re
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

import paths
from opis.model import Record
from opis.model.headings import split_heading
from opis.readers import tei_frus
from opis.readers.frus_sources import CLASSIFICATIONS
from opis.search.base import SearchRequest, notes_text
from opis.services.archive import Archive
from opis.store.collections import glossary as glossary_rows
from opis.store.tables import EntityRow

FRUS = paths.DATA / "frus-real"
VOLUMES = sorted(p.name.removesuffix(".xml.xz") for p in FRUS.glob("*.xml.xz"))
NS = {"t": "http://www.tei-c.org/ns/1.0"}
# Two words run together where the TEI breaks a line: "No. 160.Mr. Frelinghuysen".
GLUED = re.compile(r"(?:\d|[a-z]{2})[.,;:][A-Z][a-z]")


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("frus-real")
    out = {}
    for name in VOLUMES:
        path = folder / f"{name}.xml"
        path.write_bytes(lzma.decompress((FRUS / f"{name}.xml.xz").read_bytes()))
        out[name] = path
    return out


def _expected(path: Path) -> tuple[int, dict[str, str], list[str]]:
    tree = etree.parse(str(path))
    documents = int(tree.xpath("count(//t:div[@type='document'])", namespaces=NS))
    persons = {p.get("{http://www.w3.org/XML/1998/namespace}id"): " ".join(
        "".join(p.itertext()).split()) for p in tree.xpath(
        "//t:list[@type='names']//t:persName[@xml:id]", namespaces=NS)}
    terms = tree.xpath("//t:list[@type='terms']//t:term/@xml:id", namespaces=NS)
    return documents, persons, list(terms)


def test_all_six_volumes_are_here() -> None:
    assert VOLUMES == ["frus1884", "frus1897", "frus1901", "frus1918Russiav03",
                       "frus1919Parisv01", "frus1936v03"]


@pytest.mark.parametrize("name", VOLUMES)
def test_a_volume_ingests_whole(name: str, volumes: dict[str, Path], tmp_path: Path) -> None:
    path = volumes[name]
    documents, persons, terms = _expected(path)
    archive = Archive(str(tmp_path / "frus.db"))
    try:
        report = archive.ingest([path], workers=1)
        assert report.failed == []
        assert report.stored == len(report.added) == documents
        collection = archive.collection(name)
        assert collection is not None and len(collection.record_ids) == documents
        # Each person of the volume's list is an entity: its own, with the xml:id kept as
        # identifier, or one the archive knew already under the same name.
        with archive.db.sessions() as session:  # those named in no document too
            rows = session.execute(select(EntityRow.identifiers, EntityRow.preferred)
                                   .where(EntityRow.kind == "person")).all()
        found = {(ident or {}).get("frus") for ident, _ in rows}
        names = {preferred for _, preferred in rows}
        for xml_id, heading in persons.items():
            assert xml_id in found or split_heading(heading)[0] in names, (xml_id, heading)
        with archive.db.sessions() as session:
            assert len(glossary_rows(session, name)) == len(terms)
        records = [archive.get(rid) for rid in collection.record_ids]
        flagged = {r.id for r in records if r and r.flags}
        # Every flagged record is listed in the report, with its file and line.
        assert {f.record for f in report.flagged} == flagged
        assert all(f.path == str(path) and f.line for f in report.flagged)
        for record in records:
            assert record is not None
            _check_citable(record)
    finally:
        archive.close()


def _check_citable(record: Record) -> None:
    assert record.title and not GLUED.search(record.title), record.title
    assert not GLUED.search(record.extra.get("dateline", "")), record.extra["dateline"]
    assert record.repository_title != "Foreign Relations of the United States"
    assert record.edition and record.edition.series == "Foreign Relations of the United States"
    assert record.edition.volume_id and record.edition.document_number == record.document_number
    ref = record.archival_reference
    if ref is None:
        return
    assert not ref.text.startswith("["), ref.text  # "[Extract.]" is no place
    assert not any(re.search(rf"\b{c}\b", ref.text) for c in CLASSIFICATIONS), ref.text
    assert "Drafted" not in ref.text


def test_what_the_volumes_hold_is_read_right(volumes: dict[str, Path]) -> None:
    """Counts over all six, read without a database: what the report promises."""
    flags: Counter[str] = Counter()
    repositories: Counter[str | None] = Counter()
    records = 0
    for path in volumes.values():
        for item in tei_frus.read(path):
            assert isinstance(item, Record | tei_frus.Collection | tei_frus.Entity)
            if isinstance(item, Record):
                records += 1
                flags.update(f.field for f in item.flags)
                if item.archival_reference:
                    repositories[item.archival_reference.repository] += 1
    assert records == 3101
    assert flags["title"] == 3  # the empty <head/>s of 1897 (2) and 1901 (1)
    assert flags["id"] == 0
    nara = "National Archives, RG 59, General Records of the Department of State"
    assert repositories[nara] > 1100
    assert repositories[None] == 0  # even "Hunter Miller Papers": the Library of Congress


def test_an_empty_head_takes_the_first_sentence(volumes: dict[str, Path]) -> None:
    d238 = next(r for r in tei_frus.read(volumes["frus1897"])
                if isinstance(r, Record) and r.id == "frus1897-d238")
    assert d238.title == "To the Senate of the United States:"
    assert d238.flags[0].field == "title" and d238.flags[0].line == 24035


def test_old_source_notes_are_kinds_not_places(volumes: dict[str, Path]) -> None:
    by_id = {r.id: r for r in tei_frus.read(volumes["frus1936v03"]) if isinstance(r, Record)}
    d1 = by_id["frus1936v03-d1"]
    assert d1.source_note == "711.90H/41"
    assert d1.archival_reference is not None
    assert d1.archival_reference.repository == ("National Archives, RG 59, General Records "
                                                "of the Department of State")
    assert (d1.archival_reference.series, d1.archival_reference.file) == (
        "Central Files", "711.90H/41")
    assert d1.edition and d1.edition.years == "1936" and d1.edition.volume == "III"
    assert d1.edition.volume_title == "The Near East and Africa"
    telegrams = [r for r in by_id.values() if (r.source_note or "").endswith(": Telegram")]
    assert telegrams and all(r.document_type == "Telegram" for r in telegrams)
    old = [r for r in tei_frus.read(volumes["frus1884"]) if isinstance(r, Record)]
    bracketed = [r for r in old if (r.source_note or "").startswith("[")]
    assert len([r for r in bracketed if r.source_note == "[Extract.]"]) == 72
    assert bracketed and all(r.archival_reference is None for r in bracketed)
    assert {r.document_type for r in bracketed if r.source_note == "[Telegram.]"} == {"Telegram"}


def _footnote_only_word(records: list[Record]) -> tuple[str, str]:
    """A word that occurs in one record's footnotes and nowhere else in the volume (its
    first six letters neither, so no stemmer can find it in a text)."""
    elsewhere = " ".join(f"{r.title} {r.text} {r.extra.get('dateline', '')}"
                         for r in records).lower()
    counts: Counter[str] = Counter()
    owner: dict[str, str] = {}
    for r in records:
        for word in set(re.findall(r"[a-z]{9,}", notes_text(r).lower())):
            counts[word] += 1
            owner[word] = r.id
    for word in sorted(counts):
        if counts[word] == 1 and word[:6] not in elsewhere:
            return word, owner[word]
    raise AssertionError("no footnote-only word")


def test_a_footnote_only_word_finds_its_document(db_url: str, volumes: dict[str, Path]
                                                 ) -> None:
    path = volumes["frus1918Russiav03"]
    records = [r for r in tei_frus.read(path) if isinstance(r, Record)]
    word, record_id = _footnote_only_word(records)
    archive = Archive(db_url)
    try:
        assert archive.ingest([path], workers=1).failed == []
        timed = archive.search(SearchRequest(query=word))
        assert [h.id for h in timed.result.hits] == [record_id]
        snippet = timed.result.hits[0].snippet
        assert snippet.startswith('<em class="snippet-where">in a footnote:</em>')
        assert "<mark>" in snippet and word in snippet.lower()
    finally:
        archive.close()
