"""The site is the archive's own: its name and logo on every page, and an About page
in its operator's words (OPIS_SITE_NAME, OPIS_SITE_LOGO, OPIS_ABOUT)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from curation_helpers import sample_record
from opis.cli import app as cli
from opis.services.archive import Archive
from opis.web.app import create_app

ABOUT = """# Архив «Восток»

The **Centre for Korean Studies** publishes its translations of Soviet and Chinese
documents on North Korea (김일성, 金日成) here. Dvořák’s “notes” are included.

<script>alert(1)</script>

- [Contact us](mailto:archive@example.org)
- [A bad link](javascript:alert(2))
"""
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32">'
        b'<circle cx="16" cy="16" r="15"/></svg>')


@pytest.fixture
def branded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "about.md").write_text(ABOUT, encoding="utf-8")
    (tmp_path / "logo.svg").write_bytes(LOGO)
    monkeypatch.setenv("OPIS_SITE_NAME", "Архив «Восток»")
    monkeypatch.setenv("OPIS_SITE_LOGO", str(tmp_path / "logo.svg"))
    monkeypatch.setenv("OPIS_ABOUT", str(tmp_path / "about.md"))
    archive = Archive(str(tmp_path / "a.db"))
    archive.put([sample_record()])
    with TestClient(create_app(archive)) as client:
        yield client
    archive.close()


def test_the_name_and_logo_are_on_every_page(branded: TestClient) -> None:
    for path in ("/", "/search?q=plenum", "/document/r1", "/browse", "/about"):
        html = branded.get(path).text
        assert "· Архив «Восток»</title>" in html, path
        assert '<img class="brand-logo" src="/site-logo"' in html, path
    logo = branded.get("/site-logo")
    assert logo.status_code == 200 and logo.content == LOGO
    assert logo.headers["content-type"] == "image/svg+xml"
    assert "default-src 'none'" in logo.headers["content-security-policy"]


def test_the_about_page_is_the_operators_text_made_harmless(branded: TestClient) -> None:
    html = branded.get("/about").text
    text = html.split('<div class="about-text">', 1)[1].split("</div>", 1)[0]
    assert "<h2>Архив «Восток»</h2>" in text  # one level under the page's own h1
    assert "<strong>Centre for Korean Studies</strong>" in text
    assert "김일성, 金日成" in text and "Dvořák’s “notes”" in text
    assert "<script" not in text  # raw HTML in the Markdown is shown as text, never run
    assert 'href="mailto:archive@example.org"' in text
    assert 'href="javascript:' not in text
    assert 'href="/about"' in branded.get("/").text  # linked from every footer


def test_without_settings_the_site_is_plain_opis(tmp_path: Path) -> None:
    archive = Archive(str(tmp_path / "a.db"))
    with TestClient(create_app(archive)) as client:
        html = client.get("/about").text
        assert "<h1>About opis</h1>" in html and "0 of them" in html
        assert client.get("/site-logo").status_code == 404
    archive.close()


def test_a_missing_file_stops_the_server_before_it_starts(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("OPIS_ABOUT", str(tmp_path / "nowhere.md"))
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 2
    assert "OPIS_ABOUT=" in result.output and "no such file" in result.output
    monkeypatch.setenv("OPIS_ABOUT", str(tmp_path))
    monkeypatch.setenv("OPIS_SITE_LOGO", str(tmp_path / "logo.exe"))
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 2 and "give a .png" in " ".join(result.output.split())
