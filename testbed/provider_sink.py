"""An SMS gateway and a Kakao Alimtalk dealer for tests: one real HTTP server on loopback that
records every message. /sms accepts everything; /alimtalk refuses (400) recipients without
KakaoTalk, as a dealer does, so the SMS fallback can be seen. `down` answers 503 to everything."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ProviderSink:
    no_kakao: set[str] = field(default_factory=set)
    down: bool = False
    delay_s: float = 0.0
    down_paths: set[str] = field(default_factory=set)
    """Paths that answer 503 (a provider that is down)."""
    received: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                status, answer = sink._handle(self.path, body, dict(self.headers))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handle(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        time.sleep(self.delay_s)
        if self.down or path in self.down_paths:
            return 503, {"error": "maintenance"}
        if path == "/alimtalk" and body["to"] in self.no_kakao:
            return 400, {"error": "recipient is not a KakaoTalk user"}
        with self._lock:
            record = {
                "path": path,
                "at": time.time(),
                "idempotency_key": headers.get("idempotency-key"),
                **body,
            }
            self.received.append(record)
            return 200, {"message_id": f"m{len(self.received)}"}

    def to(self, phone: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.received if r["to"] == phone]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
