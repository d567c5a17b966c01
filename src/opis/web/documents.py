"""The document page: metadata, citation, the text with its apparatus, and the ways on."""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import fields
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException

from opis.model import Record
from opis.model.languages import language_name
from opis.model.record import RECORD_ID
from opis.model.urls import is_local_path, is_web_address
from opis.services import reading
from opis.services.archive import Archive
from opis.services.attachments import is_hash
from opis.services.export import FORMATS, ExportContext, cite, export
from opis.services.records import record_json
from opis.web import render
from opis.web.deps import absolute_url, archive_of, page
from opis.web.zotero import export_context

CITATION_STYLES = (("chicago", "Chicago"), ("apa", "APA"), ("mla", "MLA"))
VERSION_LABELS = {"translation": "Translation", "transcription": "Transcription",
                  "original": "Original", "text": "Text"}
# extra[...] keys holding another version of the text, by the tab they fill.
EXTRA_TEXTS = (("original", "original_text"), ("transcription", "transcription_text"),
               ("translation", "translation_text"))
_NOT_CITED = {"text", "annotations", "mentions", "source_path"}


class _CitationCache:
    """Formatted citations per record version: citeproc costs tens of milliseconds a
    style, and citations only change when the record's metadata does."""

    def __init__(self, size: int = 512):
        self.size = size
        self.items: OrderedDict[tuple, dict[str, str]] = OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def key(record: Record) -> tuple:
        return tuple(repr(getattr(record, f.name)) for f in fields(record)
                     if f.name not in _NOT_CITED) + (record.id,)

    def get(self, record: Record, url: str | None = None,
            labels: dict[str, str] | None = None) -> dict[str, str]:
        """The record's citations and RIS/BibTeX, citing its opis address ``url``, with
        the tags unAPI gives (``labels`` of the entities it mentions)."""
        key = self.key(record) + (url, tuple(sorted((labels or {}).items())))
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        context = ExportContext(url=url, labels=labels or {})
        made = {style: cite(record, style, "html", context) for style, _ in CITATION_STYLES}
        made["ris"] = export(record, "ris", context)[1]
        made["bib"] = export(record, "bib", context)[1]
        with self.lock:
            self.items[key] = made
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return made


CITATIONS = _CitationCache()


def versions(record: Record, labels: dict[str, str]) -> list[dict]:
    """The texts a record has (the one published, plus originals or transcriptions kept
    in ``extra``) and its scans: one tab each, shown only when there is more than one."""
    main_kind = record.contents.kind if record.contents else "text"
    language = record.contents.language if record.contents and record.contents.language \
        else "en"
    out = [{"key": main_kind, "label": VERSION_LABELS.get(main_kind, main_kind.title()),
            "lang": language, "main": True, "html": render.annotated_html(record, labels)}]
    extra = record.extra if isinstance(record.extra, dict) else {}
    for kind, key in EXTRA_TEXTS:
        value = extra.get(key)
        if kind == main_kind or not isinstance(value, str) or not value.strip():
            continue
        lang = record.original_language if kind == "original" else language
        out.append({"key": kind, "label": VERSION_LABELS[kind], "lang": lang or "und",
                    "main": False, "html": Markup(escape(value))})
    scans = extra.get("scans") or extra.get("scan_urls") or []
    if isinstance(scans, str):
        scans = [scans]
    for key in ("scan_url", "pdf_url"):
        if isinstance(extra.get(key), str):
            scans.append(extra[key])
    items = []
    for n, s in enumerate(scans if isinstance(scans, list) else [], 1):
        url = s.get("url") if isinstance(s, dict) else s
        label = (s.get("label") if isinstance(s, dict) else None) or f"Page {n}"
        if is_local_path(url):
            # Only images opis serves itself are shown inline: no request leaves the site.
            items.append({"url": url, "label": label,
                          "local": not url.lower().split("?")[0].endswith(".pdf")})
        elif is_web_address(url):  # elsewhere: a link the reader chooses to follow
            items.append({"url": url.strip(), "label": label, "local": False})
    if items:
        out.append({"key": "scan", "label": "Scan", "lang": None, "main": False,
                    "scans": items})
    return out


ROLE_NAMES = {"scan": "Scan", "original": "Original file", "translation": "Translation file"}


def attachment_links(record: Record) -> list[dict]:
    """The record's stored files, as links to /attachments/<sha256>: only entries whose
    hash has the right shape (an edited ``extra`` can hold anything)."""
    entries = record.extra.get("attachments") if isinstance(record.extra, dict) else None
    out = []
    for f in entries if isinstance(entries, list) else []:
        if isinstance(f, dict) and is_hash(f.get("sha256")):
            size = f.get("bytes")
            out.append({"label": ROLE_NAMES.get(str(f.get("role")), "File"),
                        "href": f"/attachments/{f['sha256']}",
                        "name": f.get("name") or f["sha256"][:12],
                        "media_type": f.get("media_type"),
                        "kb": round(size / 1024, 1) if isinstance(size, int) and size else None})
    return out


def entities_in(record: Record, labels: dict[str, str]) -> dict[str, list[tuple[str, str, int]]]:
    """People, places, organizations and events the record names: (id, name, mentions)."""
    counts = Counter(m.entity_id for m in record.mentions)
    out: dict[str, list[tuple[str, str, int]]] = {}
    for eid, n in counts.items():
        kind = eid.split("/", 1)[0]
        if kind in render.ENTITY_KINDS and eid in labels:
            out.setdefault(kind, []).append((eid, labels[eid], n))
    for kind in out:
        out[kind].sort(key=lambda t: (-t[2], t[1].lower()))
    return {k: out[k] for k in render.ENTITY_KINDS if k in out}


def collection_nav(archive: Archive, record_id: str) -> list[dict]:
    """Each collection holding the record: its position and the records either side."""
    found = archive.record_collections(record_id)
    near = {s.id: s for s in reading.summaries(
        archive, [i for _, p, n in found for i in (p, n) if i])}
    return [{"collection": c, "position": c.record_ids.index(record_id) + 1
             if record_id in c.record_ids else None, "total": len(c.record_ids),
             "prev": near.get(p) if p else None, "next": near.get(n) if n else None}
            for c, p, n in found]


router = APIRouter()
# Longest first: "x.csl.json" is CSL JSON, not the JSON twin of "x.csl".
SUFFIXES = sorted(("json", *FORMATS), key=len, reverse=True)


def split_name(name: str) -> tuple[str, str]:
    """(record id, format) of a /document/ path: the format is a known extension at the
    end, so that a legacy id with a dot ("a.b", from before ids were checked) is still
    reached at /document/a.b and /document/a.b.json."""
    for ext in SUFFIXES:
        if name.endswith("." + ext) and len(name) > len(ext) + 1:
            return name[:-len(ext) - 1], ext
    return name, ""


@router.get("/document/{name}", response_class=HTMLResponse, tags=["pages"],
            summary="A document page; {id}.json is its JSON twin, {id}.ris etc. exports",
            responses={200: {"content": {"application/json": {}}}})
def document(request: Request, name: str,
             find: str = Query("", max_length=200,
                               description="words to mark and step through in the text "
                                           "(a search's result links send its query)"),
             ) -> Response:
    archive = archive_of(request)
    record_id, ext = split_name(name)
    snapshot = reading.Snapshot(archive)
    record = snapshot.get(f"record:{record_id}", lambda: archive.get(record_id))
    if record is None and ext:  # a legacy id that itself ends like a format: "a.json"
        record = snapshot.get(f"record:{name}", lambda: archive.get(name))
        if record is not None:
            record_id, ext = name, ""
    if record is None:
        stem, dot, unknown = name.rpartition(".")
        if dot and not ext and RECORD_ID.fullmatch(stem):
            raise HTTPException(
                404, f"Unknown format .{unknown}; use one of: .json, ." + ", .".join(FORMATS))
        raise HTTPException(404, f"No document with id {record_id}")
    if ext == "json":
        return JSONResponse(record_json(record))
    if ext:
        media_type, body = export(record, ext, export_context(request, record, archive))
        return Response(body, media_type=media_type + "; charset=utf-8", headers={
            "Content-Disposition": f'inline; filename="{quote(record_id, safe="")}.{ext}"'})
    article = snapshot.get(f"article:{record_id}", lambda: render_article(request, record,
                                                                           snapshot))
    units = archive.records.find_units(find) if find.strip() else []
    return page(request, "document.html", record=record, article=article, find=find,
                find_units=units, today=datetime.now(UTC).date(),
                page_url=absolute_url(request, render.document_url(record.id)))


def render_article(request: Request, record: Record, snapshot: reading.Snapshot) -> Markup:
    """The page's article (everything but the site's header and footer), rendered once
    per record version: a 40,000-character record costs a few milliseconds to render."""
    archive = archive_of(request)
    labels = reading.entity_labels(archive, {m.entity_id for m in record.mentions})
    related = reading.related(archive, record, snapshot=snapshot)
    alike = reading.reads_alike(archive, record, limit=len(related) + 3)
    template = request.app.state.templates.env.get_template("_document_article.html")
    page_url = absolute_url(request, render.document_url(record.id))
    return Markup(template.render(
        record=record, citations=CITATIONS.get(record, page_url, labels),
        citation_styles=CITATION_STYLES,
        formats=FORMATS, versions=versions(record, labels), legend=render.legend(record),
        toc=render.contents(record), notes=render.note_html(record, labels),
        describe=render.describe, related=related,
        alike={a.record.id: a for a in alike}, more_alike=[
            a for a in alike if a.record.id not in {r.record.id for r in related}][:3],
        collections=collection_nav(archive, record.id), named=entities_in(record, labels),
        entity_url=render.entity_url, kind_labels=render.KIND_LABELS,
        language_name=language_name, files=attachment_links(record),
        source_link=is_web_address(record.source_url)))


# Registered after every other route (``create_app``): a legacy id holding "/" reaches
# its page as /document/a%2Fb, which the server decodes to /document/a/b.
legacy = APIRouter()
legacy.add_api_route("/document/{name:path}", document, methods=["GET"],
                     include_in_schema=False)
