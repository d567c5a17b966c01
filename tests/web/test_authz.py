"""Authorization, route by route: every route of the app is enumerated, and each write
route (any method but GET/HEAD, plus the curation and admin pages) must refuse anonymous
visitors, readers and read-scoped tokens, and editors must not do admin things. A
route added later without a check fails here. Withdrawn records must not show on any
public GET route."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from curation_helpers import (
    bearer,
    csrf,
    fast_hashing,  # noqa: F401 - autouse: test-sized Argon2
    login,
    sample_record,
    seed,
)
from opis.model.record import Record
from opis.services.curation import Curator
from opis.web.app import create_app

# POST routes that change nothing: login/logout, and OAI-PMH, whose protocol lets
# harvesters send any (read-only) request as a form POST.
PUBLIC_WRITES = {("POST", "/login"), ("POST", "/logout"), ("POST", "/oai")}
# Writes any signed-in user makes to their own account (password, their sessions).
OWN_ACCOUNT_WRITES = {("POST", "/account/password"), ("POST", "/account/sessions/end")}
# GET pages that need an account: what they need.
PROTECTED_GETS = [(re.compile(r"^/admin/"), "admin"), (re.compile(r"/edit$"), "edit"),
                  (re.compile(r"^/document/[^/]+/(history|history\.json|diff)$"), "read"),
                  (re.compile(r"^/account$"), "read")]
PARAMS = {"record_id": "r1", "name": "r1", "number": "1", "collection_id": "c1", "cid": "c1",
          "kind": "person", "slug": "x", "heading": "x"}
SECRET = "Zyxwvutsrq"
EXPORTS = ("ris", "bib", "csl.json", "dc.xml", "tei.xml")


def routes(app) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route, including those of included routers."""

    def walk(items):
        for r in items:
            if hasattr(r, "effective_candidates"):  # FastAPI's included-router node
                yield from walk(r.effective_candidates())
            elif hasattr(r, "original_router"):
                yield from walk(r.original_router.routes)
            else:
                yield r

    seen = set()
    for r in walk(app.routes):
        for method in sorted(getattr(r, "methods", None) or ()):
            if method == "HEAD" or (method, r.path) in seen:
                continue
            seen.add((method, r.path))
            yield method, r.path


def fill(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAMS.get(m.group(1), "x"), path)


def needs(method: str, path: str) -> str | None:
    """What a route needs ("read", "edit", "admin"), or None when it is public."""
    if method != "GET":
        if (method, path) in PUBLIC_WRITES:
            return None
        if (method, path) in OWN_ACCOUNT_WRITES:
            return "read"
        return "admin" if path.startswith("/admin/") else "edit"
    for pattern, need in PROTECTED_GETS:
        if pattern.search(path):
            return need
    return None


def call(client: TestClient, method: str, path: str, headers: dict | None = None,
         token: str | None = None):
    url = fill(path)
    headers = dict(headers or {})
    if token:
        headers["X-CSRF-Token"] = token
    if method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    if path.startswith("/api/"):
        return client.request(method, url, headers=headers, follow_redirects=False,
                              json={"reason": "authorization test", "changes": {"title": "x"},
                                    "title": "x", "record_ids": []})
    data = {"reason": "authorization test", "title": "x"}
    if token:
        data["csrf_token"] = token
    return client.request(method, url, headers=headers, data=data, follow_redirects=False)


@pytest.fixture
def site(archive):
    archive.put([sample_record()])
    seeded = seed(archive)
    app = create_app(archive)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.seeded = seeded
        client.table = [(m, p, needs(m, p)) for m, p in routes(app)]
        yield client


def protected(site, *levels: str) -> list[tuple[str, str]]:
    return [(m, p) for m, p, need in site.table if need in levels]


def test_the_enumeration_sees_every_curation_route(site):
    found = {(m, p) for m, p, _ in site.table}
    for route in [("GET", "/document/{record_id:path}/edit"), ("POST", "/document/{record_id:path}/edit"),
                  ("PATCH", "/api/v1/records/{record_id:path}"), ("GET", "/admin/audit"),
                  ("POST", "/document/{record_id:path}/restore/{number}"),
                  ("POST", "/document/{record_id:path}/withdraw"),
                  ("POST", "/document/{record_id:path}/reinstate"),
                  ("GET", "/document/{record_id:path}/history"), ("GET", "/document/{record_id:path}/diff")]:
        assert route in found, route
    assert len(protected(site, "edit", "admin")) >= 12


def test_anonymous_is_refused_everywhere_it_must_be(site):
    failures = []
    for method, path in protected(site, "read", "edit", "admin"):
        r = call(site, method, path)
        is_page = method == "GET" and not path.endswith(".json")
        ok = (r.status_code == 303 and r.headers["location"].startswith("/login?next=")
              if is_page else r.status_code == 401)
        if path.startswith("/api/") or path.endswith(".json"):
            ok = ok and r.headers["content-type"].startswith("application/json")
        if not ok:
            failures.append((method, path, r.status_code))
    assert failures == []


def test_readers_cannot_write(site):
    token = login(site, "rita")
    failures = [(m, p, r.status_code) for m, p in protected(site, "edit", "admin")
                if (r := call(site, m, p, token=token)).status_code != 403]
    assert failures == []


@pytest.mark.parametrize("key", ["reader", "editor-read"])
def test_read_scoped_tokens_cannot_write(site, key):
    """A token with scope "read" cannot edit, even when its user is an editor."""
    headers = bearer(site.seeded.tokens[key])
    failures = [(m, p, r.status_code) for m, p in protected(site, "edit", "admin")
                if (r := call(site, m, p, headers=headers)).status_code != 403]
    assert failures == []


def test_the_account_page_is_for_browser_sessions(site):
    """A token has no password to change and no browser to sign out: 403, not a page."""
    r = site.get("/account", headers=bearer(site.seeded.tokens["editor"]),
                 follow_redirects=False)
    assert r.status_code == 403
    assert "signed-in browser" in r.text


def test_editors_cannot_do_admin_things(site):
    token = login(site, "eddie")
    failures = [(m, p, r.status_code) for m, p in protected(site, "admin")
                if (r := call(site, m, p, token=token)).status_code != 403]
    headers = bearer(site.seeded.tokens["editor"])
    failures += [(m, p, r.status_code) for m, p in protected(site, "admin")
                 if (r := call(site, m, p, headers=headers)).status_code != 403]
    assert failures == []
    assert protected(site, "admin"), "no admin route was found to check"


def test_cookie_writes_need_the_csrf_token(site):
    """Signed in, but the token is missing or wrong: every cookie write is refused."""
    login(site, "ada")
    failures = []
    for method, path in [(m, p) for m, p, need in site.table if m != "GET" and need]:
        for token in (None, "forged-token"):
            r = call(site, method, path, token=token)
            if r.status_code != 403:
                failures.append((method, path, token, r.status_code))
    assert failures == []


def test_bad_tokens_are_refused(site):
    for header in ("Bearer opis_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz"):
        r = site.patch("/api/v1/records/r1", headers={"Authorization": header},
                       json={"changes": {"title": "x"}, "reason": "bad token"})
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers, header
    token_id = next(t.id for t in site.seeded.accounts.tokens("eddie") if "edit" in t.scopes)
    site.seeded.accounts.revoke_token(token_id)
    r = site.patch("/api/v1/records/r1", headers=bearer(site.seeded.tokens["editor"]),
                   json={"changes": {"title": "x"}, "reason": "revoked"})
    assert r.status_code == 401


def test_disabled_users_lose_sessions_and_tokens(site):
    token = login(site, "eddie")
    assert site.get("/document/r1/edit").status_code == 200
    site.seeded.accounts.disable_user("eddie")
    assert site.get("/document/r1/edit", follow_redirects=False).status_code == 303
    r = site.post("/document/r1/withdraw", data={"csrf_token": token, "reason": "gone"})
    assert r.status_code == 401
    r = site.patch("/api/v1/records/r1", headers=bearer(site.seeded.tokens["editor"]),
                   json={"changes": {"title": "x"}, "reason": "disabled"})
    assert r.status_code == 401


def test_allowed_principals_get_through(site):
    """The checks are not refusing everyone: the right role passes each one."""
    token = login(site, "ada")
    for method, path in protected(site, "read", "edit", "admin"):
        r = call(site, method, path, token=token)
        assert r.status_code not in (401, 403), (method, path, r.status_code, r.text[:300])


# -- withdrawn and unpublished records are invisible to the public ------------------------------

def secret_record() -> Record:
    record = sample_record("r2", title=f"The {SECRET} memorandum",
                           text=f"Kim Du-bon spoke about {SECRET} at the plenum.\n")
    record.subjects = [f"{SECRET} affair"]
    record.places = [f"{SECRET}ville"]
    record.original_language = "ko"
    return record


def public_gets(site) -> list[str]:
    urls = []
    for method, path, need in site.table:
        if method != "GET" or need or path.startswith("/static"):
            continue
        url = fill(path.replace("{record_id}", "r2").replace("{name}", "r2"))
        urls.append(url)
    urls += [f"/document/r2.{ext}" for ext in ("json", *EXPORTS)]
    urls += [f"/search?q={SECRET}", f"/search.json?q={SECRET}", "/search.json?q=plenum",
             "/search.json?language=ko", f"/api/v1/search?q={SECRET}", "/api/v1/records/r2",
             "/search?q=plenum", "/search", "/search.json"]
    return urls


def test_withdrawn_records_are_invisible(archive, site):
    archive.put([secret_record()])
    before = site.get("/search.json", params={"q": SECRET}).json()
    assert [h["id"] for h in before["hits"]] == ["r2"]
    assert site.get("/document/r2").status_code == 200
    Curator(archive).withdraw("r2", author="ada", reason="rights unclear")
    leaks = []
    for url in public_gets(site):
        r = site.get(url)
        echoed = SECRET in url  # a search page repeats its query; the record must not show
        if (r.status_code >= 500 or (SECRET in r.text and not echoed)
                or "/document/r2" in r.text or '"r2"' in r.text):
            leaks.append((url, r.status_code))
    assert leaks == []
    for ext in ("", ".json", *[f".{e}" for e in EXPORTS]):
        assert site.get(f"/document/r2{ext}").status_code == 404, ext
    data = site.get("/search.json", params={"q": "plenum"}).json()
    assert [h["id"] for h in data["hits"]] == ["r1"] and data["total"] == 1
    facets = site.get("/search.json").json()["facets"]
    assert not any(f["value"] == "ko" for f in facets.get("language", []))
    # An editor still reaches it through the curation pages.
    login(site, "eddie")
    assert site.get("/document/r2/history").status_code == 200
    assert site.get("/document/r2/edit").status_code == 200


def test_readers_do_not_see_withdrawn_history(archive, site):
    archive.put([secret_record()])
    Curator(archive).withdraw("r2", author="ada", reason="rights unclear")
    login(site, "rita")
    assert site.get("/document/r1/history").status_code == 200
    assert site.get("/document/r2/history").status_code == 404
    assert site.get("/document/r2/diff").status_code == 404
    r = site.get("/document/r2/history.json", headers=bearer(site.seeded.tokens["reader"]))
    assert r.status_code == 404


def test_login_page_needs_its_csrf_token(site):
    r = site.post("/login", data={"username": "ada", "password": "x" * 12, "next": "/"})
    assert r.status_code == 403
    assert csrf(site)  # the page itself hands out a token
