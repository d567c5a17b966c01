"""CSL-JSON export: a manuscript item with archive fields and the translator as a name."""

from __future__ import annotations

import json

from export_fixtures import bare_record, nehru_record, reference_record
from opis.model.record import Contributor
from opis.services.export import export
from opis.services.export.csl_json import credit_line, csl_date, name_parts, to_csl_json


def test_reference_record_item() -> None:
    record = reference_record()
    media_type, body = export(record, "csl.json")
    assert media_type == "application/vnd.citationstyles.csl+json"
    [item] = json.loads(body)
    assert item == to_csl_json(record)
    assert item["type"] == "manuscript"
    assert item["title"] == record.title
    assert item["issued"] == {"date-parts": [[1956, 12, 28]]}
    assert item["author"] == [{"family": "Ivanov", "given": "V."}]
    assert item["translator"] == [{"family": "Goldberg", "given": "Gary"}]
    assert item["archive"] == "RGANI"
    assert item["archive_location"] == "Fond 5, Opis 28, Delo 486, Listi 1-17"
    assert item["source"] == "Wilson Center Digital Archive"
    assert item["URL"] == record.source_url
    assert item["abstract"] == record.summary
    assert item["language"] == "en"
    assert item["note"].startswith("Obtained by James F. Person and translated by Gary Goldberg.")


def test_nehru_and_bare_records() -> None:
    nehru = to_csl_json(nehru_record())
    assert nehru["author"] == [{"family": "Nehru", "given": "Jawaharlal"}]
    assert "archive" not in nehru
    assert nehru["archive_location"] == (
        "Nehru Memorial Museum and Library, File No. JNSG, vol. 21-1")
    assert to_csl_json(bare_record()) == {"id": "bare-1", "type": "manuscript",
                                          "title": "Untitled note"}


def test_dates_names_and_credits() -> None:
    assert csl_date("1957-01-X9") == {"date-parts": [[1957, 1]]}
    assert csl_date("1956?") == {"date-parts": [[1956]], "circa": True}
    assert csl_date("1955/1957") == {"date-parts": [[1955], [1957]]}
    assert csl_date("195X") == {"literal": "195X"}
    assert name_parts("Ivanov, V.") == {"family": "Ivanov", "given": "V."}
    assert name_parts("Nehru") == {"literal": "Nehru"}
    record = bare_record()
    record.contributors = [Contributor("A", "obtained_by"), Contributor("A", "translator"),
                           Contributor("B", "editor"), Contributor("C", "transcriber")]
    assert credit_line(record) == "Obtained and translated by A, transcribed by C and edited by B"
