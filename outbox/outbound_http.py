"""Ondol's outbound HTTP client (webhooks now, message providers later): short timeouts, no
redirects, no proxies from the environment, requests pinned to an address the outbound guard
checked, and only the start of each answer read.

The only module that imports httpx in the packages besides the local stack.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import httpx

from outbox.outbound_guard import PinnedTarget

__all__ = ["EXCERPT_BYTES", "Answer", "OutboundClient"]

EXCERPT_BYTES: Final = 512


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    excerpt: str
    error: str | None
    duration_ms: float


class OutboundClient:
    """One connection pool for many requests; close it when done."""

    def __init__(self, timeout_s: float, max_connections: int = 32) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
            follow_redirects=False,  # a redirect could lead anywhere, past the guard
            trust_env=False,
            limits=httpx.Limits(max_connections=max_connections),
        )

    async def post(self, target: PinnedTarget, body: bytes, headers: dict[str, str]) -> Answer:
        """POST `body`; the status and the first EXCERPT_BYTES of the answer, or the error."""
        started = time.monotonic()
        extensions = {"sni_hostname": target.server_name} if target.server_name else {}
        try:
            async with self._client.stream(
                "POST", target.url, content=body, headers={**headers, "host": target.host_header},
                extensions=extensions,
            ) as response:  # fmt: skip
                excerpt = await _excerpt(response)
                return Answer(response.status_code, excerpt, None, _ms_since(started))
        except httpx.HTTPError as exc:
            return Answer(None, "", f"{type(exc).__name__}: {exc}"[:500], _ms_since(started))

    async def aclose(self) -> None:
        await self._client.aclose()


async def _excerpt(response: httpx.Response) -> str:
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= EXCERPT_BYTES:
            break  # the rest is dropped with the connection
    return data[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:EXCERPT_BYTES]


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000
