"""Accounts under attack: parallel wrong passwords, replayed cookies, disabled and
re-enabled users, CSRF whatever the content type, no-store on signed-in responses, the
token listing, lock-out abuse, and (in Chromium) logging out for real. On SQLite and on
PostgreSQL unless said otherwise."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from test_authz import fill, needs, routes
from typer.testing import CliRunner

from curation_helpers import (
    CSRF_RE,
    PASSWORD,
    bearer,
    csrf,
    fast_hashing,  # noqa: F401 - autouse: test-sized Argon2
    live_server,
    login,
    sample_record,
    seed,
    seeded_site,
)
from opis.cli import app as cli
from opis.services.account_rules import (
    ACCOUNT_FREE,
    ACCOUNT_MAX_DELAY,
    ADDRESS_LIMIT,
    LOGIN_LIMIT,
    login_wait,
)
from opis.store.accounts import FailureCounts
from opis.web.app import create_app

WRONG = "not the password!"


@pytest.fixture
def site(archive):
    with seeded_site(archive) as client:
        yield client


def fresh(site: TestClient, cookie: str | None = None, ip: str = "testclient") -> TestClient:
    """Another browser on the same app, optionally carrying a stolen session cookie."""
    other = TestClient(site.app, raise_server_exceptions=False, client=(ip, 50000))
    if cookie is not None:
        other.cookies.set("opis_session", cookie)
    return other


def attempt(client: TestClient, name: str, password: str = WRONG) -> httpx.Response:
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": csrf(client), "next": "/"},
                       follow_redirects=False)


# -- 1. parallel logins cannot bypass the limit ---------------------------------------------------

def test_parallel_wrong_passwords_check_at_most_the_limit(archive):
    """40 wrong passwords for one user sent at once, from 40 connections of one address:
    at most LOGIN_LIMIT are checked (401), every other one gets 429 with Retry-After."""
    archive.put([sample_record()])
    seed(archive)
    with live_server(create_app(archive)) as base:
        clients = [httpx.Client(base_url=base) for _ in range(40)]
        tokens = [CSRF_RE.search(c.get("/login").text).group(1) for c in clients]
        barrier = threading.Barrier(len(clients))
        results: list[httpx.Response] = []
        lock = threading.Lock()

        def go(client: httpx.Client, token: str) -> None:
            barrier.wait()
            r = client.post("/login", data={"username": "eddie", "password": WRONG,
                                            "csrf_token": token}, timeout=60)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=go, args=pair) for pair in zip(clients, tokens,
                                                                           strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        for c in clients:
            c.close()
    codes = Counter(r.status_code for r in results)
    assert sum(codes.values()) == 40 and set(codes) <= {401, 429}, codes
    assert 1 <= codes[401] <= LOGIN_LIMIT, codes
    assert all(int(r.headers["retry-after"]) > 0 for r in results if r.status_code == 429)


# -- 3. sessions end on the server ----------------------------------------------------------------

def test_a_cookie_copied_before_logout_is_dead_after_it(site):
    token = login(site, "eddie")
    stolen = site.cookies.get("opis_session")
    thief = fresh(site, stolen)
    assert thief.get("/document/r1/edit").status_code == 200  # the copy works while signed in
    r = site.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    r = thief.get("/document/r1/edit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = thief.patch("/api/v1/records/r1", headers={"X-CSRF-Token": token},
                    json={"changes": {"title": "Forged"}, "reason": "replayed cookie"})
    assert r.status_code == 401
    assert site.archive.get("r1").title == "Report on the Plenum"


def test_disable_then_enable_brings_back_no_session_or_token(site):
    token = login(site, "eddie")
    cookie = site.cookies.get("opis_session")
    api_token = site.seeded.tokens["editor"]
    accounts = site.seeded.accounts
    accounts.disable_user("eddie")
    accounts.enable_user("eddie")
    old = fresh(site, cookie)
    assert old.get("/document/r1/edit", follow_redirects=False).status_code == 303
    r = old.post("/document/r1/withdraw", data={"csrf_token": token, "reason": "old cookie"})
    assert r.status_code == 401
    r = site.patch("/api/v1/records/r1", headers=bearer(api_token),
                   json={"changes": {"title": "x"}, "reason": "old token"})
    assert r.status_code == 401
    # The user can log in again and make new tokens: enabling works, it just revives nothing.
    login(fresh(site), "eddie")
    assert accounts.create_token("eddie", ["edit"], "new")[1].startswith("opis_")


def test_a_password_change_ends_the_sessions_opened_before(site):
    login(site, "eddie")
    other = fresh(site)
    login(other, "eddie")
    site.seeded.accounts.set_password("eddie", "a brand new passphrase")
    for client in (site, other):
        assert client.get("/document/r1/edit", follow_redirects=False).status_code == 303


def test_sessions_expire_when_idle_and_at_their_absolute_limit(site, monkeypatch):
    from opis.services.accounts import SESSION_IDLE

    login(site, "eddie")
    assert site.get("/document/r1/edit").status_code == 200
    with site.archive.db.primary_sessions() as s, s.begin():
        s.execute(text("UPDATE sessions SET last_seen_at = :t"),
                  {"t": datetime.now(UTC) - SESSION_IDLE - timedelta(minutes=1)})
    assert site.get("/document/r1/edit", follow_redirects=False).status_code == 303
    login(site, "eddie")
    with site.archive.db.primary_sessions() as s, s.begin():
        s.execute(text("UPDATE sessions SET expires_at = :t"),
                  {"t": datetime.now(UTC) - timedelta(seconds=1)})
    assert site.get("/document/r1/edit", follow_redirects=False).status_code == 303


def test_the_session_id_is_stored_only_as_a_hash(site):
    """A copy of the database (signing key included) yields no working cookie: the server
    keeps only a SHA-256 of each session id, and a cookie naming the hash is nobody."""
    from opis.web.security import Sessions

    login(site, "eddie")
    cookie = site.cookies.get("opis_session")
    with site.archive.db.sessions() as s:
        rows = s.execute(text("SELECT * FROM sessions")).mappings().all()
    dump = json.dumps([dict(r) for r in rows], default=str)
    assert len(rows) == 1 and rows[0]["ip"] == "testclient"
    signer = Sessions(site.seeded.accounts).serializer  # the key an attacker would hold
    key = signer.loads(cookie)["k"]
    assert key not in dump and cookie not in dump
    forged = fresh(site, signer.dumps({"k": rows[0]["id_hash"]}))
    assert forged.get("/document/r1/edit", follow_redirects=False).status_code == 303


def test_user_sessions_and_logout_from_the_command_line(site, db_url):
    runner = CliRunner()
    login(site, "eddie")
    login(fresh(site, ip="10.1.2.3"), "eddie")
    r = runner.invoke(cli, ["user", "sessions", "eddie", "--json", "--db", db_url])
    assert r.exit_code == 0, r.output
    listed = json.loads(r.output)
    assert sorted(s["client"] for s in listed) == ["10.1.2.3", "testclient"]
    r = runner.invoke(cli, ["user", "logout", "eddie", "--db", db_url])
    assert r.exit_code == 0 and "2 sessions" in r.output, r.output
    assert site.get("/document/r1/edit", follow_redirects=False).status_code == 303
    r = runner.invoke(cli, ["user", "sessions", "nobody", "--db", db_url])
    assert r.exit_code == 1 and "Traceback" not in r.output


@pytest.mark.parametrize("fmt", [None, "jsonl"])
def test_a_restore_brings_back_no_session(site, db_url, tmp_path, fmt):
    """A backup taken while signed in may hold that session's row (a database copy
    does; the jsonl archive format leaves sessions out); restoring it after the logout
    must not revive the cookie either way."""
    runner = CliRunner()
    token = login(site, "eddie")
    cookie = site.cookies.get("opis_session")
    backup = tmp_path / "b.backup"
    r = runner.invoke(cli, ["backup", str(backup), "--db", db_url,
                            *(["--format", fmt] if fmt else [])])
    assert r.exit_code == 0, r.output
    site.post("/logout", data={"csrf_token": token})
    r = runner.invoke(cli, ["restore", str(backup), "--yes", "--db", db_url])
    held = 0 if fmt == "jsonl" else 1
    assert r.exit_code == 0 and f"ended {held} sessions" in " ".join(r.output.split()), \
        r.output
    old = fresh(site, cookie)
    assert old.get("/document/r1/edit", follow_redirects=False).status_code == 303


# -- 4. the token listing tells the truth -----------------------------------------------------------

def test_token_listing_shows_each_tokens_true_state(site, db_url):
    runner = CliRunner()
    accounts = site.seeded.accounts
    expiring, _ = accounts.create_token("rita", ["read"], "short-lived",
                                        expires_in=timedelta(days=1))
    with site.archive.db.primary_sessions() as s, s.begin():
        s.execute(text("UPDATE api_tokens SET expires_at = :t WHERE id = :i"),
                  {"t": datetime.now(UTC) - timedelta(hours=1), "i": expiring})
    revoked = next(t.id for t in accounts.tokens("ada"))
    accounts.revoke_token(revoked)
    accounts.disable_user("eddie")
    r = runner.invoke(cli, ["token", "list", "--json", "--db", db_url])
    assert r.exit_code == 0, r.output
    state = {(t["user"], t["label"]): t["status"] for t in json.loads(r.output)}
    assert state[("eddie", "editor")] == "user disabled"
    assert state[("eddie", "editor-read")] == "user disabled"
    assert state[("ada", "admin")] == "revoked"
    assert state[("rita", "short-lived")] == "expired"
    assert state[("rita", "reader")] == "active"
    table = runner.invoke(cli, ["token", "list", "eddie", "--db", db_url]).output
    assert "active" not in table and table.count("disabled") == 2  # rich may wrap "user"
    # An expired token is refused like a revoked one.
    r = site.get("/document/r1/history.json", headers=bearer(accounts.create_token(
        "rita", ["read"], "gone", expires_in=timedelta(seconds=-1))[1]))
    assert r.status_code == 401


def test_upgrading_revokes_the_tokens_of_users_disabled_before(db_url):
    """Migration 0004 on a database made by 0003: a user disabled before the upgrade keeps
    no live token that enabling them would revive; others' tokens stay active."""
    from alembic import command
    from alembic.config import Config

    from opis.store.db import MIGRATIONS, Database

    db = Database(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        for uid, name, disabled in [(1, "gone", True), (2, "here", False)]:
            conn.execute(text("INSERT INTO users (id, name, role, password_hash, disabled, "
                              "created_at, updated_at) VALUES (:i, :n, 'editor', 'x', :d, "
                              ":t, :t)"), {"i": uid, "n": name, "d": disabled, "t": now})
            conn.execute(text("INSERT INTO api_tokens (user_id, label, scopes, token_hash, "
                              "created_at) VALUES (:i, :n, 'edit', :h, :t)"),
                         {"i": uid, "n": name, "h": f"{uid:064d}", "t": now})
    db.migrate()
    from opis.services.accounts import Accounts, token_status

    accounts = Accounts(db)
    accounts.enable_user("gone")
    assert {t.label: token_status(t) for t in accounts.tokens()} == {"gone": "revoked",
                                                                      "here": "active"}
    db.dispose()


# -- 5. CSRF whatever the method and content type ---------------------------------------------------

def test_cookie_delete_with_a_form_content_type_needs_the_csrf_token(site):
    body = {"id": "c1", "title": "Ёлка 김치 汉字 “set”", "record_ids": ["r1"]}
    r = site.post("/api/v1/collections", json=body, headers=bearer(site.seeded.tokens["admin"]))
    assert r.status_code == 201
    token = login(site, "eddie")
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = site.request("DELETE", "/api/v1/collections/c1", headers=form, content=b"")
    assert r.status_code == 403
    r = site.request("DELETE", "/api/v1/collections/c1", headers=form,
                     content=b"csrf_token=forged")
    assert r.status_code == 403
    assert site.get("/api/v1/collections/c1").status_code == 200
    r = site.request("DELETE", "/api/v1/collections/c1", headers=form,
                     content=f"csrf_token={token}".encode())
    assert r.status_code == 204


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=xyz", "text/plain", ""])
def test_every_cookie_write_needs_the_csrf_token_whatever_the_content_type(site, content_type):
    login(site, "ada")
    table = [(m, p) for m, p in routes(site.app) if m != "GET" and needs(m, p)]
    assert len(table) >= 10
    failures = []
    for method, path in table:
        headers = {"content-type": content_type} if content_type else {}
        body = b"--xyz--\r\n" if content_type.startswith("multipart") else b"reason=no+token"
        r = site.request(method, fill(path), headers=headers, content=body,
                         follow_redirects=False)
        if r.status_code != 403:
            failures.append((method, path, r.status_code))
    assert failures == []


# -- 6. no-store on everything a signed-in visitor gets -------------------------------------------

SIGNED_IN_URLS = ("/", "/search?q=plenum", "/search.json?q=plenum", "/document/r1",
                  "/document/r1.json", "/document/r1/history", "/document/r1/edit", "/browse",
                  "/collections", "/api/v1/records/r1", "/admin/audit", "/document/nope",
                  "/static/opis.css")


def test_signed_in_responses_are_never_stored(site):
    r = site.get("/login")
    assert r.headers["cache-control"] == "no-store"  # it carries a CSRF token
    login(site, "ada")
    stored = [(u, r.headers.get("cache-control")) for u in SIGNED_IN_URLS
              if (r := site.get(u, follow_redirects=False)).headers.get("cache-control")
              != "no-store"]
    assert stored == []
    with fresh(site) as api:
        for url in ("/api/v1/records/r1", "/document/r1/history.json"):
            r = api.get(url, headers=bearer(site.seeded.tokens["admin"]))
            assert r.headers.get("cache-control") == "no-store", url
    with fresh(site) as anonymous:  # public pages for anonymous visitors may be cached
        assert anonymous.get("/document/r1").headers.get("cache-control") != "no-store"


# -- 2. lock-out abuse ------------------------------------------------------------------------------

def test_an_attacker_cannot_lock_the_owner_out(site):
    """Wrong passwords from an attacker's address do not stop the owner's browser, which
    has logged in before (OWASP's device cookie), nor the owner from another address."""
    owner = fresh(site, ip="10.0.0.1")
    login(owner, "eddie")
    owner.post("/logout", data={"csrf_token": csrf(owner)})
    attacker = fresh(site, ip="10.6.6.6")
    codes = [attempt(attacker, "eddie").status_code for _ in range(LOGIN_LIMIT + 3)]
    assert codes[:LOGIN_LIMIT] == [401] * LOGIN_LIMIT and set(codes[LOGIN_LIMIT:]) == {429}
    assert attempt(owner, "eddie", PASSWORD).status_code == 303  # the known browser
    elsewhere = fresh(site, ip="10.0.0.2")  # a new browser, another address
    assert attempt(elsewhere, "eddie", PASSWORD).status_code == 303
    # The attacker stays limited even with the right password: it is not checked.
    r = attempt(attacker, "eddie", PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_many_addresses_against_one_account_meet_a_growing_delay(site):
    """A botnet (one try per address) is slowed account-wide for browsers the account
    has not used: after ACCOUNT_FREE failures each try waits twice as long as the one
    before, so in T seconds at most about log2(T) more are checked; the owner's own
    browser still gets in at once."""
    owner = fresh(site, ip="10.0.0.1")
    login(owner, "eddie")
    started = time.monotonic()
    codes, waits = [], []
    for n in range(40):
        r = attempt(fresh(site, ip=f"192.0.2.{n}"), "eddie")
        codes.append(r.status_code)
        if r.status_code == 429:
            waits.append(int(r.headers["retry-after"]))
    elapsed = time.monotonic() - started
    assert codes[:ACCOUNT_FREE] == [401] * ACCOUNT_FREE, codes
    assert codes.count(401) <= ACCOUNT_FREE + math.log2(elapsed + 1) + 1, (codes, elapsed)
    assert waits and all(0 < w <= ACCOUNT_MAX_DELAY for w in waits)
    assert attempt(owner, "eddie", PASSWORD).status_code == 303


def test_the_delay_doubles_up_to_five_minutes():
    at = datetime.now(UTC)

    def wait(account: int, client: int = 0, address: int = 0, trusted: bool = False) -> int:
        counts = FailureCounts(client, at, account, at, address, at)
        return login_wait(counts, at, trusted=trusted)

    assert [wait(n) for n in (0, ACCOUNT_FREE - 1)] == [0, 0]
    assert [wait(ACCOUNT_FREE + k) for k in range(5)] == [1, 2, 4, 8, 16]
    assert wait(ACCOUNT_FREE + 20) == ACCOUNT_MAX_DELAY
    assert wait(ACCOUNT_FREE + 20, trusted=True) == 0  # a known browser is not slowed
    assert wait(0, client=LOGIN_LIMIT, trusted=True) == 15 * 60  # ...but has its own limit
    assert wait(0, address=ADDRESS_LIMIT) == 15 * 60


def test_one_address_spraying_many_names_is_limited(site):
    spray = fresh(site, ip="10.0.0.3")
    codes = [attempt(spray, f"nobody{n}").status_code for n in range(40)]
    assert 401 in codes and codes[-1] == 429


# -- 9. the login form takes any input without a server error --------------------------------------

NAMES = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["Ёжик", "김철수", "王小明", "eddie\x00", "\x00", "a" * 5000, "José “Pepe”",
                     "eddie", "ada'--", "../../etc/passwd", "\u202eeddie", ""]))
PASSWORDS = st.one_of(st.text(max_size=300),
                      st.sampled_from(["пароль-пароль", "비밀번호비밀번호", "密码密码密码密码密码",
                                       "x\x00y" * 5, "p" * 5000, PASSWORD, ""]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, password=PASSWORDS)
def test_the_login_form_never_gives_a_server_error(site, name, password):
    with fresh(site, ip="198.51.100.7") as client:
        r = client.post("/login", data={"username": name, "password": password,
                                        "csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code in (303, 401, 429), (name, password, r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    with site.archive.db.primary_sessions() as s, s.begin():  # so the limit never hides a 5xx
        s.execute(text("DELETE FROM login_failures"))


# -- 8. Chromium: logging out by clicking really logs out ------------------------------------------

@pytest.mark.browser
def test_after_logout_back_asks_to_log_in_again(browser, archive):
    archive.put([sample_record(title="Доклад о пленуме — 보고서 报告")])
    seed(archive)
    with live_server(create_app(archive)) as base:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/document/r1/edit")
        assert "/login" in page.url
        page.fill("#username", "eddie")
        page.fill("#password", PASSWORD)
        page.click("form.login-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/document/r1/edit$"))
        assert page.locator("form.edit-form").count() == 1
        copied = context.cookies()  # what malware or a shared computer would keep
        page.click("form[action='/logout'] button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.go_back()
        page.wait_for_load_state("load")
        assert "/login" in page.url, page.url
        assert page.locator("form.login-form").count() == 1
        assert page.locator("form.edit-form").count() == 0
        # Putting the copied cookie back does not sign anyone in: the session is gone.
        context.add_cookies(copied)
        page.goto(f"{base}/document/r1/edit")
        assert "/login" in page.url
        assert page.locator("form.edit-form").count() == 0
        context.close()
