"""One record from two files: a translation, and the original it was made from.

``opis ingest --original scan.pdf --translation text.txt``: the translation stays
the record (it is what most readers read and cite); the original's text, language
and page provenance ride along in ``extra`` so both can be shown side by side and
the original searched in its own language. Pure: no file is read here.
"""

from __future__ import annotations

from typing import Any

from opis.model import Record

MEDIA_TYPES = {
    ".txt": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
    ".json": "application/json", ".jsonl": "application/jsonl", ".csv": "text/csv",
    ".xml": "application/xml", ".tei": "application/tei+xml", ".pdf": "application/pdf",
}


def combine(translation: Record, original: Record) -> Record:
    """The translation record with the original's text, language, pages and files.

    ``extra["attachments"]`` lists the translation's file (role "translation": with
    sha256 and size when the translation reader recorded them, else just its path for
    the store to hash) and then the original's files (role "scan" or "original").
    """
    out = Record.from_dict(translation.to_dict())
    language = (original.contents.language if original.contents else None) or (
        original.original_language
    )
    out.extra["original_text"] = original.text
    out.extra["original_language"] = language
    out.extra["original_pages"] = list(original.extra.get("pages") or [])
    if original.extra.get("needs_review"):
        out.extra["needs_review"] = True
    if out.original_language is None and language:
        out.original_language = language

    attachments: list[dict[str, Any]] = []
    own = [dict(a, role="translation") for a in translation.extra.get("attachments") or []]
    if "original_text" in translation.extra:  # combined before: its original is replaced
        own = [dict(a) for a in translation.extra["attachments"] if a.get("role") == "translation"]
    if not own and translation.source_path:
        path = translation.source_path
        suffix = path[path.rfind(".") :].lower() if "." in path else ""
        own = [{"role": "translation", "path": path,
                "media_type": MEDIA_TYPES.get(suffix, "application/octet-stream")}]
    for attachment in [*own, *(dict(a) for a in original.extra.get("attachments") or [])]:
        key = attachment.get("sha256") or attachment.get("path")
        if all((a.get("sha256") or a.get("path")) != key for a in attachments):
            attachments.append(attachment)
    out.extra["attachments"] = attachments
    return out
