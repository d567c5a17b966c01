"""Schemathesis against /openapi.json: generated requests to every documented operation,
anonymous and with an admin token (so write routes are reached past their checks),
must never get a server error."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from curation_helpers import bearer, sample_record, seed
from opis.services.archive import Archive
from opis.web.app import create_app

REFERENCE = Path(__file__).parent / "data" / "wcda_114165.txt"


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
