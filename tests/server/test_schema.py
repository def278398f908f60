"""Property tests against /openapi.json, in-process: no 500s, every answer as the schema says.

schemathesis generates requests from the schema (valid and invalid ones, a bounded number per
operation) and checks each response's status code, content type and body against it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings

pytestmark = pytest.mark.redis

schemathesis = pytest.importorskip("schemathesis")

@pytest.fixture(scope="module")
def api(served: dict[str, Any]) -> Any:
    from tests.server.conftest import DEMO_NOW, make_app

    return schemathesis.openapi.from_asgi("/openapi.json", make_app(clock=lambda: DEMO_NOW))


def _checks() -> list[Any]:
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _property(strategy: Any, statuses: set[int]) -> Any:
    from hypothesis import given

    @given(case=strategy)
    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        statuses.add(case.call_and_validate(checks=_checks()).status_code)

    return run


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schema_is_honoured_and_nothing_is_a_500(api: Any, mode: str) -> None:
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    failures: list[str] = []
    seen: dict[str, set[int]] = {}
    for result in api.get_all_operations():
        operation = result.ok()
        try:
            strategy = operation.as_strategy(generation_mode=GenerationMode(mode))
        except Exception:  # an operation without anything to make invalid (no parameters, no body)
            continue

        try:
            _property(strategy, seen.setdefault(operation.label, set()))()
        except Unsatisfiable:  # negative mode: nothing in this operation can be made invalid
            continue
        except Exception as exc:  # collect every operation's first failure
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    seen = {k: v for k, v in seen.items() if v}
    assert len(seen) >= (8 if mode == "positive" else 2), seen
    online = seen.get("POST /get-online-features", set())
    assert 422 in online, seen  # generated requests do reach validation, not just the JSON parser
    if mode == "positive":
        assert 200 in seen["GET /feature-views"], seen
