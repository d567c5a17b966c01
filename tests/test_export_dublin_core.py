"""Dublin Core (oai_dc) export: each field in its DC element, user text escaped."""

from __future__ import annotations

from lxml import etree

from export_fixtures import bare_record, nehru_record, reference_record
from opis.services.export.dublin_core import DC_NS, OAI_DC_NS, to_dublin_core


def values(xml: str, name: str) -> list[str]:
    root = etree.fromstring(xml.encode("utf-8"))
    assert root.tag == f"{{{OAI_DC_NS}}}dc"
    return [e.text for e in root.findall(f"{{{DC_NS}}}{name}")]


def test_reference_record_fields() -> None:
    record = reference_record()
    xml = to_dublin_core(record)
    assert values(xml, "title") == [record.title]
    assert values(xml, "creator") == ["V. Ivanov"]
    assert values(xml, "contributor") == ["James F. Person (obtained by)",
                                          "Gary Goldberg (translator)"]
    assert values(xml, "date") == ["1956-12-28"]
    assert values(xml, "description")[0] == record.summary
    assert values(xml, "language") == ["en", "ru"]
    assert record.source_url in values(xml, "identifier")
    assert values(xml, "source")[0] == "RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17"
    assert values(xml, "rights") == [record.rights]
    assert values(xml, "subject") == record.subjects
    assert {"Text", "manuscript"} <= set(values(xml, "type"))
    assert values(xml, "coverage") == record.places
    assert values(xml, "publisher") == ["Wilson Center Digital Archive"]


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
