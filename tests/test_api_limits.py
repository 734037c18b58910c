"""Bad input the API refuses before it costs anything: oversized bodies (413) and a key sending
more than its share of requests (429, other keys unaffected)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.limits.rate import RateLimiter
from testbed.support import ApiClient, issue_api_key


def test_the_token_bucket_allows_bursts_then_the_average_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate_per_s=2, burst=3, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5), "the burst is spent: wait for the next token"
    assert limiter.take("other") == 0.0, "keys do not share a bucket"
    now[0] = 0.5
    assert limiter.take("k") == 0.0
    assert RateLimiter.retry_after(0.2) == "1"


@pytest.fixture
async def api(db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    async with ApiClient(db_dsn, max_request_bytes=2048, rate_per_key_s=1.0, rate_burst_per_key=5) as client:
        yield client


async def test_an_oversized_body_is_refused_with_413_declared_or_streamed(api: httpx.AsyncClient) -> None:
    big = {"device_id": "dev-x", "model": "M", "serial": "S", "address": "x" * 5000}
    declared = await api.post("/v1/devices", json=big)
    assert declared.status_code == 413
    assert declared.json()["type"] == "urn:ondol:problem:request-too-large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    streamed = await api.post("/v1/devices", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["type"] == "urn:ondol:problem:request-too-large"
    small = await api.post("/v1/devices", json={"device_id": "dev-x", "model": "M", "serial": "S"})
    assert small.status_code == 201


async def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_do_not(
    api: httpx.AsyncClient, db_dsn: str
) -> None:
    answers = [(await api.get("/v1/catalog/codes")).status_code for _ in range(8)]
    assert answers[:5] == [200] * 5
    assert 429 in answers[5:]
    limited = await api.get("/v1/catalog/codes")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    other = {"Authorization": f"Bearer {await issue_api_key(db_dsn, 'agent')}"}
    assert (await api.get("/v1/catalog/codes", headers=other)).status_code == 200
