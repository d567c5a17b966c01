"""PDFs: text layers read page by page, image-only pages OCR'd, encrypted and damaged
files refused, and a translation combined with its scanned original."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fpdf import FPDF
from fpdf.enums import EncryptionMethod

from opis.model import Contents, Record
from opis.readers import discover, pdf, read_path, reader_for
from opis.readers.base import ReadError
from opis.readers.combine import combine
from opis.readers.ocr import file_attachment
from scan_fixtures import DEJAVU, RUSSIAN, page, require_tesseract, save_png

RUSSIAN_TEXT = (
    "Совершенно секретно. Посольство СССР в КНДР. Запись беседы с министром иностранных "
    "дел КНДР товарищем Нам Иром 28 декабря 1956 года."
)
ENGLISH_TEXT = "Top secret. Record of a conversation with the Minister of Foreign Affairs."


def _text_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    """A PDF with a real text layer, typed with DejaVu (it has Cyrillic)."""
    if not DEJAVU.exists():
        pytest.skip("no DejaVu font: apt-get install fonts-dejavu-core")
    doc = FPDF()
    doc.add_font("DejaVu", fname=str(DEJAVU))
    doc.set_font("DejaVu", size=12)
    for text in pages:
        doc.add_page()
        doc.multi_cell(0, 8, text)
    if title:
        doc.set_title(title)
    doc.output(str(path))
    return path


def _read(path: Path) -> Record:
    records = list(pdf.read(path))
    assert len(records) == 1
    return records[0]


def test_text_layer_pages(tmp_path: Path) -> None:
    path = _text_pdf(tmp_path / "report.pdf", [RUSSIAN_TEXT, ENGLISH_TEXT], title="Запись беседы")
    record = _read(path)
    first, second = record.extra["pages"]
    assert first == {"n": 1, "source": "text-layer", "confidence": None, "offset": 0,
                     "review": False}
    assert second["source"] == "text-layer" and second["offset"] > first["offset"]
    assert "Посольство СССР в КНДР" in record.text[: second["offset"]]
    assert record.text[second["offset"] :].startswith("Top secret.")
    assert record.title == "Запись беседы" and record.id == "report"
    assert record.source_format == "pdf" and record.original_language == "ru"
    assert record.contents == Contents(kind="transcription", language="ru")
    assert "ocr" not in record.extra and record.extra["needs_review"] is False
    data = path.read_bytes()
    assert record.extra["attachments"] == [{
        "role": "original", "path": str(path), "sha256": hashlib.sha256(data).hexdigest(),
        "media_type": "application/pdf", "bytes": len(data),
    }]


@pytest.fixture(scope="module")
def scanned_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Record]:
    """An image-only PDF (what a scanner makes): every page goes through OCR."""
    require_tesseract("rus")
    folder = tmp_path_factory.mktemp("scan")
    path = folder / "scan.pdf"
    page(RUSSIAN, "ru").save(path, "PDF", resolution=300)
    (folder / "scan.pdf.yml").write_text(
        "id: 114165-original\ntitle: Запись беседы с Нам Иром\ndate: 1956-12-28\n"
        "original_language: ru\n", encoding="utf-8",
    )
    return path, _read(path)


def test_image_only_pdf_is_ocrd(scanned_pdf: tuple[Path, Record]) -> None:
    path, record = scanned_pdf
    assert "секретно" in record.text and "Посольство" in record.text
    [info] = record.extra["pages"]
    assert info["source"] == "ocr" and info["confidence"] > 80 and info["review"] is False
    assert record.extra["ocr"]["language_packs"] == "rus"
    assert record.id == "114165-original" and record.date == "1956-12-28"
    assert record.contents == Contents(kind="transcription", language="ru")
    assert record.extra["attachments"][0]["role"] == "scan"


def test_mixed_pdf_reads_text_layer_and_ocrs_the_scanned_page(tmp_path: Path) -> None:
    require_tesseract("rus")
    png = save_png(page(RUSSIAN, "ru"), tmp_path / "p2.png")
    doc = FPDF()
    doc.add_font("DejaVu", fname=str(DEJAVU))
    doc.set_font("DejaVu", size=12)
    doc.add_page()
    doc.multi_cell(0, 8, RUSSIAN_TEXT)
    doc.add_page()
    doc.image(str(png), x=10, y=10, w=150)
    doc.add_page()
    doc.cell(0, 8, "p. 3")  # too little text to be a text layer, too little ink to matter
    path = tmp_path / "mixed.pdf"
    doc.output(str(path))
    (tmp_path / "mixed.pdf.yml").write_text("title: Mixed\noriginal_language: ru\n")
    record = _read(path)
    sources = [p["source"] for p in record.extra["pages"]]
    assert sources == ["text-layer", "ocr", "ocr"]
    second = record.extra["pages"][1]
    assert record.text[second["offset"] :].startswith("Совершенно секретно")
    assert second["confidence"] > 70


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    path = _text_pdf(tmp_path / "locked.pdf", [ENGLISH_TEXT])
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(0, 10, ENGLISH_TEXT)
    doc.set_encryption(owner_password="owner", user_password="secret",
                       encryption_method=EncryptionMethod.RC4)
    doc.output(str(path))
    with pytest.raises(ReadError, match="encrypted PDF") as e:
        _read(path)
    assert e.value.path == str(path)


@pytest.mark.parametrize("damage", ["truncated", "junk", "empty", "no-pages"])
def test_damaged_pdf_is_refused(tmp_path: Path, damage: str) -> None:
    good = _text_pdf(tmp_path / "good.pdf", [ENGLISH_TEXT]).read_bytes()
    data = {
        "truncated": good[: len(good) // 2],
        "junk": b"%PDF-1.4\n" + bytes(range(256)) * 8,
        "empty": b"",
        "no-pages": b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
                    b"trailer<</Root 1 0 R>>\n%%EOF\n",
    }[damage]
    path = tmp_path / f"{damage}.pdf"
    path.write_bytes(data)
    with pytest.raises(ReadError, match="damaged") as e:
        _read(path)
    assert e.value.path == str(path)


def test_pdfs_are_found_and_sniffed(tmp_path: Path) -> None:
    path = _text_pdf(tmp_path / "a.pdf", [ENGLISH_TEXT])
    nameless = tmp_path / "download"
    nameless.write_bytes(path.read_bytes())
    assert reader_for(path) is pdf and reader_for(nameless) is pdf
    assert [p.name for p in discover([tmp_path])] == ["a.pdf"]
    [record] = list(read_path(path))
    assert record.text.startswith("Top secret.")
    assert record.contents.language == "en"


def test_combine_translation_with_scanned_original(
    tmp_path: Path, scanned_pdf: tuple[Path, Record]
) -> None:
    scan_path, original = scanned_pdf
    text_path = tmp_path / "translation.txt"
    text_path.write_text("Top secret. Embassy of the USSR in the DPRK.\n", encoding="utf-8")
    translation = Record(
        id="114165", title="Record of conversation", text=text_path.read_text(),
        contents=Contents(kind="translation", language="en"), source_path=str(text_path),
    )
    before = translation.to_dict()
    combined = combine(translation, original)
    assert translation.to_dict() == before  # pure: the inputs are untouched
    assert combined.id == "114165" and combined.text == translation.text
    assert combined.extra["original_text"] == original.text
    assert combined.extra["original_language"] == "ru" and combined.original_language == "ru"
    assert combined.extra["original_pages"] == original.extra["pages"]
    roles = [(a["role"], a["path"]) for a in combined.extra["attachments"]]
    assert roles == [("translation", str(text_path)), ("scan", str(scan_path))]
    assert combined.extra["attachments"][0]["media_type"] == "text/plain"

    translation.extra["attachments"] = [file_attachment(text_path, "original")]
    again = combine(translation, original)
    first = again.extra["attachments"][0]
    assert first["role"] == "translation" and first["sha256"] == hashlib.sha256(
        text_path.read_bytes()).hexdigest()
    assert combine(again, original).extra["attachments"] == again.extra["attachments"]


def test_an_unreadable_page_costs_only_itself(tmp_path: Path) -> None:
    path = _text_pdf(tmp_path / "damaged.pdf", [
        "Первая страница: доклад о положении дел в районе, достаточно текста.",
        "The second page, which PDFium will not load once its dictionary is broken.",
        "Third page: «Ответ» and a closing paragraph of the report.",
    ])
    data = path.read_bytes()
    second = [m for m in range(len(data)) if data.startswith(b"/Type /Page", m)
              and not data.startswith(b"/Type /Pages", m)][1]
    path.write_bytes(data[:second] + b"/Type /Pagx" + data[second + 11:])  # same length
    [record] = [i for i in read_path(path) if isinstance(i, Record)]
    assert "Первая страница" in record.text and "«Ответ»" in record.text
    assert "second page" not in record.text
    [flag] = record.flags
    assert flag.field == "text" and "page 2 cannot be read" in flag.message
    assert [p["source"] for p in record.extra["pages"]] == ["text-layer", "unreadable",
                                                            "text-layer"]
    assert record.extra["needs_review"] is True
