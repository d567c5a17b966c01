"""Language identification: each language the archive's documents come in, short and
long, and mixed texts paragraph by paragraph."""

from __future__ import annotations

import pytest

from opis.enrich.language import LANGUAGES, detect_language, paragraph_languages

SENTENCES = {
    "en": "The ambassador met the minister on Tuesday and discussed the armistice talks.",
    "ru": "Посол встретился с министром во вторник и обсудил переговоры о перемирии.",
    "ko": "대사는 화요일에 장관을 만나 정전 회담에 대해 논의하였다.",
    "zh": "大使星期二会见了部长，讨论了停战谈判问题。",
    "ja": "大使は火曜日に大臣と会い、休戦交渉について話し合った。",
    "de": "Der Botschafter traf den Minister am Dienstag und besprach die Waffenstillstandsgespräche.",
    "fr": "L'ambassadeur a rencontré le ministre mardi et a discuté des négociations d'armistice.",
    "pl": "Ambasador spotkał się z ministrem we wtorek i omówił rozmowy rozejmowe.",
    "cs": "Velvyslanec se v úterý setkal s ministrem a projednal jednání o příměří.",
    "hu": "A nagykövet kedden találkozott a miniszterrel, és megvitatták a fegyverszüneti tárgyalásokat.",
    "ro": "Ambasadorul s-a întâlnit marți cu ministrul și a discutat negocierile de armistițiu.",
    "bg": "Посланикът се срещна с министъра във вторник и обсъди преговорите за примирие.",
    "vi": "Đại sứ đã gặp bộ trưởng vào thứ Ba và thảo luận về các cuộc đàm phán đình chiến.",
    "mn": "Элчин сайд Мягмар гарагт сайдтай уулзаж, эвлэрлийн хэлэлцээний талаар ярилцав.",
    "es": "El embajador se reunió con el ministro el martes y discutió las negociaciones de armisticio.",
    "it": "L'ambasciatore ha incontrato il ministro martedì e ha discusso i negoziati di armistizio.",
}


def test_every_domain_language_has_a_sample() -> None:
    assert set(SENTENCES) == set(LANGUAGES)


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_each_language_short(code: str) -> None:
    assert detect_language(SENTENCES[code]) == code


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_each_language_long(code: str) -> None:
    """A page or more: the fast trigram models, and a sample of very long texts."""
    text = " ".join([SENTENCES[code]] * 4)
    assert detect_language(text) == code
    assert detect_language("\n\n".join([SENTENCES[code]] * 400)) == code


@pytest.mark.parametrize("text", ["", "   ", "1956", "№ 2", "12.28", "---"])
def test_nothing_to_tell(text: str) -> None:
    assert detect_language(text) is None


def test_mixed_text_by_paragraph() -> None:
    """An English translation quoting the Russian and Korean originals, with headings,
    numbers and a signature that go with their neighbours."""
    paragraphs = [
        "Top secret",
        "Record of a conversation with the Minister of Foreign Affairs of the DPRK, Nam Il, "
        "on 28 December 1956.",
        "The original reads:",
        "Совершенно секретно. Посольство СССР в КНДР сообщает о беседе с министром "
        "иностранных дел товарищем Нам Иром.",
        "№ 2",
        "조선민주주의인민공화국 외무성은 소련 대사관과의 회담에서 다음과 같이 말하였다.",
        "Der Botschafter der DDR berichtet über ein Gespräch mit dem Außenminister.",
        "The ambassador then left for Moscow and reported to the Ministry in writing.",
        "A. Puzanov",
    ]
    text = "\n\n".join(paragraphs)
    spans = paragraph_languages(text)
    assert [code for _, _, code in spans] == ["en", "ru", "ko", "de", "en"]
    starts = [text.index(p) for p in paragraphs]
    ends = [s + len(p) for s, p in zip(starts, paragraphs, strict=True)]
    assert spans[0] == (0, ends[2], "en")  # heading and "The original reads:" with the English
    assert spans[1] == (starts[3], ends[4], "ru")  # "№ 2" goes with the text above it
    assert spans[2] == (starts[5], ends[5], "ko")
    assert spans[3] == (starts[6], ends[6], "de")
    assert spans[4] == (starts[7], len(text), "en")  # the signature joins the last paragraph


def test_paragraphs_with_crlf_and_spaces() -> None:
    text = SENTENCES["en"] + "\r\n  \r\n" + SENTENCES["ru"] + "\n"
    spans = paragraph_languages(text)
    assert [c for _, _, c in spans] == ["en", "ru"]
    assert text[spans[1][0] : spans[1][1]] == SENTENCES["ru"]


def test_a_short_line_in_another_script_is_judged_alone() -> None:
    text = "\n\n".join([SENTENCES["en"], "Совершенно секретно", SENTENCES["en"]])
    assert [c for _, _, c in paragraph_languages(text)] == ["en", "ru", "en"]


def test_empty_and_languageless_texts() -> None:
    assert paragraph_languages("") == []
    assert paragraph_languages("1956\n\n№ 2") == []
    assert detect_language(SENTENCES["ru"]) == detect_language(SENTENCES["ru"])  # pure


def test_fill_language_at_ingest(tmp_path):
    from opis.services.archive import Archive

    doc = tmp_path / "note.md"
    doc.write_text("---\ntitle: Запись беседы\n---\n\nПосольство СССР в КНДР сообщает о "
                   "переговорах с товарищем Ким Ир Сеном в Пхеньяне.\n", encoding="utf-8")
    archive = Archive(str(tmp_path / "l.db"))
    assert archive.ingest([doc]).ok
    record = archive.get("note")
    assert record.contents.language == "ru" and record.original_language == "ru"
    assert record.extra["language_detected"] is True
    archive.close()
