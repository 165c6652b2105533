"""The API fuzzed from its own OpenAPI spec (schemathesis): every operation, a bounded number of generated requests
each, with an operator token: no answer is a server error (5xx).

The spec is the one the app serves at /openapi.json; the app runs in this process on the session's real Redis and a
database of its own (schemathesis calls it over ASGI). Actions act for real: a fuzzed replay or pause is what an
operator would get, which is why the database is not the session's (a replay of "everything" stays here). The probes (/healthz, /readyz) answer 503 when no worker runs: that is their meaning, not a fault.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.api.conftest import bearer

EXAMPLES = int(os.environ.get("NEWSWIRE_FUZZ_EXAMPLES", "6"))  # per operation; ~50 operations
PROBES = {"/healthz", "/readyz"}
# Actions that would stop the session's shared pipeline for other tests: fuzzed with the stage held to a value
# that no other test relies on, and resumed after.
PINNED = {"/stages/{stage}/pause": {"stage": "ingest"}, "/stages/{stage}/resume": {"stage": "ingest"}}


def test_no_server_error_from_any_generated_request(fresh_database) -> None:  # noqa: ANN001
    import schemathesis

    from services.api.app import app
    from services.api.console.access import create_token
    from shared import stage_control

    operator = bearer(create_token("operator", "fuzz")[0])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=operator)
    failures: list[str] = []
    seen: dict = {}
    operations = 0
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            strategy = operation.as_strategy(path_parameters=PINNED.get(operation.path))

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, print_blob=False,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case) -> None:  # noqa: ANN001
                try:
                    response = case.call(headers=operator)
                except Exception as exc:  # noqa: BLE001  (raised out of the app: a 500 over HTTP)
                    failures.append(f"{case.method} {case.formatted_path} query={case.query} body={case.body!r:.200}"
                                    f" -> raised {type(exc).__name__}: {str(exc)[:300]}")
                    return
                seen[(operation.path, response.status_code)] = seen.get((operation.path, response.status_code), 0) + 1
                if response.status_code >= 500 and not (operation.path in PROBES and response.status_code == 503):
                    failures.append(f"{case.method} {case.formatted_path} query={case.query} body={case.body!r:.200}"
                                    f" -> {response.status_code} {response.text[:300]}")

            run()
    finally:
        stage_control.resume("ingest", "fuzz test cleanup")
    assert operations >= 40, operations
    # The token worked (no 401) and many operations were really served, not only refused as invalid.
    assert not [key for key in seen if key[1] == 401], sorted(seen)
    assert len({path for path, status in seen if status < 300}) >= 15, sorted(seen)
    assert not failures, "\n".join(dict.fromkeys(failures))
