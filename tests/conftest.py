"""Shared fixtures: the reference document, archives on both backends, a live server,
Chromium, and the TEI schema."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import create_engine, text

DATA = Path(__file__).parent / "data"
REFERENCE = DATA / "wcda_114165.txt"
TEI_RNG = DATA / "tei_all.rng"
PG_BASE = os.environ.get("OPIS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def tei_schema() -> etree.RelaxNG:
    """TEI P5 tei_all, compiled once per session: compiling takes seconds."""
    return etree.RelaxNG(etree.parse(str(TEI_RNG)))


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_BASE)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _needs_postgres(item: pytest.Item) -> bool:
    """A test reaches the server through ``pg_ok`` (``pg_url``, ``pg_schema`` and every
    PostgreSQL fixture ask for it) or through a backend parameter whose value is
    "postgres" (``db_url``, ``archive`` and the modules' own backend parameters)."""
    if "pg_ok" in getattr(item, "fixturenames", ()):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(
        isinstance(v, str) and v == "postgres" for v in callspec.params.values())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ``postgres`` marker on every test that needs the server, so that
    ``-m "not postgres"`` runs the rest on a machine without one; found from what the
    test uses, so a new PostgreSQL test is marked without anyone remembering to."""
    for item in items:
        if _needs_postgres(item):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_ok() -> bool:
    ok = _pg_available()
    if not ok and os.environ.get("CI"):
        pytest.fail("PostgreSQL is not reachable at " + PG_BASE)
    return ok


@contextmanager
def pg_schema(pg_ok: bool, prefix: str = "t_") -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    if not pg_ok:
        pytest.skip("PostgreSQL not reachable")
    schema = prefix + uuid.uuid4().hex[:12]
    engine = create_engine(PG_BASE)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def pg_url(pg_ok: bool) -> Iterator[str]:
    with pg_schema(pg_ok) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "opis.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def archive(db_url: str):
    from opis.services.archive import Archive

    a = Archive(db_url)
    yield a
    a.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo archive (packaged sample corpus) served by uvicorn in a thread."""
    import uvicorn

    from opis.cli import sample_corpus
    from opis.services.archive import Archive
    from opis.web.app import create_app

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    archive = Archive(str(path))
    archive.ingest([sample_corpus()])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(archive), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)
    archive.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("OPIS_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {executable}")
        pytest.skip("Chromium not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()
