"""Simple Dublin Core in the oai_dc container: what OAI-PMH harvesters must be served.

Each record field goes to the DC element a harvester (a library catalogue, BASE,
Europeana) looks in; the archival reference goes to ``dc:source`` because it names
the original this translation was made from.
"""

from __future__ import annotations

from lxml import etree

from opis.model.record import Record
from opis.services.export.csl_json import (
    digital_archive,
    flat,
    language_name,
    text_language,
)
from opis.services.export.tei import xml_safe

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"

ROLE_LABELS = {
    "obtained_by": "obtained by",
    "translator": "translator",
    "contributor": "contributor",
    "transcriber": "transcriber",
    "editor": "editor",
    "annotator": "annotator",
}


def dublin_core_element(record: Record) -> etree._Element:
    """The ``oai_dc:dc`` element, for embedding in an OAI-PMH response."""
    root = etree.Element(
        f"{{{OAI_DC_NS}}}dc",
        nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS},
    )
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC_SCHEMA}")

    def add(name: str, value: str | None) -> None:
        value = xml_safe(flat(value))
        if value:
            etree.SubElement(root, f"{{{DC_NS}}}{name}").text = value

    add("title", record.title)
    for author in record.authors:
        add("creator", author.name)
    for c in record.contributors:
        label = ROLE_LABELS.get(c.role, c.role.replace("_", " "))
        add("contributor", f"{flat(c.name)} ({label})" if c.name else None)
    for subject in record.subjects:
        add("subject", subject)
    add("description", record.summary)
    if record.classification:
        add("description", f"Classification: {record.classification}")
    add("publisher", digital_archive(record))
    add("date", record.date)
    add("type", "Text")
    add("type", "manuscript")
    if record.contents is not None and record.contents.kind:
        lang = language_name(record.contents.language)
        add("type", f"{record.contents.kind} ({lang})" if lang else record.contents.kind)
    add("identifier", record.source_url)
    add("identifier", f"opis:{record.id}")
    if record.archival_reference is not None:
        add("source", record.archival_reference.text)
    if record.citation:
        add("source", record.citation)
    seen: set[str] = set()
    for lang in (text_language(record), record.original_language):
        if lang and lang not in seen:
            seen.add(lang)
            add("language", lang)
    for place in record.places:
        add("coverage", place)
    add("rights", record.rights)
    return root


def to_dublin_core(record: Record) -> str:
    """The oai_dc document as UTF-8 XML text."""
    return etree.tostring(
        dublin_core_element(record), xml_declaration=True, encoding="UTF-8", pretty_print=True
    ).decode("utf-8")
