"""A full disk never turns an edit into a 500 or a retry into a second revision: a write
the database refuses is a 503 that says nothing was saved (the form keeps what the editor
typed), a save whose answer was lost is recognised when it is sent again, and a search
index that cannot commit does not un-save what the database has. On both backends."""

from __future__ import annotations

import errno

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from curation_helpers import (
    bearer,
    fast_hashing,  # noqa: F401 - autouse: test-sized Argon2
    login,
    sample_record,
    seed,
    seeded_site,
)
from opis.search.base import SearchRequest
from opis.web.app import create_app

TITLE = "Доклад о пленуме — 보고서 “报告”"


@pytest.fixture
def site(archive):
    with seeded_site(archive) as client:
        client.token = login(client, "eddie")
        yield client


def save_form(site: TestClient, **fields: str) -> dict[str, str]:
    return {"csrf_token": site.token, "version": "1", "reason": "title as printed",
            "action": "save", "title": TITLE, **fields}


def revisions(site: TestClient) -> list[int]:
    return [r.number for r in site.archive.revisions("r1")]


def full_disk(archive) -> None:
    """Every commit fails as a full disk makes it fail, on either backend."""

    def refuse(conn) -> None:  # noqa: ANN001 - sqlalchemy Connection
        raise OperationalError("COMMIT", {}, OSError(errno.ENOSPC, "No space left on device"))

    event.listen(archive.db.engine, "commit", refuse)
    archive.full_disk = refuse


def disk_freed(archive) -> None:
    event.remove(archive.db.engine, "commit", archive.full_disk)


def test_a_refused_write_is_a_503_that_keeps_the_form(site):
    full_disk(site.archive)
    try:
        r = site.post("/document/r1/edit", data=save_form(site), follow_redirects=False)
        api = site.patch("/api/v1/records/r1", headers=bearer(site.seeded.tokens["editor"]),
                         json={"changes": {"title": TITLE}, "reason": "by the API"})
    finally:
        disk_freed(site.archive)
    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
    assert "Nothing was saved" in r.text and "Try again" in r.text
    assert 'class="curation-form edit-form"' in r.text and TITLE in r.text  # typing kept
    assert api.status_code == 503 and "Nothing was saved" in api.json()["error"]
    assert revisions(site) == [1]
    # Once there is room again, sending the same form saves it, once.
    r = site.post("/document/r1/edit", data=save_form(site), follow_redirects=False)
    assert r.status_code == 303 and revisions(site) == [1, 2]


def test_a_tiny_sqlite_file_that_cannot_grow_gives_a_503(tmp_path):
    """The real thing on SQLite: the file may not grow by a page ("database or disk is full")."""
    from opis.services.archive import Archive

    archive = Archive(str(tmp_path / "full.db"))
    archive.put([sample_record()])
    seed(archive)
    with TestClient(create_app(archive), raise_server_exceptions=False) as client:
        client.archive = archive
        client.token = login(client, "eddie")
        with archive.db.engine.connect() as conn:
            pages = conn.execute(text("PRAGMA page_count")).scalar()

        @event.listens_for(archive.db.engine, "connect")
        def cap(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
            dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

        archive.db.engine.dispose()
        big = sample_record().text + "Ещё абзац, 한국어 문단, 汉字段落. " * 5000
        r = client.post("/document/r1/edit", data=save_form(client, text=big),
                        follow_redirects=False)
        assert r.status_code == 503 and "Nothing was saved" in r.text, r.text[:500]
        assert revisions(client) == [1]
        event.remove(archive.db.engine, "connect", cap)
        archive.db.engine.dispose()
        r = client.post("/document/r1/edit", data=save_form(client, text=big),
                        follow_redirects=False)
        assert r.status_code == 303 and revisions(client) == [1, 2]
    archive.close()


def test_a_save_whose_answer_was_lost_is_not_saved_twice(site):
    form = save_form(site)
    assert site.post("/document/r1/edit", data=form, follow_redirects=False).status_code == 303
    # The browser never saw that answer and sends the same form again.
    r = site.post("/document/r1/edit", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/document/r1/history?done=saved&rev=2"
    assert revisions(site) == [1, 2]
    # The API likewise: the same PATCH against the same base version is answered as saved.
    body = {"changes": {"summary": "Краткое содержание 요약 摘要"}, "reason": "summary",
            "version": 2}
    headers = bearer(site.seeded.tokens["editor"])
    first = site.patch("/api/v1/records/r1", headers=headers, json=body)
    again = site.patch("/api/v1/records/r1", headers=headers, json=body)
    assert first.status_code == 200 and first.json()["version"] == 3
    assert again.status_code == 200 and again.json()["version"] == 3
    assert again.json()["status"] == "unchanged"
    assert revisions(site) == [1, 2, 3]
    # A different change against that old base is still a conflict.
    r = site.patch("/api/v1/records/r1", headers=headers,
                   json={**body, "changes": {"summary": "something else"}})
    assert r.status_code == 409


def test_an_index_that_cannot_commit_does_not_unsave_the_edit(site, monkeypatch):
    engine = site.archive.engine

    def no_room() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(engine, "commit", no_room)
    r = site.post("/document/r1/edit", data=save_form(site), follow_redirects=False)
    monkeypatch.undo()
    assert r.status_code == 303, r.text[:500]
    assert revisions(site) == [1, 2]
    if site.archive.db.dialect == "sqlite":  # Tantivy commits apart from the database
        assert site.archive.search(SearchRequest(query="보고서")).result.hits == []
    # The next write, to another record, brings the index back in step with what was saved.
    site.archive.put([sample_record("r2", title="Another report")])
    r = site.patch("/api/v1/records/r2", headers=bearer(site.seeded.tokens["editor"]),
                   json={"changes": {"title": "Another report, corrected"}, "reason": "typo"})
    assert r.status_code == 200
    hits = site.archive.search(SearchRequest(query="보고서")).result.hits
    assert [h.id for h in hits] == ["r1"]
