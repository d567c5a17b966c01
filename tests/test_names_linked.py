"""Linked names on a real FRUS volume: the persons list, search by any spelling of a
linked person, and no junk people (issue 16). Both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from opis.services.archive import Archive

DATA = Path(__file__).parent / "data"
KOREA = DATA / "frus1955-57v23p2-excerpt.xml"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def korea(request, tmp_path_factory):
    """The Korea excerpt ingested once per backend."""
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("korea") / "opis.db")
        a = Archive(url)
        a.ingest([KOREA])
        yield a
        a.close()
        return
    from tests.conftest import pg_schema

    with pg_schema(request.getfixturevalue("pg_ok")) as url:
        a = Archive(url)
        a.ingest([KOREA])
        yield a
        a.close()


def _people(archive: Archive) -> dict[str, object]:
    return {s.entity.preferred: s.entity for s in archive.list_entities("person", 500)}


def test_a_see_entry_joins_the_person_it_points_to(korea):
    people = _people(korea)
    assert "Dr. Yang" not in people  # "Yang, Dr.: see You Chan Yang" is no second person
    yang = next(e for e in people.values() if "You Chan Yang" in e.variants)
    record = korea.get("frus1955-57v23p2-d2")
    assert yang.id in {m.entity_id for m in record.mentions}


def test_titles_are_roles_not_names(korea):
    people = _people(korea)
    assert "Arthur W. Radford" in people
    assert "Admiral Arthur W. Radford" not in people
    rhee = people["Rhee Syngman"]
    assert "Syngman Rhee" in rhee.variants
