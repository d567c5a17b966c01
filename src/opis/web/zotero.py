"""What reference managers read from a page: unAPI, Highwire and Dublin Core meta
tags, and schema.org JSON-LD — all made from the one pivot (``citation_data``), so the
routes agree on every value.

Zotero's connector tries its generic translators in order: unAPI, COinS, then
Embedded Metadata. Every document page links an unAPI server and names its record
with ``<abbr class="unapi-id">``; search result pages name every hit, so several
records can be saved at once. The meta tags are the fallback for tools that read them
(Zotero's Embedded Metadata translator hands the DC tags to its RDF translator, which
takes the first ``DC.type`` as the Manuscript Type and the first ``DC.coverage`` as the
Loc. in Archive, so those come first and right). COinS is deliberately absent.
docs/zotero.md lists the tags.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from lxml import etree
from markupsafe import Markup

from opis.model import Record
from opis.services import reading
from opis.services.archive import Archive
from opis.services.attachments import is_hash
from opis.services.export import FORMATS, ExportContext, citation_data, export
from opis.services.export.mapping import display_name, iso_date, sort_name
from opis.web.deps import absolute_url, archive_of
from opis.web.render import document_url

# unAPI format names -> our export extensions. Zotero's unAPI translator does not take
# the first format a server lists: it walks its own preference list (rdf_zotero,
# rdf_bibliontology, mods, marc, unimarc, ris, refer, bibtex, rdf_dc) and takes the
# first of those offered. We offer none above RIS, so Zotero reads RIS, which carries
# every field; bibtex would be its next choice; csl-json, oai_dc and tei are for others.
UNAPI_FORMATS = {"ris": "ris", "bibtex": "bib", "csl-json": "csl.json", "oai_dc": "dc.xml",
                 "tei": "tei.xml"}
ZOTERO_TYPES = {"manuscript": "manuscript", "chapter": "bookSection"}


def attachment(record: Record, request: Request | None = None) -> tuple[str, str] | None:
    """The stored file a reference manager should attach: the translation's PDF, else
    any PDF, else the translation's text file; (absolute URL, media type)."""
    entries = record.extra.get("attachments") if isinstance(record.extra, dict) else None
    files = [f for f in entries if isinstance(f, dict)] if isinstance(entries, list) else []

    def rank(f: dict) -> int:
        pdf = f.get("media_type") == "application/pdf"
        text = str(f.get("media_type") or "").startswith("text/")
        return (0 if pdf and f.get("role") == "translation" else 1 if pdf
                else 2 if text and f.get("role") == "translation" else 9)

    usable = sorted((f for f in files if is_hash(f.get("sha256")) and rank(f) < 9), key=rank)
    if not usable:
        return None
    path = f"/attachments/{usable[0]['sha256']}"
    return (absolute_url(request, path) if request is not None else path,
            str(usable[0].get("media_type")))


def export_context(request: Request, record: Record,
                   archive: Archive | None = None) -> ExportContext:
    """The opis address of a record, today's date as its access date, its attachment and
    the labels of the entities it mentions: what only the server knows."""
    labels = (reading.entity_labels(archive, {m.entity_id for m in record.mentions})
              if archive is not None and record.mentions else {})
    found = attachment(record, request)
    return ExportContext(
        url=absolute_url(request, document_url(record.id)),
        accessed=datetime.now(UTC).date(),
        attachment_url=found[0] if found else None,
        attachment_type=found[1] if found else "application/pdf",
        labels=labels,
    )


def page_metadata(request: Request, record: Record) -> tuple[list[tuple[str, str]], Markup]:
    """A document page's meta tags and JSON-LD, from the same context unAPI uses."""
    context = export_context(request, record, archive_of(request))
    url = context.url or ""
    return meta_tags(record, url, context), json_ld(record, url, context)


def meta_tags(record: Record, url: str,
              context: ExportContext | None = None) -> list[tuple[str, str]]:
    """(name, content) pairs for <meta> tags, Highwire then Dublin Core then Zotero's."""
    ctx = context or ExportContext(url=url)
    data = citation_data(record, ctx)
    issued = (data.get("issued") or {}).get("date-parts")
    day = iso_date(list(issued[0])) if issued else None
    authors = [sort_name(p) for p in data.names("author")]
    tags: list[tuple[str, str]] = [("citation_title", data.get("title") or record.title)]
    tags += [("citation_author", a) for a in authors]
    if day:
        tags.append(("citation_date", day))
    if data.get("language"):
        tags.append(("citation_language", data.get("language")))
    tags += [("citation_keywords", t) for t in data.tags]
    if data.kind == "chapter":
        tags += [("citation_inbook_title", data.get("container-title") or ""),
                 ("citation_volume", data.get("volume") or ""),
                 ("citation_publisher", data.get("publisher") or "")]
        pages = (data.get("page") or "").replace("—", "–").split("–")
        if pages[0]:
            tags.append(("citation_firstpage", pages[0]))
        if len(pages) > 1:
            tags.append(("citation_lastpage", pages[1]))
        tags += [("citation_editor", sort_name(p)) for p in data.names("editor")]
    if data.attachment:
        kind = "pdf" if data.attachment[1] == "application/pdf" else "fulltext_html"
        tags.append((f"citation_{kind}_url", data.attachment[0]))
    tags.append(("citation_public_url", data.get("URL") or url))
    # DC: the first DC.type is Zotero's Manuscript Type, so the document's own type
    # ("Report", "Telegram") comes first, never the item type.
    tags.append(("DC.title", data.get("title") or record.title))
    if record.document_type:
        tags.append(("DC.type", record.document_type))
    tags += [("DC.creator", a) for a in authors]
    tags += [("DC.contributor", f"{display_name(p)} (translator)")
             for p in data.names("translator")]
    if day:
        tags.append(("DC.date", day))
    if data.get("abstract"):
        tags.append(("DC.description", data.get("abstract")))
    if data.get("language"):
        tags.append(("DC.language", data.get("language")))
    if data.get("license"):
        tags.append(("DC.rights", data.get("license")))
    tags += [("DC.subject", t) for t in data.tags]
    tags.append(("DC.identifier", data.get("URL") or url))
    if data.get("publisher-place"):
        tags.append(("DC.publisher.place", data.get("publisher-place")))
    if data.get("archive_location"):
        tags.append(("DC.coverage", data.get("archive_location")))
    tags.append(("z.itemType", ZOTERO_TYPES[data.kind]))
    if data.get("archive"):
        tags.append(("z.archive", data.get("archive")))
    if data.get("archive_location"):
        tags.append(("z.archiveLocation", data.get("archive_location")))
    tags += [("z.translator", sort_name(p)) for p in data.names("translator")]
    if data.extra_text:
        tags.append(("z.extra", data.extra_text))
    return [(name, content) for name, content in tags if content]


def json_ld(record: Record, url: str, context: ExportContext | None = None) -> Markup:
    """schema.org ArchiveComponent (a document in an edition: a Chapter) for search
    engines; Zotero ignores it. Serialized with every "<" escaped, so no field can
    close the script element."""
    ctx = context or ExportContext(url=url)
    data = citation_data(record, ctx)

    def agent(parts: dict[str, str]) -> dict[str, str]:
        kind = "Organization" if "literal" in parts else "Person"
        return {"@type": kind, "name": display_name(parts)}

    out: dict = {
        "@context": "https://schema.org",
        "@type": "Chapter" if data.kind == "chapter" else "ArchiveComponent",
        "name": data.get("title") or record.title, "url": data.get("URL") or url,
        "identifier": record.id,
    }
    if data.source_url and data.source_url != out["url"]:
        out["sameAs"] = data.source_url
    fields = {
        "dateCreated": data.date,
        "description": data.get("abstract"),
        "inLanguage": data.get("language"),
        "genre": record.document_type,
        "locationCreated": data.place_written,
        "copyrightNotice": data.get("license"),
        "keywords": data.tags or None,
        "creator": [agent(p) for p in data.names("author")] or None,
        "translator": [agent(p) for p in data.names("translator")] or None,
    }
    out.update({k: v for k, v in fields.items() if v})
    if data.original_language and data.original_language != data.get("language"):
        out["translationOfWork"] = {"@type": "CreativeWork",
                                    "inLanguage": data.original_language}
    if data.get("archive"):
        out["holdingArchive"] = {"@type": "ArchiveOrganization", "name": data.get("archive")}
    if data.get("archive_location"):
        out["itemLocation"] = data.get("archive_location")
    if data.kind == "chapter":
        book = {"@type": "Book", "name": data.get("container-title"),
                "volumeNumber": data.get("volume"),
                "editor": [agent(p) for p in data.names("editor")] or None,
                "publisher": ({"@type": "Organization", "name": data.get("publisher")}
                              if data.get("publisher") else None)}
        out["isPartOf"] = {k: v for k, v in book.items() if v}
        if data.get("number"):
            out["position"] = data.get("number")
        if data.get("page"):
            out["pagination"] = data.get("page")
    if data.attachment:
        out["associatedMedia"] = {"@type": "MediaObject", "contentUrl": data.attachment[0],
                                  "encodingFormat": data.attachment[1]}
    text = json.dumps(out, ensure_ascii=False).replace("<", "\\u003c")
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
    def unapi(request: Request,
              id: str | None = Query(None, max_length=200),  # noqa: A002 - unAPI's name
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
        context = export_context(request, record, archive)
        media_type, body = export(record, UNAPI_FORMATS[format], context)
        return Response(body, media_type=media_type + "; charset=utf-8")
