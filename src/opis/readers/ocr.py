"""Optical character recognition with Tesseract, and what the PDF and image readers share.

Scanned originals (Russian, Korean, Chinese, German...) become searchable text
through Tesseract from Debian and its language packs. Each page keeps its mean
word confidence; pages below REVIEW_BELOW are flagged so a curator checks them
before anyone quotes them. See docs/scans.md.

This module also builds the record of a scan or PDF: an optional sidecar file of
metadata (the Markdown reader's front-matter keys), the page list, and the source
file as an attachment with its SHA-256.

Choosing the right Tesseract pack for a scan of unknown language needs the language
of a first reading: ``opis.model.language_detection.detect_language``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import mimetypes
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytesseract
import yaml
from PIL import Image, ImageOps

from opis.model import Contents, Record
from opis.model.language_detection import detect_language
from opis.readers.base import ReadError
from opis.readers.limits import Limits
from opis.readers.markdown import record_from_front_matter, slug

REVIEW_BELOW = 60.0  # mean word confidence (0-100) under which a page needs review
DPI = 300  # resolution PDF pages are rendered at, and assumed for images that name none
PSM = 4  # Tesseract page segmentation: one column of text of varying sizes
TIMEOUT = 300  # seconds Tesseract may spend on one page
INK_CONTRAST = 24  # gray levels below the paper's that count as ink when telling blank pages
SIDECAR_SUFFIXES = (".yml", ".yaml", ".json")
DEBIAN_PACKAGES = (
    "tesseract-ocr tesseract-ocr-rus tesseract-ocr-kor tesseract-ocr-chi-sim "
    "tesseract-ocr-chi-tra tesseract-ocr-deu tesseract-ocr-eng"
)

# ISO 639 code (lower case) -> Tesseract packs. Chinese of unknown variant reads best
# with both packs, simplified first (chi_tra alone rewrites simplified text).
PACKS = {
    "ru": "rus", "ko": "kor", "de": "deu", "en": "eng",
    "zh": "chi_sim+chi_tra", "zh-hans": "chi_sim", "zh-cn": "chi_sim", "zh-sg": "chi_sim",
    "zh-hant": "chi_tra", "zh-tw": "chi_tra", "zh-hk": "chi_tra", "zh-mo": "chi_tra",
}
# Languages without a pack of their own here, read with the pack of their script.
SCRIPT_FALLBACK = {
    "bg": "rus", "mn": "rus", "uk": "rus", "be": "rus", "sr": "rus",
    "fr": "eng", "pl": "eng", "cs": "eng", "sk": "eng", "hu": "eng", "ro": "eng",
    "es": "eng", "it": "eng", "pt": "eng", "vi": "eng", "nl": "eng",
    "ja": "chi_sim+chi_tra",
}
# Tesseract's OSD script names -> the pack for a first reading.
OSD_SCRIPTS = {
    "Cyrillic": "rus", "Latin": "eng", "Hangul": "kor", "Korean": "kor",
    "Han": "chi_sim+chi_tra", "HanS": "chi_sim", "HanT": "chi_tra", "Japanese": "chi_sim+chi_tra",
}
FIRST_GUESS = "rus+eng"  # when OSD cannot tell the script (too little text)
PACK_LANGUAGE = {
    "rus": "ru", "kor": "ko", "chi_sim": "zh", "chi_tra": "zh", "deu": "de", "eng": "en",
}

MEDIA_TYPES = {
    ".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".tif": "image/tiff", ".tiff": "image/tiff", ".txt": "text/plain", ".md": "text/markdown",
    ".markdown": "text/markdown", ".csv": "text/csv", ".xml": "application/xml",
}


@dataclass
class PageText:
    """One page's text and where it came from: the PDF's text layer or OCR."""

    text: str
    source: str  # "text-layer" | "ocr" | "unreadable" (a damaged page, left empty)
    confidence: float | None = None  # mean word confidence, OCR only
    blank: bool = False  # OCR found no words on a page with no ink


@lru_cache(maxsize=1)
def installed_packs() -> frozenset[str]:
    """Tesseract's installed language packs; raises if Tesseract itself is missing."""
    return frozenset(pytesseract.get_languages(config=""))


@lru_cache(maxsize=1)
def tesseract_version() -> str:
    return str(pytesseract.get_tesseract_version())


def pack_for(language: str | None) -> str | None:
    """The Tesseract packs for an ISO 639 code, or None when the language is unknown."""
    if not language:
        return None
    code = language.lower()
    primary = code.split("-")[0]
    return PACKS.get(code) or PACKS.get(primary) or SCRIPT_FALLBACK.get(primary) or "eng"


class Ocr:
    """One document's OCR. The packs are fixed once, from the language given or
    detected on the first page with ink, and reused for its other pages."""

    def __init__(self, path: Path, language: str | None = None, packs: str | None = None):
        self.path = path
        self.packs = packs or pack_for(language)
        self.detected = False
        try:
            available = installed_packs()
            self.version = tesseract_version()
        except pytesseract.TesseractNotFoundError:
            raise ReadError(
                path, f"cannot OCR: Tesseract is not installed (apt-get install {DEBIAN_PACKAGES})"
            ) from None
        if self.packs:
            missing = [p for p in self.packs.split("+") if p not in available]
            if missing:
                debs = " ".join("tesseract-ocr-" + p.replace("_", "-") for p in missing)
                raise ReadError(
                    path, f"cannot OCR: language pack {', '.join(missing)} is not installed "
                    f"(apt-get install {debs})",
                )

    def page(self, image: Image.Image, n: int) -> PageText:
        """OCR one page image; choose the packs on the first page with ink."""
        dpi = _dpi(image)
        image = _grayscale(image)
        if _is_blank(image):
            return PageText("", "ocr", None, blank=True)
        if self.packs:
            text, confidence = self._run(image, self.packs, dpi, n)
        else:
            self.packs, text, confidence = self._detect(image, dpi, n)
            self.detected = True
        return PageText(text, "ocr", confidence)

    def _detect(self, image: Image.Image, dpi: int, n: int) -> tuple[str, str, float | None]:
        """Packs for a page of unknown language. OSD's script gives a first reading and
        the language of that reading the final packs. When OSD cannot tell (too little
        text), the first reading is rus+eng, and if it reads poorly Korean and Chinese
        are tried too. The reading with the best mean confidence wins."""
        available = installed_packs()
        first = _osd_packs(image, dpi) or FIRST_GUESS
        tried = {first: self._run(image, first, dpi, n)}
        own = pack_for(detect_language(tried[first][0]))
        candidates = [own]
        if first == FIRST_GUESS and (tried[first][1] or 0.0) < REVIEW_BELOW:
            candidates += ["kor", "chi_sim+chi_tra"]
        for packs in candidates:
            if packs and packs not in tried and set(packs.split("+")) <= available:
                tried[packs] = self._run(image, packs, dpi, n)

        def score(packs: str) -> tuple[float, bool]:
            confidence = tried[packs][1]
            return (-1.0 if confidence is None else confidence, packs == own)

        best = max(tried, key=score)
        return best, *tried[best]

    def _run(self, image: Image.Image, packs: str, dpi: int, n: int) -> tuple[str, float | None]:
        """Text (Tesseract's own layout and word spacing) and mean word confidence,
        from one Tesseract run writing both its txt and tsv outputs."""
        with tempfile.TemporaryDirectory(prefix="opis-ocr-") as tmp:
            source = Path(tmp) / "page.png"
            image.save(source, compress_level=1)
            base = str(Path(tmp) / "out")
            try:
                pytesseract.pytesseract.run_tesseract(
                    str(source), base, extension="txt tsv", lang=packs,
                    config=f"--psm {PSM} --dpi {dpi} -c tessedit_create_tsv=1", timeout=TIMEOUT,
                )
                text = Path(base + ".txt").read_text(encoding="utf-8", errors="replace")
                tsv = Path(base + ".tsv").read_text(encoding="utf-8", errors="replace")
            except pytesseract.TesseractError as e:
                raise ReadError(self.path, f"page {n}: OCR failed: {e.message.strip()}") from None
            except RuntimeError as e:  # pytesseract's timeout
                raise ReadError(self.path, f"page {n}: OCR gave up after {TIMEOUT}s: {e}") from None
        return clean_text(text), _mean_confidence(tsv)


def _osd_packs(image: Image.Image, dpi: int) -> str | None:
    """Packs for the script Tesseract's OSD sees, or None when it cannot tell."""
    if "osd" not in installed_packs():
        return None
    try:
        osd = pytesseract.image_to_osd(
            image, config=f"--dpi {dpi}", output_type=pytesseract.Output.DICT, timeout=TIMEOUT
        )
    except (pytesseract.TesseractError, RuntimeError):
        return None  # "Too few characters": the rus+eng first reading takes over
    packs = OSD_SCRIPTS.get(str(osd.get("script", "")))
    if packs and set(packs.split("+")) <= installed_packs():
        return packs
    return None


def _mean_confidence(tsv: str) -> float | None:
    """Mean of the word confidences Tesseract reports; None when it found no words."""
    values = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") == "5" and (row.get("text") or "").strip():
            try:
                conf = float(row.get("conf") or -1)
            except ValueError:
                continue
            if conf >= 0:
                values.append(conf)
    return round(sum(values) / len(values), 1) if values else None


def clean_text(text: str) -> str:
    """Page text with LF line ends, no trailing spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = re.sub(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", "", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _grayscale(image: Image.Image) -> Image.Image:
    """8-bit gray on white, upright as the camera or scanner meant it."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("L")


def _dpi(image: Image.Image) -> int:
    dpi = image.info.get("dpi")
    try:
        value = int(round(float(dpi[0]))) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    return value if 70 <= value <= 2400 else DPI


def _is_blank(image: Image.Image) -> bool:
    """No ink: under 0.05% of the pixels clearly darker than the paper (the commonest
    gray). Faint or blurred writing still counts as ink, so it is OCR'd and reviewed."""
    histogram = image.histogram()
    paper = max(range(256), key=histogram.__getitem__)
    ink = sum(histogram[: max(0, paper - INK_CONTRAST)])
    return ink < 0.0005 * image.width * image.height


# -- the record of a scan or PDF ---------------------------------------------------------


@dataclass
class Sidecar:
    """Metadata a curator keeps beside a scan: ``scan.pdf.yml`` for ``scan.pdf``."""

    path: Path | None
    meta: dict[str, Any]
    lines: dict[str, int]

    @property
    def language(self) -> str | None:
        """The language of the scanned text: contents.language, else original_language."""
        contents = self.meta.get("contents")
        if isinstance(contents, dict) and contents.get("language"):
            return str(contents["language"])
        value = self.meta.get("original_language")
        return str(value) if value else None


def sidecar_path(path: Path) -> Path | None:
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def load_sidecar(path: Path, limits: Limits | None = None) -> Sidecar:
    """The sidecar of ``path`` if there is one (YAML or JSON mapping), else an empty one."""
    limits = limits or Limits()
    found = sidecar_path(path)
    if found is None:
        return Sidecar(None, {}, {})
    try:
        text = found.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ReadError(found, f"cannot read the sidecar: {e}") from None
    lines: dict[str, int] = {}
    if found.suffix == ".json":
        try:
            meta = json.loads(text)
        except json.JSONDecodeError as e:
            raise ReadError(found, f"invalid JSON sidecar: {e.msg}", e.lineno) from None
        except RecursionError:  # deeper than Python's parser goes, so over the limit too
            raise limits.too_deep(found, subject="the sidecar") from None
        limits.check_depth(meta, found, where="sidecar: ")
    else:
        try:
            depth = 0
            for event in yaml.parse(text, Loader=yaml.SafeLoader):
                if isinstance(event, yaml.AliasEvent):  # *name chains can mean billions
                    raise ReadError(found, "aliases (*name) are not allowed in a sidecar",
                                    event.start_mark.line + 1)
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
                    if depth > limits.depth:  # composing it would recurse that deep
                        raise limits.too_deep(found, event.start_mark.line + 1, "the sidecar")
                elif isinstance(event, yaml.CollectionEndEvent):
                    depth -= 1
            meta = yaml.safe_load(text)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            raise ReadError(found, f"invalid YAML sidecar: {e.problem or e}",
                            mark.line + 1 if mark else None) from None
        except yaml.YAMLError as e:
            raise ReadError(found, f"invalid YAML sidecar: {e}") from None
        for n, line in enumerate(text.split("\n"), start=1):
            m = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
            if m and m.group(1) not in lines:
                lines[m.group(1)] = n
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ReadError(found, "a sidecar must be a mapping of key: value", 1)
    return Sidecar(found, {str(k): v for k, v in meta.items()}, lines)


def file_attachment(path: Path, role: str) -> dict[str, Any]:
    """An attachment entry for ``record.extra["attachments"]``: the store keeps the
    bytes once per SHA-256, so the same scan ingested twice is never stored twice."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return {
        "role": role,
        "path": str(path.absolute()),  # the store checks it against the allowed files
        "sha256": digest.hexdigest(),
        "media_type": media_type(path),
        "bytes": size,
    }


def media_type(path: Path | str) -> str:
    suffix = Path(path).suffix.lower()
    guessed = mimetypes.guess_type(str(path))[0]
    return MEDIA_TYPES.get(suffix) or guessed or "application/octet-stream"


def scan_record(
    path: Path,
    pages: Iterable[PageText],
    sidecar: Sidecar,
    *,
    source_format: str,
    default_title: str | None = None,
    ocr: Ocr | None = None,
) -> Record:
    """The record of a PDF or scan: sidecar metadata, the pages' text joined by blank
    lines, per-page provenance and review flags, and the file as an attachment."""
    parts: list[str] = []
    length = 0
    page_info: list[dict[str, Any]] = []
    for n, page in enumerate(pages, start=1):
        if page.text and parts:
            parts.append("\n\n")
            length += 2
        offset = length
        if page.text:
            parts.append(page.text)
            length += len(page.text)
        review = page.source == "unreadable" or page.source == "ocr" and not page.blank and (
            page.confidence is None or page.confidence < REVIEW_BELOW
        )
        page_info.append({
            "n": n, "source": page.source, "confidence": page.confidence,
            "offset": offset, "review": review,
        })
    text = "".join(parts)

    meta = dict(sidecar.meta)
    meta.pop("ocr_language", None)
    meta.setdefault("title", default_title or _title_from_name(path))
    try:
        record = record_from_front_matter(meta, text, default_id=slug(path.stem) or "scan")
    except ValueError as e:
        key = getattr(e, "key", None)
        where = sidecar.path or path
        raise ReadError(where, f"sidecar: {e}", sidecar.lines.get(key or "", None)) from None
    record.source_format = source_format
    record.source_path = str(path)

    language = sidecar.language
    if language is None and text:
        language = detect_language(text)
        if language is None and ocr is not None and ocr.packs in PACK_LANGUAGE:
            language = PACK_LANGUAGE[ocr.packs]
        record.extra["language_detected"] = language is not None
    if language and record.original_language is None:
        record.original_language = language
    if record.contents is None and text:
        original = (record.original_language or "").split("-")[0]
        same = not language or not original or language.split("-")[0] == original
        record.contents = Contents(kind="transcription" if same else "translation",
                                   language=language)

    used_ocr = any(p["source"] == "ocr" for p in page_info)
    record.extra["pages"] = page_info
    record.extra["needs_review"] = any(p["review"] for p in page_info)
    if used_ocr and ocr is not None:
        record.extra["ocr"] = {
            "engine": f"tesseract {ocr.version}", "language_packs": ocr.packs,
            "detected": ocr.detected, "psm": PSM,
        }
    attachments = list(record.extra.get("attachments") or [])
    attachments.append(file_attachment(path, "scan" if used_ocr else "original"))
    record.extra["attachments"] = attachments
    if sidecar.path is not None:
        record.extra["sidecar"] = str(sidecar.path)
    return record


def _title_from_name(path: Path) -> str:
    """A readable stand-in title from the file name, until a curator gives one."""
    return " ".join(re.sub(r"[_]+", " ", path.stem).split()) or path.name
