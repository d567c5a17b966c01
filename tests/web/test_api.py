"""The JSON API under /api/v1: shapes, cursors, CORS, errors and collection writes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException

from opis.services.archive import Archive
from opis.web import api
from opis.web.app import create_app
from reading_room_fixtures import copy_db, sample_db

EDITOR = {"name": "ed", "role": "editor", "via": "test"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    a = Archive(str(copy_db(sample_db(), tmp_path_factory.mktemp("api"))))
    yield a
    a.close()


@pytest.fixture(scope="module")
def app(archive):
    return create_app(archive)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def editor(app):
    app.dependency_overrides[api.require_editor] = lambda: EDITOR
    yield
    app.dependency_overrides.pop(api.require_editor, None)


def walk(client: TestClient, url: str, **params) -> list[dict]:
    """Every item of a cursor-paged list."""
    items, cursor, pages = [], None, 0
    while True:
        r = client.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return items
        assert pages < 100


def test_openapi_describes_the_api(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/search", "/api/v1/records", "/api/v1/records/{record_id}",
                 "/api/v1/entities", "/api/v1/entities/{kind}/{slug}", "/api/v1/collections",
                 "/api/v1/collections/{collection_id}"):
        assert path in spec["paths"], path
    assert set(spec["paths"]["/api/v1/collections/{collection_id}"]) >= {"get", "put", "delete"}
    assert "post" in spec["paths"]["/api/v1/collections"]
    params = {p["name"] for p in spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {"q", "from", "to", "person", "language", "year", "cursor", "limit"} <= params
    assert client.get("/docs").status_code == 404  # no CDN-hosted Swagger UI


def test_search_with_facets_and_cursor(client):
    first = client.get("/api/v1/search", params={"q": "Korea", "limit": 3}).json()
    assert first["total"] > 3 and len(first["hits"]) == 3
    assert {"person", "place", "language", "year", "collection"} <= set(first["facets"])
    assert all({"value", "count", "label"} <= set(f) for f in first["facets"]["language"])
    seen = [h["id"] for h in first["hits"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get("/api/v1/search", params={"q": "Korea", "limit": 3,
                                                     "cursor": cursor}).json()
        seen += [h["id"] for h in page["hits"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == first["total"]
    rhee = client.get("/api/v1/search", params={"person": "person/syngman-rhee"}).json()
    assert rhee["total"] == 9


def test_records_walk_in_id_order_exactly_once(client, archive):
    items = walk(client, "/api/v1/records", limit=7)
    ids = [r["id"] for r in items]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == archive.count() == 36
    assert "source_path" not in items[0] and "text" in items[0]


def test_record_cursor_is_stable_when_records_are_added(client, archive, tmp_path):
    first = client.get("/api/v1/records", params={"limit": 5}).json()
    doc = tmp_path / "aaa.md"
    doc.write_text("---\nid: 000-early\ntitle: An early id\n---\n\nText.\n")
    assert archive.ingest([doc]).ok
    try:
        second = client.get("/api/v1/records", params={"limit": 5,
                                                        "cursor": first["next_cursor"]}).json()
        assert second["items"][0]["id"] > first["items"][-1]["id"]  # no repeat, no skip
    finally:
        from opis.store.tables import RecordRow

        with archive.db.transaction() as session:
            session.delete(session.get(RecordRow, "000-early"))
        archive.reindex()


def test_one_record_and_errors(client):
    assert client.get("/api/v1/records/114165").json()["title"].startswith("Communist Party")
    r = client.get("/api/v1/records/nope")
    assert r.status_code == 404 and r.json() == {"error": "No document with id nope",
                                                 "status": 404}
    r = client.get("/api/v1/records", params={"cursor": "%%%not-base64"})
    assert r.status_code == 400 and "cursor" in r.json()["error"]
    r = client.get("/api/v1/records", params={"limit": 1000})
    assert r.status_code == 400 and r.json()["status"] == 400
    assert client.get("/api/v1/nothing-here").json()["status"] == 404


def test_entities_by_kind_with_cursor(client):
    people = walk(client, "/api/v1/entities", kind="person", limit=40)
    ids = [e["id"] for e in people]
    assert ids == sorted(ids) and all(i.startswith("person/") for i in ids)
    assert len(ids) == len(set(ids)) > 100
    rhee = next(e for e in people if e["id"] == "person/syngman-rhee")
    assert rhee["records"] == 9 and rhee["identifiers"]["wikidata"] == "Q42497"
    everything = walk(client, "/api/v1/entities", limit=500)
    assert {e["kind"] for e in everything} == {"person", "place", "organization", "event"}
    assert client.get("/api/v1/entities", params={"kind": "ship"}).status_code == 400


def test_one_entity(client):
    data = client.get("/api/v1/entities/person/syngman-rhee").json()
    assert data["preferred"] == "Syngman Rhee" and data["documents"]["total"] == 9
    assert data["network"]["nodes"] and data["co_mentioned"]["person"]
    r = client.get("/api/v1/entities/person/nobody")
    assert r.status_code == 404 and r.json()["error"] == "No person with id person/nobody"
    assert client.get("/api/v1/entities/ship/x").status_code == 404


def test_collections_read(client):
    items = client.get("/api/v1/collections").json()["items"]
    assert [c["id"] for c in items] == ["frus1955-57v03", "frus1955-57v23p2"]
    one = client.get("/api/v1/collections/frus1955-57v03").json()
    assert one["record_ids"][0] == "frus1955-57v03-d1" and len(one["records"]) == 12
    assert client.get("/api/v1/collections/nope").status_code == 404


def test_cors_for_reads_only(client):
    r = client.get("/api/v1/records/114165", headers={"Origin": "https://example.org"})
    assert r.headers["access-control-allow-origin"] == "*"
    r = client.get("/api/v1/records/nope", headers={"Origin": "https://example.org"})
    assert r.headers["access-control-allow-origin"] == "*"  # errors too
    pre = client.options("/api/v1/search", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"
    pre = client.options("/api/v1/collections/x", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "DELETE"})
    assert "access-control-allow-origin" not in pre.headers
    w = client.post("/api/v1/collections", json={"id": "x", "title": "x"},
                    headers={"Origin": "https://example.org"})
    assert "access-control-allow-origin" not in w.headers
    assert "access-control-allow-origin" not in client.get("/search").headers


def test_writes_need_an_editor(client):
    body = {"id": "cold-war", "title": "Cold War"}
    r = client.post("/api/v1/collections", json=body)
    assert r.status_code in (401, 403) and r.json()["status"] == r.status_code
    assert client.put("/api/v1/collections/cold-war", json=body).status_code in (401, 403)
    assert client.delete("/api/v1/collections/frus1955-57v03").status_code in (401, 403)
    assert client.get("/api/v1/collections/frus1955-57v03").status_code == 200


def test_require_editor_roles():
    def request(user):
        return SimpleNamespace(state=SimpleNamespace(user=user))

    with pytest.raises(HTTPException) as e:
        api.require_editor(request(None))
    assert e.value.status_code == 401
    with pytest.raises(HTTPException) as e:
        api.require_editor(request({"name": "r", "role": "reader"}))
    assert e.value.status_code == 403
    assert api.require_editor(request({"name": "e", "role": "editor"}))["name"] == "e"
    assert api.require_editor(request(SimpleNamespace(role="admin", name="a"))).name == "a"


def test_collection_lifecycle(client, editor):
    body = {"id": "north-korea", "title": "North Korea in the Cold War",
            "description": "1945–1991", "record_ids": ["114165", "frus1955-57v23p2-d8"]}
    r = client.post("/api/v1/collections", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/v1/collections/north-korea"
    assert [x["id"] for x in r.json()["records"]] == ["114165", "frus1955-57v23p2-d8"]
    assert client.post("/api/v1/collections", json=body).status_code == 409
    # the pages and the search see it at once
    assert "North Korea in the Cold War" in client.get("/collections").text
    found = client.get("/search.json", params={"collection": "north-korea"}).json()
    assert {h["id"] for h in found["hits"]} == {"114165", "frus1955-57v23p2-d8"}
    assert "North Korea in the Cold War" in client.get("/document/114165").text
    # replace: new order, new description
    put = client.put("/api/v1/collections/north-korea", json={
        "title": "North Korea in the Cold War", "description": "Teaching set",
        "record_ids": ["frus1955-57v23p2-d8", "114165", "300240"]})
    assert put.status_code == 200 and put.json()["record_ids"][0] == "frus1955-57v23p2-d8"
    page = client.get("/collections/north-korea.json").json()
    assert page["description"] == "Teaching set" and page["total"] == 3
    # bad input says what is wrong
    bad = client.put("/api/v1/collections/north-korea", json={"title": "x",
                                                               "record_ids": ["nope"]})
    assert bad.status_code == 400 and "nope" in bad.json()["error"]
    assert client.put("/api/v1/collections/bad id!", json={"title": "x"}).status_code == 400
    assert client.post("/api/v1/collections", json={"title": "no id"}).status_code == 400
    missing = client.post("/api/v1/collections", json={"id": "x"})
    assert missing.status_code == 400 and "title" in missing.json()["error"]
    # delete
    assert client.delete("/api/v1/collections/north-korea").status_code == 204
    assert client.get("/api/v1/collections/north-korea").status_code == 404
    assert client.delete("/api/v1/collections/north-korea").status_code == 404
    assert client.get("/search.json", params={"collection": "north-korea"}).json()["total"] == 0
