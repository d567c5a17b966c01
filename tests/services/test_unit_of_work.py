"""The one write protocol (services/unit_of_work.py): archive write lock, index changes
staged, database commit, index commit, journal cleared. A failure at any step leaves the
index saying what the database says, at once or after the next open:

- a database error: what was staged for the index is rolled back with the transaction,
  never sent out by the next write's index commit;
- an index error: the database change stands, the journal names the records, and the
  next write (or open) brings their entries up to date;
- SIGKILL between the two commits: the journal written in the transaction makes the
  next ``Archive()`` re-index exactly those records (the record count alone cannot see
  a collection or an entity that moved between records).

Each step is tested for every kind of write: entity merge and split, collection save
and delete, an ingest, a curator's edit and withdrawal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from opis.model import Record
from opis.model.entity import Collection, Entity
from opis.model.record import Mention
from opis.search.base import SearchRequest
from opis.services.archive import Archive
from opis.services.curation import Curator
from paths import ROOT, TESTS

SRC = ROOT / "src"

# Names from the collections the archive serves: Korean, Russian, Chinese, with the
# diacritics and curly quotes of the translations.
PEOPLE = {"kim": "Kim Tu-bong", "pak": "Pak Hŏn-yŏng", "mao": "毛泽东",
          "ivanov": "Иванов", "choe": "최용건"}


def _record(rid: str, names: list[str]) -> Record:
    text = " and ".join(PEOPLE[n] for n in names) + f" met on “Tuesday” ({rid})."
    mentions, pos = [], 0
    for n in names:
        start = text.index(PEOPLE[n], pos)
        mentions.append(Mention(f"reader/{n}", start, start + len(PEOPLE[n]), PEOPLE[n]))
        pos = start + len(PEOPLE[n])
    return Record(id=rid, title=f"Conversation {rid} – “{PEOPLE[names[0]]}”", text=text,
                  mentions=mentions)


def _load(archive: Archive) -> dict[str, str]:
    """Five records naming five people; a collection "old" holding r2. Returns the
    archive's entity id of each person."""
    items: list = [Entity(f"reader/{n}", "person", name) for n, name in PEOPLE.items()]
    items += [_record("r1", ["kim"]), _record("r2", ["pak", "mao"]),
              _record("r3", ["ivanov"]), _record("r4", ["kim", "choe"]),
              _record("r5", ["choe"])]
    items.append(Collection("old", "Old set – “Ёлка”", None, ["r2"]))
    archive.put(items)
    ids = {}
    for rid, names in (("r1", ["kim"]), ("r2", ["pak", "mao"]), ("r3", ["ivanov"]),
                       ("r4", ["kim", "choe"])):
        for name, mention in zip(names, archive.get(rid).mentions, strict=True):
            ids[name] = mention.entity_id
    return ids


def _hits(archive: Archive, **filters: list[str]) -> set[str]:
    result = archive.search(SearchRequest(query="", limit=100, **filters)).result
    return {h.id for h in result.hits}


def disagreements(archive: Archive) -> list[str]:
    """Where a search filtered by a collection or an entity finds other records than
    the database holds: what a reader of the site would see as a wrong result."""
    out = []
    records = [archive.get(f"r{i}") for i in range(1, 8)]
    records = [r for r in records if r is not None]
    published = {r.id for r in records}  # a withdrawn record is never found
    collections = {c.id for c, _ in archive.list_collections()} | {"old", "new", "later"}
    for cid in sorted(collections):
        held = archive.collection(cid, public=False)
        want = set(held.record_ids) & published if held else set()
        got = _hits(archive, collections=[cid])
        if want != got:
            out.append(f"collection {cid}: database {sorted(want)}, index {sorted(got)}")
    entity_ids = {m.entity_id for r in records for m in r.mentions}
    for eid in sorted(entity_ids):
        want = {r.id for r in records if any(m.entity_id == eid for m in r.mentions)}
        got = _hits(archive, entities=[eid])
        if want != got:
            out.append(f"entity {eid}: database {sorted(want)}, index {sorted(got)}")
    return out


# Each write as a curator makes it, given the archive and the entity ids.
WRITES: dict[str, Callable[[Archive, dict[str, str]], object]] = {
    "merge_entities": lambda a, ids: a.merge_entities(ids["kim"], ids["pak"]),
    "split_entity": lambda a, ids: a.split_entity(ids["kim"], ["Kim Tu-bong"], "Kim Tu-bong"),
    "save_collection": lambda a, ids: a.save_collection(
        Collection("new", "New set – “Хангыль” 한글", None, ["r1", "r3"])),
    "delete_collection": lambda a, ids: a.delete_collection("old"),
    "ingest": lambda a, ids: a.put([_record("r6", ["mao"]),
                                    Collection("old", "Old set", None, ["r2", "r3"])]),
    "edit": lambda a, ids: Curator(a).edit("r2", {"title": "Pak’s report"}, author="kim",
                                           reason="typo"),
    "withdraw": lambda a, ids: Curator(a).withdraw("r2", author="kim", reason="duplicate"),
}


def _next_write(archive: Archive) -> None:
    """An unrelated write whose index commit would carry out anything left staged."""
    archive.put([_record("r7", ["ivanov"])])


def _failing_commit(archive: Archive) -> Callable[[], None]:
    """Make the next database commit fail as a full disk would; returns the undo."""
    def refuse(session: object) -> None:
        raise OperationalError("COMMIT", {}, Exception("database or disk is full"))

    maker = archive.db.primary_sessions
    event.listen(maker, "before_commit", refuse)
    return lambda: event.remove(maker, "before_commit", refuse)


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_database_error_leaves_nothing_staged_for_the_next_commit(tmp_path, write):
    archive = Archive(str(tmp_path / "a.db"))
    try:
        ids = _load(archive)
        curator_first = write in ("edit", "withdraw")
        if curator_first:
            Curator(archive)  # its opening heals and commits: not part of the failure
        undo = _failing_commit(archive)
        try:
            with pytest.raises(Exception, match="disk is full|could not write"):
                WRITES[write](archive, ids)
        finally:
            undo()
        assert disagreements(archive) == []
        _next_write(archive)
        assert disagreements(archive) == []
    finally:
        archive.close()


def _failing_index_commit(archive: Archive) -> Callable[[], None]:
    engine = archive.engine
    real = engine.commit
    calls = []

    def refuse() -> None:
        calls.append(1)
        raise OSError(28, "No space left on device")

    engine.commit = refuse  # type: ignore[method-assign]
    return lambda: setattr(engine, "commit", real) or calls


@pytest.mark.parametrize("write", sorted(WRITES))
def test_an_index_error_is_healed_by_the_next_write_or_open(tmp_path, write):
    path = str(tmp_path / "a.db")
    archive = Archive(path)
    try:
        ids = _load(archive)
        if write in ("edit", "withdraw"):
            Curator(archive)
        undo = _failing_index_commit(archive)
        try:
            # the database change stands either way: only the index is behind
            with contextlib.suppress(OSError):
                WRITES[write](archive, ids)
        finally:
            undo()
        _next_write(archive)
        assert disagreements(archive) == []
    finally:
        archive.close()
    reopened = Archive(path)
    try:
        assert disagreements(reopened) == []
    finally:
        reopened.close()


KILLER = """
import os, signal, sys
sys.path.insert(0, {src!r}); sys.path.insert(0, {helpers!r}); sys.path.insert(0, {tests!r})
from test_unit_of_work import WRITES, _load
from opis.services.archive import Archive
from opis.services.curation import Curator
archive = Archive({path!r})
ids = _load(archive)
if {write!r} in ("edit", "withdraw"):
    Curator(archive)
real = archive.engine.commit
def killed():
    os.kill(os.getpid(), signal.SIGKILL)  # after the database commit, before the index's
archive.engine.commit = killed
WRITES[{write!r}](archive, ids)
"""


@pytest.mark.parametrize("write", sorted(WRITES))
def test_sigkill_between_the_two_commits_is_healed_at_open(tmp_path, write):
    path = str(tmp_path / "a.db")
    script = KILLER.format(src=str(SRC), tests=str(Path(__file__).parent), helpers=str(TESTS),
                           path=path,
                           write=write)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    archive = Archive(path)
    try:
        assert disagreements(archive) == []
        assert archive.get("r1") is not None  # the load before the kill is there
    finally:
        archive.close()
