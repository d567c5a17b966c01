"""FRUS source notes parsed into what a citation needs, and nothing it must not carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from opis.model import ArchivalReference
from opis.readers import frus_sources
from opis.readers.frus_sources import NARA_59, load_rules, parse
from opis.services.archive import Archive
from opis.services.ingest_report import frus_rules

CASES = [
    ("Source: Department of State, Central Files, 795.00/6–2656. Secret. Drafted by Bennett",
     ArchivalReference("Department of State, Central Files, 795.00/6–2656", NARA_59,
                       series="Central Files", file="795.00/6–2656"),
     "Secret", "Drafted by Bennett", []),
    ("Source: Department of State, Central Files, 795.00/1–1255. Top Secret. Drafted by "
     "Robert J. G. McClurkin, initialed by Robertson. Repeated to Bern, Stockholm, and Tokyo.",
     ArchivalReference("Department of State, Central Files, 795.00/1–1255", NARA_59,
                       series="Central Files", file="795.00/1–1255"),
     "Top Secret", "Drafted by Robert J. G. McClurkin, initialed by Robertson",
     ["Bern", "Stockholm", "Tokyo"]),
    ("Source: Department of State, S/S Files: Lot 66 D 204, Eisenhower/Dulles Correspondence "
     "with Rhee. No classification marking.",
     ArchivalReference("Department of State, S/S Files: Lot 66 D 204, Eisenhower/Dulles "
                       "Correspondence with Rhee", NARA_59, series="S/S Files",
                       file="Lot 66 D 204, Eisenhower/Dulles Correspondence with Rhee"),
     None, None, []),
    ("Source: Eisenhower Library, Whitman File, NSC Records. Top Secret; Eyes Only.",
     ArchivalReference("Eisenhower Library, Whitman File, NSC Records", "Eisenhower Library",
                       series="Whitman File", file="NSC Records"),
     "Top Secret", None, []),
    ("Paris Peace Conf. 185.1/12: Telegram",
     ArchivalReference("Paris Peace Conf. 185.1/12", frus_sources.NARA_256,
                       series="Paris Peace Conf.", file="185.1/12"), None, None, []),
    ("740.0011 Mutual Guarantee (Locarno)/507: Telegram (part air)",
     ArchivalReference("740.0011 Mutual Guarantee (Locarno)/507", NARA_59,
                       series="Central Files", file="740.0011 Mutual Guarantee (Locarno)/507"),
     None, None, []),
]


@pytest.mark.parametrize(("note", "reference", "classification", "drafting", "repeated"),
                         CASES)
def test_a_source_note_is_split_into_its_parts(note: str, reference: ArchivalReference,
                                               classification: str | None,
                                               drafting: str | None,
                                               repeated: list[str]) -> None:
    got = parse(note)
    assert got.reference == reference
    assert (got.classification, got.drafting, got.distribution) == (classification, drafting,
                                                                    repeated)


@pytest.mark.parametrize(("note", "kind", "classification"), [
    ("[Extract.]", None, None), ("[Translation.]", None, None),
    ("[Telegram.—Paraphrase.]", "Telegram", None), ("[Inclosure 2 in No. 5.]", "Inclosure", None),
    ("[Confidential.]", None, "Confidential"), ("(Extract.)", None, None),
])
def test_old_bracketed_notes_are_no_place(note: str, kind: str | None,
                                          classification: str | None) -> None:
    got = parse(note)
    assert got.reference is None
    assert (got.document_type, got.classification) == (kind, classification)


def test_an_unknown_place_names_no_archive() -> None:
    got = parse("Frank L. Polk Papers")
    assert got.reference == ArchivalReference("Frank L. Polk Papers")


def test_hunter_miller_papers_are_at_the_library_of_congress() -> None:
    """frus1919Parisv01's preface puts David Hunter Miller's papers in the Library of
    Congress; its source notes cite them as "Hunter Miller Papers"."""
    for note in ("Hunter Miller Papers", "David Hunter Miller Papers"):
        got = parse(note)
        assert got.reference is not None
        assert got.reference.repository == "Library of Congress, Manuscript Division"
        assert got.reference.series == note


def test_rules_from_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "frus-repositories.toml"
    rules.write_text('[[repository]]\npattern = "(?P<series>Frank L\\\\. Polk Papers)"\n'
                     'repository = "Yale University Library, Manuscripts and Archives"\n',
                     encoding="utf-8")
    monkeypatch.setenv("OPIS_FRUS_REPOSITORIES", str(rules))
    configured = frus_rules()  # what an ingest hands the FRUS reader
    got = parse("Frank L. Polk Papers", configured)
    assert got.reference is not None
    assert got.reference.repository == "Yale University Library, Manuscripts and Archives"
    assert got.reference.series == "Frank L. Polk Papers"
    assert parse("File No. 861.00/1457", configured).reference.repository == NARA_59
    assert parse("Frank L. Polk Papers").reference.repository is None  # not configured


def test_a_bad_rules_file_is_named(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text('[{"pattern": "(unclosed", "repository": "X"}]', encoding="utf-8")
    with pytest.raises(ValueError, match=r"rules.json: entry 1: bad pattern"):
        load_rules(rules)
    rules.write_text('[{"repository": "X"}]', encoding="utf-8")
    with pytest.raises(ValueError, match=r"entry 1 needs a 'pattern'"):
        load_rules(rules)


VOLUME = """<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="frus1919Test">
<teiHeader><fileDesc><titleStmt><title type="complete">Test volume</title></titleStmt>
<publicationStmt><idno type="frus">frus1919Test</idno></publicationStmt>
<sourceDesc><p/></sourceDesc></fileDesc></teiHeader>
<text><body><div type="document" xml:id="d1" n="1">
<head>Memorandum by the Counselor (Polk)<note n="1" type="source">Source: Frank L. Polk
Papers. Secret.</note></head>
<p>Mr. Dvořák’s “note” on Ким Ир Сен (김일성, 金日成) was read.</p>
</div></body></text></TEI>
"""


def test_an_ingest_places_source_notes_by_the_configured_rules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "frus-repositories.toml"
    rules.write_text('[[repository]]\npattern = "(?P<series>Frank L\\\\. Polk Papers)"\n'
                     'repository = "Yale University Library, Manuscripts and Archives"\n',
                     encoding="utf-8")
    volume = tmp_path / "frus1919Test.xml"
    volume.write_text(VOLUME, encoding="utf-8")
    monkeypatch.setenv("OPIS_FRUS_REPOSITORIES", str(rules))
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([volume])
    assert report.added == ["frus1919Test-d1"], report.failed
    record = archive.get("frus1919Test-d1")
    assert record.archival_reference.repository == \
        "Yale University Library, Manuscripts and Archives"
    assert record.classification == "Secret"
    archive.close()


def test_a_bad_rules_setting_stops_the_ingest_before_it_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from opis.cli import app

    rules = tmp_path / "rules.json"
    rules.write_text('[{"pattern": "(unclosed", "repository": "X"}]', encoding="utf-8")
    volume = tmp_path / "frus1919Test.xml"
    volume.write_text(VOLUME, encoding="utf-8")
    monkeypatch.setenv("OPIS_FRUS_REPOSITORIES", str(rules))
    result = CliRunner().invoke(app, ["ingest", str(volume), "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "rules.json: entry 1: bad pattern" in " ".join(result.output.split())
