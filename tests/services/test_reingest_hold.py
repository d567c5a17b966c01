"""A re-ingest that would damage a stored record is held, not published: a truncated
copy of the Wilson Center export (cut mid-word), a re-export that lost its fields, a
file read in the wrong encoding. The stored record stays as it was and public; the
report and the command line name the file, the record and why; --force applies it,
and an honest correction goes through as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opis.cli import app
from opis.model import Record
from opis.services.archive import Archive
from opis.services.reingest_guard import damage
from paths import DATA

ORIGINAL = (DATA / "wcda_114165.txt").read_text(encoding="utf-8")


def ingest(db: Path, path: Path, *extra: str):
    return CliRunner().invoke(app, ["ingest", str(path), "--db", str(db), *extra])


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, Path]:
    """An archive holding the 1956 report, and the folder its file came from."""
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(DATA / "wcda_114165.txt", folder / "114165.txt")
    db = tmp_path / "archive.db"
    done = ingest(db, folder / "114165.txt")
    assert done.exit_code == 0, done.output
    return db, folder


def text_of(db: Path) -> Record:
    archive = Archive(str(db))
    try:
        record = archive.get("114165")
        assert record is not None
        return record
    finally:
        archive.close()


def test_a_truncated_copy_is_held_and_the_stored_record_stays(stored):
    db, folder = stored
    before = text_of(db)
    cut = ORIGINAL[:ORIGINAL.index("Kim Il Sung") + 6]  # "... Kim Il" + "S": mid-word
    path = folder / "114165.txt"
    path.write_text(cut, encoding="utf-8")
    done = ingest(db, path)
    assert done.exit_code == 1
    assert "held 1" in done.output
    assert "record 114165 not updated" in done.output and "truncated copy" in done.output
    assert "114165.txt" in done.output and "Traceback" not in done.output
    after = text_of(db)
    assert after.text == before.text and after.original_language == before.original_language
    assert "Kim Il Sung" in after.text

    forced = ingest(db, path, "--force")
    assert forced.exit_code == 0, forced.output
    assert "updated 1" in forced.output
    assert len(text_of(db).text) < len(before.text)


def test_a_mojibake_copy_is_held(stored):
    db, folder = stored
    before = text_of(db)
    path = folder / "114165.txt"
    # Read as cp1252 by someone, saved again as UTF-8: “Ð¡Ð¾Ð²ÐµÑ‚…”-style text.
    path.write_text(ORIGINAL.encode("utf-8").decode("cp1252", errors="replace"),
                    encoding="utf-8")
    done = ingest(db, path)
    assert done.exit_code == 1, done.output
    assert "wrong encoding" in done.output and "--encoding" in done.output
    assert text_of(db).text == before.text


def test_an_honest_correction_is_applied(stored):
    db, folder = stored
    path = folder / "114165.txt"
    path.write_text(ORIGINAL.replace("Kim Il Sung", "Kim Il-sung", 1), encoding="utf-8")
    done = ingest(db, path)
    assert done.exit_code == 0, done.output
    assert "updated 1" in done.output and "held" not in done.output
    assert "Kim Il-sung" in text_of(db).text


@pytest.mark.parametrize(("text", "why"), [
    ("Встреча с Ким Ир Сеном 김일성 金日成 “Kwaśniewski” " * 20, None),
    ("Встреча с Ким Ир Сеном 김일성 金日成 “Kwaś", "truncated"),
    ("Встреча с Ким Ир Сеном 김일성 金日成 “Kwaśniewski” " * 20 + "Ещё", None),
])
def test_the_guard_in_every_script(text, why):
    stored = Record(id="r", title="Запись", text="Встреча с Ким Ир Сеном 김일성 金日成 "
                    "“Kwaśniewski” " * 20, date="1956-12-28", original_language="ru",
                    summary="Сводка", subjects=["КНДР"])
    got = damage(stored, Record(id="r", title="Запись", text=text, date="1956-12-28",
                                original_language="ru", summary="Сводка", subjects=["КНДР"]))
    assert (got is None) if why is None else (why in (got or ""))


def test_a_re_export_that_drops_most_fields_is_held():
    full = Record(id="r", title="Report", text="x " * 200, date="1956-12-28",
                  original_language="ru", summary="A summary", subjects=["Korea"],
                  places=["Pyongyang"], rights="Public domain", citation="RGANI 5/28/486")
    bare = Record(id="r", title="Report", text="x " * 200)
    why = damage(full, bare)
    assert why is not None and "drops 7 of the 7 fields" in why
    assert "original language" in why


def test_a_dry_run_says_what_each_update_would_change_and_stores_nothing(stored):
    db, folder = stored
    before = text_of(db)
    path = folder / "114165.txt"
    path.write_text(ORIGINAL.replace("Kim Il Sung", "Kim Il-sung (김일성, Ким Ир Сен)", 1),
                    encoding="utf-8")
    done = ingest(db, path, "--dry-run")
    assert done.exit_code == 0, done.output
    assert "would update" in done.output and "record 114165 would change: text (" in done.output
    assert f"{len(before.text):,} →" in done.output
    assert text_of(db).text == before.text  # nothing stored
