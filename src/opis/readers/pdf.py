"""PDF documents: the text layer where there is one, OCR for scanned pages.

Each page is read on its own with pypdfium2: a page whose text layer has fewer
than MIN_TEXT_CHARS visible characters is taken for a scan, rendered at ocr.DPI
and OCR'd. The pages' provenance and confidence go to ``record.extra["pages"]``
and the PDF itself to ``record.extra["attachments"]`` (docs/scans.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from opis.model import Record
from opis.readers.base import ReadError
from opis.readers.ocr import DPI, Ocr, PageText, clean_text, load_sidecar, scan_record

SUFFIXES = (".pdf",)
FORMAT = "pdf"
MIN_TEXT_CHARS = 20  # fewer visible characters in a page's text layer: treat it as a scan
MAX_PIXELS = 80_000_000  # a rendered page larger than this is rendered at a lower resolution

_VISIBLE = re.compile(r"\S")


def sniff(path: Path, head: bytes) -> bool:
    """Files named .pdf (a damaged one then gets a clear error), or starting %PDF-."""
    return path.suffix.lower() in SUFFIXES or head[:1024].lstrip().startswith(b"%PDF-")


def read(path: Path) -> Iterator[Record]:
    """Yield the one Record a PDF holds; raise ReadError for encrypted or damaged files."""
    path = Path(path)
    sidecar = load_sidecar(path)
    explicit = sidecar.meta.get("ocr_language")
    ocr: Ocr | None = None
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise ReadError(
                path, "encrypted PDF: it needs a password to open; save an unprotected copy"
            ) from None
        raise ReadError(path, f"damaged or not a PDF: {_reason(e)}") from None
    except OSError as e:
        raise ReadError(path, f"cannot open: {e.strerror or e}") from None
    try:
        if len(document) == 0:
            raise ReadError(path, "damaged PDF: it has no pages")
        title = (document.get_metadata_dict().get("Title") or "").strip() or None
        pages: list[PageText] = []
        for index in range(len(document)):
            n = index + 1
            text = _text_layer(path, document, index)
            if len(_VISIBLE.findall(text)) >= MIN_TEXT_CHARS:
                pages.append(PageText(text, "text-layer"))
                continue
            if ocr is None:
                ocr = Ocr(path, sidecar.language, str(explicit) if explicit else None)
            pages.append(ocr.page(_render(path, document, index), n))
        record = scan_record(
            path, pages, sidecar, source_format=FORMAT, default_title=title, ocr=ocr
        )
    finally:
        document.close()
    yield record


def _text_layer(path: Path, document: pdfium.PdfDocument, index: int) -> str:
    try:
        page = document[index]
        try:
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_range()
            finally:
                textpage.close()
        finally:
            page.close()
    except pdfium.PdfiumError as e:
        reason = _reason(e)
        raise ReadError(path, f"damaged PDF: page {index + 1} cannot be read: {reason}") from None
    return clean_text(text.replace("\x02", "-"))  # PDFium marks a line-end hyphen as \x02


def _render(path: Path, document: pdfium.PdfDocument, index: int) -> Image.Image:
    """The page as a grayscale image at ocr.DPI (less for huge pages), for OCR."""
    try:
        page = document[index]
        try:
            width, height = page.get_size()
            scale = DPI / 72
            if width * height * scale * scale > MAX_PIXELS:
                scale = math.sqrt(MAX_PIXELS / (width * height))
            bitmap = page.render(scale=scale, grayscale=True)
            image = bitmap.to_pil()
            image.info["dpi"] = (round(scale * 72), round(scale * 72))
            return image
        finally:
            page.close()
    except pdfium.PdfiumError as e:
        reason = f"page {index + 1} cannot be rendered: {_reason(e)}"
        raise ReadError(path, f"damaged PDF: {reason}") from None


def _reason(error: Exception) -> str:
    """PDFium's words without the wrapper ("Failed to load document (PDFium: ...)")."""
    m = re.search(r"PDFium: ([^)]+)", str(error))
    return m.group(1) if m else str(error)
