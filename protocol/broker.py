"""How a client reaches the broker, and the one way either end of the wire opens TLS to it."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

__all__ = ["BrokerAddress"]


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """How a client reaches the broker; parsed by the composition root from `mqtt://` or `mqtts://` URLs."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context every client of ours (gateway, simulator, injector) connects with: the
        broker's certificate checked against `ca_file` (or the system's CAs), TLS 1.2 at least."""
        context = ssl.create_default_context(cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context
