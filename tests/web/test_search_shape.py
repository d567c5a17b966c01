"""A search's results have one shape: the page's JSON twin, the API and ``opis search
--json`` send the same fields with the same values for the same search."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from curation_helpers import sample_record
from opis.cli import app
from opis.services.archive import Archive
from opis.web.app import create_app

COMMON = {"query", "mode", "mode_asked", "total", "milliseconds", "spellings", "hits",
          "facets", "facets_sampled"}
TEXTS = {
    "ru": "Посол Иванов беседовал с Ким Ир Сеном о «пленуме» ЦК.\n",
    "ko": "김일성 동지는 전원회의에서 “연설”을 하였다.\n",
    "zh": "金日成同志在全会上发表了讲话。Dvořák’s note.\n",
}


def test_the_page_the_api_and_the_cli_answer_alike(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    archive = Archive(db)
    records = []
    for lang, text in TEXTS.items():
        r = sample_record(f"r-{lang}", title=f"Запись {lang}", text="Kim Du-bon " + text)
        r.original_language = lang
        records.append(r)
    archive.put(records)
    with TestClient(create_app(archive)) as client:
        page = client.get("/search.json", params={"q": "Kim Du-bon"}).json()
        api = client.get("/api/v1/search", params={"q": "Kim Du-bon"}).json()
    archive.close()
    result = CliRunner().invoke(app, ["search", "Kim Du-bon", "--json", "--db", db])
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)

    for shape in (page, api, cli):
        assert set(shape) >= COMMON, COMMON - set(shape)
        assert shape["total"] == 3 and shape["mode"] == "lexical"
        assert shape["mode_asked"] == "auto"
    for field in ("query", "total", "spellings", "facets", "facets_sampled"):
        assert page[field] == api[field] == cli[field], field
    assert sorted(page["facets"]["language"], key=lambda f: f["value"]) == [
        {"value": "ko", "count": 1, "label": "Korean"},
        {"value": "ru", "count": 1, "label": "Russian"},
        {"value": "zh", "count": 1, "label": "Chinese"}]
    web_hits = [{k: v for k, v in h.items() if k != "url"} for h in page["hits"]]
    assert web_hits == [{k: v for k, v in h.items() if k != "url"} for h in api["hits"]]
    assert web_hits == cli["hits"]  # the CLI has no site: the same hits without a url
    assert all(h["url"] == f"/document/{h['id']}" for h in page["hits"])
    assert {h["original_language"] for h in cli["hits"]} == {"ru", "ko", "zh"}
    assert all("<mark>Kim Du-bon</mark>" in h["snippet"] for h in cli["hits"])
    assert {"page", "pages", "filters", "sort"} <= set(page) and "next_cursor" in api
