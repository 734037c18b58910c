"""A call center's webhook receiver for tests: a real HTTP server on loopback that records every
request, can be 'down' (answers 503), and verifies signatures with the helper Ondol ships."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from outbox.webhooks.signing import WebhookVerificationError, verify


@dataclass
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    accepted: bool

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class WebhookReceiver:
    secret: str = ""
    down: bool = False
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver._handle(self, body)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/ondol"

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        if self.delay_s:
            time.sleep(self.delay_s)
        try:
            msg_id = verify(self.secret, headers, body)
        except WebhookVerificationError:
            with self._lock:
                self.bad_signatures += 1
            handler.send_response(401)
            handler.end_headers()
            return
        accepted = not self.down
        with self._lock:
            self.received.append(Received(msg_id, headers, body, accepted))
        handler.send_response(204 if accepted else 503)
        if not accepted:
            handler.send_header("content-type", "text/plain")
            handler.end_headers()
            handler.wfile.write(b"maintenance " * 200)  # longer than the excerpt Ondol keeps
            return
        handler.end_headers()

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.accepted]

    def unique_accepted(self) -> dict[str, Received]:
        """De-duplicated by webhook-id, the first acceptance of each, in order."""
        first: dict[str, Received] = {}
        for r in self.accepted():
            first.setdefault(r.webhook_id, r)
        return first

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
