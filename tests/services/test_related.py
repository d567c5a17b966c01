"""Related documents on both backends: the embedded one asks its search index, the
PostgreSQL one adds up the shared entities' weights in the database (issue 19) and
keeps the entities' record counts with the snapshot. Either way a shared rare person
counts for more than a shared country, and the page says which names are shared."""

from __future__ import annotations

import pytest

from opis.model import Record
from opis.services import reading
from opis.services.archive import Archive

HEADING = "Korea (North)--Politics and government"


def _records() -> list[Record]:
    out = [
        Record("a1", "Talks in Pyongyang",
               "Pak Hon-yong met Kim Tu-bong in Pyongyang (평양, Пхеньян). China was "
               "discussed at the “plenum”.", date="1956", subjects=[HEADING]),
        Record("b1", "A later report",
               "Pak Hon-yong was arrested; Kim Tu-bong spoke for the Yan’an group.",
               date="1956"),
    ]
    out += [Record(f"c{i}", f"Trade note {i}",
                   f"China shipped grain to Pyongyang, report {i} (中国, Китай).",
                   date="1957") for i in range(8)]
    out.append(Record("s1", "Heading only", "Nothing of the names here: the harvest.",
                      date="1958", subjects=[HEADING]))
    return out


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_shared_rare_person_ranks_first_and_is_named(db_url):
    archive = Archive(db_url)
    try:
        archive.put(_records())
        found = reading.related(archive, archive.get("a1"), 5)
        ids = [r.record.id for r in found]
        assert ids[0] == "b1", ids
        assert "a1" not in ids
        assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)
        names = [label for _, label in found[0].entities]
        assert set(names) == {"Pak Hon-yong", "Kim Tu-bong"}
        assert "s1" in ids and next(r for r in found if r.record.id == "s1").subjects == [
            HEADING]
        trade = [r for r in found if r.record.id.startswith("c")]
        assert all(r.score < found[0].score for r in trade)

        # A new record naming the rare person: the counts kept with the snapshot follow.
        archive.put([Record("b2", "Trial", "Pak Hon-yong stood trial.", date="1955")])
        found = reading.related(archive, archive.get("a1"), 5)
        assert "b2" in [r.record.id for r in found]
        assert dict((r.record.id, [n for _, n in r.entities]) for r in found)["b2"] == [
            "Pak Hon-yong"]
    finally:
        archive.close()
