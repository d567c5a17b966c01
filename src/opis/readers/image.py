"""Scanned pages as image files (PNG, JPEG, TIFF; a multi-page TIFF is one document).

Every page is OCR'd with Tesseract (see ocr.py and docs/scans.md); metadata comes
from an optional sidecar, ``scan.png.yml`` beside ``scan.png``. A scan is read in a
process of capped memory (readers/isolated.py), and an image over the pixel limit is
refused before it is decoded (readers/limits.py).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image, ImageSequence

from opis.model import Record
from opis.readers.base import ReadError
from opis.readers.limits import Limits
from opis.readers.ocr import Ocr, PageText, load_sidecar, scan_record

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
FORMAT = "image"
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\)")
ISOLATED = True  # read in the capped worker process (readers/isolated.py)


def sniff(path: Path, head: bytes) -> bool:
    """Image files by name (a broken one then gets a clear error) or by signature."""
    return path.suffix.lower() in SUFFIXES or head.startswith(_MAGIC)


def read(path: Path, limits: Limits | None = None,
         on_page: Callable[[int], object] | None = None) -> Iterator[Record]:
    """Yield the one Record a scan holds; raise ReadError when the image cannot be read
    and LimitError when it is over a limit. ``on_page(n)`` is told each page first."""
    path = Path(path)
    limits = limits or Limits()
    sidecar = load_sidecar(path, limits)
    explicit = sidecar.meta.get("ocr_language")
    ocr: Ocr | None = None
    pages: list[PageText] = []
    # Pillow's own guard, set deliberately: it refuses (here, as an error) any image
    # over the limit when the header is read, before a pixel is decoded.
    Image.MAX_IMAGE_PIXELS = limits.image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                frames = getattr(image, "n_frames", 1)
                if frames > limits.pages:
                    raise limits.error(path, "pages", f"image has {frames:,} pages")
                for n, frame in enumerate(ImageSequence.Iterator(image), start=1):
                    if on_page is not None:
                        on_page(n)
                    width, height = frame.size  # the frame's header: nothing decoded yet
                    if width * height > limits.image_pixels:
                        raise _too_large(path, limits, width * height, n)
                    frame.load()
                    page = frame.copy()
                    page.info.setdefault("dpi", image.info.get("dpi"))
                    if ocr is None:
                        ocr = Ocr(path, sidecar.language, str(explicit) if explicit else None)
                    pages.append(ocr.page(page, n))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        m = _PILLOW_PIXELS.search(str(e))
        raise _too_large(path, limits, int(m.group(1)) if m else None, None) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ReadError(path, f"cannot read the image: {e}") from None
    yield scan_record(path, pages, sidecar, source_format=FORMAT, ocr=ocr)


def _too_large(path: Path, limits: Limits, pixels: int | None, page: int | None) -> ReadError:
    where = f"page {page} " if page else "image "
    size = f"is {pixels / 1e6:,.1f} megapixels" if pixels else "is too large"
    return limits.error(path, "image_megapixels", f"{where}{size}")
