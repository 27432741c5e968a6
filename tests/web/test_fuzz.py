"""Fuzz every operation of the OpenAPI schema with schemathesis (valid and invalid requests, bounded
examples): no request may get a 5xx, and every 4xx has the one error shape.

Bounded so it finishes in well under a minute on 2 cores: ``EXAMPLES`` per operation, no
Hypothesis database, the app's training limited to a tiny run (``api_support.TINY``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.web.api_support import make_app

EXAMPLES = 12  # per operation: 14 operations → at most 168 requests (positive and negative)
APP = make_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(autouse=True, scope="module")
def _finish_training() -> Iterator[None]:
    yield
    trainer = APP.state.cnnlab.trainer  # stop any run the fuzzer started; it is a daemon thread
    for run_id in list(trainer._runs):
        trainer.stop(run_id)


@pytest.mark.slow  # 48 s wall (19 s CPU) with load average 8 on 2 cores, collection included
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    if case.path.startswith("/api/lab/{name}"):
        case.path_parameters = {**(case.path_parameters or {}), "name": "no-such-experiment"}
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and body["error"]["message"], body
