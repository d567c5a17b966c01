"""Editing with full history: every change a revision with who and why, diffs, restore,
withdraw and reinstate, the audit log, and the index kept in step; on both backends."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from curation_helpers import (
    bearer,
    fast_hashing,  # noqa: F401 - autouse: test-sized Argon2
    login,
    sample_record,
    seed,
)
from opis.search.base import SearchRequest
from opis.services.curation import (
    Conflict,
    Curator,
    NotFound,
    ValidationFailed,
    apply_changes,
)
from opis.services.text_changes import field_diffs, remap_annotations
from opis.store import audit as audit_store
from opis.store import records as store
from opis.web.app import create_app


@pytest.fixture
def curator(archive):
    archive.put([sample_record()])
    return Curator(archive)


def hits(archive, query: str) -> list[str]:
    return [h.id for h in archive.search(SearchRequest(query=query)).result.hits]


def test_edit_is_a_revision_with_author_and_reason(archive, curator):
    result = curator.edit("r1", {"title": "Report on the August Plenum"}, author="eddie",
                          reason="title as printed")
    assert result.status == "updated" and result.version == 2 and result.changed == ("title",)
    revs = archive.revisions("r1")
    assert [(r.number, r.author, r.reason) for r in revs] == [
        (1, "ingest", "ingest"), (2, "eddie", "title as printed")]
    assert revs[0].data["title"] == "Report on the Plenum"  # the old version is kept whole
    assert archive.get("r1").title == "Report on the August Plenum"
    assert hits(archive, "August") == ["r1"]
    entries, total = curator.audit_log()
    assert total == 2 and entries[0].actor == "eddie" and entries[0].action == "edit"
    assert entries[0].record_id == "r1" and entries[0].detail["fields"] == ["title"]
    # The ingest that first stored it is in the log too, with what it added.
    assert entries[1].action == "ingest" and entries[1].detail == {"added": ["r1"]}


def test_reason_is_required_and_nothing_changes_without_one(archive, curator):
    with pytest.raises(ValidationFailed) as e:
        curator.edit("r1", {"title": "X"}, author="eddie", reason=" ")
    assert "reason" in e.value.errors
    assert len(archive.revisions("r1")) == 1


def test_unchanged_edit_makes_no_revision(archive, curator):
    result = curator.edit("r1", {"title": "Report on the Plenum"}, author="eddie", reason="same")
    assert result.status == "unchanged" and len(archive.revisions("r1")) == 1


def test_stale_version_is_refused(curator):
    curator.edit("r1", {"title": "One"}, author="a", reason="first edit", version=1)
    with pytest.raises(Conflict) as e:
        curator.edit("r1", {"title": "Two"}, author="b", reason="second edit", version=1)
    assert e.value.version == 2
    assert curator.state("r1").record.title == "One"


def test_unknown_record(curator):
    with pytest.raises(NotFound):
        curator.edit("nope", {"title": "x"}, author="a", reason="why not")


def test_validation_names_each_field():
    record = sample_record()
    with pytest.raises(ValidationFailed) as e:
        apply_changes(record, {"id": "other", "date": "December 28, 1956", "title": "",
                               "source_url": "javascript:alert(1)", "nonsense": 1,
                               "contributors": [{"name": 5, "role": "translator"}],
                               "original_language": "Klingon", "subjects": "not a list",
                               "annotations": [{"kind": "sic", "start": 0, "end": 3,
                                                "text": "xyz"}]})
    errors = e.value.errors
    assert "permanent" in errors["id"]
    assert errors["date"] == "not an EDTF date; did you mean 1956-12-28?"
    assert errors["title"] == "a record needs a title"
    assert "http" in errors["source_url"]
    assert errors["nonsense"] == "no such field"
    assert "'name' must be str" in errors["contributors"]
    assert "language" in errors["original_language"]
    assert errors["subjects"] == "must be a list of text"
    with pytest.raises(ValidationFailed) as e:
        apply_changes(record, {"annotations": [{"kind": "sic", "start": 0, "end": 3,
                                                "text": "xyz"}]})
    assert "does not match its offsets" in e.value.errors["annotations"]
    with pytest.raises(ValidationFailed) as e:
        apply_changes(record, {"annotations": [{"kind": "sic", "start": 0, "end": 999,
                                                "text": "x"}]})
    assert "out of range" in e.value.errors["annotations"]


def test_annotations_follow_a_text_correction():
    record = sample_record()
    new_text = "Yesterday, " + record.text.replace("listened", "listened closely")
    edited, changed = apply_changes(record, {"text": new_text})
    assert set(changed) == {"text", "annotations"}
    for a in edited.annotations:
        assert new_text[a.start:a.end] == a.text
    assert edited.check_annotations() == []
    # Editing the marked words themselves needs the annotations corrected too.
    with pytest.raises(ValidationFailed) as e:
        apply_changes(record, {"text": record.text.replace("Kim Du-bon", "Kim Tu-bong")})
    assert "Kim Du-bon" in e.value.errors["text"]


def test_remap_keeps_zero_length_and_edge_spans():
    old = "abc\ndef\n"
    moved, lost = remap_annotations(old, "X" + old, [
        {"kind": "illegible", "start": 4, "end": 4, "text": "", "note": None},
        {"kind": "sic", "start": 0, "end": 3, "text": "abc", "note": None}])
    assert not lost and [(m["start"], m["end"]) for m in moved] == [(5, 5), (1, 4)]


def test_diff_is_field_by_field_with_a_line_diff_for_text():
    a = sample_record()
    b = sample_record(title="New title",
                      text=a.text.replace("objected.", "objected strongly.") + "Added line.\n")
    diffs = {d.field: d for d in field_diffs(a.to_dict(), b.to_dict())}
    assert diffs["title"].lines == [("-", "Report on the Plenum"), ("+", "New title")]
    text_lines = diffs["text"].lines
    assert ("-", "Comrade Pak Chang-ok objected.") in text_lines
    assert ("+", "Comrade Pak Chang-ok objected strongly.") in text_lines
    assert ("+", "Added line.") in text_lines


def test_restore_is_a_new_revision(archive, curator):
    curator.edit("r1", {"title": "Wrong title"}, author="eddie", reason="oops")
    result = curator.restore("r1", 1, author="ada", reason="undo the wrong title")
    assert result.version == 3
    revs = archive.revisions("r1")
    assert revs[-1].reason == "restore revision 1: undo the wrong title"
    assert archive.get("r1").title == "Report on the Plenum"
    assert curator.restore("r1", 1, author="ada", reason="again").status == "unchanged"
    with pytest.raises(NotFound):
        curator.restore("r1", 99, author="ada", reason="no such")
    diffs = curator.diff("r1", 2, 3)
    assert [d.field for d in diffs] == ["title"]


def test_withdraw_hides_everywhere_and_reinstate_undoes(archive, curator):
    assert hits(archive, "plenum") == ["r1"]
    result = curator.withdraw("r1", author="ada", reason="rights unclear")
    assert result.status == "withdrawn" and result.version == 2
    assert archive.get("r1") is None and archive.count() == 0
    found = archive.search(SearchRequest(query="plenum"))
    assert found.result.total == 0 and found.result.hits == []
    assert not any(n for values in found.result.facets.values() for _, n in values)
    with archive.db.sessions() as session:
        assert archive.engine.count(session) == 0
    with pytest.raises(Conflict):
        curator.withdraw("r1", author="ada", reason="twice")
    # Editors still see it, with its history; nothing was deleted.
    state = curator.state("r1")
    assert state.status == "withdrawn" and state.record.title == "Report on the Plenum"
    assert [e.status for e in curator.history("r1")] == ["withdrawn", "published"]
    curator.reinstate("r1", author="ada", reason="rights cleared")
    assert archive.get("r1") is not None and hits(archive, "plenum") == ["r1"]
    actions = [e.action for e in curator.audit_log()[0]]
    assert actions == ["reinstate", "withdraw", "ingest"]


def test_edit_of_a_withdrawn_record_stays_out_of_the_index(archive, curator):
    curator.withdraw("r1", author="ada", reason="rights unclear")
    curator.edit("r1", {"title": "Zanzibar memo"}, author="eddie", reason="fix while hidden")
    assert hits(archive, "Zanzibar") == []
    curator.reinstate("r1", author="ada", reason="rights cleared")
    assert hits(archive, "Zanzibar") == ["r1"]


def test_pending_index_entries_heal(archive, curator):
    """A crash between the database commit and the index commit leaves a note in
    index_pending; the next Curator brings the index back in step."""
    with archive.db.transaction() as session:
        record = sample_record(title="Quokka dispatch")
        store.put_record(session, record, author="eddie", reason="edit")
        audit_store.mark_pending(session, ["r1"])
    assert hits(archive, "Quokka") == []  # the index missed the committed change
    healed = Curator(archive)
    assert hits(archive, "Quokka") == ["r1"]
    with archive.db.sessions() as session:
        assert audit_store.pending(session) == []
    assert healed.heal_index() == 0


def test_concurrent_edits_never_lose_one(archive, curator):
    """Editors racing on one record queue on its row lock: each edit gets its own
    revision number and none is lost."""
    from concurrent.futures import ThreadPoolExecutor

    def edit(i: int) -> int:
        return curator.edit("r1", {"summary": f"summary {i}"}, author=f"e{i}",
                            reason=f"edit {i}").version

    with ThreadPoolExecutor(8) as pool:
        versions = sorted(pool.map(edit, range(24)))
    assert versions == list(range(2, 26))
    reasons = {r.reason for r in archive.revisions("r1")}
    assert {f"edit {i}" for i in range(24)} <= reasons


# -- the web -----------------------------------------------------------------------------------

@pytest.fixture
def site(archive):
    archive.put([sample_record()])
    seeded = seed(archive)
    with TestClient(create_app(archive), raise_server_exceptions=False) as client:
        client.seeded = seeded
        yield client


def test_edit_form_preview_errors_and_save(site):
    token = login(site, "eddie")
    page = site.get("/document/r1/edit")
    assert page.status_code == 200 and 'name="title"' in page.text
    assert page.headers["cache-control"] == "no-store"
    form = {"csrf_token": token, "version": "1", "reason": "",
            "title": "Report on the August Plenum", "date": "28 Dec 1956?", "action": "preview"}
    r = site.post("/document/r1/edit", data=form)
    assert r.status_code == 422
    assert 'id="err-date"' in r.text and 'aria-invalid="true"' in r.text
    form["date"] = "1956-12-28"
    r = site.post("/document/r1/edit", data=form)
    assert r.status_code == 200 and "Preview" in r.text
    # the new title, with the word that changed within it marked
    assert '<ins>Report on the <ins class="changed">August </ins>Plenum</ins>' in r.text
    form["action"] = "save"
    r = site.post("/document/r1/edit", data=form, follow_redirects=False)
    assert r.status_code == 422 and 'id="err-reason"' in r.text  # a reason is required
    form["reason"] = "title as printed"
    r = site.post("/document/r1/edit", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/document/r1/history?done=saved&rev=2"
    history = site.get(r.headers["location"]).text
    assert "title as printed" in history and "eddie" in history
    assert "Saved as revision 2." in history  # the editor sees that it was saved
    # the confirmation is our own sentence: nothing from the URL is shown
    assert "<b>" not in site.get("/document/r1/history?done=<b>x&rev=2").text
    # the same form again: its version is stale now
    form["title"] = "Another title"
    r = site.post("/document/r1/edit", data=form, follow_redirects=False)
    assert r.status_code == 409 and "changed since version 1" in r.text


def test_edit_form_round_trips_untouched_fields(site):
    """Submitting the form as shown (browsers send CRLF) changes nothing."""
    token = login(site, "eddie")
    page = site.get("/document/r1/edit").text
    import html as html_lib

    fields = {m.group(1): html_lib.unescape(m.group(2)) for m in re.finditer(
        r'<input id="f-(\w+)" name="\w+"[^>]* value="([^"]*)"', page)}
    fields.update({m.group(1): html_lib.unescape(m.group(2)).replace("\n", "\r\n")
                   for m in re.finditer(r'<textarea id="f-(\w+)"[^>]*>\n(.*?)</textarea>',
                                        page, re.S)})
    assert {"title", "text", "annotations", "subjects"} <= set(fields)
    fields.update(csrf_token=token, version="1", reason="no-op", action="save")
    r = site.post("/document/r1/edit", data=fields, follow_redirects=False)
    assert r.status_code == 422 and "Nothing was changed." in r.text


def test_api_patch_restore_withdraw(site, archive):
    tokens = site.seeded.tokens
    r = site.patch("/api/v1/records/r1", headers=bearer(tokens["editor"]),
                   json={"changes": {"summary": "Corrected."}, "reason": "api fix"})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = site.patch("/api/v1/records/r1", headers=bearer(tokens["editor"]),
                   json={"changes": {"date": "someday"}, "reason": "bad date"})
    assert r.status_code == 422 and "date" in r.json()["fields"]
    r = site.patch("/api/v1/records/r1", headers=bearer(tokens["editor"]),
                   json={"changes": {"summary": "x"}, "reason": "stale", "version": 1})
    assert r.status_code == 409 and r.json()["version"] == 2
    r = site.patch("/api/v1/records/nope", headers=bearer(tokens["editor"]),
                   json={"changes": {"summary": "x"}, "reason": "nope"})
    assert r.status_code == 404
    r = site.post("/api/v1/records/r1/withdraw", headers=bearer(tokens["editor"]),
                  json={"reason": "rights unclear"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert site.get("/document/r1.json").status_code == 404
    r = site.post("/api/v1/records/r1/reinstate", headers=bearer(tokens["editor"]),
                  json={"reason": "rights cleared"})
    assert r.status_code == 200 and site.get("/document/r1.json").status_code == 200
    r = site.post("/api/v1/records/r1/restore/1", headers=bearer(tokens["editor"]),
                  json={"reason": "back to the ingested summary"})
    assert r.status_code == 200 and r.json()["version"] == 5
    assert archive.get("r1").summary == "A report on the August plenum."
    history = site.get("/document/r1/history.json", headers=bearer(tokens["reader"])).json()
    assert [e["number"] for e in history["revisions"]] == [5, 4, 3, 2, 1]
    assert history["revisions"][2]["status"] == "withdrawn"


def test_history_diff_and_audit_pages(site):
    tokens = site.seeded.tokens
    site.patch("/api/v1/records/r1", headers=bearer(tokens["editor"]),
               json={"changes": {"text": sample_record().text + "A new last line.\n"},
                     "reason": "added the last line"})
    token = login(site, "ada")
    r = site.get("/document/r1/diff", params={"a": 1, "b": 2})
    assert r.status_code == 200 and "<ins>A new last line.</ins>" in r.text
    assert site.get("/document/r1/diff", params={"a": 1, "b": 9}).status_code == 404
    r = site.post("/document/r1/withdraw", data={"csrf_token": token, "reason": "no"},
                  follow_redirects=False)
    assert r.status_code == 422  # too short a reason, shown on the history page
    r = site.post("/document/r1/withdraw", data={"csrf_token": token, "reason": "rights"},
                  follow_redirects=False)
    assert r.status_code == 303
    history = site.get("/document/r1/history")
    assert "withdrawn" in history.text and "Reinstate" in history.text
    audit = site.get("/admin/audit")
    assert audit.status_code == 200
    for text_ in ("withdraw", "edit", "eddie", "ada", "added the last line", "token.create"):
        assert text_ in audit.text, text_
    data = site.get("/admin/audit.json", params={"record": "r1"}).json()
    assert [e["action"] for e in data["entries"]] == ["withdraw", "edit"]


def test_revisions_stay_contiguous(archive, curator):
    curator.edit("r1", {"title": "a b"}, author="x", reason="one")
    curator.withdraw("r1", author="x", reason="two")
    curator.reinstate("r1", author="x", reason="three")
    curator.restore("r1", 1, author="x", reason="four")
    with archive.db.sessions() as session:
        numbers = [n for (n,) in session.execute(text(
            "SELECT number FROM revisions WHERE record_id = 'r1' ORDER BY number"))]
        version = session.execute(text("SELECT version FROM records WHERE id = 'r1'")).scalar()
    assert numbers == [1, 2, 3, 4, 5] and version == 5


def test_an_ingest_holding_the_index_makes_edits_wait_not_fail(tmp_path, monkeypatch):
    """Another process writing the Tantivy index (an ingest) holds its lock: an edit waits
    for it, and past the wait it is refused with nothing stored (the web answers 503)."""
    from opis.search.tantivy_engine import TantivyEngine
    from opis.services import curation as curation_module
    from opis.services.archive import Archive
    from opis.services.curation import IndexBusy

    archive = Archive(str(tmp_path / "busy.db"))
    archive.put([sample_record()])
    curator = Curator(archive)
    other = TantivyEngine(tmp_path / "busy.db.tantivy")
    other.writer  # noqa: B018 - the "ingest" takes the lock
    monkeypatch.setattr(curation_module, "INDEX_WAIT_SECONDS", 0.3)
    with pytest.raises(IndexBusy):
        curator.edit("r1", {"title": "Blocked"}, author="e", reason="while ingesting")
    assert len(archive.revisions("r1")) == 1 and archive.get("r1").title != "Blocked"
    other.close()
    assert curator.edit("r1", {"title": "Unblocked"}, author="e", reason="after").version == 2
    assert hits(archive, "Unblocked") == ["r1"]
    archive.close()
