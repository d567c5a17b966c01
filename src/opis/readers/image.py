"""Scanned pages as image files (PNG, JPEG, TIFF; a multi-page TIFF is one document).

Every page is OCR'd with Tesseract (see ocr.py and docs/scans.md); metadata comes
from an optional sidecar, ``scan.png.yml`` beside ``scan.png``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageSequence

from opis.model import Record
from opis.readers.base import ReadError
from opis.readers.ocr import Ocr, PageText, load_sidecar, scan_record

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
FORMAT = "image"
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")


def sniff(path: Path, head: bytes) -> bool:
    """Image files by name (a broken one then gets a clear error) or by signature."""
    return path.suffix.lower() in SUFFIXES or head.startswith(_MAGIC)


def read(path: Path) -> Iterator[Record]:
    """Yield the one Record a scan holds; raise ReadError when the image cannot be read."""
    path = Path(path)
    sidecar = load_sidecar(path)
    explicit = sidecar.meta.get("ocr_language")
    ocr = Ocr(path, sidecar.language, str(explicit) if explicit else None)
    pages: list[PageText] = []
    try:
        with warnings.catch_warnings():
            # Pillow warns, then refuses, past ~90 megapixels: a bomb, not a page.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                for n, frame in enumerate(ImageSequence.Iterator(image), start=1):
                    frame.load()
                    page = frame.copy()
                    page.info.setdefault("dpi", image.info.get("dpi"))
                    pages.append(ocr.page(page, n))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ReadError(path, f"image too large to be a page: {e}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ReadError(path, f"cannot read the image: {e}") from None
    yield scan_record(path, pages, sidecar, source_format=FORMAT, ocr=ocr)
