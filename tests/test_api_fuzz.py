"""The API fuzzed from its own OpenAPI schema (schemathesis) against a real server and database:
whatever the input, no 5xx, every status code and content type documented, every body matching
its schema."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from api.app import ApiConfig, create_app
from ondol.local_servers import free_port
from testbed.support import issue_api_key

pytestmark = pytest.mark.slow  # fuzzing the whole API

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def api_server(fuzz_dsn: str) -> Iterator[tuple[str, str]]:
    """A real API server on a loopback port, and an admin key (admin reaches every endpoint)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ApiConfig(database_url=fuzz_dsn, pool_max_size=4, rate_per_key_s=100_000)),
                                           host="127.0.0.1", port=port, log_level="error", access_log=False))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    token = asyncio.run(issue_api_key(fuzz_dsn, "admin"))
    yield base, token
    server.should_exit = True
    thread.join(10)


def test_no_input_makes_the_api_fail_or_break_its_schema(api_server: tuple[str, str]) -> None:
    """Every operation, 25 generated requests each (positive and negative data); all failures are
    collected, so one run names every broken operation."""
    base, token = api_server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # collected, so one run names every broken operation
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 25
    assert failures == [], "\n\n".join(failures)
