"""Citations with citeproc-py and the shipped CSL styles, against the Wilson Center line."""

from __future__ import annotations

from importlib import resources

import pytest

from export_fixtures import REFERENCE_CITATION, bare_record, nehru_record, reference_record
from opis.services.export.citation import STYLES, CitationError, cite

URL = "https://wilson-center-digital-archive.dvincitest.com/document/114165"
TITLE = reference_record().title

CHICAGO = (
    f"V. Ivanov, “{TITLE}”, trans. Gary Goldberg, December 28, 1956, RGANI, Fond 5, Opis 28, "
    f"Delo 486, Listi 1-17, Wilson Center Digital Archive, {URL}."
)


def test_chicago_note_for_the_reference_record() -> None:
    assert cite(reference_record(), "chicago") == CHICAGO


def test_differences_from_the_wilson_center_line_are_exactly_the_documented_ones() -> None:
    """Undo each difference listed in docs/export.md; what is left must be the archive's line."""
    text = cite(reference_record(), "chicago")
    # 1. Chicago names the author first; the archive's line names none.
    text = text.removeprefix("V. Ivanov, ")
    # 2. Curly quotes where the archive prints straight ones.
    text = text.replace("“", '"').replace("”", '"')
    # 3. The translator follows the title ("trans."); the archive credits at the end.
    text = text.replace(", trans. Gary Goldberg", "")
    # 4. Chicago's order: reference, then archive; the archive's line: archive first.
    text = text.replace(
        "RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17, Wilson Center Digital Archive",
        "Wilson Center Digital Archive, RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17",
    )
    # 5. Chicago ends with the URL and a period; the archive ends with its credit line,
    #    whose "Obtained by" has no CSL role.
    text = text.replace(
        f", {URL}.", ". Obtained by James F. Person and translated by Gary Goldberg"
    )
    assert text == REFERENCE_CITATION


def test_apa_and_mla_reference_entries() -> None:
    apa = cite(reference_record(), "apa")
    assert apa.startswith("Ivanov, V. (1956). Communist Party of the Soviet Union")
    assert "(G. Goldberg, trans.)" in apa
    assert "Wilson Center Digital Archive (RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17)" in apa
    mla = cite(reference_record(), "mla")
    assert mla.startswith("Ivanov, V. “Communist Party")
    assert "Translated by Gary Goldberg, 28 Dec. 1956, Wilson Center Digital Archive" in mla


def test_authorless_records_print_the_title_once() -> None:
    record = reference_record()
    record.authors = []
    record.contributors = []
    for style in STYLES:
        assert cite(record, style).count("Communist Party of the Soviet Union") == 1, style
    assert cite(record, "chicago").startswith(f"“{TITLE}”, December 28, 1956, RGANI")


def test_translator_standing_in_for_author_keeps_label_and_full_name() -> None:
    record = reference_record()
    record.authors = []
    chicago = cite(record, "chicago")
    assert chicago.startswith("Gary Goldberg, trans., “Communist Party")
    assert chicago.count("Goldberg") == 1


def test_other_records_and_missing_fields() -> None:
    nehru = cite(nehru_record(), "chicago")
    assert nehru.startswith("Jawaharlal Nehru, “Letter, Jawaharlal Nehru to All Provincial")
    assert "Nehru Memorial Museum and Library, File No. JNSG, vol. 21-1" in nehru
    for style in STYLES:
        assert "Untitled" in cite(bare_record(), style)


def test_html_output_escapes_markup() -> None:
    record = reference_record()
    record.title = "<script>alert(1)</script>"
    html = cite(record, "chicago", "html")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_unknown_style_or_format() -> None:
    with pytest.raises(CitationError):
        cite(reference_record(), "harvard")
    with pytest.raises(CitationError):
        cite(reference_record(), "chicago", "pdf")


def test_styles_ship_with_their_licence_headers() -> None:
    for name in STYLES.values():
        text = resources.files("opis").joinpath("data", "csl", f"{name}.csl").read_text()
        assert "creativecommons.org/licenses/by-sa/3.0" in text
