"""Scanned pages made in the test: text rendered with Debian's fonts at 300 dpi.

Nothing is downloaded: DejaVu (fonts-dejavu-core) has Latin and Cyrillic, Noto CJK
(fonts-noto-cjk) Korean and Chinese. A test whose font or Tesseract pack is absent
is skipped with the package to install; under CI a missing Tesseract fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
# Face index inside NotoSansCJK-Regular.ttc: JP, KR, SC, TC, HK.
CJK_FACE = {"ko": 1, "zh": 2, "zh-hant": 3}

RUSSIAN = [
    "Совершенно секретно. Экз. № 2",
    "Посольство СССР в КНДР",
    "Запись беседы с министром иностранных дел",
    "товарищем Нам Иром 28 декабря 1956 года.",
]
GERMAN = [
    "Streng geheim! Botschaft der DDR",
    "Aktenvermerk über ein Gespräch mit dem",
    "Außenminister der Koreanischen Volksrepublik.",
]
KOREAN = [
    "조선민주주의인민공화국 외무성",
    "소련 대사관과의 회담 기록",
    "1956년 12월 28일 평양",
]
CHINESE = [
    "中华人民共和国外交部",
    "关于朝鲜问题的谈话记录",
    "一九五六年十二月二十八日",
]
ENGLISH = [
    "Top secret. Embassy of the USSR in the DPRK",
    "Record of a conversation with the Minister",
    "of Foreign Affairs, 28 December 1956.",
]


def font(language: str, size: int = 40) -> ImageFont.FreeTypeFont:
    """A font that has the language's script, or skip naming the Debian package."""
    if language in CJK_FACE:
        if not NOTO_CJK.exists():
            pytest.skip(f"no CJK font for {language}: apt-get install fonts-noto-cjk")
        return ImageFont.truetype(str(NOTO_CJK), size, index=CJK_FACE[language])
    if not DEJAVU.exists():
        pytest.skip("no DejaVu font: apt-get install fonts-dejavu-core")
    return ImageFont.truetype(str(DEJAVU), size)


def page(lines: list[str], language: str, size: int = 40, width: int = 1400) -> Image.Image:
    """A small white page with the lines typed on it, marked 300 dpi."""
    face = font(language, size)
    step = int(size * 1.6)
    image = Image.new("L", (width, step * len(lines) + 120), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((60, 60 + i * step), line, font=face, fill=0)
    image.info["dpi"] = (300, 300)
    return image


def save_png(image: Image.Image, path: Path) -> Path:
    image.save(path, dpi=(300, 300))
    return path


def require_tesseract(*packs: str) -> None:
    """Skip (fail under CI) when Tesseract or one of the language packs is missing."""
    import pytesseract

    problem = None
    if shutil.which("tesseract") is None:
        problem = "Tesseract is not installed: apt-get install tesseract-ocr"
    else:
        missing = [p for p in packs if p not in pytesseract.get_languages(config="")]
        if missing:
            debs = " ".join("tesseract-ocr-" + p.replace("_", "-") for p in missing)
            problem = f"Tesseract packs {missing} are missing: apt-get install {debs}"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
