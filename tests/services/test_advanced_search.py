"""The advanced form's rows become an ordinary search: the query language for the
words, entity filters for the names the authority file knows."""

from __future__ import annotations

from curation_helpers import sample_record
from opis.model.entity import Entity
from opis.services.advanced_search import compose, query_of
from opis.services.archive import Archive


def test_rows_become_the_query_language() -> None:
    assert query_of("plenum report", "cult of personality", "Kim Pak", "Taiwan China") == \
        'plenum report "cult of personality" (Kim OR Pak) -Taiwan -China'
    # A quote or an operator typed in a row is a word, never syntax.
    assert query_of('plenum" OR', 'a "b', "OR x", "-y") == 'plenum "a b" x -y'
    assert query_of("Пленум ЦК", "культ личности", "김일성 金日成", "Dvořák’s") == \
        'Пленум ЦК "культ личности" (김일성 OR 金日成) -Dvořák’s'
    assert query_of() == ""


def test_known_names_become_filters_and_unknown_ones_phrases(tmp_path) -> None:
    archive = Archive(str(tmp_path / "a.db"))
    archive.put([Entity(id="person/kim-il-sung", kind="person", preferred="Kim Il Sung",
                        variants=["Kim Il-sŏng", "Ким Ир Сен", "김일성"]),
                 Entity(id="place/pyongyang", kind="place", preferred="Pyongyang")])
    archive.put([sample_record()])
    found = compose(archive, all_words="plenum",
                    names={"person": "Ким Ир Сен; Nobody Known", "place": "Pyongyang"})
    assert found.filters == {"person": ["person/kim-il-sung"], "place": ["place/pyongyang"]}
    assert found.q == 'plenum "Nobody Known"' and found.searched_as_words == ["Nobody Known"]
    archive.close()
