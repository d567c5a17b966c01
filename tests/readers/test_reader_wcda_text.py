"""The text-export reader, field by field, on the reference document and variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from opis.readers.base import ReadError
from opis.readers.wcda_text import parse
from paths import DATA

REFERENCE = DATA / "wcda_114165.txt"

RAW = REFERENCE.read_text(encoding="utf-8")


def read(text: str, tmp_path: Path, name: str = "doc.txt", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return parse(path, path.read_bytes())


@pytest.fixture(scope="module")
def ref():
    return parse(REFERENCE, REFERENCE.read_bytes())


def test_identity_and_dates(ref):
    assert ref.id == "114165"
    assert ref.title == ("Communist Party of the Soviet Union Central Committee Report on the "
                         "Situation in the Korean Workers' Party and the Democratic People's "
                         "Republic of Korea")
    assert ref.date == "1956-12-28"
    assert ref.source_url == "https://wilson-center-digital-archive.dvincitest.com/document/114165"
    assert ref.citation.startswith('"Communist Party of the Soviet Union Central Committee Report')
    assert ref.citation.endswith("Obtained by James F. Person and translated by Gary Goldberg")
    assert "<https" not in ref.citation


def test_summary_credits_language(ref):
    assert ref.summary.startswith("The Soviet embassy in Pyongyang provides a description")
    assert ref.summary.endswith("North Korean development strategies.")
    assert ref.donors == ["Leon Levy Foundation"]
    assert ref.original_language == "ru"
    assert ref.contents.kind == "translation" and ref.contents.language == "en"


def test_archival_reference(ref):
    a = ref.archival_reference
    assert a.text == "RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17"
    assert (a.repository, a.fond, a.opis, a.delo, a.folios) == ("RGANI", "5", "28", "486", "1-17")


def test_contributors(ref):
    assert [(c.name, c.role) for c in ref.contributors] == [
        ("James F. Person", "obtained_by"), ("Gary Goldberg", "translator")]


def test_document_apparatus(ref):
    assert ref.classification == "SECRET"
    assert ref.document_number == "1578/d?v?"
    assert [(a.name, a.title) for a in ref.authors] == [("V. Ivanov", "USSR Ambassador to the DPRK")]
    assert ref.distribution == [
        "Bulganin", "Zhukov", "Voroshilov", "Brezhnev", "Kaganovich", "Mukhitdinov",
        "Kirichenko", "Furtseva", "Malenkov", "Shvernik", "Mikoyan", "Aristov", "Molotov",
        "Belyayev", "Pervukhin", "Pospelov", "Saburov", "Suslov", "Khrushchev"]
    assert ref.distribution_instruction == "Distributed at the instruction of Cde. D. T. SHEPILOV"
    assert ref.authentication == "Authenticated: [illegible signature]"
    assert ref.endorsements == ["Nº 2/III 2.I.57", "23 copies sent am/ts/mch Nº 3 2.I.1957"]


def test_stamp_and_handwriting(ref):
    (stamp,) = ref.stamps
    assert stamp.date == "1957-01-X9"
    assert stamp.number == "00215"
    assert stamp.text.startswith("CPSU CC\n00215") and stamp.text.endswith("CPSU CC")
    notes = [(h.text, h.position) for h in ref.handwritten_notes]
    assert ("DPRK", "in the stamp") in notes
    assert ("To Cde. Ponomarev. Suslov", "the top left of the first page") in notes
    assert any(t.startswith("To the archives.") and t.endswith("Shcherbakov. 15.II.57")
               and p == "the bottom of the first page" for t, p in notes)


def test_text_spans_stamp_to_last_endorsement(ref):
    assert ref.text.startswith("Stamp:\n[CPSU CC")
    assert ref.text.endswith("Nº 3 2.I.1957")
    assert "**" not in ref.text and "####" not in ref.text and "[[" not in ref.text
    assert "  \n" not in ref.text


def kinds(record, kind):
    return [(a.text, a.note) for a in record.annotations if a.kind == kind]


def test_annotation_kinds(ref):
    assert kinds(ref, "stamp")[0][0].startswith("CPSU CC")
    assert ("DPRK", None) in kinds(ref, "handwritten")
    assert [t for t, _ in kinds(ref, "illegible")] == ["1-2 words illegible", "illegible signature"]
    assert kinds(ref, "typed_over") == [("2-3 words typed over", None)]
    assert kinds(ref, "sic") == [("86%", "SIC")]
    supplied = [t for t, _ in kinds(ref, "supplied")]
    for words in ("his", "to show", "square", "was held, both of", "pay", "Hong Seonghwan"):
        assert words in supplied
    assert kinds(ref, "original_term") == [("ocherednoe", "ru"), ("legkogo tipa", "ru")]
    assert kinds(ref, "gloss") == [("machine rental", "MPS")]
    romanization = kinds(ref, "romanization")
    assert ("Kim Tu Bong", "Kim Du-bong") in romanization
    assert ("Pak Kum Chol", "Pak Geum-cheol") in romanization
    assert ("Chongjin", "Cheongjin") in romanization
    assert ("Kim II", "Kim Il") in romanization
    assert ("So Hwi", "Seo Hwi") in romanization
    assert kinds(ref, "head") == [("THE SITUATION IN THE KWP AND THE DPRK", None)]


def test_every_annotation_slices_its_words(ref):
    assert ref.annotations
    for a in ref.annotations:
        assert ref.text[a.start:a.end] == a.text
        assert a.text == a.text.strip()
    assert ref.check_annotations() == []


# -- variants -------------------------------------------------------------------------------

def test_crlf_and_missing_fields(tmp_path):
    text = RAW.replace("**Credits:**\n\nThis document was made possible with support from "
                       "Leon Levy Foundation\n\n", "")
    text = text.replace("**Summary:**", "**Summary:**\n")
    r = read(text.replace("\n", "\r\n"), tmp_path)
    assert r.donors == [] and r.id == "114165"
    assert "\r" not in r.text
    assert r.check_annotations() == []
    assert r.archival_reference.delo == "486"


def test_reordered_and_empty_sections(tmp_path):
    text = """**Contents:**

Translation - English

This was [his] view: the MPS [machine rental] and Pak Il-u [Pak Il U]; 12% [sic] more.

**Original Language:**

Russian

**Summary:**

**Citation:**

"A Report", March 1957, Wilson Center Digital Archive, RGANI, f. 5, op. 49, d. 131, ll. 193-194. Translated by Gary Goldberg
<https://example.org/document/42>
"""
    r = read("**March 1957**\n**A Report**\n\n" + text, tmp_path)
    assert r.id == "42" and r.title == "A Report" and r.date == "1957-03"
    assert r.summary is None
    a = r.archival_reference
    assert (a.repository, a.fond, a.opis, a.delo, a.folios) == ("RGANI", "5", "49", "131", "193-194")
    assert [(c.name, c.role) for c in r.contributors] == [("Gary Goldberg", "translator")]
    assert kinds(r, "supplied") == [("his", None)]
    assert kinds(r, "gloss") == [("machine rental", "MPS")]
    assert kinds(r, "romanization") == [("Pak Il U", "Pak Il-u")]
    assert kinds(r, "sic") == [("12%", "sic")]
    assert r.check_annotations() == []


def test_archive_without_hierarchy_and_stray_markdown(tmp_path):
    text = """

**1 April 1949**
**Letter, *Nehru* to Premiers**

**Citation:**

"Letter", April 1, 1949, Wilson Center Digital Archive, Nehru Memorial Museum and Library, File No. JNSG, vol. 21-1. Contributed by Jane Doe.

**Original Language:**

English

**Contents:**

Transcription - English

## Secret

My dear premier, the **situation** in Peking is [[handwritten: grave]] and [crossed out: bad] — see \\[1\\].
"""
    r = read(text, tmp_path, name="nehru letter.txt")
    assert r.id == "nehru-letter"
    assert r.title == "Letter, Nehru to Premiers"
    assert r.date == "1949-04-01"
    assert r.archival_reference.text == ("Nehru Memorial Museum and Library, File No. JNSG, vol. 21-1")
    assert r.archival_reference.fond is None and r.archival_reference.repository is None
    assert r.contents.kind == "transcription"
    assert kinds(r, "handwritten") == [("grave", None)]
    assert kinds(r, "deleted") == [("crossed out: bad", None)]
    assert kinds(r, "head") == [("Secret", None)]
    assert "**" not in r.text and "[1]" in r.text
    assert r.check_annotations() == []


def test_non_ascii_and_nested_brackets(tmp_path):
    text = ("**May 5, 1960**\n**Zapis' besedy**\n\n**Contents:**\n\n"
            "Stamp:\n[Совершенно секретно\n[[handwritten: Тов. Громыко]]]\n\n"
            "Ch'oe Ch'ang-ik [Choe Chang Ik] met Kim Il-sŏng [Kim Il Sung] [1 word illegible].\n")
    r = read(text, tmp_path)
    assert kinds(r, "handwritten") == [("Тов. Громыко", None)]
    assert kinds(r, "stamp")[0][0].startswith("Совершенно секретно")
    assert ("Choe Chang Ik", "Ch'oe Ch'ang-ik") in kinds(r, "romanization")
    assert ("Kim Il Sung", "Kim Il-sŏng") in kinds(r, "romanization")
    assert kinds(r, "illegible") == [("1 word illegible", None)]
    assert r.check_annotations() == []


# -- errors name the file and the line ------------------------------------------------------

def test_bad_date_names_line(tmp_path):
    with pytest.raises(ReadError) as e:
        read("\n**Octember 45, 1956**\n**Title**\n\n**Contents:**\n\nText\n", tmp_path)
    assert e.value.line == 2 and "doc.txt" in str(e.value) and "date" in e.value.message


def test_binary_and_encoding_errors(tmp_path):
    with pytest.raises(ReadError, match="binary"):
        p = tmp_path / "x.txt"
        p.write_bytes(b"**Title**\n\x00\x01\x02")
        parse(p, p.read_bytes())
    # One Cyrillic word is enough when only one reading of it is Russian...
    record = read("**Title**\n\n**Summary:**\n\nсводка\n", tmp_path, encoding="cp1251")
    assert record.summary == "сводка"
    # ...one accented byte is not: refused, with its line.
    with pytest.raises(ReadError) as e:
        read("**Title**\n\n**Summary:**\n\nCafé\n", tmp_path, encoding="latin-1")
    assert e.value.line == 5 and "UTF-8" in e.value.message


def test_missing_title_and_empty(tmp_path):
    with pytest.raises(ReadError, match="no title"):
        read("**Contents:**\n\nJust text\n", tmp_path)
    with pytest.raises(ReadError, match="empty"):
        read("  \n\n", tmp_path)


def test_duplicate_section_and_unknown_language(tmp_path):
    with pytest.raises(ReadError) as e:
        read("**T**\n\n**Summary:**\n\na\n\n**Summary:**\n\nb\n", tmp_path)
    assert e.value.line == 7
    with pytest.raises(ReadError, match="unknown language"):
        read("**T**\n\n**Original Language:**\n\nKlingon\n", tmp_path)
