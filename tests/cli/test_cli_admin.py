"""opis user and opis token, run as an administrator would."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opis.cli import app
from opis.services.archive import Archive
from opis.web.app import create_app

runner = CliRunner()


def test_users_and_tokens(tmp_path):
    db = str(tmp_path / "a.db")
    r = runner.invoke(app, ["user", "add", "eddie", "--role", "editor", "--password-stdin",
                            "--db", db], input="correct horse battery\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["user", "add", "eddie", "--password-stdin", "--db", db],
                      input="another long password\n")
    assert r.exit_code != 0 and "Traceback" not in r.output
    listing = runner.invoke(app, ["user", "list", "--json", "--db", db]).output
    (user,) = json.loads(listing)
    assert user["name"] == "eddie" and user["role"] == "editor"
    assert "argon2" not in listing  # hashes never leave the database

    r = runner.invoke(app, ["token", "create", "eddie", "--scope", "edit", "--label", "script",
                            "--db", db])
    assert r.exit_code == 0, r.output
    token_id, token = re.search(r"token (\d+) for eddie.*\n(opis_\S+)", r.output).groups()
    archive = Archive(db)
    with TestClient(create_app(archive)) as c:
        headers = {"Authorization": f"Bearer {token}"}
        body = {"id": "c1", "title": "A set", "record_ids": []}
        assert c.post("/api/v1/collections", json=body, headers=headers).status_code in (200, 201)
        assert runner.invoke(app, ["token", "revoke", token_id, "--db", db]).exit_code == 0
        r = c.post("/api/v1/collections", json={**body, "id": "c2"}, headers=headers)
        assert r.status_code == 401
    archive.close()
    assert runner.invoke(app, ["user", "disable", "eddie", "--db", db]).exit_code == 0
    (user,) = json.loads(runner.invoke(app, ["user", "list", "--json", "--db", db]).output)
    assert user["disabled"] is True
