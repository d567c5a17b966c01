"""The format registry the web layer and CLI dispatch on."""

from __future__ import annotations

import pytest

from export_fixtures import bare_record, nehru_record, reference_record
from opis.services.export import FORMATS, UnknownFormatError, export


def test_every_format_writes_every_record() -> None:
    for record in (reference_record(), nehru_record(), bare_record()):
        for ext, (media_type, _write) in FORMATS.items():
            got_type, body = export(record, ext)
            assert got_type == media_type
            assert body.strip()
            assert record.id in body or ext == "bib"


def test_extension_lookup_is_forgiving_but_strict() -> None:
    assert export(bare_record(), ".RIS")[0] == "application/x-research-info-systems"
    with pytest.raises(UnknownFormatError, match="unknown export format 'docx'"):
        export(bare_record(), "docx")
