"""Accounts, sessions and sample records shared by the curation, authorization, security
and reliability tests."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from opis.model import Record
from opis.model.record import Annotation, ArchivalReference, Contributor
from opis.services.accounts import Accounts
from opis.services.archive import Archive
from opis.web.app import create_app

PASSWORD = "correct horse battery staple"
USERS = {"admin": "ada", "editor": "eddie", "reader": "rita"}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Seeded:
    """The accounts made for a test and a token for each (role, scope) pair."""

    accounts: Accounts
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at a test-sized cost (8 MiB, 1 pass): the same algorithm and code path,
    so the dozens of logins in these tests take seconds, not minutes.
    test_security.test_default_password_hashing_is_strong checks the real defaults."""
    monkeypatch.setenv("OPIS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("OPIS_ARGON2_TIME_COST", "1")


def sample_record(rid: str = "r1", title: str = "Report on the Plenum",
                  text: str | None = None) -> Record:
    text = text or ("Kim Du-bon spoke at the plenum.\nThe [illegible] delegates listened.\n"
                    "Comrade Pak Chang-ok objected.\n")
    start = text.index("Kim Du-bon")
    pak = text.index("Pak Chang-ok") if "Pak Chang-ok" in text else 0
    anns = [Annotation("sic", start, start + 10, "Kim Du-bon", "Kim Du-bong")]
    if pak:
        anns.append(Annotation("romanization", pak, pak + 12, "Pak Chang-ok", "Pak Ch'ang-ok"))
    return Record(id=rid, title=title, text=text, date="1956-12-28", original_language="ru",
                  summary="A report on the August plenum.",
                  archival_reference=ArchivalReference("RGANI, Fond 5, Opis 28, Delo 486"),
                  contributors=[Contributor("Gary Goldberg", "translator")],
                  annotations=anns, source_url="https://digitalarchive.example.org/r1")


def seed(archive: Archive) -> Seeded:
    """An admin, an editor and a reader with PASSWORD, and tokens:
    admin (admin scope), editor (edit), editor-read (an editor's token with read scope),
    reader (read)."""
    accounts = Accounts(archive.db)
    for role, name in USERS.items():
        accounts.add_user(name, role, PASSWORD, actor="test")
    out = Seeded(accounts)
    for key, name, scopes in [("admin", "ada", ["admin"]), ("editor", "eddie", ["edit"]),
                              ("editor-read", "eddie", ["read"]), ("reader", "rita", ["read"])]:
        out.tokens[key] = accounts.create_token(name, scopes, key, actor="test")[1]
    return out


@contextmanager
def seeded_site(archive: Archive) -> Iterator[TestClient]:
    """The app over ``archive`` holding sample record r1 and the seeded accounts, as a
    test client with ``.seeded`` and ``.archive``."""
    archive.put([sample_record()])
    seeded = seed(archive)
    with TestClient(create_app(archive), raise_server_exceptions=False) as client:
        client.seeded = seeded
        client.archive = archive
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf(client: TestClient) -> str:
    """The session's CSRF token, as a form page shows it (starting a session if needed)."""
    match = CSRF_RE.search(client.get("/login").text)
    assert match, "no CSRF token on the login page"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; return the new session's CSRF token."""
    r = client.post("/login", data={"username": name, "password": password,
                                    "csrf_token": csrf(client), "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, (r.status_code, r.text[:500])
    return csrf(client)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app: object) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
