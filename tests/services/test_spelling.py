""""Did you mean": a query that finds nothing gets the nearest query that does, from
the authority's names (both engines) and the indexed words (Tantivy)."""

from __future__ import annotations

import pytest

from curation_helpers import sample_record
from opis.model.entity import Entity
from opis.services.archive import Archive
from opis.services.spelling import did_you_mean

TEXT = ("Kim Du-bong spoke at the plenum in Pyongyang. Посол Иванов беседовал с Ким Ир "
        "Сеном (김일성, 金日成) о «пленуме». Dvořák’s “note” was read.\n")


@pytest.fixture
def typos(db_url: str):
    archive = Archive(db_url)
    archive.put([
        Entity(id="person/kim-du-bong", kind="person", preferred="Kim Du-bong",
               variants=["Kim Tu-bong", "Kim Tu Bong", "김두봉"]),
        Entity(id="place/pyongyang", kind="place", preferred="Pyongyang",
               variants=["P'yŏngyang", "Pjöngjang"]),
    ])
    archive.put([sample_record("r1", title="Report on the August plenum",
                               text="Kim Du-bon " + TEXT)])
    yield archive
    archive.close()


def test_a_mistyped_name_is_corrected_by_its_spellings(typos: Archive) -> None:
    assert did_you_mean(typos, "Kim Tu-bongg") == "Kim Tu-bong"
    assert did_you_mean(typos, "Pyongyan") == "Pyongyang"
    assert did_you_mean(typos, "Pjongjang") is None  # a spelling of its own: it finds
    assert did_you_mean(typos, "Pjöngjanq") == "Pjöngjang"


def test_a_mistyped_word_is_corrected_from_the_texts(typos: Archive) -> None:
    engine = typos.db.dialect
    expected = {"sqlite": "plenum", "postgresql": None}[engine]  # PostgreSQL: names only
    assert did_you_mean(typos, "plenm") == expected
    assert did_you_mean(typos, "Ивонов") == ("Иванов" if engine == "sqlite" else None)
    assert did_you_mean(typos, "Dvorakk") == ("Dvořák" if engine == "sqlite" else None)


def test_nothing_to_correct(typos: Archive) -> None:
    assert did_you_mean(typos, "plenum") is None  # it finds already
    assert did_you_mean(typos, '"plenm"') is None  # a phrase is taken as typed
    assert did_you_mean(typos, "plenm OR xyzzy") is None
    assert did_you_mean(typos, "qqqqqqq") is None  # nothing near
    assert did_you_mean(typos, "김일") is None  # too short to guess at
