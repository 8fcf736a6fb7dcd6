"""Schema-driven fuzz of every route from the served OpenAPI document (schemathesis): no
generated request, valid or not, may make the server answer 5xx.

Bounded to a few examples per operation so the suite stays fast; long polls are capped.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from engine import Database
from tests.support.api import BPMN, MODELER, make_wired_app

pytestmark = pytest.mark.slow


def _app():
    folder = Path(tempfile.mkdtemp(prefix="mlc-fuzz-"))
    url = f"sqlite:///{folder / 'fuzz.db'}"
    db = Database(url)
    db.test_url = url  # type: ignore[attr-defined]
    db.create_all()
    # every connector wired, so the registry / ticket / webhook routes are fuzzed for real
    app = make_wired_app(db, config={"MLC_MAX_LONG_POLL_SECONDS": 0.05},
                         jira_webhook_secret="fuzz-secret")
    client = app.test_client()
    for path in (BPMN / "service_flow.bpmn", MODELER / "echo.bpmn", BPMN / "loop.bpmn"):
        client.post("/api/deployments", data={"f": (path.open("rb"), path.name)},
                    content_type="multipart/form-data")
    client.post("/api/process-definitions/echo/start", json={"business_key": "fuzz"})
    return app


APP = _app()
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
