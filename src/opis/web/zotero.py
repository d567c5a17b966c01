"""What reference managers read from a page: unAPI, Highwire and Dublin Core meta
tags, and schema.org JSON-LD.

Zotero's connector tries its generic translators in order: unAPI, COinS, then
Embedded Metadata. Only unAPI serving RIS carries everything (archive, location in
the archive, tags), so every document page links an unAPI server and names its
record with ``<abbr class="unapi-id">``; search result pages name every hit, so
several records can be saved at once. The meta tags are the fallback for tools that
read them: ``DC.type`` = manuscript gives Zotero's item type, ``z.archive`` and
``z.archiveLocation`` the archive fields. COinS is deliberately absent: Zotero would
prefer it to the meta tags and lose the archive fields. docs/zotero.md lists the tags.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Query
from fastapi.responses import Response
from lxml import etree
from markupsafe import Markup

from opis.model import Record
from opis.services.archive import Archive
from opis.services.export import FORMATS, export

# unAPI format names -> our export extensions. RIS first: Zotero's unAPI translator
# takes the first format it knows, and RIS carries the archive fields.
UNAPI_FORMATS = {"ris": "ris", "bibtex": "bib", "csl-json": "csl.json", "oai_dc": "dc.xml",
                 "tei": "tei.xml"}


def archive_location(record: Record) -> str | None:
    ref = record.archival_reference
    if ref is None:
        return None
    if ref.fond:
        parts = [f"f. {ref.fond}"]
        parts += [f"{label} {value}" for label, value in
                  (("op.", ref.opis), ("d.", ref.delo), ("ll.", ref.folios)) if value]
        return ", ".join(parts)
    return ref.text


def archive_name(record: Record) -> str | None:
    ref = record.archival_reference
    return (ref.repository if ref and ref.repository else record.repository_title) or None


def meta_tags(record: Record, url: str) -> list[tuple[str, str]]:
    """(name, content) pairs for <meta> tags, Highwire then Dublin Core then Zotero's."""
    tags: list[tuple[str, str]] = [("citation_title", record.title)]
    authors = [a.name for a in record.authors]
    tags += [("citation_author", a) for a in authors]
    if record.date:
        day = record.date.replace("-", "/") if "X" not in record.date else record.date[:4]
        tags.append(("citation_date", day))
    if record.original_language:
        tags.append(("citation_language", record.original_language))
    tags += [("citation_keywords", s) for s in record.subjects]
    tags.append(("citation_public_url", url))
    tags += [("DC.title", record.title), ("DC.type", "manuscript")]
    tags += [("DC.creator", a) for a in authors]
    tags += [("DC.contributor", f"{c.name} ({c.role.replace('_', ' ')})")
             for c in record.contributors]
    if record.date:
        tags.append(("DC.date", record.date))
    if record.summary:
        tags.append(("DC.description", record.summary))
    if record.original_language:
        tags.append(("DC.language", record.original_language))
    if record.rights:
        tags.append(("DC.rights", record.rights))
    tags += [("DC.subject", s) for s in record.subjects]
    tags.append(("DC.identifier", url))
    if record.archival_reference:
        tags.append(("DC.source", record.archival_reference.text))
    if name := archive_name(record):
        tags.append(("z.archive", name))
    if location := archive_location(record):
        tags.append(("z.archiveLocation", location))
        tags.append(("DC.coverage", location))
    return tags


def json_ld(record: Record, url: str) -> Markup:
    """schema.org ArchiveComponent for search engines (Zotero ignores it). Serialized
    with every "<" escaped, so no field can close the script element."""
    data: dict = {
        "@context": "https://schema.org", "@type": "ArchiveComponent", "name": record.title,
        "url": url, "identifier": record.id,
    }
    if record.date:
        data["dateCreated"] = record.date
    if record.summary:
        data["description"] = record.summary
    if record.original_language:
        data["inLanguage"] = record.original_language
    if record.authors:
        data["creator"] = [{"@type": "Person", "name": a.name} for a in record.authors]
    translators = [c.name for c in record.contributors if c.role == "translator"]
    if translators:
        data["translator"] = [{"@type": "Person", "name": t} for t in translators]
    if name := archive_name(record):
        data["holdingArchive"] = {"@type": "ArchiveOrganization", "name": name}
    if record.archival_reference:
        data["itemLocation"] = record.archival_reference.text
    if record.subjects:
        data["about"] = record.subjects
    text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return Markup(text)


def _formats_xml(record_id: str | None) -> bytes:
    root = etree.Element("formats")
    if record_id is not None:
        root.set("id", record_id)
    for name, ext in UNAPI_FORMATS.items():
        etree.SubElement(root, "format", name=name, type=FORMATS[ext][0])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def install_unapi(app: FastAPI, archive: Archive) -> None:
    """The unAPI 1.0 server at /unapi."""

    @app.get("/unapi", response_class=Response, tags=["citations"])
    def unapi(id: str | None = Query(None, max_length=200),  # noqa: A002 - unAPI's name
              format: str | None = Query(None, max_length=40)) -> Response:  # noqa: A002
        """unAPI: no id lists formats (200); an id alone lists its formats (300); id
        and format return the record (200), 404 for an unknown id, 406 for a format."""
        if id is None:
            return Response(_formats_xml(None), media_type="application/xml")
        record = archive.get(id)
        if record is None:
            return Response(f"No document with id {id}\n", status_code=404,
                            media_type="text/plain")
        if format is None:
            return Response(_formats_xml(id), status_code=300, media_type="application/xml")
        if format not in UNAPI_FORMATS:
            return Response(f"Unknown format {format}\n", status_code=406,
                            media_type="text/plain")
        media_type, body = export(record, UNAPI_FORMATS[format])
        return Response(body, media_type=media_type + "; charset=utf-8")
