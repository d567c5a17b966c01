"""PDF documents: the text layer where there is one, OCR for scanned pages.

Each page is read on its own with pypdfium2: a page whose text layer has fewer
than MIN_TEXT_CHARS visible characters is taken for a scan, rendered at ocr.DPI
and OCR'd. The pages' provenance and confidence go to ``record.extra["pages"]``
and the PDF itself to ``record.extra["attachments"]`` (docs/scans.md).

A PDF is read in a process of capped memory (readers/isolated.py); before any page
is parsed its page count is checked, and before a page is rendered the images it
embeds (readers/limits.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from opis.model import Record
from opis.model.record import Flag
from opis.readers.base import LimitError, ReadError
from opis.readers.limits import Limits
from opis.readers.ocr import DPI, Ocr, PageText, clean_text, load_sidecar, scan_record

SUFFIXES = (".pdf",)
FORMAT = "pdf"
MIN_TEXT_CHARS = 20  # fewer visible characters in a page's text layer: treat it as a scan
MAX_PIXELS = 80_000_000  # a rendered page larger than this is rendered at a lower resolution
ISOLATED = True  # read in the capped worker process (readers/isolated.py)
UNREADABLE = "unreadable"  # PageText.source of a page PDFium cannot load: no text, flagged

_VISIBLE = re.compile(r"\S")


def sniff(path: Path, head: bytes) -> bool:
    """Files named .pdf (a damaged one then gets a clear error), or starting %PDF-."""
    return path.suffix.lower() in SUFFIXES or head[:1024].lstrip().startswith(b"%PDF-")


def read(path: Path, limits: Limits | None = None,
         on_page: Callable[[int], object] | None = None) -> Iterator[Record]:
    """Yield the one Record a PDF holds; raise ReadError for encrypted or damaged files
    and LimitError for one over a limit. ``on_page(n)`` is told each page before it
    is parsed, so a reader process that dies can be reported with its page."""
    path = Path(path)
    limits = limits or Limits()
    sidecar = load_sidecar(path, limits)
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
        count = len(document)
        if count == 0:
            raise ReadError(path, "damaged PDF: it has no pages")
        if count > limits.pages:
            raise limits.error(path, "pages", f"PDF has {count:,} pages")
        title = (document.get_metadata_dict().get("Title") or "").strip() or None
        pages: list[PageText] = []
        unreadable: list[Flag] = []
        for index in range(count):
            n = index + 1
            if on_page is not None:
                on_page(n)
            try:
                text = _text_layer(path, document, index)
                if len(_VISIBLE.findall(text)) >= MIN_TEXT_CHARS:
                    pages.append(PageText(text, "text-layer"))
                    continue
                image = _render(path, document, index, limits)
            except LimitError:
                raise
            except ReadError as e:  # one damaged page costs only itself: flagged, read on
                pages.append(PageText("", UNREADABLE))
                unreadable.append(Flag("text", f"{e.message}; the record is stored "
                                               "without it"))
                continue
            if ocr is None:
                ocr = Ocr(path, sidecar.language, str(explicit) if explicit else None)
            pages.append(ocr.page(image, n))
        if len(unreadable) == count:
            raise ReadError(path, f"damaged PDF: none of its {count:,} pages can be read "
                                  f"({unreadable[0].message.split(';')[0]})")
        record = scan_record(
            path, pages, sidecar, source_format=FORMAT, default_title=title, ocr=ocr
        )
        record.flags += unreadable
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


def _render(path: Path, document: pdfium.PdfDocument, index: int,
            limits: Limits) -> Image.Image:
    """The page as a grayscale image at ocr.DPI (less for huge pages), for OCR; refused
    when it embeds an image over the pixel limit (decoding it is what would cost)."""
    try:
        page = document[index]
        try:
            for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
                w, h = image.get_px_size()
                if w * h > limits.image_pixels:
                    raise limits.error(path, "image_megapixels",
                                       f"page {index + 1} embeds an image of {w:,} × {h:,} "
                                       f"pixels ({w * h / 1e6:,.1f} megapixels)")
            width, height = page.get_size()
            scale = DPI / 72
            most = min(MAX_PIXELS, limits.image_pixels)
            if width * height * scale * scale > most:
                scale = math.sqrt(most / (width * height))
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
