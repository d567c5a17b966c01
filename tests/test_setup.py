"""The first half hour of a new curator: `opis demo`, `opis user add` and the site agree
on one archive and say which it is; `--db` works before or after the command; a login on
an archive without accounts says why it fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from curation_helpers import CSRF_RE, PASSWORD
from opis.cli import app
from opis.services.archive import Archive
from opis.web.app import create_app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user data folder of its own and no OPIS_DATABASE: the defaults are what is tested."""
    monkeypatch.setenv("OPIS_DATA_DIR", str(tmp_path / "data"))
    # Empty, not deleted: monkeypatch then restores the variable's absence afterwards,
    # even after `opis --db X` set it in this process.
    monkeypatch.setenv("OPIS_DATABASE", "")
    monkeypatch.setenv("OPIS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("OPIS_ARGON2_TIME_COST", "1")
    return tmp_path / "data"


def test_demo_and_user_add_use_the_same_archive_and_say_so(data_dir):
    r = runner.invoke(app, ["demo", "--no-serve"])
    assert r.exit_code == 0, r.output
    default = str(data_dir / "opis.db")
    assert f"loading the sample corpus into {default}" in r.output.replace("\n", "")
    assert "opis user add NAME --role editor" in r.output
    r = runner.invoke(app, ["user", "add", "eddie", "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert f"added editor eddie to {default}" in r.output.replace("\n", "")
    # The site over that archive has both the sample records and the account.
    archive = Archive(default)
    try:
        assert archive.count() > 10
        with TestClient(create_app(archive)) as client:
            token = CSRF_RE.search(client.get("/login").text).group(1)
            r = client.post("/login", data={"username": "eddie", "password": PASSWORD,
                                            "csrf_token": token, "next": "/"},
                            follow_redirects=False)
            assert r.status_code == 303
    finally:
        archive.close()
    # Run again, the demo keeps what is there and says so.
    r = runner.invoke(app, ["demo", "--no-serve"])
    assert "already holds" in r.output and r.exit_code == 0


def test_db_before_or_after_the_command(data_dir, tmp_path, monkeypatch):
    db = str(tmp_path / "elsewhere.db")
    r = runner.invoke(app, ["--db", db, "user", "add", "ada", "--role", "admin",
                            "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert db in r.output.replace("\n", "")
    monkeypatch.setenv("OPIS_DATABASE", "")  # forget what the option set
    (user,) = json.loads(runner.invoke(app, ["user", "list", "--json", "--db", db]).output)
    assert user["name"] == "ada"
    listed = runner.invoke(app, ["--db", db, "user", "list", "--json"])
    assert json.loads(listed.output)[0]["name"] == "ada"
    monkeypatch.setenv("OPIS_DATABASE", "")
    assert not (data_dir / "opis.db").exists()  # the default archive was never touched


def test_login_on_an_archive_without_accounts_says_so(tmp_path):
    archive = Archive(str(tmp_path / "empty.db"))
    try:
        with TestClient(create_app(archive)) as client:
            token = CSRF_RE.search(client.get("/login").text).group(1)
            r = client.post("/login", data={"username": "eddie", "password": "x" * 12,
                                            "csrf_token": token, "next": "/"})
            assert r.status_code == 401
            assert "This archive has no accounts yet" in r.text
            assert "opis user add NAME --role editor" in r.text
    finally:
        archive.close()
