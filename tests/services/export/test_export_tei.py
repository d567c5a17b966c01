"""TEI export: valid TEI P5 (tei_all), each annotation kind its element, brackets gone."""

from __future__ import annotations

import copy
import re

import pytest
from lxml import etree

from export_fixtures import (
    OPIS,
    REFERENCE_TEXT,
    annotate,
    bare_record,
    context_for,
    corporate_record,
    frus_telegram_record,
    mention,
    multiscript_record,
    nehru_record,
    reference_record,
)
from opis.model.record import Annotation, Record
from opis.services.export.tei import TEI_NS, XML_NS, dropped_spans, to_tei
from paths import DATA

NS = {"t": TEI_NS}
REFS = {"person/kim-il-sung": "https://opis.example/entity/person/kim-il-sung"}


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


def assert_valid(doc: etree._Element, schema: etree.RelaxNG) -> None:
    assert schema.validate(doc), schema.error_log.filter_from_errors()


def body_text(doc: etree._Element) -> str:
    """Reading text of the body: <reg> of each choice, <lb/> as a space, whitespace folded."""
    body = copy.deepcopy(doc.find(".//t:body", NS))
    for orig in body.xpath(".//t:choice/t:orig", namespaces=NS):
        orig.getparent().remove(orig)
    for lb in body.iter(f"{{{TEI_NS}}}lb"):
        lb.tail = " " + (lb.tail or "")
    for block in body.xpath(".//t:p | .//t:head", namespaces=NS):
        block.tail = " " + (block.tail or "")
    return " ".join("".join(body.itertext()).split())


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def reference_doc() -> etree._Element:
    return parse(to_tei(reference_record(), REFS))


def test_every_export_validates(tei_schema: etree.RelaxNG) -> None:
    for record in (reference_record(), nehru_record(), bare_record()):
        assert_valid(parse(to_tei(record, REFS)), tei_schema)
        assert_valid(parse(to_tei(record)), tei_schema)


def test_frus_corporate_and_scripts_headers(tei_schema: etree.RelaxNG) -> None:
    record = frus_telegram_record()
    d = parse(to_tei(record, context=context_for(record)))
    assert_valid(d, tei_schema)
    assert d.findtext(".//t:titleStmt/t:title", namespaces=NS) == (
        "Telegram From the Embassy in Korea to the Department of State")
    assert d.findtext(".//t:titleStmt/t:author/t:orgName", namespaces=NS) == "Embassy in Korea"
    assert d.findtext(".//t:publicationStmt/t:idno[@type='opis-URL']", namespaces=NS) == (
        f"{OPIS}/document/frus1955-57v23p2-d3")
    bibl = d.find(".//t:sourceDesc/t:bibl[@type='edition']", NS)
    assert bibl.findtext("t:title", namespaces=NS) == (
        "Foreign Relations of the United States, 1955–1957, Korea")
    assert [e.text for e in bibl.findall("t:editor", NS)] == ["Louis J. Smith",
                                                               "Glenn W. LaFantasie"]
    assert {e.get("unit"): e.text for e in bibl.findall("t:biblScope", NS)} == {
        "volume": "XXIII, pt. 2", "document": "3", "page": "4–5"}
    assert (bibl.findtext("t:publisher", namespaces=NS), bibl.findtext("t:pubPlace", namespaces=NS),
            bibl.findtext("t:date", namespaces=NS)) == ("Government Printing Office",
                                                        "Washington", "1993")
    ms = d.find(".//t:msIdentifier", NS)
    assert ms.findtext("t:repository", namespaces=NS) == (
        "National Archives, RG 59, General Records of the Department of State")
    assert ms.findtext("t:collection", namespaces=NS) == "Central Files"
    assert ms.findtext("t:idno[@type='file']", namespaces=NS) == "611.95B/1–855"
    assert d.findtext(".//t:creation/t:placeName", namespaces=NS) == "Seoul"
    assert d.findtext(".//t:correspAction[@type='received']/t:orgName", namespaces=NS) == (
        "Department of State")
    corporate = parse(to_tei(corporate_record()))
    assert_valid(corporate, tei_schema)
    assert [e.text for e in corporate.findall(".//t:titleStmt/t:author/t:orgName", NS)] == [
        "Japan-China Cultural Exchange Association", "Embassy in Korea"]
    person = corporate.find(".//t:titleStmt/t:author/t:persName", NS)
    assert (person.findtext("t:surname", namespaces=NS),
            person.findtext("t:forename", namespaces=NS)) == ("Nakajima", "Kenzō")
    multi = parse(to_tei(multiscript_record()))
    assert_valid(multi, tei_schema)
    assert multi.findtext(".//t:titleStmt/t:title", namespaces=NS) == multiscript_record().title
    assert multi.findtext(".//t:titleStmt/t:author/t:orgName", namespaces=NS) == (
        "Министерство иностранных дел СССР")


def test_header(reference_doc: etree._Element) -> None:
    d = reference_doc
    assert d.findtext(".//t:titleStmt/t:title", namespaces=NS) == reference_record().title
    resp = {s.findtext("t:resp", namespaces=NS): s.findtext("t:name", namespaces=NS)
            for s in d.findall(".//t:titleStmt/t:respStmt", NS)}
    assert resp == {"Translated by": "Gary Goldberg", "Obtained by": "James F. Person"}
    assert d.findtext(".//t:publicationStmt/t:publisher", namespaces=NS) == "opis"
    assert d.findtext(".//t:publicationStmt/t:idno[@type='opis']", namespaces=NS) == "114165"
    assert "welcomes reuse" in d.findtext(".//t:availability/t:p", namespaces=NS)
    ms = d.find(".//t:sourceDesc/t:msDesc/t:msIdentifier", NS)
    assert ms.findtext("t:repository", namespaces=NS) == "RGANI"
    assert {i.get("type"): i.text for i in ms.findall("t:idno", NS)} == {
        "fond": "5", "opis": "28", "delo": "486", "folios": "1-17"}
    assert ms.findtext("t:altIdentifier/t:idno", namespaces=NS) == (
        "RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17")
    langs = [e.get("ident") for e in d.findall(".//t:langUsage/t:language", NS)]
    assert langs[:2] == ["ru", "en"]
    date = d.find(".//t:profileDesc/t:creation/t:date", NS)
    assert date.get("when") == "1956-12-28"
    assert d.find(f".//t:handNotes/t:handNote[@{{{XML_NS}}}id='rec.114165.h1']", NS) is not None
    assert d.findtext(".//t:msItem/t:note[@type='classification']", namespaces=NS) == "SECRET"


def test_each_annotation_kind_becomes_its_element(reference_doc: etree._Element) -> None:
    b = reference_doc.find(".//t:body", NS)

    def one(path: str) -> etree._Element:
        found = b.xpath(path, namespaces=NS)
        assert len(found) == 1, path
        return found[0]

    stamp = one(".//t:stamp")
    assert stamp.xpath("string(.)").startswith("CPSU CC")
    assert one(".//t:stamp/t:add[@hand='#rec.114165.h1']").text == "DPRK"
    gap = one(".//t:stamp/t:gap[@reason='overtyped']")
    assert gap.findtext("t:desc", namespaces=NS) == "2-3 words typed over"
    assert (gap.get("atLeast"), gap.get("atMost"), gap.get("unit")) == ("2", "3", "word")
    assert one(".//t:div/t:head").xpath("string(.)") == "THE SITUATION IN THE KWP AND THE DPRK"
    assert one(".//t:add[@place='top left']").text == "To Cde. Ponomarev. Suslov"
    bottom = one(".//t:add[@place='bottom']")
    illegible = one(".//t:add[@place='bottom']/t:gap[@reason='illegible']")
    assert illegible.findtext("t:desc", namespaces=NS) == "1-2 words illegible"
    assert bottom.xpath("string(.)").startswith("To the archives.")
    choices = b.findall(".//t:choice", NS)
    assert [(c.xpath("string(t:reg)", namespaces=NS), c.findtext("t:orig", namespaces=NS))
            for c in choices] == [("Kim Du-bong", "Kim Tu Bong"),
                                  ("Choe Chang-ik", "Choe Chang Ik")]
    assert one(".//t:supplied[@reason='omitted-in-original']").text == "his"
    assert one(".//t:foreign[@xml:lang='ru-Latn']").text == "ocherednoe"
    term = one(".//t:term")
    gloss = one(".//t:gloss")
    assert (term.text, gloss.text) == ("MPS", "machine rental")
    assert gloss.get("target") == "#" + term.get(f"{{{XML_NS}}}id") == "#rec.114165.term1"
    assert one(".//t:sic").text == "86%"


def test_mentions_become_names_with_refs(reference_doc: etree._Element) -> None:
    b = reference_doc.find(".//t:body", NS)
    kims = b.findall(".//t:persName[@key='person/kim-il-sung']", NS)
    assert [k.text for k in kims] == ["Kim Il Sung", "Kim Il Sung"]
    assert {k.get("ref") for k in kims} == {REFS["person/kim-il-sung"]}
    kdb = b.find(".//t:choice/t:reg/t:persName", NS)
    assert kdb.get("key") == "person/kim-du-bong" and kdb.get("ref") is None
    org = b.find(".//t:head/t:orgName", NS)
    assert (org.text, org.get("key")) == ("KWP", "organization/korean-workers-party")


def test_brackets_vanish_and_text_is_otherwise_preserved(reference_doc: etree._Element) -> None:
    expected = REFERENCE_TEXT
    for old, new in [
        ("Stamp: [CPSU CC", "Stamp: CPSU CC"), ("CPSU CC]", "CPSU CC"),
        ("[handwritten: DPRK]", "DPRK"), ("[2-3 words typed over]", "2-3 words typed over"),
        ("[1-2 words illegible]", "1-2 words illegible"),
        ("Kim Du-bong [Kim Tu Bong]", "Kim Du-bong"),
        ("Choe Chang-ik [Choe Chang Ik]", "Choe Chang-ik"),
        ("[his]", "his"), ("[ocherednoe]", "ocherednoe"),
        ("MPS [machine rental]", "MPS machine rental"), ("86% [SIC]", "86%"),
    ]:
        assert old in expected
        expected = expected.replace(old, new)
    text = body_text(reference_doc)
    assert text == squash(expected)
    assert "[SIC]" not in text
    # The only brackets left are the translator's note around two handwritten notes,
    # which hold more than the annotated words.
    assert text.count("[") == 1 and text.count("]") == 1


def test_paragraphs_and_line_breaks(reference_doc: etree._Element) -> None:
    paras = reference_doc.findall(".//t:body//t:p", NS)
    assert len(paras) == 6
    assert len(reference_doc.findall(".//t:stamp/t:lb", NS)) == 5


def test_overlapping_spans_drop_the_later_one(tei_schema: etree.RelaxNG) -> None:
    text = "Kim Il Sung met Peng Dehuai in Pyongyang."
    record = Record(id="x", title="Overlap", text=text, annotations=[
        annotate(text, "handwritten", "Kim Il Sung met"),
        annotate(text, "stamp", "met Peng Dehuai"),
    ], mentions=[mention(text, "person/peng-dehuai", "Peng Dehuai"),
                 mention(text, "place/pyongyang", "Pyongyang")])
    doc = parse(to_tei(record))
    assert_valid(doc, tei_schema)
    assert body_text(doc) == text
    assert dropped_spans(record) == [("stamp", 12, 27)]
    assert doc.find(".//t:persName", NS).get("key") == "person/peng-dehuai"
    assert doc.find(".//t:placeName", NS).text == "Pyongyang"


def test_span_across_a_paragraph_break_is_dropped(tei_schema: etree.RelaxNG) -> None:
    text = "First paragraph ends.\n\nSecond begins."
    start, end = text.index("ends"), text.index("Second") + len("Second")
    record = Record(id="x", title="Break", text=text, annotations=[
        Annotation("stamp", start, end, text[start:end])])
    doc = parse(to_tei(record))
    assert_valid(doc, tei_schema)
    assert len(doc.findall(".//t:p", NS)) == 2
    assert dropped_spans(record) == [("stamp", start, end)]


def test_uncertain_dates_and_unknown_kinds(tei_schema: etree.RelaxNG) -> None:
    for edtf, attrs in [("1957-01-X9", {"notBefore": "1957-01-09", "notAfter": "1957-01-31"}),
                        ("1956?", {"notBefore": "1956-01-01", "notAfter": "1956-12-31",
                                   "cert": "low"}),
                        ("1956-12", {"when": "1956-12"})]:
        record = bare_record()
        record.date = edtf
        record.text = "Some words [here]."
        record.annotations = [Annotation("mystery", 12, 16, "here")]
        record.mentions = [mention(record.text, "event/plenum", "words")]
        doc = parse(to_tei(record))
        assert_valid(doc, tei_schema)
        date = doc.find(".//t:creation/t:date", NS)
        assert {k: date.get(k) for k in attrs} == attrs
        assert date.text == edtf
        assert body_text(doc) == "Some words [here]."
        assert doc.find(".//t:name[@type='event']", NS).text == "words"


def test_markup_and_control_characters_are_escaped(tei_schema: etree.RelaxNG) -> None:
    record = reference_record()
    payload = "<script>alert(1)</script>"
    record.title = payload
    record.summary = f"{payload} & \x07bell"
    record.text = f"Body {payload} & more."
    record.annotations = [Annotation("supplied", 5, 13, "<script>")]
    record.mentions = []
    xml = to_tei(record, {"person/x": 'https://x.example/?a=1&b="2"'})
    assert "<script>" not in xml
    doc = parse(xml)
    assert_valid(doc, tei_schema)
    assert doc.findtext(".//t:titleStmt/t:title", namespaces=NS) == payload
    assert doc.findtext(".//t:notesStmt/t:note", namespaces=NS) == f"{payload} & bell"
    assert doc.findtext(".//t:supplied", namespaces=NS) == "<script>"
    assert body_text(doc) == f"Body {payload} & more."


def test_missing_fields_do_not_crash(tei_schema: etree.RelaxNG) -> None:
    record = Record(id="empty", title="")
    doc = parse(to_tei(record))
    assert_valid(doc, tei_schema)
    assert doc.findtext(".//t:titleStmt/t:title", namespaces=NS) == "empty"


def test_odd_values_still_validate(tei_schema: etree.RelaxNG) -> None:
    text = "He said [ocherednoe] near [2-3 words illegible] Kim Il Sung."
    record = Record(id="odd", title="Odd", text=text, original_language="Russian",
                    date="sometime in 1956", annotations=[
                        annotate(text, "original_term", "ocherednoe", note="Russian word"),
                        annotate(text, "illegible", "2-3 words illegible"),
                    ], mentions=[mention(text, "person/x", "words"),
                                 mention(text, "person/kim-il-sung", "Kim Il Sung")])
    doc = parse(to_tei(record, {"person/kim-il-sung": "https://x.example/a b"}))
    assert_valid(doc, tei_schema)
    assert doc.find(".//t:foreign", NS).get(f"{{{XML_NS}}}lang") == "und-Latn"
    assert doc.find(".//t:persName", NS).get("ref") == "https://x.example/a%20b"
    assert ("mention:person/x", text.index("words"), text.index("words") + 5) in (
        dropped_spans(record))
    assert doc.findtext(".//t:creation/t:date", namespaces=NS) == "sometime in 1956"


def test_reference_document_as_read_from_the_archive_export(tei_schema: etree.RelaxNG) -> None:
    """The whole reference document, through the text-export reader, into valid TEI."""
    from collections import Counter

    from opis.readers.wcda_text import parse as parse_wcda

    path = DATA / "wcda_114165.txt"
    record = parse_wcda(path, path.read_bytes())
    doc = parse(to_tei(record))
    assert_valid(doc, tei_schema)
    assert dropped_spans(record) == []
    kinds = Counter(a.kind for a in record.annotations)
    body = doc.find(".//t:body", NS)

    def count(path: str) -> int:
        return len(body.xpath(path, namespaces=NS))

    assert count(".//t:stamp") == kinds["stamp"]
    assert count(".//t:add[@hand='#rec.114165.h1']") == kinds["handwritten"]
    assert count(".//t:gap[@reason='illegible']") == kinds["illegible"]
    assert count(".//t:gap[@reason='overtyped']") == kinds["typed_over"]
    assert count(".//t:sic") == kinds["sic"]
    assert count(".//t:supplied") == kinds["supplied"]
    assert count(".//t:foreign") == kinds["original_term"]
    assert count(".//t:gloss") == kinds["gloss"]
    assert count(".//t:choice | .//t:orig[not(parent::t:choice)]") == kinds["romanization"]
    assert count(".//t:div/t:head") == kinds["head"]
    assert "[SIC]" not in body_text(doc)


def test_xml_ids_are_unique_across_records() -> None:
    """Each xml:id carries its record's id as an NCName, escaped so that no two ids meet
    ("a.b" and "a_2E_b" differ): a page of records never repeats one."""
    from opis.services.export.tei import xml_id

    ids = ["114165", "frus1955-57v23p2d3", "a.b", "a_2E_b", "a/b", "a<b", "Пак-1", "김일성",
           "毛泽东", "Đặng", "“x”", "-", "_"]
    made = [xml_id(i, "h1") for i in ids]
    assert len(set(made)) == len(ids)
    ncname = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
    assert all(ncname.fullmatch(m) for m in made), made
    assert xml_id("114165", "h1") == "rec.114165.h1"
