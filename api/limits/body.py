"""Refuses request bodies over a size limit with 413, before a route reads them.

A declared Content-Length over the limit is refused at once; a body sent without one (chunked) is
counted as it arrives and refused when it passes the limit. Pure ASGI, so it works the same under
any server, and the answer is the API's problem+json.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware"]

_PROBLEM: Final = "application/problem+json"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0

        async def counted() -> Message:
            # Raised while the route reads its body: the app's handlers turn it into the 413 problem.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, f"The request body is over {self.max_bytes} bytes.")
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps({
            "type": "urn:ondol:problem:request-too-large", "title": "Request body too large", "status": 413,
            "detail": f"The request body is over {self.max_bytes} bytes.", "instance": scope.get("path", ""),
        }).encode()  # fmt: skip
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", _PROBLEM.encode()), (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
