"""Simple Dublin Core in the oai_dc container: what OAI-PMH harvesters must be served.

Made from the pivot (``mapping.citation_data``), like every other format: a harvester
(a library catalogue, BASE, Europeana) reads the same creators, date, languages and
subjects as Zotero does. The original's archive and reference go to ``dc:source``
because they name what the text was made from; a documentary edition's volume too.
"""

from __future__ import annotations

from lxml import etree

from opis.model.record import Record
from opis.services.export.mapping import (
    ExportContext,
    citation_data,
    display_name,
    flat,
    language_name,
    sort_name,
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


def volume_citation(record: Record, context: ExportContext | None = None) -> str | None:
    """"Foreign Relations of the United States, 1955–1957, Korea, vol. XXIII, pt. 2,
    doc. 3, pp. 4–5": the volume a document is printed in, as one line."""
    data = citation_data(record, context)
    if data.kind != "chapter":
        return None
    parts = [data.get("container-title")]
    if data.get("volume"):
        parts.append(f"vol. {data.get('volume')}")
    if data.get("number"):
        parts.append(f"doc. {data.get('number')}")
    if data.get("page"):
        parts.append(f"pp. {data.get('page')}")
    return ", ".join(p for p in parts if p)


def dublin_core_element(record: Record, context: ExportContext | None = None
                        ) -> etree._Element:
    """The ``oai_dc:dc`` element, for embedding in an OAI-PMH response."""
    data = citation_data(record, context)
    root = etree.Element(
        f"{{{OAI_DC_NS}}}dc",
        nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS},
    )
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC_SCHEMA}")

    def add(name: str, value: str | None) -> None:
        value = xml_safe(flat(value))
        if value:
            etree.SubElement(root, f"{{{DC_NS}}}{name}").text = value

    add("title", data.get("title"))
    for parts in data.names("author"):
        add("creator", sort_name(parts))
    for c in record.contributors:
        label = ROLE_LABELS.get(c.role, c.role.replace("_", " "))
        add("contributor", f"{flat(c.name)} ({label})" if c.name else None)
    for parts in data.names("editor"):
        if all(flat(c.name) != display_name(parts) for c in record.contributors):
            add("contributor", f"{display_name(parts)} (editor)")
    for parts in data.names("recipient"):
        add("contributor", f"{display_name(parts)} (recipient)")
    for tag in data.tags:
        add("subject", tag)
    add("description", data.get("abstract"))
    for key, value in data.extra:
        if key in ("Classification", "Credit", "Support"):
            add("description", f"{key}: {value}")
    add("publisher", data.get("publisher") or data.get("source"))
    add("date", data.date)
    add("type", "Text")
    add("type", record.document_type)
    if record.contents is not None and record.contents.kind:
        lang = language_name(record.contents.language)
        add("type", f"{record.contents.kind} ({lang})" if lang else record.contents.kind)
    add("identifier", data.get("URL"))
    if data.source_url != data.get("URL"):
        add("identifier", data.source_url)
    add("identifier", f"opis:{record.id}")
    archive = ", ".join(p for p in (data.get("archive"), data.get("archive_location")) if p)
    add("source", archive or (record.archival_reference.text
                              if record.archival_reference else None))
    add("source", volume_citation(record, context))
    seen: set[str] = set()
    for lang in (data.get("language"), data.original_language):
        if lang and lang not in seen:
            seen.add(lang)
            add("language", lang)
    add("coverage", data.place_written)
    for place in record.places:
        if place != data.place_written:
            add("coverage", place)
    if data.attachment:
        add("relation", data.attachment[0])
    add("rights", data.get("license"))
    return root


def to_dublin_core(record: Record, context: ExportContext | None = None) -> str:
    """The oai_dc document as UTF-8 XML text."""
    return etree.tostring(
        dublin_core_element(record, context), xml_declaration=True, encoding="UTF-8",
        pretty_print=True,
    ).decode("utf-8")
