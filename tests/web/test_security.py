"""Hardening: security headers, session cookies, CSRF, login rate limits, hashes at rest,
body limits, summary sanitizing, and (in Chromium) that hostile record fields run no
script on any page that shows them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from curation_helpers import (
    PASSWORD,
    bearer,
    csrf,
    fast_hashing,  # noqa: F401 - autouse: test-sized Argon2
    live_server,
    login,
    sample_record,
    seed,
)
from opis.model import Record
from opis.model.record import (
    Annotation,
    ArchivalReference,
    Author,
    Contributor,
    HandwrittenNote,
    Stamp,
)
from opis.services.accounts import ADDRESS_LIMIT, LOGIN_LIMIT
from opis.services.archive import Archive
from opis.web.app import create_app
from opis.web.guards import CSP, sanitize_html


@pytest.fixture
def sqlite_site(tmp_path: Path):
    archive = Archive(str(tmp_path / "s.db"))
    archive.put([sample_record()])
    seeded = seed(archive)
    with TestClient(create_app(archive), raise_server_exceptions=False) as client:
        client.seeded = seeded
        yield client
    archive.close()


def test_security_headers_on_every_kind_of_response(sqlite_site):
    for url in ("/", "/search?q=plenum", "/document/r1", "/document/r1.json", "/login",
                "/document/nope", "/static/opis.css", "/api/v1/records/r1", "/openapi.json"):
        r = sqlite_site.get(url, follow_redirects=False)
        h = r.headers
        assert h["content-security-policy"] == CSP, url
        assert "'unsafe-inline'" not in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"
        assert h["x-frame-options"] == "DENY"
        assert "camera=()" in h["permissions-policy"]
    assert "strict-transport-security" not in sqlite_site.get("/").headers


def test_session_cookie_flags_and_rotation(sqlite_site):
    first = sqlite_site.get("/login").headers["set-cookie"]
    assert "HttpOnly" in first and "SameSite=Lax" in first and "Secure" not in first
    before = sqlite_site.cookies.get("opis_session")
    r = sqlite_site.post("/login", data={"username": "eddie", "password": PASSWORD,
                                         "csrf_token": csrf(sqlite_site), "next": "/"},
                         follow_redirects=False)
    assert r.status_code == 303
    assert sqlite_site.cookies.get("opis_session") != before  # a fresh session at login
    # Over https the cookie is Secure and HSTS is sent.
    with TestClient(sqlite_site.app, base_url="https://testserver") as secure:
        r = secure.get("/login")
        assert "Secure" in r.headers["set-cookie"]
        assert "max-age=" in r.headers["strict-transport-security"]


def test_logout_ends_the_session(sqlite_site):
    token = login(sqlite_site, "eddie")
    assert sqlite_site.get("/document/r1/edit").status_code == 200
    r = sqlite_site.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]
    assert sqlite_site.get("/document/r1/edit", follow_redirects=False).status_code == 303


def test_a_tampered_cookie_is_anonymous(sqlite_site):
    login(sqlite_site, "ada")
    value = sqlite_site.cookies.get("opis_session")
    middle = len(value) // 3  # inside the payload: the signature no longer matches
    tampered = value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1:]
    sqlite_site.cookies.clear()
    sqlite_site.cookies.set("opis_session", tampered)
    assert sqlite_site.get("/admin/audit", follow_redirects=False).status_code == 303


def test_login_redirects_only_to_this_site(sqlite_site):
    for target, expected in [("//evil.example/x", "/"), ("https://evil.example/", "/"),
                             ("/\\evil.example", "/"), ("/document/r1", "/document/r1")]:
        r = sqlite_site.post("/login", data={"username": "eddie", "password": PASSWORD,
                                             "csrf_token": csrf(sqlite_site), "next": target},
                             follow_redirects=False)
        assert r.headers["location"] == expected, target


def test_login_is_rate_limited_per_user_and_per_address(archive):
    """One client gets LOGIN_LIMIT tries per user name, then 429 with Retry-After even
    for the right password; an address gets ADDRESS_LIMIT across all names. Other
    clients are not locked out (test_sessions.py has the lock-out abuse cases)."""
    archive.put([sample_record()])
    seed(archive)
    with TestClient(create_app(archive), raise_server_exceptions=False) as client:
        def attempt(name: str, password: str = "wrong password!") -> int:
            return client.post("/login", data={"username": name, "password": password,
                                               "csrf_token": csrf(client)},
                               follow_redirects=False).status_code

        assert [attempt("eddie") for _ in range(LOGIN_LIMIT)] == [401] * LOGIN_LIMIT
        r = client.post("/login", data={"username": "eddie", "password": PASSWORD,
                                        "csrf_token": csrf(client)}, follow_redirects=False)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        # Another address may still log in, as another user or as the one attacked.
        with TestClient(client.app, client=("10.0.0.2", 5000)) as other:
            for name in ("rita", "eddie"):
                ok = other.post("/login", data={"username": name, "password": PASSWORD,
                                                "csrf_token": csrf(other)},
                                follow_redirects=False)
                assert ok.status_code == 303, name
        # One address failing across many names is limited as well.
        with TestClient(client.app, client=("10.0.0.3", 5000)) as spray:
            codes = []
            for n in range(ADDRESS_LIMIT + 1):
                codes.append(spray.post("/login", data={
                    "username": f"nobody{n}", "password": "wrong password!",
                    "csrf_token": csrf(spray)}, follow_redirects=False).status_code)
            assert codes == [401] * ADDRESS_LIMIT + [429]


def test_secrets_at_rest(archive):
    seeded = seed(archive)
    with archive.db.sessions() as session:
        hashes = [h for (h,) in session.execute(text("SELECT password_hash FROM users"))]
        tokens = [h for (h,) in session.execute(text("SELECT token_hash FROM api_tokens"))]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)
    plain = set(seeded.tokens.values())
    assert len(tokens) == len(plain) and not plain & set(tokens)
    assert all(len(t) == 64 for t in tokens)  # sha256 hex


def test_body_size_limit(sqlite_site):
    big = b"x" * (9 * 1024 * 1024)
    r = sqlite_site.post("/login", content=big,
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    r = sqlite_site.patch("/api/v1/records/r1", content=big,
                          headers={"content-type": "application/json",
                                   **bearer(sqlite_site.seeded.tokens["editor"])})
    assert r.status_code == 413 and r.json()["status"] == 413

    def chunks():
        for _ in range(10):
            yield b"y" * (1024 * 1024)

    r = sqlite_site.patch("/api/v1/records/r1", content=chunks(),
                          headers={"content-type": "application/json",
                                   **bearer(sqlite_site.seeded.tokens["editor"])})
    assert r.status_code == 413


def test_summary_html_is_sanitized():
    dirty = ('<p onclick="x()">A <em>plenum</em> <script>alert(1)</script>'
             '<a href="javascript:alert(1)">bad</a> <a href="https://example.org">ok</a>'
             '<img src=x onerror=alert(1)><style>p{}</style><iframe src=//evil></iframe></p>')
    clean = str(sanitize_html(dirty))
    for bad in ("onclick", "<script", "javascript:", "onerror", "<img", "<style", "<iframe"):
        assert bad not in clean, bad
    assert "<em>plenum</em>" in clean and 'href="https://example.org"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean
    assert str(sanitize_html("a < b & c")) == "a &lt; b &amp; c"
    assert str(sanitize_html(None)) == ""


# -- Chromium: hostile fields run no script --------------------------------------------------

XSS = [
    "<script>window.__xss=1;alert(1)</script>",
    '"><img src=x onerror="window.__xss=1;alert(2)">',
    "'><svg onload=window.__xss=1>",
    "<a href=\"javascript:window.__xss=1\">click</a>",
    "{{7*7}}<iframe srcdoc='<script>parent.__xss=1</script>'></iframe>",
]


def hostile_record() -> Record:
    payload = " ".join(XSS)
    body = f"Opening line.\n{payload}\nKim Du-bon said {XSS[1]} at the plenum.\n"
    start = body.index("Kim Du-bon")
    return Record(
        id="x1", title=f"Hostile {XSS[0]} title {XSS[1]}", text=body, date="1956-12-28",
        citation=f"Cite {payload}", source_url="javascript:window.__xss=1;alert(3)",
        summary=f"<p>Summary</p>{payload}", original_language="ru",
        archival_reference=ArchivalReference(f"RGANI {XSS[1]}", repository=XSS[2]),
        contributors=[Contributor(f"Translator {XSS[1]}", "translator")],
        authors=[Author(f"Author {XSS[2]}", title=XSS[0])], classification=XSS[1][:60],
        document_number=XSS[2], distribution=[XSS[0], XSS[3]],
        distribution_instruction=XSS[4], stamps=[Stamp(XSS[1], number=XSS[2])],
        handwritten_notes=[HandwrittenNote(XSS[0], position=XSS[1])],
        authentication=XSS[3], endorsements=[XSS[4]], subjects=[f"Subject {XSS[1]}"],
        places=[f"Place {XSS[2]}"], people=[f"Person {XSS[1]}"],
        organizations=[f"Org {XSS[0]}"], rights=XSS[3], repository_title=XSS[1],
        annotations=[Annotation("sic", start, start + 10, "Kim Du-bon", XSS[1])])


@pytest.mark.browser
def test_hostile_fields_run_no_script_in_chromium(browser, tmp_path):
    archive = Archive(str(tmp_path / "x.db"))
    archive.put([hostile_record(), sample_record()])
    seed(archive)
    from opis.services.curation import Curator

    Curator(archive).edit("x1", {"summary": XSS[1] + " edited"}, author=XSS[0][:40],
                          reason=f"reason {XSS[1]}")
    app = create_app(archive)
    with live_server(app) as base:
        # CSP bypassed on purpose: escaping alone must keep every payload inert.
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/login")
        page.fill("#username", "ada")
        page.fill("#password", PASSWORD)
        page.click("form.login-form button[type=submit]")
        page.wait_for_url(f"{base}/")
        start = ["/document/x1", "/document/x1/edit", "/document/x1/history",
                 "/document/x1/diff?a=1&b=2", "/admin/audit", "/search?q=hostile",
                 "/search?q=" + XSS[0], "/", "/browse"]
        seen: set[str] = set()
        queue = [base + u for u in start]
        while queue and len(seen) < 60:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            response = page.goto(url)
            assert response is not None and response.status < 500, url
            state = page.evaluate("""() => ({
                flag: window.__xss || null,
                inlineScripts: document.querySelectorAll(
                    'script:not([src]):not([type="application/ld+json"])').length,
                handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes]
                    .some(a => a.name.startsWith('on'))).map(e => e.outerHTML.slice(0, 80)),
                jsLinks: [...document.querySelectorAll('[href],[src],[action],[srcdoc]')].filter(
                    e => /^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src')
                        || e.getAttribute('action') || '') || e.hasAttribute('srcdoc')).length,
                links: [...document.querySelectorAll('a[href]')].map(a => a.href),
            })""")
            assert state["flag"] is None, url
            assert state["inlineScripts"] == 0, url
            assert state["handlers"] == [], (url, state["handlers"])
            assert state["jsLinks"] == 0, url
            if url.endswith("/document/x1"):
                assert "javascript:" in page.content()  # shown as text, not as a link
                for link in state["links"]:
                    parsed = urlparse(link)
                    last = parsed.path.rsplit("/", 1)[-1]
                    if (parsed.netloc == urlparse(base).netloc and "logout" not in link
                            and not parsed.path.startswith("/static") and "." not in last):
                        queue.append(urljoin(base, parsed.path + (
                            "?" + parsed.query if parsed.query else "")))
        # Exports and JSON twins are never served as HTML (and nosniff stops guessing).
        for ext in ("json", "ris", "bib", "csl.json", "dc.xml", "tei.xml"):
            r = page.request.get(f"{base}/document/x1.{ext}")
            assert r.status == 200 and "text/html" not in r.headers["content-type"], ext
            assert r.headers["x-content-type-options"] == "nosniff"
        assert dialogs == []
        assert len(seen) > 10
        context.close()
    archive.close()


@pytest.mark.browser
def test_pages_break_no_csp_rule_in_chromium(browser, tmp_path):
    """With the real policy on, the pages' own scripts and styles load and nothing is
    blocked (a blocked inline style or script would show as a violation)."""
    archive = Archive(str(tmp_path / "c.db"))
    archive.put([sample_record()])
    seed(archive)
    with live_server(create_app(archive)) as base:
        page = browser.new_page()
        page.add_init_script("""window.__violations = [];
            document.addEventListener('securitypolicyviolation',
                e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));""")
        page.goto(f"{base}/login")
        page.fill("#username", "eddie")
        page.fill("#password", PASSWORD)
        page.click("form.login-form button[type=submit]")
        page.wait_for_url(f"{base}/")
        for url in ("/", "/search?q=plenum", "/document/r1", "/document/r1/edit",
                    "/document/r1/history", "/browse", "/collections"):
            page.goto(base + url)
            page.wait_for_load_state("load")
            assert page.evaluate("window.__violations") == [], url
        page.close()
    archive.close()


def test_default_password_hashing_is_strong(monkeypatch):
    """Without the operator's knobs, hashes are Argon2id at 64 MiB and 3 passes."""
    from opis.services.accounts import password_hasher

    monkeypatch.delenv("OPIS_ARGON2_MEMORY_KIB")
    monkeypatch.delenv("OPIS_ARGON2_TIME_COST")
    digest = password_hasher().hash("correct horse battery staple")
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,")


def test_summary_html_is_sanitized_not_dropped(tmp_path):
    from fastapi.testclient import TestClient

    from opis.services.archive import Archive
    from opis.web.app import create_app

    doc = tmp_path / "s.md"
    doc.write_text('---\ntitle: T\nsummary: "Talks <em>in Moscow</em><script>alert(1)</script>'
                   '<a href=\\"javascript:alert(1)\\" onclick=\\"x()\\">link</a>"\n---\n\nText.\n',
                   encoding="utf-8")
    archive = Archive(str(tmp_path / "s.db"))
    assert archive.ingest([doc]).ok
    with TestClient(create_app(archive)) as c:
        html = c.get("/document/s").text
    archive.close()
    summary = html.split('class="summary-text">')[1].split("</div>")[0]
    assert "<em>in Moscow</em>" in summary
    assert "<script" not in summary and "javascript:" not in summary and "onclick" not in summary
