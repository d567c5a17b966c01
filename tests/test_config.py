"""Every OPIS_* setting is read in one place (opis/config.py), checked, and named when it
is wrong: a command refuses to start instead of failing later with a traceback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opis import config
from opis.cli import app
from opis.config import Settings, SettingsError
from opis.services.account_rules import password_hasher
from opis.services.oai import OaiConfig


def test_every_variable_is_parsed_into_one_settings_object(tmp_path: Path) -> None:
    found = Settings.from_env({
        "OPIS_DATA_DIR": str(tmp_path), "OPIS_DATABASE": "postgresql+psycopg://h/db",
        "OPIS_READ_REPLICAS": " postgresql://r1/db, ,postgresql://r2/db",
        "OPIS_READ_ONLY": "1", "OPIS_BASE_URL": "https://archive.example.org/opis/",
        "OPIS_ALLOWED_HOSTS": "archive.example.org, *.example.org",
        "OPIS_SECRET_KEY": "s3cret", "OPIS_SESSION_IDLE_MINUTES": "30",
        "OPIS_SESSION_HOURS": "8", "OPIS_ARGON2_MEMORY_KIB": "8192",
        "OPIS_ARGON2_TIME_COST": "2", "OPIS_MAX_BODY": "1_000_000",
        "OPIS_ATTACHMENTS": str(tmp_path / "files"),
        "OPIS_ATTACHMENT_ROOTS": f"{tmp_path / 'a'}:{tmp_path / 'b'}",
        "OPIS_EMBEDDER": "my_models:load", "OPIS_FRUS_REPOSITORIES": "rules.toml",
        "OPIS_MAX_PAGES": "50", "OPIS_OAI_REPOSITORY_NAME": "Архив «Восток»",
        "OPIS_OAI_ADMIN_EMAIL": "a@example.org,b@example.org", "OPIS_OAI_PAGE_SIZE": "25",
        "OPIS_OAI_TOKEN_HOURS": "1.5",
    })
    assert found.data_dir == tmp_path and found.database == "postgresql+psycopg://h/db"
    assert found.read_replicas == ("postgresql://r1/db", "postgresql://r2/db")
    assert found.read_only and found.base_url == "https://archive.example.org/opis"
    assert found.allowed_hosts == ("archive.example.org", "*.example.org")
    assert found.secret_key == "s3cret"
    assert found.session_idle == timedelta(minutes=30)
    assert found.session_lifetime == timedelta(hours=8)
    assert (found.argon2_memory_kib, found.argon2_time_cost) == (8192, 2)
    assert found.max_body == 1_000_000
    assert found.attachments == tmp_path / "files"
    assert found.attachment_roots == (tmp_path / "a", tmp_path / "b")
    assert found.embedder == "my_models:load" and found.frus_repositories == "rules.toml"
    assert found.reader_limits == {"OPIS_MAX_PAGES": "50"}
    assert found.oai.repository_name == "Архив «Восток»"
    assert found.oai.admin_emails == ("a@example.org", "b@example.org")
    assert (found.oai.page_size, found.oai.token_hours) == (25, 1.5)


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    found = Settings.from_env({"OPIS_DATA_DIR": str(tmp_path)})
    assert found.database is None and not found.read_only and found.base_url is None
    assert found.session_idle == timedelta(hours=4)
    assert found.session_lifetime == timedelta(hours=24)
    assert (found.argon2_memory_kib, found.argon2_time_cost) == (65536, 3)
    assert found.max_body == 8 * 1024 * 1024 and found.oai.page_size == 100


@pytest.mark.parametrize("name, value, says", [
    ("OPIS_SESSION_HOURS", "soon", "OPIS_SESSION_HOURS must be a number above 0, got 'soon'"),
    ("OPIS_SESSION_IDLE_MINUTES", "-5", "OPIS_SESSION_IDLE_MINUTES must be a number above 0"),
    ("OPIS_ARGON2_MEMORY_KIB", "64 MiB", "OPIS_ARGON2_MEMORY_KIB must be a whole number"),
    ("OPIS_OAI_PAGE_SIZE", "0", "OPIS_OAI_PAGE_SIZE must be a whole number above 0"),
    ("OPIS_MAX_BODY", "inf", "OPIS_MAX_BODY must be a whole number above 0"),
    ("OPIS_BASE_URL", "archive.example.org", "OPIS_BASE_URL='archive.example.org' is not a "
                                             "site address"),
])
def test_a_bad_value_is_named(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError, match=says.replace("(", r"\(")):
        Settings.from_env({name: value})


def test_a_command_with_a_bad_setting_does_not_start(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPIS_ARGON2_TIME_COST", "three")
    result = CliRunner().invoke(app, ["user", "add", "ada", "--role", "admin",
                                      "--db", str(tmp_path / "a.db")], input="x" * 20 + "\n")
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "OPIS_ARGON2_TIME_COST must be a whole number above 0, got 'three'" in said
    assert "Traceback" not in said
    assert not (tmp_path / "a.db").exists()  # nothing was started


def test_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPIS_OAI_PAGE_SIZE", "7")
    first = config.settings()
    assert first is config.settings()  # parsed once while nothing changes
    assert OaiConfig.from_env().page_size == 7
    monkeypatch.setenv("OPIS_OAI_PAGE_SIZE", "9")
    monkeypatch.setenv("OPIS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("OPIS_ARGON2_TIME_COST", "1")
    assert OaiConfig.from_env().page_size == 9
    assert password_hasher().memory_cost == 8192
