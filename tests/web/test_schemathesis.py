"""Schemathesis against /openapi.json: generated requests to every documented operation,
anonymous and with an admin token (so write routes are reached past their checks), and
with crafted cursors and resumption tokens, must never get a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from crafted import CRAFTED, JSON
from curation_helpers import bearer, sample_record, seed
from opis.services.archive import Archive
from opis.services.oai import token_signer
from opis.services.signing import SignedJSON
from opis.web.app import create_app
from opis.web.deps import CURSOR_MAX_LENGTH
from paths import DATA

REFERENCE = DATA / "wcda_114165.txt"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("OPIS_ARGON2_MEMORY_KIB", "8192")
    mp.setenv("OPIS_ARGON2_TIME_COST", "1")
    archive = Archive(str(tmp_path_factory.mktemp("st") / "st.db"))
    archive.ingest([REFERENCE])
    archive.put([sample_record()])
    seeded = seed(archive)
    app = create_app(archive)
    yield app, seeded
    archive.close()
    mp.undo()


@pytest.fixture(scope="module")
def api_schema(served):
    app, _ = served
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def admin_headers(served):
    return bearer(served[1].tokens["admin"])


schema = schemathesis.pytest.from_fixture("api_schema")
FAST = settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FAST
def test_no_server_errors_anonymous(case):
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])


@schema.include(method=["POST", "PUT", "PATCH", "DELETE"]).parametrize()
@settings(FAST, max_examples=25)
def test_no_server_errors_writing_as_admin(case, admin_headers):
    """Past the authorization checks: generated edits, restores, withdrawals and
    collection writes must be refused cleanly (4xx) or done, never crash."""
    response = case.call(headers=admin_headers)
    case.validate_response(response, checks=[not_a_server_error])


# Cursors and resumption tokens: schemathesis's own strings rarely look like one, so each
# case gets a crafted one (the attack's, base64 of any JSON, deep arrays, garbage) or,
# one time in four, one the server signed itself over any JSON.
LISTS = r"^/api/v1/(search|records|entities)$"


@pytest.fixture(scope="module")
def server_signed(served):
    app, _ = served
    secret = app.state.accounts.secret_key()
    cursors = {name: SignedJSON(secret, f"cursor:{name}", max_length=CURSOR_MAX_LENGTH)
               for name in ("search", "records", "entities")}
    return cursors, token_signer(secret)


@schema.include(path_regex=LISTS).parametrize()
@schema.given(cursor=CRAFTED, payload=JSON, sign=st.integers(0, 3))
@settings(FAST, max_examples=40)
def test_crafted_cursors_no_server_errors(case, cursor, payload, sign, server_signed):
    if sign == 0:
        cursor = server_signed[0][case.path.rsplit("/", 1)[1]].dumps(payload)
    case.query = {**(case.query or {}), "cursor": cursor}
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code in (200, 400), (cursor[:100], response.status_code)


@schema.include(path="/oai").parametrize()
@schema.given(token=CRAFTED, payload=JSON, sign=st.integers(0, 3))
@settings(FAST, max_examples=60)
def test_crafted_resumption_tokens_no_server_errors(case, token, payload, sign,
                                                    server_signed):
    if sign == 0:
        token = server_signed[1].dumps(payload)
    case.query = {**(case.query or {}), "resumptionToken": token}
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code == 200 and response.text.startswith("<?xml")
