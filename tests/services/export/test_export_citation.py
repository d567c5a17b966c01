"""Citations with citeproc-py and the shipped CSL styles, against the Wilson Center line."""

from __future__ import annotations

from importlib import resources

import pytest

from export_fixtures import (
    OPIS,
    REFERENCE_CITATION,
    bare_record,
    context_for,
    corporate_record,
    frus_telegram_record,
    multiscript_record,
    nehru_record,
    reference_record,
)
from opis.services.export.citation import STYLES, CitationError, cite, punctuate_in_quotes

URL = "https://wilson-center-digital-archive.dvincitest.com/document/114165"
TITLE = reference_record().title

CHICAGO = (
    f"V. Ivanov, “{TITLE},” trans. Gary Goldberg, December 28, 1956, RGANI, Fond 5, Opis 28, "
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
    text = text.replace(" trans. Gary Goldberg,", "")
    # 4. US punctuation: the comma inside the closing quotation mark.
    text = text.replace(',"', '",')
    # 5. Chicago's order: reference, then archive; the archive's line: archive first.
    text = text.replace(
        "RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17, Wilson Center Digital Archive",
        "Wilson Center Digital Archive, RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17",
    )
    # 6. Chicago ends with the URL and a period; the archive ends with its credit line,
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
    assert cite(record, "chicago").startswith(f"“{TITLE},” December 28, 1956, RGANI")


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


def test_us_styles_put_commas_and_periods_inside_quotation_marks() -> None:
    record = reference_record()
    assert f"“{TITLE},” trans." in cite(record, "chicago")
    assert f"“{TITLE}.” Translated by" in cite(record, "mla")
    for style in STYLES:
        assert "”," not in cite(record, style) and "”." not in cite(record, style), style


def test_quote_finishing_follows_the_csl_test_suite() -> None:
    # magic_PunctuationInQuoteDefaultEnglishDelimiter: "Doe, “Book A,” 1900."
    assert punctuate_in_quotes("Doe, “Book A”, 1900.") == "Doe, “Book A,” 1900."
    # flipflop_QuotesInFieldNotOnNode: quotes from a field value are not the style's.
    assert punctuate_in_quotes("Speak, \ue001friend\ue002, and enter.") == (
        "Speak, “friend”, and enter.")
    assert punctuate_in_quotes("“Why?”.") == "“Why?”"
    assert punctuate_in_quotes("Doe, “Book A”, 1900.", in_quote=False) == (
        "Doe, “Book A”, 1900.")


def test_a_quotation_inside_a_quoted_title_turns_single() -> None:
    chicago = cite(multiscript_record(), "chicago")
    assert "(金日成) ‘Satō’s Note,’” Memorandum of Conversation" in chicago
    assert chicago.startswith("Василий Иванович Иванов and Министерство иностранных дел СССР, “")
    apa = cite(multiscript_record(), "apa")  # APA does not quote titles: the field's stay
    assert "(金日成) “Satō’s note” (G. Goldberg, trans.)" in apa


def test_frus_document_is_cited_in_its_volume() -> None:
    record = frus_telegram_record()
    chicago = cite(record, "chicago", context=context_for(record))
    assert chicago == (
        "Embassy in Korea, “Telegram From the Embassy in Korea to the Department of State, "
        "Seoul, January 8, 1955,” in Foreign Relations of the United States, 1955–1957, "
        "Vol. XXIII, Pt. 2, Korea, ed. Louis J. Smith and Glenn W. LaFantasie (Government "
        "Printing Office, 1993), doc. 3, Central Files, 611.95B/1–855, National Archives, "
        "RG 59, General Records of the Department of State, "
        f"{OPIS}/document/frus1955-57v23p2-d3.")
    apa = cite(record, "apa", context=context_for(record))
    assert "In L. J. Smith & G. W. LaFantasie (eds.), Foreign Relations" in apa
    assert "(pp. 4–5). Government Printing Office." in apa


def test_a_curators_record_is_an_online_archival_document() -> None:
    record = bare_record()
    record.authors = []
    chicago = cite(record, "chicago", context=context_for(record))
    assert chicago == f"“Untitled Note,” n.d., accessed December 2, 2026, {OPIS}/document/bare-1."
    assert "unpublished" not in chicago.lower()
    mla = cite(record, "mla", context=context_for(record))
    assert mla == f"“Untitled Note.” {OPIS}/document/bare-1. Accessed 2 Dec. 2026."


def test_corporate_authors_are_not_inverted_in_citations() -> None:
    for style in STYLES:
        text = cite(corporate_record(), style)
        assert "Korea, Embassy in" not in text and "Association, Japan" not in text, style
    assert cite(corporate_record(), "apa").startswith(
        "Nakajima, K., Japan-China Cultural Exchange Association, & Embassy in Korea. (1967).")
