"""Scans through Tesseract: Russian, Korean, German and Chinese pages made here,
per-page confidence, review flags for poor pages, sidecars, and broken images."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from opis.readers import discover, image, read_path, reader_for
from opis.readers.base import ReadError
from opis.readers.ocr import REVIEW_BELOW, clean_text, pack_for
from scan_fixtures import (
    CHINESE,
    ENGLISH,
    GERMAN,
    KOREAN,
    RUSSIAN,
    page,
    require_tesseract,
    save_png,
)


def _read(path: Path):
    records = list(image.read(path))
    assert len(records) == 1
    return records[0]


@pytest.fixture(scope="module")
def russian_scan(tmp_path_factory: pytest.TempPathFactory):
    """A Russian page with no sidecar: the language is detected (OSD, then the text)."""
    require_tesseract("rus", "eng", "osd")
    path = save_png(page(RUSSIAN, "ru"), tmp_path_factory.mktemp("ru") / "embassy_report.png")
    return path, _read(path)


def test_russian_scan_becomes_searchable_text(russian_scan) -> None:
    path, record = russian_scan
    assert "секретно" in record.text
    assert "Посольство СССР в КНДР" in record.text
    assert "министром иностранных дел" in record.text
    assert record.original_language == "ru"
    assert record.contents is not None
    assert (record.contents.kind, record.contents.language) == ("transcription", "ru")
    assert record.extra["language_detected"] is True
    assert record.extra["ocr"]["language_packs"] == "rus"
    assert record.extra["ocr"]["detected"] is True
    assert record.source_format == "image" and record.source_path == str(path)
    assert record.id == "embassy-report" and record.title == "embassy report"


def test_russian_scan_confidence_and_attachment(russian_scan) -> None:
    path, record = russian_scan
    [info] = record.extra["pages"]
    assert info["n"] == 1 and info["source"] == "ocr" and info["offset"] == 0
    assert info["confidence"] > 80, info  # a clean typed page reads at ~90-95
    assert info["review"] is False and record.extra["needs_review"] is False
    [attachment] = record.extra["attachments"]
    data = path.read_bytes()
    assert attachment == {
        "role": "scan", "path": str(path), "sha256": hashlib.sha256(data).hexdigest(),
        "media_type": "image/png", "bytes": len(data),
    }


def test_korean_scan_with_sidecar_language(tmp_path: Path) -> None:
    require_tesseract("kor")
    path = save_png(page(KOREAN, "ko"), tmp_path / "scan.png")
    (tmp_path / "scan.png.yml").write_text(
        "id: kor-1956-12-28\ntitle: Record of talks\noriginal_language: ko\n", encoding="utf-8"
    )
    record = _read(path)
    assert "외무성" in record.text and "회담" in record.text and "평양" in record.text
    assert record.id == "kor-1956-12-28" and record.title == "Record of talks"
    assert record.contents.kind == "transcription" and record.contents.language == "ko"
    assert record.extra["ocr"] == {
        "engine": record.extra["ocr"]["engine"], "language_packs": "kor", "detected": False,
        "psm": 4,
    }
    assert record.extra["ocr"]["engine"].startswith("tesseract ")
    assert "language_detected" not in record.extra
    assert record.extra["pages"][0]["confidence"] > 80
    assert record.extra["sidecar"] == str(tmp_path / "scan.png.yml")


def test_german_scan_is_reread_with_the_german_pack(tmp_path: Path) -> None:
    """OSD sees Latin script, the English reading is German, so deu reads it again:
    only the German pack gets ü and ß right."""
    require_tesseract("deu", "eng", "osd")
    record = _read(save_png(page(GERMAN, "de"), tmp_path / "aktenvermerk.png"))
    assert record.extra["ocr"]["language_packs"] == "deu"
    assert "Gespräch" in record.text and "Außenminister" in record.text
    assert record.original_language == "de"
    assert record.extra["pages"][0]["confidence"] > 80


def test_chinese_scan(tmp_path: Path) -> None:
    require_tesseract("chi_sim", "chi_tra")
    path = save_png(page(CHINESE, "zh"), tmp_path / "talks.png")
    (tmp_path / "talks.png.json").write_text('{"title": "谈话记录", "original_language": "zh"}',
                                              encoding="utf-8")
    record = _read(path)
    assert "朝鲜问题" in record.text and "谈话记录" in record.text
    assert record.extra["ocr"]["language_packs"] == "chi_sim+chi_tra"
    assert record.contents.language == "zh" and record.extra["pages"][0]["confidence"] > 80


def test_poor_pages_are_flagged_for_review(tmp_path: Path) -> None:
    """A three-page TIFF: a clean page, a badly blurred one, and an empty one."""
    require_tesseract("rus")
    clean = page(RUSSIAN, "ru")
    blurred = clean.filter(ImageFilter.GaussianBlur(5))
    blank = Image.new("L", clean.size, 255)
    path = tmp_path / "three_pages.tif"
    clean.save(path, save_all=True, append_images=[blurred, blank], dpi=(300, 300))
    (tmp_path / "three_pages.tif.yml").write_text("title: Three pages\nocr_language: rus\n")
    record = _read(path)
    first, second, third = record.extra["pages"]
    assert first["confidence"] > 80 and first["review"] is False
    assert second["confidence"] < REVIEW_BELOW and second["review"] is True
    assert third == {"n": 3, "source": "ocr", "confidence": None, "offset": len(record.text),
                     "review": False}
    assert record.extra["needs_review"] is True
    assert "ocr_language" not in record.extra  # used for OCR, not kept as metadata
    assert record.text.startswith("Совершенно секретно")
    assert record.text[second["offset"] - 2 : second["offset"]] == "\n\n"


def test_noise_with_no_readable_words_needs_review(tmp_path: Path) -> None:
    require_tesseract("rus")
    rng = random.Random(7)
    noise = Image.new("L", (600, 300), 255)
    noise.putdata([0 if rng.random() < 0.3 else 255 for _ in range(600 * 300)])
    path = save_png(noise, tmp_path / "noise.png")
    (tmp_path / "noise.png.yml").write_text("title: Noise\noriginal_language: ru\n")
    record = _read(path)
    [info] = record.extra["pages"]
    assert info["review"] is True and record.extra["needs_review"] is True


def test_english_translation_scan_of_a_russian_original(tmp_path: Path) -> None:
    require_tesseract("eng")
    path = save_png(page(ENGLISH, "en"), tmp_path / "translation.png")
    (tmp_path / "translation.png.yml").write_text(
        "title: Record of conversation\ndate: 1956-12-28\noriginal_language: Russian\n"
        "contents: {kind: translation, language: en}\n"
        "archival_reference: RGANI, Fond 5, Opis 28, Delo 486\n"
    )
    record = _read(path)
    assert "Record of a conversation" in record.text
    assert record.original_language == "ru" and record.date == "1956-12-28"
    assert (record.contents.kind, record.contents.language) == ("translation", "en")
    assert record.archival_reference.fond == "5"
    assert record.extra["ocr"]["language_packs"] == "eng"


def test_sidecar_errors_name_the_sidecar_and_line(tmp_path: Path) -> None:
    require_tesseract("eng")
    path = save_png(page(ENGLISH[:1], "en"), tmp_path / "s.png")
    sidecar = tmp_path / "s.png.yml"
    sidecar.write_text("title: T\noriginal_language: Klingonish\n")
    with pytest.raises(ReadError) as e:
        _read(path)
    assert e.value.path == str(sidecar) and e.value.line == 2
    assert "original_language" in e.value.message
    sidecar.write_text("title: [unclosed\n")
    with pytest.raises(ReadError, match="invalid YAML sidecar"):
        _read(path)
    sidecar.write_text("a: &a [x, x]\nb: [*a, *a]\ntitle: T\n")
    with pytest.raises(ReadError, match="aliases") as e:
        _read(path)
    assert e.value.line == 2
    sidecar.write_text("- a list\n")
    with pytest.raises(ReadError, match="mapping"):
        _read(path)


def test_missing_language_pack_is_named(tmp_path: Path) -> None:
    require_tesseract()
    path = save_png(page(ENGLISH[:1], "en"), tmp_path / "x.png")
    (tmp_path / "x.png.yml").write_text("title: T\nocr_language: xyz\n")
    with pytest.raises(ReadError, match=r"language pack xyz is not installed .*tesseract-ocr-xyz"):
        _read(path)


def test_broken_images_are_refused(tmp_path: Path) -> None:
    require_tesseract()
    good = save_png(page(ENGLISH, "en"), tmp_path / "good.png").read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(good[: len(good) // 2])
    not_image = tmp_path / "text.jpg"
    not_image.write_bytes(b"just some text, not a JPEG\n")
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    for path in (cut, not_image, empty):
        with pytest.raises(ReadError, match="cannot read the image") as e:
            _read(path)
        assert e.value.path == str(path)


def test_images_are_found_and_sniffed(tmp_path: Path) -> None:
    require_tesseract()
    path = save_png(page(ENGLISH[:1], "en"), tmp_path / "a.png")
    nameless = tmp_path / "scan_without_suffix"
    nameless.write_bytes(path.read_bytes())
    (tmp_path / "a.png.yml").write_text("title: T\n")
    assert reader_for(path) is image and reader_for(nameless) is image
    assert [p.name for p in discover([tmp_path])] == ["a.png"]
    [record] = list(read_path(path))
    assert record.title == "T"


def test_pack_choice_and_text_cleaning() -> None:
    assert pack_for("ru") == "rus" and pack_for("ko") == "kor" and pack_for("de") == "deu"
    assert pack_for("zh") == "chi_sim+chi_tra" and pack_for("zh-Hant") == "chi_tra"
    assert pack_for("bg") == "rus" and pack_for("fr") == "eng" and pack_for(None) is None
    assert clean_text("a  \r\nb\f\n\n\n\nc\x0c") == "a\nb\n\nc"
