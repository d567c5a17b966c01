"""The Markdown / plain-text reader: front matter in several shapes, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from opis.model import Annotation, ArchivalReference, Author, Contents, Contributor, Record, Stamp
from opis.readers import markdown
from opis.readers.base import ReadError

FULL = """\
---
id: 114165-draft
title: Record of a Conversation with Kim Il Sung
date: 28 December 1956
summary: The ambassador reports on a conversation.
citation: '"Record of a Conversation", December 28, 1956, Wilson Center Digital Archive.'
source_url: https://digitalarchive.wilsoncenter.org/document/114165
original_language: RU
contents: {kind: translation, language: en}
archival_reference: RGANI, f. 5, op. 28, d. 486, ll. 1-17
contributors:
  - Gary Goldberg (translator)
  - {name: James Person, role: obtained_by}
classification: Secret
authors: ["Ivanov, V. I.", {name: "Puzanov, A. M.", title: Ambassador}]
subjects: [Korea (North)--Foreign relations--Soviet Union]
places: Pyongyang
people: ["Kim, Il Sung", "Kim, Il Sung"]
organizations: [Korean Workers' Party]
donors: [Korea Foundation]
rights: Public domain in the source country.
stamps: ["Secret", {text: "Incoming No. 0123", date: 1957-01-09, number: "0123"}]
annotations:
  - {kind: sic, start: 0, end: 7, text: Secret.}
curator_note: checked against the microfilm
reviewed: 2024-05-01
extra: {batch: 7}
---

Secret. Copy No. 2

On 28 December I visited Kim Il Sung.
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _one(path: Path) -> Record:
    items = list(markdown.read(path))
    assert len(items) == 1 and isinstance(items[0], Record)
    return items[0]


def test_full_front_matter(tmp_path: Path) -> None:
    path = _write(tmp_path, "conversation.md", FULL)
    record = _one(path)
    assert record.id == "114165-draft"
    assert record.title == "Record of a Conversation with Kim Il Sung"
    assert record.date == "1956-12-28"
    assert record.summary == "The ambassador reports on a conversation."
    assert record.citation and record.citation.startswith('"Record of a Conversation"')
    assert record.source_url == "https://digitalarchive.wilsoncenter.org/document/114165"
    assert record.original_language == "ru"
    assert record.contents == Contents("translation", "en")
    assert record.archival_reference == ArchivalReference(
        "RGANI, f. 5, op. 28, d. 486, ll. 1-17", "RGANI", "5", "28", "486", "1-17"
    )
    assert record.contributors == [
        Contributor("Gary Goldberg", "translator"),
        Contributor("James Person", "obtained_by"),
    ]
    assert record.classification == "Secret"
    assert record.authors == [Author("Ivanov, V. I."), Author("Puzanov, A. M.", "Ambassador")]
    assert record.subjects == ["Korea (North)--Foreign relations--Soviet Union"]
    assert record.places == ["Pyongyang"]
    assert record.people == ["Kim, Il Sung"]
    assert record.organizations == ["Korean Workers' Party"]
    assert record.donors == ["Korea Foundation"]
    assert record.rights == "Public domain in the source country."
    assert record.stamps == [Stamp("Secret"), Stamp("Incoming No. 0123", "1957-01-09", "0123")]
    assert record.annotations == [Annotation("sic", 0, 7, "Secret.")]
    assert record.text == "Secret. Copy No. 2\n\nOn 28 December I visited Kim Il Sung."
    assert record.extra == {
        "curator_note": "checked against the microfilm",
        "reviewed": "2024-05-01",
        "batch": 7,
    }
    assert record.source_format == "markdown"
    assert record.source_path == str(path)


def test_minimal_front_matter_derives_the_id_from_the_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "Letter to Mao (1956) — Draft.md", "---\ntitle: A letter\n---\nBody\n")
    record = _one(path)
    assert record.id == "letter-to-mao-1956-draft"
    assert record.text == "Body"
    assert record.date is None and record.extra == {}


def test_txt_file_with_front_matter_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(b"---\r\nid: 42\r\ntitle: Note\r\n---\r\nLine one\r\nLine two\r\n")
    assert markdown.sniff(path, path.read_bytes()[:512])
    record = _one(path)
    assert record.id == "42"
    assert record.text == "Line one\nLine two"
    assert record.source_format == "text"


@pytest.mark.parametrize(
    ("value", "date", "date_text"),
    [
        ("1956-12-28", "1956-12-28", None),  # unquoted: YAML reads a date object
        ("'December 28, 1956'", "1956-12-28", None),
        ("15.II.57", "1957-02-15", None),
        ("November 1967", "1967-11", None),
        ("'1957-01-X9'", "1957-01-X9", None),  # already EDTF
        ("1955/1957", "1955/1957", None),
        ("1956", "1956", None),
        ("'the winter of 1956'", None, "the winter of 1956"),
    ],
)
def test_dates_in_printed_forms(
    tmp_path: Path, value: str, date: str | None, date_text: str | None
) -> None:
    path = _write(tmp_path, "d.md", f"---\ntitle: T\ndate: {value}\n---\n")
    record = _one(path)
    assert record.date == date
    assert record.extra.get("date_text") == date_text


@pytest.mark.parametrize(
    ("value", "code"), [("ru", "ru"), ("KO", "ko"), ("zh-Hant", "zh-Hant"), ("Russian", "ru")]
)
def test_original_language_code_or_name(tmp_path: Path, value: str, code: str) -> None:
    record = _one(_write(tmp_path, "l.md", f"---\ntitle: T\noriginal_language: {value}\n---\n"))
    assert record.original_language == code


def test_contributors_as_a_credit_line(tmp_path: Path) -> None:
    credit = "Obtained by James Person and translated by Gary Goldberg"
    text = f"---\ntitle: T\ncontributors: {credit}\n---\n"
    record = _one(_write(tmp_path, "c.md", text))
    assert record.contributors == [
        Contributor("James Person", "obtained_by"),
        Contributor("Gary Goldberg", "translator"),
    ]


def test_archival_reference_as_a_mapping_and_dots_fence(tmp_path: Path) -> None:
    text = (
        "---\ntitle: T\narchival_reference:\n  text: AVPRF, fond 0102\n  repository: AVPRF\n"
        "  fond: '0102'\n...\nBody after a YAML document end marker.\n"
    )
    record = _one(_write(tmp_path, "a.markdown", text))
    assert record.archival_reference == ArchivalReference("AVPRF, fond 0102", "AVPRF", "0102")
    assert record.text == "Body after a YAML document end marker."


def test_empty_front_matter_needs_a_title(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.md", "---\n---\nBody\n")
    with pytest.raises(ReadError, match="missing field 'title'"):
        list(markdown.read(path))


def test_sniff() -> None:
    assert markdown.sniff(Path("a.md"), b"# Heading")
    assert markdown.sniff(Path("a.markdown"), b"---\ntitle: x\n")
    assert markdown.sniff(Path("a.txt"), b"---\ntitle: x\n")
    assert markdown.sniff(Path("a.txt"), b"\xef\xbb\xbf---\r\ntitle: x\r\n")
    assert not markdown.sniff(Path("a.txt"), b"Title: Record of a Conversation\n")
    assert not markdown.sniff(Path("a.xml"), b"---\n")


# -- bad input -----------------------------------------------------------------------


def _error(path: Path) -> ReadError:
    with pytest.raises(ReadError) as err:
        list(markdown.read(path))
    assert str(path) in str(err.value)
    return err.value


def test_bad_yaml_names_the_yaml_line(tmp_path: Path) -> None:
    text = "---\ntitle: ok\nid: x\nplaces: [Seoul\nsummary: s\n---\nBody\n"
    path = _write(tmp_path, "bad.md", text)
    err = _error(path)
    assert "invalid YAML" in err.message
    assert err.line == 5  # the line where the parser found the unclosed list


def test_bad_yaml_indentation(tmp_path: Path) -> None:
    path = _write(tmp_path, "indent.md", "---\ntitle: ok\n  bad: indent\n---\n")
    err = _error(path)
    assert err.line == 3


def test_missing_title_names_the_field(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "nt.md", "---\nid: x\ndate: 1956\n---\nBody\n"))
    assert "title" in err.message
    assert err.line == 1


def test_no_front_matter_at_all(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "plain.md", "# Just a heading\n\nText.\n"))
    assert "title" in err.message


@pytest.mark.parametrize(
    ("line", "key_text", "message"),
    [
        ("original_language: Klingonese", "original_language", "ISO 639"),
        ("contributors: [Gary Goldberg (typist)]", "contributors", "typist"),
        ("contributors: [Gary Goldberg]", "contributors", "needs a role"),
        ("title: [a, list]", "title", "must be text"),
        ("places: {a: 1}", "places", "list of text"),
        ("text: sneaky", "text", "set by the reader"),
        ("annotations: [{kind: sic, start: 0, end: 4, text: Nope}]", "annotations", "offsets"),
        ("annotations: [{kind: doodle, start: 0, end: 4, text: Body}]", "annotations", "kind"),
        ("stamps: [{text: x, colour: red}]", "stamps", "colour"),
    ],
)
def test_bad_values_name_their_key_line(
    tmp_path: Path, line: str, key_text: str, message: str
) -> None:
    title = "" if line.startswith("title") else "title: T\n"
    path = _write(tmp_path, "v.md", f"---\nid: v\n{title}{line}\n---\nBody\n")
    err = _error(path)
    assert message in err.message
    assert key_text in err.message
    assert err.line == (4 if title else 3)


def test_front_matter_never_closed(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "open.md", "---\ntitle: T\nBody without a fence\n"))
    assert err.line == 1 and "never closed" in err.message


def test_front_matter_that_is_not_a_mapping(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "list.md", "---\n- a\n- b\n---\n"))
    assert err.line == 2 and "mapping" in err.message


def test_empty_file(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "empty.md", ""))
    assert err.line == 1 and "empty" in err.message


def test_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "junk.md"
    path.write_bytes(b"---\ntitle: T\n---\n\x00\x01\x02\x03binary")
    err = _error(path)
    assert err.line == 4 and "binary" in err.message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("---\ntitle: Caf\xe9\n---\n".encode("latin-1"))
    err = _error(path)
    assert err.line == 2 and "UTF-8" in err.message


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["---", "title: T", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    path = _write(tmp_path, "bomb.md", "\n".join([*lines, "---", "Body"]) + "\n")
    err = _error(path)
    assert "aliases" in err.message
    assert err.line == 4


APPARATUS = """\
---
title: Беседа с Ким Ир Сеном
original_language: ru
---
Посол Иванов [illegible] сказал Ким Ир Сену (김일성, 金日成), что «пленум» прошёл.

Kim Du-bong [Kim Tu Bong] spoke [SIC]. Dvořák’s “words” were [[handwritten: 조선로동당]].
See [the report](https://digitalarchive.example.org/r1), ![scan](scan.png) and [^1].

```
[not an apparatus] inside code
```

[^1]: The copy is [illegible] at the fold.
"""


def test_the_body_apparatus_becomes_annotations(tmp_path: Path) -> None:
    """A curator's Markdown carries the translator's brackets as a text export does."""
    record = _one(_write(tmp_path, "beseda.md", APPARATUS))
    marks = [(a.kind, record.text[a.start:a.end], a.note) for a in record.annotations]
    assert marks == [
        ("illegible", "illegible", None),
        ("romanization", "Kim Tu Bong", "Kim Du-bong"),
        ("sic", "spoke", "SIC"),
        ("handwritten", "조선로동당", None),
        ("illegible", "illegible", None),
    ]
    assert all(record.text[a.start:a.end] == a.text for a in record.annotations)
    assert "were 조선로동당." in record.text  # the [[label: ...]] delimiters are dropped
    # Markdown's own brackets stay as they are and mark nothing.
    assert "[the report](https://digitalarchive.example.org/r1)" in record.text
    assert "![scan](scan.png)" in record.text and "[not an apparatus]" in record.text
    assert not record.check_annotations()


def test_offsets_from_the_front_matter_win(tmp_path: Path) -> None:
    text = APPARATUS.replace("original_language: ru\n", "original_language: ru\n"
                             "annotations:\n  - {kind: supplied, start: 0, end: 5, "
                             "text: Посол}\n")
    record = _one(_write(tmp_path, "given.md", text))
    assert [(a.kind, a.text) for a in record.annotations] == [("supplied", "Посол")]
    assert "[[handwritten: 조선로동당]]" in record.text  # the body as written


def test_the_marks_show_on_the_document_page(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from opis.services.archive import Archive
    from opis.web.app import create_app

    path = _write(tmp_path, "beseda.md", APPARATUS)
    archive = Archive(str(tmp_path / "a.db"))
    assert archive.ingest([path]).added == ["beseda"]
    with TestClient(create_app(archive)) as client:
        html = client.get("/document/beseda").text
    archive.close()
    assert 'data-kind="illegible"' in html and 'data-kind="handwritten"' in html
    assert 'data-kind="romanization"' in html and 'data-kind="sic"' in html
