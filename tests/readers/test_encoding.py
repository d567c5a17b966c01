"""Text sources in legacy encodings: decoded right and named, or refused with the line;
never stored garbled. Also binary junk and empty files."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opis.cli import app
from opis.readers import markdown, read_path, wcda_json, wcda_text
from opis.readers.base import ReadError
from opis.readers.encoding import decode_detected, decode_text, detect_encoding
from opis.readers.wcda_text import parse
from paths import DATA

SAMPLES = {
    "ru": ("Russian", "Запись беседы с министром иностранных дел КНДР Нам Иром",
           "Совершенно секретно. Посол сообщает о беседе с министром иностранных дел "
           "товарищем Нам Иром о положении в стране и о помощи Советского Союза.",
           "Посольство СССР в КНДР. Экз. № 2. «Ким Ир Сен» — Председатель Кабинета министров."),
    "ko": ("Korean", "외무상 남일과의 회담 기록",
           "조선민주주의인민공화국 외무성은 소련 대사관과의 회담에서 다음과 같이 말하였다.",
           "회담은 우호적인 분위기 속에서 진행되었다. 평양, 1956년 12월 28일."),
    "de": ("German", "Aktenvermerk über ein Gespräch mit dem Außenminister",
           "Streng geheim! Der Botschafter berichtet über ein Gespräch mit dem Außenminister "
           "der Koreanischen Volksrepublik, Genossen Nam Il, über die Lage im Süden.",
           "Übersetzung aus dem Koreanischen. Gezeichnet: Müller, Botschaftsrat. Größe: klein."),
    "fr": ("French", "Télégramme de l'ambassadeur de France à Pékin",
           "Très secret. L'ambassadeur a été reçu par le ministre des Affaires étrangères ; "
           "la conversation a porté sur la Corée et l'Indochine – «\u00a0sans résultat\u00a0».",
           "Déchiffré à Paris. Répétition à Séoul et à Hanoï interdite. Reçu le 3 février."),
    "zh": ("Chinese", "关于朝鲜问题的谈话记录",
           "中华人民共和国外交部关于朝鲜问题的谈话记录。双方就停战问题交换了意见。",
           "一九五六年十二月二十八日，于北京。"),
    "zh-hant": ("Chinese", "關於朝鮮問題的談話記錄",
                "中華民國外交部關於朝鮮問題的談話記錄。雙方就停戰問題交換了意見。",
                "一九五六年十二月二十八日，於臺北。"),
    "ja": ("Japanese", "朝鮮問題に関する会談記録",
           "日本の外務省は、朝鮮問題について次のように述べた。会談は友好的な雰囲気の中で行われた。",
           "昭和三十一年十二月二十八日、東京にて。"),
}
# (language, encoding written, encoding reported)
CASES = [
    ("ru", "cp1251", "cp1251"),
    ("ru", "koi8_r", "koi8-r"),
    ("ko", "euc_kr", "euc-kr"),
    ("de", "latin_1", "latin-1"),
    ("fr", "cp1252", "cp1252"),
    ("zh", "gb2312", "gb2312"),
    ("zh-hant", "big5", "big5"),
    ("ja", "shift_jis", "shift_jis"),
]


def export(language: str, codec: str = "utf-8") -> str:
    """A text export (docs/formats/wcda-text.md) of a document in the given language;
    KOI8-R has no №, «» or —, so a KOI8-R typist wrote N, "" and -."""
    name, title, summary, body = SAMPLES[language]
    if codec == "koi8_r":
        body = body.replace("№", "N").replace("«", '"').replace("»", '"').replace("—", "-")
    return (
        f"**December 28, 1956**\n\n**{title}**\n\n**Citation:**\n\n"
        f'"{title}", December 28, 1956, Wilson Center Digital Archive, RGANI, Fond 5, '
        "Opis 28, Delo 486. Translated by Gary Goldberg.\n\n"
        f"**Summary:**\n\n{summary}\n\n**Original Language:**\n\n{name}\n\n"
        f"**Contents:**\n\n{body}\n"
    )


@pytest.mark.parametrize(("language", "written", "reported"), CASES)
def test_text_export_in_a_legacy_encoding(
    tmp_path: Path, language: str, written: str, reported: str
) -> None:
    path = tmp_path / f"{language}-{written}.txt"
    text = export(language, written)
    path.write_bytes(text.encode(written))
    record = parse(path, path.read_bytes())
    _, title, summary, _ = SAMPLES[language]
    assert record.title == title and record.summary == summary
    assert text.split("**Contents:**\n\n")[1].strip() in record.text
    assert detect_encoding(path, path.read_bytes()) == reported
    # and found by sniffing, as a folder ingest would
    assert [r.title for r in read_path(path)] == [title]


def test_crlf_legacy_export(tmp_path: Path) -> None:
    data = export("ru").replace("\n", "\r\n").encode("cp1251")
    record = parse(tmp_path / "crlf.txt", data)
    assert record.summary == SAMPLES["ru"][2]


def test_markdown_and_csv_record_the_encoding(tmp_path: Path) -> None:
    md = tmp_path / "note.md"
    md.write_bytes(
        ("---\ntitle: Запись беседы\noriginal_language: ru\n---\n" + SAMPLES["ru"][2] + "\n")
        .encode("cp1251")
    )
    [record] = list(markdown.read(md))
    assert record.title == "Запись беседы" and record.text == SAMPLES["ru"][2]
    assert record.extra["encoding"] == "cp1251"

    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["record_id", "title", "text_body", "language"])
    writer.writerow(["1", SAMPLES["ko"][1], SAMPLES["ko"][2], "Korean"])
    writer.writerow(["2", SAMPLES["ko"][1] + " 2", SAMPLES["ko"][3], "Korean"])
    path = tmp_path / "records.csv"
    path.write_bytes(out.getvalue().encode("euc_kr"))
    records = list(wcda_json.read(path))
    assert [r.title for r in records] == [SAMPLES["ko"][1], SAMPLES["ko"][1] + " 2"]
    assert records[0].text == SAMPLES["ko"][2]
    assert all(r.extra["encoding"] == "euc-kr" for r in records)


def test_utf8_records_say_nothing_about_encoding(tmp_path: Path) -> None:
    md = tmp_path / "note.md"
    md.write_text("---\ntitle: Запись\n---\nТекст\n", encoding="utf-8")
    [record] = list(markdown.read(md))
    assert "encoding" not in record.extra


@pytest.mark.parametrize(("bom", "codec", "reported"), [
    (b"\xef\xbb\xbf", "utf-8", "utf-8"),
    (b"\xff\xfe", "utf-16-le", "utf-16"),
    (b"\xfe\xff", "utf-16-be", "utf-16"),
])
def test_byte_order_marks(bom: bytes, codec: str, reported: str) -> None:
    text = export("ko")
    decoded = decode_detected("x.txt", bom + text.encode(codec))
    assert decoded.text == text and decoded.encoding == reported


def test_utf16_with_bad_data_is_refused() -> None:
    data = b"\xff\xfe" + "line one\nline two\n".encode("utf-16-le") + b"\x00\xd8"  # lone surrogate
    with pytest.raises(ReadError, match="not valid UTF-16") as e:
        decode_text("x.txt", data)
    assert e.value.line == 3


def test_utf8_mixed_with_cp1251_is_refused(tmp_path: Path) -> None:
    """A file typed in UTF-8 with one paragraph pasted from a cp1251 file."""
    text = export("ru")
    lines = text.split("\n")
    summary_line = lines.index(SAMPLES["ru"][2]) + 1
    data = b"\n".join(
        line.encode("cp1251" if n == summary_line else "utf-8")
        for n, line in enumerate(lines, start=1)
    )
    path = tmp_path / "mixed.txt"
    path.write_bytes(data)
    with pytest.raises(ReadError) as e:
        parse(path, data)
    assert e.value.line == summary_line and e.value.path == str(path)
    assert "no single encoding fits" in e.value.message
    assert "re-save as UTF-8" in e.value.message


@pytest.mark.parametrize(("first", "second"), [
    (("ru", "cp1251"), ("de", "latin_1")),
    (("de", "latin_1"), ("ru", "cp1251")),
    (("ru", "cp1251"), ("ko", "euc_kr")),
    (("ko", "euc_kr"), ("ru", "cp1251")),
    (("ru", "koi8_r"), ("ru", "cp1251")),
    (("zh", "gb2312"), ("zh-hant", "big5")),
])
def test_two_legacy_encodings_in_one_file_are_refused(
    tmp_path: Path, first: tuple[str, str], second: tuple[str, str]
) -> None:
    data = export(first[0], first[1]).encode(first[1]) + export(second[0], second[1]).encode(
        second[1]
    )
    with pytest.raises(ReadError, match="no single encoding fits; re-save as UTF-8") as e:
        decode_text(tmp_path / "two.txt", data)
    assert e.value.line is not None


def test_too_little_text_to_tell_is_refused() -> None:
    with pytest.raises(ReadError, match="too little non-ASCII text") as e:
        decode_text("cafe.txt", "Title\n\nCaf\xe9 au lait\n".encode("latin_1"))
    assert e.value.line == 3 and "UTF-8" in e.value.message


@pytest.mark.parametrize(("data", "line", "what"), [
    (b"**Title**\n\nText\n\x00\x00\x00\x01", 4, "NUL byte"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 2, "control byte 0x1a"),
    (b"line\nline\n\x1b[31mred\n", 3, "control byte 0x1b"),
    (bytes(range(256)) * 4, 1, "NUL byte"),
])
def test_binary_junk_is_refused(data: bytes, line: int, what: str) -> None:
    with pytest.raises(ReadError) as e:
        decode_text("junk.txt", data)
    assert e.value.line == line and e.value.message == f"binary data ({what}), not a text file"


def test_high_bytes_without_a_script_are_refused() -> None:
    data = bytes(range(0x80, 0x100)) * 4
    with pytest.raises(ReadError, match="no single encoding fits"):
        decode_text("junk.txt", data)


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t", b"\xef\xbb\xbf", b"\xff\xfe", b"\xff\xfe \x00"])
def test_empty_files_are_refused(data: bytes) -> None:
    with pytest.raises(ReadError, match="^empty.txt, line 1: empty file$"):
        decode_text("empty.txt", data)


def test_dos_end_of_file_mark_is_dropped() -> None:
    assert decode_text("dos.txt", b"Text\r\n\x1a") == "Text\r\n"
    assert decode_text("dos.txt", export("ru").encode("cp1251") + b"\x1a") == export("ru")
    with pytest.raises(ReadError, match="control byte 0x1a"):
        decode_text("dos.txt", b"Text\x1amore")


def test_english_with_windows_punctuation() -> None:
    """Word's curly quotes and dashes, the commonest non-UTF-8 English file."""
    text = ("The ambassador said: “We agree” – and the minister’s reply was “no”… — so "
            "it’s done.\n")
    decoded = decode_detected("en.txt", text.encode("cp1252"))
    assert decoded.text == text and decoded.encoding == "cp1252"


# -- mostly English, a few words of another script: judged by what each reading makes --

REPORT_1956 = DATA / "wcda_114165.txt"
FEW_WORDS = [
    ("cp1251", "Совершенно секретно"), ("koi8_r", "Совершенно секретно"),
    ("koi8_r", "[очередное]"), ("euc_kr", "김일성 동지"), ("euc_kr", "조선로동당"),
    ("cp949", "똠방각하"), ("gbk", "毛泽东同志"), ("gbk", "中华人民共和国"),
    ("big5", "蔣介石"), ("big5", "中華民國"), ("shift_jis", "吉田茂 ですから"),
    ("latin_1", "Gespräch mit Grüße"),
]


@pytest.mark.parametrize(("codec", "words"), FEW_WORDS)
def test_a_few_words_in_a_legacy_encoding_are_read_right(tmp_path: Path, codec: str,
                                                          words: str) -> None:
    text = ("The Ambassador reported on the meeting with the delegation. " * 8 + words
            + " The conversation went on about the armistice and trade.\n" * 2)
    decoded = decode_detected(tmp_path / "x.txt", text.encode(codec))
    assert decoded.text == text  # right, or refused: never garbled
    assert codecs.lookup(decoded.encoding).name == codecs.lookup(codec).name or (
        codec == "gbk" and decoded.encoding == "gb2312")


def test_the_1956_report_in_cp1251_with_one_bracketed_word(tmp_path: Path) -> None:
    """The report itself is English; "[очередное]" is its one Cyrillic word. Read as
    latin-1 it was stored as "[î÷åðåäíîå]" without a warning."""
    text = REPORT_1956.read_text(encoding="utf-8")
    at = text.index("plenum")
    text = text[:at] + "[очередное] " + text[at:]
    path = tmp_path / "report.txt"
    path.write_bytes(text.encode("cp1251", errors="replace"))
    record = wcda_text.parse(path, path.read_bytes())
    assert "[очередное] plenum" in record.text and "î÷å" not in record.text
    assert record.extra.get("encoding", "cp1251") == "cp1251"


def test_unsure_is_refused_naming_the_candidates(tmp_path: Path) -> None:
    # Two kanji and no kana: Shift_JIS, CP949 and GBK all make something of them.
    path = tmp_path / "tokyo.txt"
    path.write_bytes(("Report from the Embassy. " * 10 + "東京 " + "More text.\n").encode(
        "shift_jis"))
    with pytest.raises(ReadError) as err:
        decode_detected(path, path.read_bytes())
    assert str(path) in str(err.value) and err.value.line == 1
    assert "shift_jis" in err.value.message and "re-save as UTF-8" in err.value.message


def test_the_curator_says_which_encoding(tmp_path: Path) -> None:
    path = tmp_path / "tokyo.txt"
    path.write_bytes("**Title**\n\n**Contents:**\n\n東京 embassy report\n".encode("shift_jis"))
    assert "東京" in decode_detected(path, path.read_bytes(), "shift_jis").text
    with pytest.raises(ReadError, match="not valid utf-8"):
        decode_detected(path, path.read_bytes(), "utf-8")
    with pytest.raises(ReadError, match="unknown encoding 'klingon'"):
        decode_detected(path, path.read_bytes(), "klingon")
    result = CliRunner().invoke(app, ["ingest", str(path), "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 1
    result = CliRunner().invoke(app, ["ingest", str(path), "--encoding", "shift_jis",
                                      "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 0, result.output
    assert "stored 1" in result.output
