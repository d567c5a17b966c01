"""Year and decade filters out of any engine's integer range: refused with a 400 naming
the parameter (like any other bad parameter), never passed on to Tantivy (64 bits) or
PostgreSQL (32 bits), where they used to give a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from curation_helpers import sample_record
from opis.web.app import create_app
from opis.web.search import MAX_YEAR, MIN_YEAR

HUGE = "99999999999999999999"
REFUSED = [
    ("/search.json?year=" + HUGE, "year"),
    ("/search.json?decade=" + HUGE, "decade"),
    ("/search.json?year=-" + HUGE, "year"),
    ("/search.json?decade=-" + HUGE, "decade"),
    ("/search.json?year=-12871703635502827351048192", "year"),  # schemathesis's find
    ("/search.json?year=2147483648", "year"),  # just past PostgreSQL's integer
    ("/search.json?q=plenum&year=1956&year=" + HUGE, "year"),
    ("/api/v1/search?year=" + HUGE, "year"),
    ("/api/v1/search?decade=-" + HUGE, "decade"),
    (f"/api/v1/search?year={MAX_YEAR + 1}", "year"),
    (f"/api/v1/search?decade={MIN_YEAR - 1}", "decade"),
]


@pytest.fixture
def client(archive):
    archive.put([sample_record()])
    return TestClient(create_app(archive), raise_server_exceptions=False)


@pytest.mark.parametrize(("url", "name"), REFUSED)
def test_out_of_range_is_a_400_naming_the_parameter(client, url, name):
    response = client.get(url)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400
    assert body["error"].startswith(f"invalid request: {name}")


@pytest.mark.parametrize("name", ["year", "decade"])
def test_html_search_page_refuses_it_too(client, name):
    response = client.get(f"/search?q=plenum&{name}={HUGE}")
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert f"Invalid request: {name}" in response.text


@pytest.mark.parametrize("url", [
    f"/search.json?year={MAX_YEAR}", f"/search.json?year={MIN_YEAR}&decade={MIN_YEAR}",
    f"/search.json?q=plenum&decade={MAX_YEAR}", f"/api/v1/search?year={MIN_YEAR}",
    f"/search?q=plenum&year={MAX_YEAR}",
])
def test_the_widest_accepted_values_reach_the_engine(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.text


def test_a_real_year_still_filters(client):
    assert client.get("/search.json?q=plenum&year=1956").json()["total"] == 1
    assert client.get("/search.json?q=plenum&decade=1950").json()["total"] == 1
    assert client.get("/api/v1/search?q=plenum&year=1957").json()["total"] == 0
