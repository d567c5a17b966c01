"""The WCDA JSON/CSV reader on the eleven real archive records, and on bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from opis.model import ArchivalReference, Author, Contents, Contributor, Record
from opis.model.headings import is_personal_heading, split_heading
from opis.readers import wcda_json
from opis.readers.base import ReadError, Rejected
from paths import DATA

JSONL = DATA / "wcda-records.jsonl"
RAW = [json.loads(line) for line in JSONL.read_text(encoding="utf-8").splitlines()]

JAPAN_REF = (
    "Diplomatic Archives of the Ministry of Foreign Affairs of Japan, File A’0392 (Microfilm)"
)
JAPAN_CREDITS = [
    Contributor("Robert Hoppens", "contributor"),
    Contributor("Stephen Mercado", "translator"),
]
KIENINGER = [
    Contributor("Stephan Kieninger", "contributor"),
    Contributor("Stephan Kieninger", "transcriber"),
    Contributor("Stephan Kieninger", "translator"),
]
DONOR = ["Chun & Jane Chiu Family Foundation"]

# record_id: date, language, classification, archival reference, contributors, donors,
# authors, people, organizations
EXPECTED = {
    "300653": ("1949-04-01", "en", "Secret", "Nehru Memorial Museum and Library, File No. JNSG, "
               "vol. 21-1", [], [], ["Nehru, Jawaharlal"], [], []),
    "300641": ("1967-11-24", "ja", "Secret", JAPAN_REF, JAPAN_CREDITS, DONOR,
               ["Japan. Foreign Ministry"],
               ["Satō, Eisaku", "Chiang, Ching-kuo (Jiang Jingguo)"], []),
    "300640": ("1967-11-18", "ja", "Secret", JAPAN_REF, JAPAN_CREDITS, DONOR,
               ["Japan. Foreign Ministry", "Japan. Foreign Ministry. Asian Affairs Bureau"],
               ["Mao, Zedong", "Lin, Biao", "Liu, Shaoqi", "Deng, Xiaoping"], []),
    "300639": ("1967-11-06", "ja", None, JAPAN_REF, JAPAN_CREDITS, DONOR,
               ["Kawase, Ikkan", "Japan-China Import-Export Association"],
               ["Ushiba, Nobuhiko", "Chiang, Ching-kuo (Jiang Jingguo)"], []),
    "300638": ("1967-11", "ja", None, JAPAN_REF, JAPAN_CREDITS, DONOR,
               ["Nakajima, Kenzō", "Japan-China Cultural Exchange Association"],
               ["Chiang, Ching-kuo (Jiang Jingguo)", "Chiang, Kai-shek (Jiang Jieshi)",
                "Satō, Eisaku"], []),
    "300242": ("1997-10-31", "de", None, "BArch, B 136/59748, 403-410", KIENINGER, [], [],
               ["Bitterlich, Joachim", "Kohl, Helmut",
                'Blair, Anthony Charles Lynton ("Tony")'], []),
    "300241": ("1997-10-22", "de", None, "BArch, B 136/59748, 396-402", KIENINGER, [], [],
               ["Bitterlich, Joachim", "Kohl, Helmut", "Guterres, António Manuel de Oliveira"],
               []),
    "300240": ("1997-07-30", "de", None, "BArch, B 136/59748, 335-336", KIENINGER, [], [],
               ["Kohl, Helmut", "Kuchma, Leonid Danylovych"], []),
    "300239": ("1997-05-12", "de", None, "BArch, B 136/59748, 326-334", KIENINGER, [], [],
               ["Bitterlich, Joachim", "Rafsanjani, Akbar Hashemi", "Kohl, Helmut",
                "Nazarbayev, Nursultan Abishuly"], []),
    "300238": ("1997-04-23", "de", None, "BArch, B 136/59748, 376-385", KIENINGER, [], [],
               ["Bitterlich, Joachim", "Primakov, Yevgeni Maksimovich", "Kohl, Helmut",
                "Yeltsin, Boris"], []),
    "300237": ("1996-09-12", "de", None, "BArch, B 136/59748, 297-301", KIENINGER, [], [],
               ["Neuer, Walter", "Yeltsin, Boris", "Chirac, Jacques", "Kohl, Helmut",
                "Kwasniewski, Aleksander"], []),
}


def _records(path: Path) -> list[Record]:
    items = list(wcda_json.read(path))
    assert all(isinstance(i, Record) for i in items)
    return items  # type: ignore[return-value]


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return _records(JSONL)


def test_all_eleven_records_load_in_file_order(records: list[Record]) -> None:
    assert [r.id for r in records] == [raw["record_id"] for raw in RAW]
    assert len(records) == 11


@pytest.mark.parametrize("index", range(11))
def test_every_field_of_each_record(records: list[Record], index: int) -> None:
    raw, record = RAW[index], records[index]
    date, lang, classification, ref, contributors, donors, authors, people, orgs = EXPECTED[
        raw["record_id"]
    ]
    assert record.id == raw["record_id"]
    assert record.title == raw["title"]
    assert record.source_url == raw["document_url"]
    assert record.summary == raw["summary"]
    assert record.text == raw["text_body"].replace("\r\n", "\n")
    assert record.rights == raw["rights"] and record.rights.startswith("The History")
    assert record.date == date
    assert "date_text" not in record.extra
    assert record.original_language == lang
    assert record.extra["languages"] == [lang]
    kind = "transcription" if lang == "en" else "translation"
    assert record.contents == Contents(kind, "en")
    assert record.classification == classification
    assert record.archival_reference == ArchivalReference(text=ref)
    assert record.contributors == contributors
    assert record.donors == donors
    assert record.authors == [Author(name) for name in authors]
    if authors:
        assert record.extra["authors_display"] == [split_heading(a)[0] for a in authors]
    else:
        assert "authors_display" not in record.extra
    assert record.people == people
    assert record.organizations == orgs
    assert record.places == raw["associated_places"]
    assert record.subjects == raw["subjects_discussed"]
    assert record.repository_title == raw["original_archive_title"][0]
    assert record.extra["upload_date"] == raw["original_upload_date"]
    for dropped in ("scraped_at", "page_number", "page_position"):
        assert dropped not in record.extra
    assert record.source_format == "wcda-json"
    assert record.source_path == str(JSONL)


def test_authors_display_in_reading_order(records: list[Record]) -> None:
    by_id = {r.id: r for r in records}
    assert by_id["300653"].extra["authors_display"] == ["Jawaharlal Nehru"]
    assert by_id["300641"].extra["authors_display"] == ["Japan. Foreign Ministry"]
    assert by_id["300639"].extra["authors_display"] == [
        "Kawase Ikkan",
        "Japan-China Import-Export Association",
    ]
    assert by_id["300638"].extra["authors_display"][0] == "Nakajima Kenzō"


def test_donors_parsed_from_credits_when_the_column_is_null() -> None:
    raw = dict(RAW[1], donors=None)
    record = wcda_json.record_from_wcda(raw)
    assert record.donors == DONOR
    assert record.extra["credits"] == raw["credits"]


def test_unparsed_date_keeps_its_text() -> None:
    record = wcda_json.record_from_wcda(dict(RAW[0], original_publication_date="circa 1949"))
    assert record.date is None
    assert record.extra["date_text"] == "circa 1949"


def test_crlf_text_becomes_lf() -> None:
    record = wcda_json.record_from_wcda(dict(RAW[0], text_body="a\r\nb\rc"))
    assert record.text == "a\nb\nc"


def test_language_codes() -> None:
    assert wcda_json.language_code("Russian") == "ru"
    assert wcda_json.language_code("Chinese") == "zh"
    assert wcda_json.language_code("Korean") == "ko"
    assert wcda_json.language_code("French") == "fr"
    assert wcda_json.language_code("Tibetan") == "tibetan"  # unknown: kept, lowercased
    record = wcda_json.record_from_wcda(dict(RAW[0], language=["Russian", "English"]))
    assert record.original_language == "ru"
    assert record.extra["languages"] == ["ru", "en"]
    assert record.contents == Contents("translation", "en")


def test_split_source() -> None:
    assert wcda_json.split_source(RAW[1]["source"]) == (
        JAPAN_REF,
        "Contributed by Robert Hoppens and translated by Stephen Mercado.",
    )
    assert wcda_json.split_source("Obtained by X and translated by Y.") == (
        None,
        "Obtained by X and translated by Y.",
    )
    assert wcda_json.split_source("RGANI, f. 5, op. 28, d. 486.") == (
        "RGANI, f. 5, op. 28, d. 486",
        None,
    )


def test_russian_reference_is_parsed_into_its_hierarchy() -> None:
    raw = dict(RAW[0], source="RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17. Obtained by "
               "James Person and translated by Gary Goldberg.")
    record = wcda_json.record_from_wcda(raw)
    ref = record.archival_reference
    assert ref is not None
    assert (ref.repository, ref.fond, ref.opis, ref.delo, ref.folios) == (
        "RGANI", "5", "28", "486", "1-17",
    )
    assert record.contributors == [
        Contributor("James Person", "obtained_by"),
        Contributor("Gary Goldberg", "translator"),
    ]


def test_json_array_file(tmp_path: Path, records: list[Record]) -> None:
    path = tmp_path / "records.json"
    path.write_text(json.dumps(RAW, ensure_ascii=False, indent=2), encoding="utf-8")
    assert wcda_json.sniff(path, path.read_bytes()[:4096])
    loaded = _records(path)
    assert [r.to_dict() | {"source_path": None} for r in loaded] == [
        r.to_dict() | {"source_path": None} for r in records
    ]


def _write_csv(path: Path, rows: list[dict], lists_as_json: bool) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for raw in rows:
            row = {}
            for key, value in raw.items():
                if value is None:
                    row[key] = ""
                elif isinstance(value, list):
                    row[key] = json.dumps(value, ensure_ascii=False) if lists_as_json else (
                        "; ".join(value)
                    )
                else:
                    row[key] = value
            writer.writerow(row)


@pytest.mark.parametrize("lists_as_json", [True, False])
def test_csv_variant_gives_the_same_records(
    tmp_path: Path, records: list[Record], lists_as_json: bool
) -> None:
    path = tmp_path / "records.csv"
    _write_csv(path, RAW, lists_as_json)
    assert wcda_json.sniff(path, path.read_bytes()[:4096])
    loaded = _records(path)
    assert len(loaded) == 11
    for got, want in zip(loaded, records, strict=True):
        assert got.source_format == "wcda-csv"
        assert got.to_dict() | {"source_format": None, "source_path": None} == (
            want.to_dict() | {"source_format": None, "source_path": None}
        )


def test_csv_bad_row_fails_alone_and_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    rows = [dict(RAW[0]), dict(RAW[1], title=None), dict(RAW[2])]
    _write_csv(path, rows, lists_as_json=True)
    # The first record's cells span many lines: the error must name the bad row's own line.
    lines = path.read_text(encoding="utf-8").split("\n")
    row_line = next(i for i, line in enumerate(lines, 1) if line.startswith(RAW[1]["document_url"]))
    assert row_line > 40
    got = list(wcda_json.read(path))
    assert [r.id for r in got if isinstance(r, Record)] == ["300653", RAW[2]["record_id"]]
    [rejected] = [r for r in got if isinstance(r, Rejected)]
    err = rejected.error
    assert err.line == row_line and rejected.record_id == "300641"
    assert "title" in err.message and "300641" in err.message
    assert str(path) in str(err)


def test_jsonl_bad_lines_fail_alone(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    good = [json.dumps(r, ensure_ascii=False) for r in RAW[:3]]
    path.write_bytes("\n".join([good[0], '{"record_id": "x", "title": ', good[1],
                                 "[1, 2]", good[2]]).encode() + b"\n\xff\xfe{}\n")
    got = list(wcda_json.read(path))
    assert [r.id for r in got if isinstance(r, Record)] == [r["record_id"] for r in RAW[:3]]
    failed = [(r.error.line, r.error.message) for r in got if isinstance(r, Rejected)]
    assert [line for line, _ in failed] == [2, 4, 6]
    assert "invalid JSON" in failed[0][1] and "one JSON object" in failed[1][1]
    assert "not UTF-8" in failed[2][1]


def test_sniff() -> None:
    head = JSONL.read_bytes()[:4096]
    assert wcda_json.sniff(Path("x.jsonl"), head)
    assert wcda_json.sniff(Path("x.ndjson"), head)
    assert not wcda_json.sniff(Path("x.txt"), head)
    assert not wcda_json.sniff(Path("x.json"), b'{"type": "FeatureCollection"}')
    assert not wcda_json.sniff(Path("x.csv"), b"a,b,c\n1,2,3\n")


# -- bad input -----------------------------------------------------------------------


def _rejected(path: Path) -> tuple[ReadError, list[Record]]:
    """The one record of ``path`` that cannot be stored, and the records that were."""
    items = list(wcda_json.read(path))
    [rejected] = [i for i in items if isinstance(i, Rejected)]
    assert str(path) in str(rejected.error)
    return rejected.error, [i for i in items if isinstance(i, Record)]


def _lines(*records: dict | str) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"


def test_invalid_json_line_is_named_after_good_records(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(_lines(RAW[0], RAW[1], '{"record_id": "1", "title": ', RAW[2]))
    err, got = _rejected(path)
    # The records before and after the bad line are read.
    assert [r.id for r in got] == ["300653", "300641", RAW[2]["record_id"]]
    assert err.line == 3
    assert "invalid JSON" in err.message
    assert str(err).startswith(f"{path}, line 3:")


@pytest.mark.parametrize(
    ("field", "value"), [("record_id", None), ("record_id", "  "), ("title", None), ("title", "")]
)
def test_missing_required_field(tmp_path: Path, field: str, value: object) -> None:
    path = tmp_path / "missing.jsonl"
    broken = dict(RAW[3])
    if value is None:
        del broken[field]
    else:
        broken[field] = value
    path.write_text(_lines(RAW[0], broken))
    err, got = _rejected(path)
    assert err.line == 2 and [r.id for r in got] == ["300653"]
    assert f"'{field}'" in err.message


def test_wrong_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "types.jsonl"
    path.write_text(_lines(dict(RAW[0], authors="Nehru, Jawaharlal")))
    err, _ = _rejected(path)
    assert "line 1: field 'authors' must be an array" in str(err)


def test_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "array-line.jsonl"
    path.write_text(_lines(RAW[0], "[1, 2]"))
    err, _ = _rejected(path)
    assert "line 2: each line must hold one JSON object" in str(err)


def test_json_array_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    text = json.dumps(RAW[:2], indent=1)
    path.write_text(text[:-1] + ", {]")  # garbage where a third record would start
    with pytest.raises(ReadError) as err:
        list(wcda_json.read(path))
    assert err.value.line == text.count("\n") + 1
    assert "invalid JSON" in err.value.message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n  \n")
    with pytest.raises(ReadError, match=r"empty.jsonl, line 1: the file is empty"):
        list(wcda_json.read(path))


def test_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b'{"record_id": "1", "title": "A report"}\n\x89PNG\r\n\x1a\n\xff\xfe\x00\x00'
                     b'garbage')
    items = list(wcda_json.read(path))
    errors = [i.error for i in items if isinstance(i, Rejected)]
    assert [r.id for r in items if isinstance(r, Record)] == ["1"]
    assert errors and errors[0].line == 2 and "UTF-8" in errors[0].message
    assert str(path) in str(errors[0])


# -- the heading helper the reader relies on ------------------------------------------


@pytest.mark.parametrize(
    ("heading", "display", "variants"),
    [
        ("Chiang, Ching-kuo (Jiang Jingguo)", "Chiang Ching-kuo", ["Jiang Jingguo"]),
        ("Satō, Eisaku", "Satō Eisaku", []),
        ("Mao, Zedong", "Mao Zedong", []),
        ("Nehru, Jawaharlal", "Jawaharlal Nehru", []),
        ('Blair, Anthony Charles Lynton ("Tony")', "Anthony Charles Lynton Blair", ["Tony Blair"]),
        ("Japan. Foreign Ministry", "Japan. Foreign Ministry", []),
        ("Japan-China Import-Export Association", "Japan-China Import-Export Association", []),
        ("Cho, Chung-hwan (Cho, Chung W.)", "Cho Chung-hwan", ["Chung W. Cho"]),
        ("Chang, Myon, (John Myun Chang)", "Chang Myon", ["John Myun Chang"]),
        ("Burke, Admiral Arleigh A.", "Admiral Arleigh A. Burke", []),
        ("Yang, Dr.", "Dr. Yang", []),
        ("Hoover, Herbert, Jr.", "Herbert Hoover Jr.", []),
        ("Lee, Robert E.", "Robert E. Lee", []),
    ],
)
def test_split_heading(heading: str, display: str, variants: list[str]) -> None:
    assert split_heading(heading) == (display, variants)


def test_is_personal_heading() -> None:
    assert is_personal_heading("Satō, Eisaku")
    assert is_personal_heading("Chiang, Ching-kuo (Jiang Jingguo)")
    assert not is_personal_heading("Japan. Foreign Ministry")
    assert not is_personal_heading("Japan. Foreign Ministry. Asian Affairs Bureau, Division 2")
    assert not is_personal_heading("North Atlantic Treaty Organization")


def test_people_and_organizations_split_by_heading_form() -> None:
    raw = dict(
        RAW[0],
        associated_people_orgs=["Satō, Eisaku", "Japan. Foreign Ministry", "Korean Workers' Party"],
        document_contributors=["Kohl, Helmut", "Satō, Eisaku"],
    )
    record = wcda_json.record_from_wcda(raw)
    assert record.people == ["Satō, Eisaku", "Kohl, Helmut"]
    assert record.organizations == ["Japan. Foreign Ministry", "Korean Workers' Party"]


def test_json_file_holding_objects_one_after_another(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text(
        json.dumps(RAW[0], indent=2) + "\n" + json.dumps(RAW[1]) + "\n", encoding="utf-8"
    )
    assert [r.id for r in _records(path)] == ["300653", "300641"]


def test_json_array_with_trailing_content(tmp_path: Path) -> None:
    path = tmp_path / "trailing.json"
    path.write_text(json.dumps(RAW[:1]) + "\n\nnonsense\n", encoding="utf-8")
    with pytest.raises(ReadError, match=r"line 3: invalid JSON: content after the closing"):
        list(wcda_json.read(path))


def test_json_lines_stream_one_line_at_a_time(tmp_path: Path) -> None:
    """A JSON Lines file is read line by line: the first records come out before a bad
    line further down is even read, and memory never holds the whole file."""
    path = tmp_path / "big.jsonl"
    good = b'{"record_id": "%d", "title": "Report %d"}\n'
    path.write_bytes(b"".join(good % (i, i) for i in range(1, 4)) + b"\xff\xfe broken\n")
    records = wcda_json.read(path)
    assert [next(records).id for _ in range(3)] == ["1", "2", "3"]
    rejected = next(records)
    assert isinstance(rejected, Rejected)
    assert rejected.error.line == 4 and "not UTF-8" in rejected.error.message
