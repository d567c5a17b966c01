"""Dublin Core (oai_dc) export: each field in its DC element, user text escaped."""

from __future__ import annotations

from lxml import etree

from export_fixtures import (
    ATTACHMENT,
    OPIS,
    bare_record,
    context_for,
    corporate_record,
    frus_telegram_record,
    multiscript_record,
    nehru_record,
    reference_record,
)
from opis.services.export.dublin_core import DC_NS, OAI_DC_NS, to_dublin_core


def values(xml: str, name: str) -> list[str]:
    root = etree.fromstring(xml.encode("utf-8"))
    assert root.tag == f"{{{OAI_DC_NS}}}dc"
    return [e.text for e in root.findall(f"{{{DC_NS}}}{name}")]


def test_reference_record_fields() -> None:
    record = reference_record()
    xml = to_dublin_core(record, context_for(record))
    assert values(xml, "title") == [record.title]
    assert values(xml, "creator") == ["Ivanov, V."]
    assert values(xml, "contributor") == ["James F. Person (obtained by)",
                                          "Gary Goldberg (translator)"]
    assert values(xml, "date") == ["1956-12-28"]
    assert values(xml, "description")[0] == record.summary
    assert "Classification: SECRET" in values(xml, "description")
    assert values(xml, "language") == ["en", "ru"]
    assert values(xml, "identifier") == [f"{OPIS}/document/114165", record.source_url,
                                         "opis:114165"]
    assert values(xml, "source") == ["RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17"]
    assert values(xml, "rights") == [record.rights]
    assert values(xml, "subject")[:2] == record.subjects
    assert "Kim Il Sung" in values(xml, "subject")
    assert values(xml, "type") == ["Text", "translation (English)"]
    assert values(xml, "coverage") == record.places
    assert values(xml, "publisher") == ["Wilson Center Digital Archive"]
    assert values(xml, "relation") == [ATTACHMENT]


def test_frus_and_corporate_records() -> None:
    record = frus_telegram_record()
    xml = to_dublin_core(record, context_for(record, attachment=False))
    assert values(xml, "title") == ["Telegram From the Embassy in Korea to the Department of State"]
    assert values(xml, "creator") == ["Embassy in Korea"]
    assert values(xml, "contributor") == ["Louis J. Smith (editor)", "Glenn W. LaFantasie (editor)",
                                          "Department of State (recipient)"]
    assert values(xml, "date") == ["1955-01-08"]  # the document's date, not the volume's
    assert values(xml, "type")[:2] == ["Text", "Telegram"]
    assert values(xml, "publisher") == ["Government Printing Office"]
    assert values(xml, "source") == [
        "National Archives, RG 59, General Records of the Department of State, Central Files, "
        "611.95B/1–855",
        "Foreign Relations of the United States, 1955–1957, Korea, vol. XXIII, pt. 2, doc. 3, "
        "pp. 4–5"]
    assert values(xml, "coverage") == ["Seoul"]
    corporate = to_dublin_core(corporate_record())
    assert values(corporate, "creator") == [
        "Nakajima, Kenzō", "Japan-China Cultural Exchange Association", "Embassy in Korea"]
    assert "Korea, Embassy in" not in corporate
    multi = to_dublin_core(multiscript_record())
    assert values(multi, "creator") == ["Иванов, Василий Иванович",
                                        "Министерство иностранных дел СССР"]
    assert values(multi, "title") == [multiscript_record().title]


def test_other_records() -> None:
    nehru = to_dublin_core(nehru_record())
    assert values(nehru, "source") == [
        "Nehru Memorial Museum and Library, File No. JNSG, vol. 21-1"]
    assert values(nehru, "language") == ["en"]
    assert values(nehru, "contributor") == []
    bare = to_dublin_core(bare_record())
    assert values(bare, "title") == ["Untitled note"]
    assert values(bare, "identifier") == ["opis:bare-1"]


def test_markup_in_fields_is_escaped() -> None:
    record = reference_record()
    record.title = "<script>alert(1)</script> & co"
    record.summary = "bell\x07 and ]]> end"
    xml = to_dublin_core(record)
    assert "<script>" not in xml
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in xml
    assert values(xml, "title") == [record.title]
    assert values(xml, "description")[0] == "bell and ]]> end"
